"""Before the server serves: refuse, at start-up, a packaged model this environment cannot serve.

Run when the service module is imported, in BentoML's main process (before any worker starts) and in
each worker: a model that needs a package the image lacks (an ONNX, LightGBM or XGBoost model in the
SVC's image; scorers/runtime_packages.py) stops the server with one line naming the package and the
model's runtime, and exit status ``EXIT_MISSING_PACKAGE``, instead of failing at the first request.
"""

from __future__ import annotations

import sys
from pathlib import Path

from scorers import runtime_packages
from scorers.artifact import read_manifest
from scorers.runtime_packages import MissingPackageError

EXIT_MISSING_PACKAGE = 78  # EX_CONFIG: the configuration (model + image) cannot work


def refuse_unservable(artifact: Path, tag: str) -> None:
    try:
        runtime_packages.check(read_manifest(artifact))
    except MissingPackageError as exc:
        print(f"shapserve: cannot serve {tag}: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_MISSING_PACKAGE) from None
