"""Progress lines for long commands: packaging takes seconds to minutes."""

from __future__ import annotations

import sys
import time


class Progress:
    """Step lines with elapsed time on stderr."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def __call__(self, msg: str) -> None:
        print(f"[{time.perf_counter() - self.t0:7.1f}s] {msg}", file=sys.stderr, flush=True)
