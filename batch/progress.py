"""Progress on stderr: a tqdm bar in rows with the rate, for either engine."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from tqdm import tqdm


def bar(total: int | None, engine: str, enabled: bool = True) -> tqdm:  # type: ignore[type-arg]
    return tqdm(
        total=total,
        unit="row",
        unit_scale=True,
        desc=f"explain-batch [{engine}]",
        file=sys.stderr,
        mininterval=0.5,
        disable=not enabled,
        dynamic_ncols=True,
    )


class Poller:
    """Calls ``read()`` every ``interval`` seconds in a thread and moves the bar to the count it returns.

    The Spark engine's parts finish on executors: the driver learns of them from the part records that
    appear in the output directory.
    """

    def __init__(self, pbar: Any, read: Callable[[], int], interval: float = 0.5) -> None:
        self.pbar = pbar
        self.read = read
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="explain-batch-progress", daemon=True)

    def _tick(self) -> None:
        n = self.read()
        if n > self.pbar.n:
            self.pbar.update(n - self.pbar.n)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(OSError):  # a record being replaced: read it next time
                self._tick()

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._tick()


def now() -> float:
    return time.perf_counter()
