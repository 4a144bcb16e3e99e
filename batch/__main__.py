"""``python -m batch explain-batch ...``: the same command as ``shapserve explain-batch``."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
