"""BentoML's log lines made cheaper (service.log_lines) are the same text as BentoML's own filter and
formatter make: with and without a current span, sampled or not, the monitor's loggers, records within
one second, across seconds and back in time; and only BentoML's exact filter and formatter are
replaced."""

from __future__ import annotations

import io
import logging

import pytest
from bentoml._internal.log import DATE_FORMAT, TRACED_LOG_FORMAT, TraceRecordFilter
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from service.log_lines import SecondFormatter, TraceFields, cheaper, install

FORMATS = {"trace_id": "032x", "span_id": "016x"}  # BentoML's defaults (configuration's access.format)
ACCESS = "%s (%s) (%s) %.3fms"  # BentoML's access line (bentoml/_internal/server/http/access.py)
ARGS = ("127.0.0.1:5000", "scheme=http,method=POST,path=/explain", "status=200", 7.25)


def _bentoml_handler() -> logging.Handler:
    handler = logging.StreamHandler(io.StringIO())
    handler.addFilter(TraceRecordFilter())
    handler.setFormatter(logging.Formatter(TRACED_LOG_FORMAT, DATE_FORMAT))
    return handler


def _line(handler: logging.Handler, name: str, created: float, msg: str = ACCESS, args: tuple = ARGS) -> str:
    record = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)
    record.created = created
    assert handler.filter(record)
    return handler.format(record)


@pytest.mark.parametrize(
    "span",
    [
        None,
        SpanContext(0x0123456789ABCDEF0123456789ABCDEF, 0x0FEDCBA987654321, False, TraceFlags(1)),
        SpanContext(0x5, 0x7, False, TraceFlags(0)),
    ],
    ids=["no span", "sampled", "not sampled"],
)
def test_the_lines_are_bentomls_text(span: SpanContext | None) -> None:
    theirs = _bentoml_handler()
    ours = _bentoml_handler()
    cheaper(ours, FORMATS)
    assert isinstance(ours.filters[0], TraceFields) and type(ours.formatter) is SecondFormatter
    t0 = 1_796_000_000.0
    times = [t0, t0 + 0.3, t0 + 0.999, t0 + 1.0, t0 + 1.7, t0 + 61.2, t0 + 0.5, t0 - 3600.25]
    names = ["bentoml.access", "bentoml", "uvicorn.error"]
    with trace.use_span(NonRecordingSpan(span)) if span is not None else _nothing():
        for name in names:
            for created in times:
                assert _line(ours, name, created) == _line(theirs, name, created)
        assert _line(ours, "bentoml", t0, "plain %s", ("x",)) == _line(
            theirs, "bentoml", t0, "plain %s", ("x",)
        )
        assert (span is None) == ("trace=" not in _line(ours, "bentoml.access", t0))
    for handler in (ours, theirs):  # the monitor's records pass both filters without the fields
        record = logging.LogRecord("bentoml_monitor_data", logging.INFO, __file__, 1, "{}", (), None)
        assert handler.filter(record) and not hasattr(record, "trace_msg")


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_the_default_date_format_keeps_its_milliseconds() -> None:
    fmt = SecondFormatter("%(asctime)s %(message)s")
    plain = logging.Formatter("%(asctime)s %(message)s")
    for created in (1_796_000_000.125, 1_796_000_000.875):
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
        record.created, record.msecs = created, (created % 1) * 1000
        assert fmt.format(record) == plain.format(record)


def test_only_bentomls_exact_filter_and_formatter_are_replaced() -> None:
    own_filter = logging.Filter("bentoml")
    handler = logging.StreamHandler(io.StringIO())
    handler.addFilter(own_filter)
    handler.setFormatter(logging.Formatter("%(message)s"))  # an operator's own format
    cheaper(handler, FORMATS)
    assert handler.filters == [own_filter] and type(handler.formatter) is logging.Formatter

    class Theirs(TraceRecordFilter):  # a subclass may add fields of its own: kept
        pass

    sub = logging.StreamHandler(io.StringIO())
    sub.addFilter(Theirs())
    sub.setFormatter(logging.Formatter(TRACED_LOG_FORMAT, "%H:%M"))
    cheaper(sub, FORMATS)
    assert type(sub.filters[0]) is Theirs and type(sub.formatter) is logging.Formatter


def test_install_replaces_them_on_the_named_loggers() -> None:
    logger = logging.getLogger("shapserve-test-log-lines")
    handler = _bentoml_handler()
    logger.addHandler(handler)
    try:
        install(loggers=(logger.name,))
        assert type(handler.filters[0]) is TraceFields and type(handler.formatter) is SecondFormatter
    finally:
        logger.removeHandler(handler)
