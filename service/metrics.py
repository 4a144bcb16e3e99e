"""Stage-split Prometheus metrics, defined once and labelled by model name and version.

``bentoml.metrics`` is prometheus_client under BentoML's multiprocess set-up, so these appear on the
server's own ``/metrics`` beside BentoML's request metrics.
"""

from __future__ import annotations

import bentoml

_LABELS = ["model", "version"]
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

PREDICT_SECONDS = bentoml.metrics.Histogram(
    name="shapserve_predict_seconds",
    documentation="Model prediction time per request",
    labelnames=_LABELS,
    buckets=_BUCKETS,
)
EXPLAIN_SECONDS = bentoml.metrics.Histogram(
    name="shapserve_explain_seconds",
    documentation="Explanation time per request",
    labelnames=_LABELS,
    buckets=_BUCKETS,
)
ROWS = bentoml.metrics.Counter(
    name="shapserve_rows_total", documentation="Rows scored, by endpoint", labelnames=[*_LABELS, "endpoint"]
)
ERRORS = bentoml.metrics.Counter(
    name="shapserve_errors_total",
    documentation="Rejected or failed requests, by kind",
    labelnames=[*_LABELS, "kind"],
)
REQUESTS = bentoml.metrics.Counter(
    name="shapserve_requests_total",
    documentation="Requests answered by each route of the route table, by status",
    labelnames=[*_LABELS, "route", "status"],
)
INLINE = bentoml.metrics.Counter(
    name="shapserve_inline_requests_total",
    documentation="Requests computed on the event loop instead of a handler thread (service/inline.py)",
    labelnames=[*_LABELS, "route"],
)
REQUEST_SECONDS = bentoml.metrics.Histogram(
    name="shapserve_request_seconds",
    documentation="Time to answer a request, by route",
    labelnames=[*_LABELS, "route"],
    buckets=_BUCKETS,
)
INFLIGHT_ROWS = bentoml.metrics.Gauge(
    name="shapserve_inflight_rows",
    documentation="Rows of the scoring requests in flight (admission by rows), summed over live workers",
    labelnames=_LABELS,
    multiprocess_mode="livesum",
)
JOBS = bentoml.metrics.Gauge(
    name="shapserve_jobs",
    documentation="Explain jobs queued or running in the live workers, by status",
    labelnames=[*_LABELS, "status"],
    multiprocess_mode="livesum",
)
JOBS_FINISHED = bentoml.metrics.Counter(
    name="shapserve_jobs_finished_total",
    documentation="Explain jobs that ended, by status (done, failed, cancelled)",
    labelnames=[*_LABELS, "status"],
)
# -- the drift monitor (service.monitoring; docs/monitoring.md): the sums over the live workers, which
# every live worker computes alike from the shared directory, so livemax reports them once
MONITOR_WINDOW_ROWS = bentoml.metrics.Gauge(
    name="shapserve_monitoring_window_rows",
    documentation="Explained rows in the monitoring window (rows: the last N rows; hour: the last hour)",
    labelnames=[*_LABELS, "window"],
    multiprocess_mode="livemax",
)
MONITOR_SCORE = bentoml.metrics.Gauge(
    name="shapserve_monitoring_score",
    documentation="Drift scores of a window against the packaging baseline: attribution_drift and "
    "input_drift (max PSI over features), attribution_ndcg (the global ranking's nDCG)",
    labelnames=[*_LABELS, "window", "score"],
    multiprocess_mode="livemax",
)
MONITOR_FEATURE = bentoml.metrics.Gauge(
    name="shapserve_monitoring_feature",
    documentation="Per-feature monitoring statistics of a window: attribution_share, attribution_psi, "
    "input_psi",
    labelnames=[*_LABELS, "window", "feature", "stat"],
    multiprocess_mode="livemax",
)
# -- recording of served /explain answers (store.record_writer; docs/store.md#recording-served-answers):
# every sampled answer ends written or dropped (or is still queued in a live worker)
RECORDING_SAMPLED = bentoml.metrics.Counter(
    name="shapserve_recording_sampled_total",
    documentation="Served /explain answers drawn for recording (SHAPSERVE_STORE_RECORD_SAMPLE_RATE)",
    labelnames=_LABELS,
)
RECORDING_WRITTEN = bentoml.metrics.Counter(
    name="shapserve_recording_written_total",
    documentation="Sampled /explain answers committed to the explanation store",
    labelnames=_LABELS,
)
RECORDING_DROPPED = bentoml.metrics.Counter(
    name="shapserve_recording_dropped_total",
    documentation="Sampled /explain answers not recorded, by reason: queue_full (the worker's queue was "
    "full), store_error (the store failed their batch: down or unreachable), shutdown (not written "
    "before the worker stopped)",
    labelnames=[*_LABELS, "reason"],
)
