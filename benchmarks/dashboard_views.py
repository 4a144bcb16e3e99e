"""The dashboard's data routes in-process on one artifact, without a server or a browser: the time to open
the evaluation rows (the first ``summary``), each view once, then a cohort change, and the process's peak
RSS.  The artifact is a saved explainer directory, for example the one ``benchmarks.dashboard`` packages:

    .venv/bin/python -m benchmarks.dashboard_views .bentoml/models/bench-dashboard-lgbm/latest/artifact
    .venv/bin/python -m benchmarks.dashboard_views --preload ...   # the rows opened by preload first

(``latest`` is a file naming the version: use the version's folder.)  Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import scorers
from service.dashboard import schemas, views
from service.settings import Settings


class Core:
    """What the views read of a ``ScoringService``: the loaded explainer and the settings."""

    def __init__(self, path: Path) -> None:
        self.explainer = scorers.load(path)
        self.manifest = self.explainer.manifest
        self.settings = Settings()
        self.name, self.version = "bench", "v"


def timed(name: str, call: Callable[[], Any]) -> None:
    t0 = time.perf_counter()
    call()
    print(f"{name:36s} {1000 * (time.perf_counter() - t0):8.0f} ms")


def each_view(core: Core, cohort: dict[str, Any], label: str, x: str, y: str) -> None:
    """Every view once, comparing all rows with ``cohort``."""
    both = [{"name": "All data", "filters": []}, cohort]
    timed("cohorts" + label, lambda: views.cohort_counts(core, schemas.CohortsBody(cohorts=both)))
    timed("performance" + label, lambda: views.performance(core, schemas.PerformanceBody(cohorts=both)))
    histogram = schemas.ExploreBody(cohorts=both, chart="histogram", x=x, color="@label")
    timed("explore histogram" + label, lambda: views.explore(core, histogram))
    scatter = schemas.ExploreBody(cohorts=both, x=x, y=y, color="@label")
    timed("explore scatter" + label, lambda: views.explore(core, scatter))
    timed("importance" + label, lambda: views.importance(core, schemas.ImportanceBody(cohorts=both)))
    dependence = schemas.DependenceBody(cohort=cohort, feature=x)
    timed("dependence" + label, lambda: views.dependence(core, dependence))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("artifact", type=Path)
    parser.add_argument("--x", default="f00", help="a number feature to filter and plot on")
    parser.add_argument("--y", default="f01", help="another one")
    parser.add_argument(
        "--preload",
        action="store_true",
        help="open the rows as a page's first request does (sources.preload)",
    )
    args = parser.parse_args()
    t0 = time.perf_counter()
    core = Core(args.artifact)
    print(f"load the artifact (checksums of every file) {time.perf_counter() - t0:.1f} s")
    x, y = args.x, args.y
    one = {"name": "c1", "filters": [{"field": x, "op": "gt", "value": 0.3}]}
    two = {
        "name": "c2",
        "filters": [{"field": y, "op": "lt", "value": -0.2}, {"field": x, "op": "ge", "value": -1}],
    }
    if args.preload:  # the load and what it prepares (sources.prepared) in preload's thread, waited for
        from service.dashboard import sources

        timed("preload (opens the rows)", lambda: sources.preload(core).join())  # type: ignore[arg-type]
    timed(
        "summary" + ("" if args.preload else " (opens the rows)"),
        lambda: views.summary(core, schemas.SourceBody()),
    )
    each_view(core, one, "", x, y)
    each_view(core, two, " (cohort changed)", x, y)
    timed("row", lambda: views.row(core, schemas.RowBody(row=123)))
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
