"""BentoML's server log lines, its access line of every request among them, made with less work per
record: the same text (docs/decisions.md 54).

BentoML's worker logs through one handler (``bentoml._internal.log.SERVER_LOGGING_CONFIG``) with a
``TraceRecordFilter``, which per record reads the current span three times (trace id, span id, sampled)
and its configured id formats from the dependency container, and a ``logging.Formatter`` whose
``formatTime`` calls ``time.strftime`` per record for a text that changes once a second.  ``install``
puts in their place, on the handlers that hold exactly those (an operator's own logging configuration is
left as it is):

- ``TraceFields``: the same record fields from one read of the span's context and the formats read
  once (they are the configuration's, fixed for the process);
- ``SecondFormatter``: ``formatTime``'s text kept for the second it stands for (its date format has no
  finer field than a second; the format without one, which adds milliseconds, is computed as before).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bentoml._internal.context import trace_context
from bentoml._internal.log import DATE_FORMAT, TRACED_LOG_FORMAT, TraceRecordFilter, _component_name
from opentelemetry import trace

MONITOR_LOGGERS = ("bentoml_monitor_data", "bentoml_monitor_schema")  # left bare by BentoML's filter


class TraceFields(logging.Filter):
    """The fields of BentoML's ``TraceRecordFilter``, the current span's context read once per record."""

    def __init__(self, formats: dict[str, str]) -> None:
        """``formats``: BentoML's ``logging_formatting`` (the ``trace_id`` and ``span_id`` formats)."""
        super().__init__()
        self.trace_format = formats["trace_id"]
        self.span_format = formats["span_id"]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name in MONITOR_LOGGERS:
            return super().filter(record)
        record.levelname_bracketed = f"[{record.levelname}]"
        record.component = f"[{_component_name()}]"
        context = trace.get_current_span().get_span_context()
        if context.trace_id in (0, None):
            record.trace_msg = ""
        else:
            record.trace_msg = (
                f" (trace={format(context.trace_id, self.trace_format)},"
                f"span={format(context.span_id, self.span_format)},"
                f"sampled={1 if context.trace_flags.sampled else 0},"
                f"service.name={trace_context.service_name})"
            )
        record.request_id = trace_context.request_id
        record.service_name = trace_context.service_name
        return super().filter(record)


class SecondFormatter(logging.Formatter):
    """A ``logging.Formatter`` whose time text is computed once per second of the records' times."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)
        self._uses_time = super().usesTime()
        self._second: tuple[int, str | None, str] | None = None  # (second, datefmt, its text)

    def usesTime(self) -> bool:
        return self._uses_time

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if not datefmt:  # the default adds the record's milliseconds
            return super().formatTime(record, datefmt)
        second = int(record.created)
        kept = self._second
        if kept is not None and kept[0] == second and kept[1] == datefmt:
            return kept[2]
        text = super().formatTime(record, datefmt)
        self._second = (second, datefmt, text)
        return text


def cheaper(handler: logging.Handler, formats: dict[str, str]) -> None:
    """``handler``'s BentoML filter and formatter replaced by this module's, where it holds exactly
    those."""
    handler.filters = [TraceFields(formats) if type(f) is TraceRecordFilter else f for f in handler.filters]
    fmt = handler.formatter
    if (
        type(fmt) is logging.Formatter
        and fmt._fmt == TRACED_LOG_FORMAT
        and fmt.datefmt == DATE_FORMAT
        and fmt.converter is SecondFormatter.converter
    ):
        handler.setFormatter(SecondFormatter(TRACED_LOG_FORMAT, DATE_FORMAT))


def install(loggers: Iterable[str] = ("bentoml", "")) -> None:
    """This worker's BentoML handlers (on ``loggers``; "" is the root) made cheaper."""
    from bentoml._internal.configuration.containers import BentoMLContainer

    formats = dict(BentoMLContainer.logging_formatting.get())
    for name in loggers:
        for handler in logging.getLogger(name).handlers:
            cheaper(handler, formats)
