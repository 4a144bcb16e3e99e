"""Request handling without BentoML or HTTP: validate against the manifest, predict, explain, encode.

``ScoringService`` holds the loaded explainer of one model; the route handlers call it.  Every method
returns plain JSON-able dicts or raises a ``scorers`` error, which ``service.errors`` maps to HTTP.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import scorers
from scorers import global_explanations as global_kinds
from scorers.errors import InputError
from scorers.top_k import JSON, QUERY, parse_top_k

from . import answers
from .admission import RowBudget
from .jobs.backend import jobs_info, jobs_url
from .metrics import (
    ERRORS,
    EXPLAIN_SECONDS,
    INFLIGHT_ROWS,
    PREDICT_SECONDS,
    RECORDING_DROPPED,
    RECORDING_SAMPLED,
    RECORDING_WRITTEN,
    ROWS,
)
from .model_metrics import ModelMetrics
from .monitoring.workers import WorkerMonitor, monitoring_root
from .parsing import check_error_options, check_instances, check_pairs
from .settings import Settings

if TYPE_CHECKING:
    from store.record_writer import RecordWriter

    from .jobs.manager import JobManager


class ScoringService:
    def __init__(self, artifact_dir: str | Path, *, name: str, version: str, settings: Settings) -> None:
        self.name = name
        self.version = version
        self.settings = settings
        self.max_rows = settings.max_rows
        self.ready = False
        self.artifact_dir = Path(artifact_dir)
        self._store: Any = None
        self._store_lock = threading.Lock()
        self._jobs: JobManager | None = None
        self._jobs_lock = threading.Lock()
        from store.settings import get_settings as store_settings

        # read once, at start-up, like every setting: the store itself opens on first use
        self.store_settings = store_settings()
        self.explainer = scorers.load(
            artifact_dir, trust_pickle=settings.trust_pickle, expected_sha256=settings.model_sha256
        )
        self.manifest = self.explainer.manifest
        self.labels = {"model": name, "version": version}
        self.metrics = ModelMetrics(self.labels)  # the Prometheus children, looked up once each
        self.monitor: WorkerMonitor | None = None
        if settings.monitoring and self.explainer.baseline is not None:
            directory = monitoring_root(settings, name, version)
            self.monitor = WorkerMonitor(self.explainer.baseline, settings, directory, self.labels)
        self.recording = self._start_recording()
        self.admission = RowBudget(settings.max_inflight_rows, INFLIGHT_ROWS.labels(**self.labels))
        if settings.warmup and self.explainer.sample is not None and len(self.explainer.sample):
            warm = self.explainer.validate(self.explainer.sample.iloc[:1])
            self.explainer.predictions(warm)  # the decision path is verified here (one check per load)
            self.explainer.explain_frame(warm)
        # everything loaded so far lives for the process: keep it out of the collector's way
        gc.collect()
        gc.freeze()
        self.ready = True

    # -- the explanation store -------------------------------------------------------------------
    @property
    def store(self) -> Any:
        """The explanation store, opened on first use in this worker (after any fork)."""
        with self._store_lock:
            if self._store is None:
                from store import ExplanationStore

                self._store = ExplanationStore(self.store_settings.url())
            return self._store

    # -- explain jobs ----------------------------------------------------------------------------------
    @property
    def jobs(self) -> JobManager:
        """The explain jobs of this worker, started on first use (service.jobs)."""
        with self._jobs_lock:
            if self._jobs is None:
                from .jobs.backend import make_manager

                self._jobs = make_manager(self)
            return self._jobs

    def start_shared_jobs(self) -> None:
        """With jobs on PostgreSQL, start claiming them now: this worker takes over other servers' jobs
        even before it accepts one."""
        if jobs_url(self.settings, self.store_settings) is not None:
            _ = self.jobs

    def close(self) -> None:
        """Stop what this worker started beside the requests (the jobs' processes), at shutdown."""
        if self._jobs is not None:
            self._jobs.close()
        if self.monitor is not None:
            self.monitor.close()
        if self.recording is not None:
            self.recording.close()  # the queued samples are written first (SIGTERM loses none)

    def record(self, answer: dict[str, Any], frame: pd.DataFrame) -> None:
        """Queue a sample of served /explain answers for the store, when recording is on (off by
        default), with the rows coded by the monitoring baseline (drift over time: ``store.drift``);
        written in the background (``store.record_writer``)."""
        if self.recording is not None:
            baseline = self.explainer.baseline
            self.recording.offer(answer, None if baseline is None else lambda: baseline.code_inputs(frame))

    def _start_recording(self) -> RecordWriter | None:
        s = self.store_settings
        if s.store_record_sample_rate <= 0:
            return None
        from store.record_writer import RecordWriter

        return RecordWriter(
            lambda: self.store, s, self._count_recording, model_name=self.name, model_version=self.version
        )

    def _count_recording(self, event: str, n: int) -> None:
        from store.record_writer import SAMPLED, WRITTEN

        if event == SAMPLED:
            self.metrics.child(RECORDING_SAMPLED).inc(n)
        elif event == WRITTEN:
            self.metrics.child(RECORDING_WRITTEN).inc(n)
        else:
            self.metrics.child(RECORDING_DROPPED, reason=event).inc(n)

    # -- request parts ------------------------------------------------------------------------------
    def rows(self, instances: Any) -> pd.DataFrame:
        """Validated rows of a request: a non-empty list within the row limit, checked by the schema."""
        return self.explainer.validate(self.instances(instances))

    @contextmanager
    def admitted(self, instances: Any) -> Iterator[pd.DataFrame]:
        """The request's validated rows, admitted against this worker's row budget while the block runs
        (429 beyond it: ``service.admission``)."""
        with self.admission.hold(len(self.instances(instances))):
            yield self.explainer.validate(instances)

    def instances(self, instances: Any) -> list[Any]:
        """A request's ``instances``: a non-empty list within the row limit (the rows unchecked)."""
        beyond = f"; POST /explain_jobs takes up to {self.settings.max_job_rows} rows"
        return check_instances(instances, self.max_rows, "per request" + beyond)

    def top_k(self, top_k: Any) -> int | None:
        """``top_k`` of a JSON body (scorers.top_k: one rule for every caller)."""
        return parse_top_k(top_k, len(self.explainer.features), source=JSON)

    def prediction(
        self, frame: pd.DataFrame, outputs: np.ndarray | None = None
    ) -> tuple[dict[str, Any], np.ndarray | None]:
        """The answer's prediction part and the probabilities; ``outputs``: the rows' explained outputs,
        from which a verified decision path reads them (``ScoringExplainer.predictions``)."""
        t0 = time.perf_counter()
        labels, proba = self.explainer.predictions(frame, outputs)
        self.metrics.child(PREDICT_SECONDS).observe(time.perf_counter() - t0)
        return answers.prediction(labels, proba, self.explainer.classes), proba

    # -- endpoints --------------------------------------------------------------------------------------
    def predict(self, instances: Any) -> dict[str, Any]:
        with self.admitted(instances) as frame:
            out, _ = self.prediction(frame)
        self.metrics.child(ROWS, endpoint="predict").inc(len(frame))
        return out

    def explain(
        self,
        instances: Any,
        top_k: Any = None,
        *,
        cancel: Callable[[], bool] | None = None,
        error_estimate: Any = None,
        max_error: Any = None,
    ) -> dict[str, Any]:
        """``/explain``'s answer.  ``cancel`` (the request's token) stops the explanation between slices
        of rows once it returns True (``scorers.ExplanationCancelled``).  ``error_estimate`` and
        ``max_error``: each row's error estimate, refined towards a target (``scorers.errorbars``)."""
        with_error, target = check_error_options(error_estimate, max_error)
        with self.admitted(instances) as frame:
            k = self.top_k(top_k)
            t0 = time.perf_counter()
            exp = self.explainer.explain_frame(
                frame,
                cancel=cancel,
                error_estimate=with_error,
                max_error=target,
                max_error_seconds=self.settings.max_error_seconds,
            )
            self.metrics.child(EXPLAIN_SECONDS).observe(time.perf_counter() - t0)
            out, proba = self.prediction(frame, exp.outputs)
        if self.monitor is not None:
            self.monitor.observe(frame, exp.values)
        out = answers.explanation(out, proba, exp, k)
        self.metrics.child(ROWS, endpoint="explain").inc(len(frame))
        self.record(out, frame)  # a sample into the store, when SHAPSERVE_STORE_RECORD_SAMPLE_RATE > 0
        return out

    def counterfactuals(self, instances: Any, target: Any, count: Any, constraints: Any) -> dict[str, Any]:
        """``/counterfactuals``' answer (``scorers.counterfactuals``): a row that cannot reach the target
        says why in its entry; a mistake in the request is a 400 naming the field."""
        with self.admitted(instances) as frame:
            found = self.explainer.counterfactuals_frame(frame, target, count=count, constraints=constraints)
        self.metrics.child(ROWS, endpoint="counterfactuals").inc(len(frame))
        return answers.counterfactuals(found, frame, self.explainer)

    def interactions(
        self,
        instances: Any,
        top_k: Any = None,
        pairs: Any = None,
        *,
        cancel: Callable[[], bool] | None = None,
    ) -> dict[str, Any]:
        """``/explain_interactions``'s answer: ``/explain``'s plus the pairwise interaction values
        (``scorers.interactions``); ``pairs`` and ``top_k`` (counting pairs) are checked before any work;
        ``cancel`` as ``explain``'s."""
        names = self.explainer.features
        chosen = check_pairs(pairs, names)
        k = parse_top_k(top_k, len(names) * (len(names) - 1) // 2, source=JSON)
        with self.admitted(instances) as frame:
            out, proba = self.prediction(frame)
            t0 = time.perf_counter()
            inter = self.explainer.interactions_frame(frame, cancel=cancel)
            self.metrics.child(EXPLAIN_SECONDS).observe(time.perf_counter() - t0)
        self.metrics.child(ROWS, endpoint="explain_interactions").inc(len(frame))
        return answers.interactions(out, proba, inter, chosen, k)

    def count_error(self, kind: str) -> None:
        self.metrics.child(ERRORS, kind=kind).inc()

    def metadata(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "model": {
                "name": self.name,
                "version": self.version,
                "type": m.model.type,
                "format": m.model.format,
                "task": m.model.task,
            },
            "scorer": m.scorer.model_dump(),
            "output_space": m.output_space,
            "expected_values": m.expected_values,
            "features": [f.to_json() for f in m.features],
            "classes": m.model.classes,
            "background": m.background.model_dump(),
            "runtimes": {
                "predictions": m.model.prediction_runtime,
                "coalitions": m.model.coalition_runtime,
                "onnx_export": m.model.onnx_export,
            },
            "masking": {"mode": m.masking.mode, "reason": m.masking.reason},
            "checks": m.checks.model_dump() if m.checks else {},
            "fidelity": m.fidelity.model_dump() if m.fidelity else None,
            "evaluation": (
                {
                    "rows": m.evaluation.rows,
                    "label_column": m.evaluation.label_column,
                    "globals": sorted(m.evaluation.globals),
                }
                if m.evaluation is not None
                else None
            ),
            "versions": m.versions,
            "limits": {
                "max_rows": self.max_rows,
                "max_inflight_rows": self.settings.max_inflight_rows,
                "max_job_rows": self.settings.max_job_rows,
            },
            "jobs": jobs_info(self.settings, self.store_settings),
        }

    def explain_global(self, top_k: Any, kind: Any = None) -> dict[str, Any]:
        """The global explanation of a kind stored at packaging (default: shap)."""
        glob = self.explainer.explain_global(kind=global_kinds.check_kind("shap" if kind is None else kind))
        return answers.global_body(glob, parse_top_k(top_k, len(glob.features), source=QUERY))

    def explain_global_rows(
        self,
        instances: Any,
        *,
        kind: Any = None,
        labels: Any = None,
        top_k: Any = None,
        metric: Any = None,
        n_repeats: Any = None,
        surrogate: Any = None,
    ) -> dict[str, Any]:
        """A global explanation of a kind computed on the posted rows (within the row limit)."""
        kind = global_kinds.check_kind("shap" if kind is None else kind)
        for name, value, owner in (
            ("labels", labels, "pfi"),
            ("metric", metric, "pfi"),
            ("n_repeats", n_repeats, "pfi"),
            ("surrogate", surrogate, "mimic"),
        ):
            if value is not None and kind != owner:
                raise InputError(f"used by kind '{owner}' only (this request's kind is '{kind}')", field=name)
        if kind == "pfi" and labels is None:
            raise InputError(
                "permutation importance needs the rows' true labels, one per row", field="labels"
            )
        if labels is not None and not isinstance(labels, list):
            raise InputError(f"expected a list of labels, got {type(labels).__name__}", field="labels")
        options: dict[str, Any] = {
            key: value
            for key, value in (("metric", metric), ("n_repeats", n_repeats), ("surrogate", surrogate))
            if value is not None
        }
        with self.admitted(instances) as frame:
            k = self.top_k(top_k)
            t0 = time.perf_counter()
            glob = global_kinds.explain_global(self.explainer, frame, kind=kind, labels=labels, **options)
            self.metrics.child(EXPLAIN_SECONDS).observe(time.perf_counter() - t0)
        self.metrics.child(ROWS, endpoint="explain_global").inc(len(frame))
        return answers.global_body(glob, k)
