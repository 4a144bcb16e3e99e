"""The Prometheus children of one served model, each looked up once per ``ScoringService``.

``metric.labels(**labels)`` checks the label names, builds the values' tuple and takes the metric's lock
on every call (2.5-3.8 us in-process; a served 1-row ``/explain`` made three such calls), and answers
the same child every time.  So the request path asks here: the first call of a (metric, extra labels)
looks the child up as before, later calls read it from a dict.  A child still appears in ``/metrics``
only once it has first been used (nothing is made for an endpoint never called), and it is
prometheus_client's own child, so its multiprocess value (BentoML's workers) works as before.
"""

from __future__ import annotations

from typing import Any


class ModelMetrics:
    """The children of metrics labelled by one model's ``labels`` ({"model", "version"})."""

    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = labels
        self._children: dict[tuple[int, tuple[tuple[str, str], ...]], Any] = {}

    def child(self, metric: Any, **extra: str) -> Any:
        """``metric.labels(**self.labels, **extra)``, looked up on first use only."""
        key = (id(metric), tuple(extra.items()))
        found = self._children.get(key)
        if found is None:  # two threads at once both look it up: prometheus_client gives both the same
            found = self._children[key] = metric.labels(**self.labels, **extra)
        return found
