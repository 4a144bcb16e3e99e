"""The drain on SIGTERM: leave the load balancer first, stop accepting after.

BentoML's arbiter (the container's first process) forwards SIGTERM to each worker, and uvicorn's own
handler closes the worker's listener at once, so a balancer that finds out from ``/readyz`` would still
send requests to a server that no longer takes them. ``Drain`` sits in front of that handler: on the
first SIGTERM ``/readyz`` answers 503 at once (``draining``) while every route keeps serving, and the
server's own shutdown (listener closed, in-flight requests finished, the shutdown hooks: jobs handed
back, recording written) starts ``SHAPSERVE_DRAIN_SECONDS`` later. A second SIGTERM, or SIGINT, stops at
once. With 0 seconds readiness still turns false first and the shutdown follows at once.
(docs/reliability.md "Drain"; Kubernetes adds its preStop sleep before the SIGTERM.)
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

logger = logging.getLogger("shapserve.drain")


class Drain:
    """One worker's drain; ``install`` from the worker's main thread once the server handles signals."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.draining = threading.Event()
        self._previous: Any = signal.SIG_DFL

    def install(self) -> None:
        """Put ``on_term`` in front of the current SIGTERM handler (uvicorn's, in a BentoML worker)."""
        if threading.current_thread() is not threading.main_thread():
            return  # signals are the main thread's: not a server's worker (a test client), nothing to drain
        self._previous = signal.signal(signal.SIGTERM, self.on_term)

    def on_term(self, sig: int, frame: FrameType | None) -> None:
        if self.draining.is_set():  # a second SIGTERM: the shutdown now
            self._shutdown(sig, frame)
            return
        self.draining.set()
        logger.info("SIGTERM: not ready from now on; the server stops accepting in %g s", self.seconds)
        if self.seconds <= 0:
            self._shutdown(sig, frame)
        else:
            timer = threading.Timer(self.seconds, self._shutdown, (sig, None))
            timer.daemon = True
            timer.start()

    def _shutdown(self, sig: int, frame: FrameType | None) -> None:
        """The handler that was there before (uvicorn's sets its exit flag: thread-safe); a default or
        ignored handler is restored and the signal raised again."""
        previous = self._previous
        if callable(previous):
            previous(sig, frame)
        else:
            signal.signal(sig, previous)
            signal.raise_signal(sig)
