"""One worker's monitor and the merge over the server's workers, through a shared directory.

Every worker writes its windows to ``<dir>/<server pid>-<worker pid>.npz`` (atomically, from a
background thread at most every ``monitoring_flush_seconds``, so a request never waits on disk) and
reads its siblings' files to report.  Only files of the same server (BentoML's arbiter: the workers'
parent) whose worker is alive are summed, so a restarted server starts from empty windows.  The same
merged scores are set on this worker's gauges (``livemax``: every live worker reports the same sum).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scorers import monitoring
from scorers.monitoring import Baseline, Thresholds

from ..metrics import MONITOR_FEATURE, MONITOR_SCORE, MONITOR_WINDOW_ROWS
from ..settings import Settings


def monitoring_root(settings: Settings, name: str, version: str) -> Path:
    if settings.monitoring_dir:
        return Path(settings.monitoring_dir) / name / version
    home = Path(settings.bentoml_home) if settings.bentoml_home else Path.home() / ".shapserve"
    return home / "shapserve-monitoring" / name / version


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def thresholds(settings: Settings) -> Thresholds:
    """The alert thresholds of the settings: the live windows' and the store's history's."""
    return Thresholds(
        input=settings.monitoring_input_threshold,
        attribution=settings.monitoring_attribution_threshold,
        ndcg=settings.monitoring_ndcg_threshold,
        min_rows=settings.monitoring_min_rows,
    )


class WorkerMonitor:
    def __init__(self, base: Baseline, settings: Settings, directory: Path, labels: dict[str, str]) -> None:
        self.base = base
        self.monitor = monitoring.Monitor(
            base, window_rows=settings.monitoring_window_rows, block_rows=settings.monitoring_block_rows
        )
        self.limits = thresholds(settings)
        self.flush_seconds = settings.monitoring_flush_seconds
        self.directory = directory
        self.labels = labels
        self.written = -1
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        # the flush thread and a GET /monitoring both write this worker's file through one temporary name:
        # unserialised, one's os.replace moved the file from under the other's (a 500 on the route)
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()

    @property
    def server(self) -> int:
        return os.getppid()

    @property
    def path(self) -> Path:
        return self.directory / f"{self.server}-{os.getpid()}.npz"

    def observe(self, frame: pd.DataFrame, values: np.ndarray) -> None:
        """Count a request's explained rows (the per-request cost: docs/monitoring.md#cost)."""
        self.monitor.update(frame, values)
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="shapserve-monitor", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.publish()

    def flush(self) -> None:
        """Write this worker's windows when they changed since the last write."""
        with self._flush_lock:
            version = self.monitor.version
            if version == self.written:
                return
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp.npz")
            np.savez(tmp, **self.monitor.arrays())  # type: ignore[arg-type]
            os.replace(tmp, self.path)
            self.written = version

    def merged(self) -> dict[str, monitoring.sketch.Counts]:
        """Every live worker's windows of this server, summed (this worker's own, current)."""
        self.flush()
        snapshots = [self.monitor.arrays()]
        prefix = f"{self.server}-"
        for path in self.directory.glob(f"{prefix}*.npz") if self.directory.is_dir() else ():
            pid = path.stem[len(prefix) :]
            if not pid.isdigit() or int(pid) == os.getpid() or not _alive(int(pid)):
                continue
            try:
                with np.load(path, allow_pickle=False) as z:
                    snapshots.append({k: z[k] for k in z.files})
            except (OSError, ValueError, KeyError):
                continue  # a file being replaced or a worker gone: its rows count at the next read
        return monitoring.merge(self.base, snapshots)

    def report(self, window: str) -> dict[str, Any]:
        reports = self.publish()
        return {"window": window, **reports[window]}

    def publish(self) -> dict[str, dict[str, Any]]:
        """Merge, score every window and set the gauges; the reports by window."""
        reports = {w: monitoring.report(self.base, c, self.limits) for w, c in self.merged().items()}
        for w, r in reports.items():
            MONITOR_WINDOW_ROWS.labels(**self.labels, window=w).set(r["window_rows"])
            for score, value in (
                ("attribution_drift", r["attribution_drift"]["score"]),
                ("attribution_ndcg", r["attribution_drift"]["ndcg"]),
                ("input_drift", r["input_drift"]["score"]),
            ):
                MONITOR_SCORE.labels(**self.labels, window=w, score=score).set(value)
            for name, f in r["features"].items():
                for stat in ("attribution_share", "attribution_psi", "input_psi"):
                    MONITOR_FEATURE.labels(**self.labels, window=w, feature=name, stat=stat).set(f[stat])
        return reports

    def close(self) -> None:
        self._stop.set()
        self.path.unlink(missing_ok=True)
