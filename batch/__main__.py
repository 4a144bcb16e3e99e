"""``python -m batch explain-batch ...``: the same command as ``shapserve explain-batch``.

The import is absolute so that ``spark-submit .../batch/__main__.py explain-batch ...`` runs it too.
"""

from __future__ import annotations

import sys

from batch.cli import main

if __name__ == "__main__":
    sys.exit(main())
