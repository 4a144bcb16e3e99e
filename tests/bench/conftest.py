"""tests/scorers/ on sys.path, so that the benchmark tests check against the same brute-force oracle
(``from scorer_support import shapley_oracle``) as the scorer tests."""

from __future__ import annotations

import sys
from pathlib import Path

SCORERS = str(Path(__file__).resolve().parents[1] / "scorers")
if SCORERS not in sys.path:
    sys.path.insert(0, SCORERS)
