"""tests/scorers/ on sys.path, so that the test modules in its sub-folders (kinds/, runtimes/, fidelity/, ...)
import the shared helpers by name (``from scorer_support import ...``), as the modules beside them do."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
