"""Attribution and input drift monitoring (docs/monitoring.md): the baseline stored at packaging
(``baseline``), the live sketches of served rows (``sketch``), and the drift scores (``drift``).

Engine code: numpy only, no BentoML; the service keeps one ``Monitor`` per worker and merges workers.
"""

from __future__ import annotations

from .baseline import FILE, Baseline, build, load
from .drift import Thresholds, report
from .monitor import WINDOWS, Monitor, merge

__all__ = ["FILE", "WINDOWS", "Baseline", "Monitor", "Thresholds", "build", "load", "merge", "report"]
