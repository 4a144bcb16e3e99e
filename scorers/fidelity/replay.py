"""Model outputs recorded on one set of hybrids and replayed for the same hybrids, bit for bit.

The statement rows' full-data truth (``reference.truth_at``) evaluates the model on every hybrid of a row
with every pool row; when the served background *is* the pool (the ``permutation`` kind's wide
background on a few hundred training rows), the same-design values ``tune._error_at`` measures next
evaluate the very same hybrids again, in the same batches.  A model function is a function: the same
input bytes give the same output, so the second call can be the first one's output.  Keys are the
batch's bytes (shape, dtype and a BLAKE2 digest); anything else is passed through to the model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

from .measure import FloatArray

# memory for the recorded outputs; past it, batches are evaluated again instead of recorded
RECORD_BYTES = 256 * 2**20


class Replay:
    """A model function that records its outputs while ``recording`` and gives each recorded output back
    once, for a batch of the same bytes (then forgets it).  ``replayed`` counts the model calls saved."""

    def __init__(self, fn: Callable[[np.ndarray], FloatArray], limit: int = RECORD_BYTES) -> None:
        self.fn = fn
        self.limit = limit
        self.recording = False
        self.replayed = 0
        self._kept: dict[tuple[object, ...], FloatArray] = {}
        self._bytes = 0

    def __call__(self, h: np.ndarray) -> FloatArray:
        if not (self.recording or self._kept) or np.asarray(h).dtype == object:
            return self.fn(h)
        key = _key(h)
        kept = self._kept.pop(key, None)
        if kept is not None:
            self._bytes -= kept.nbytes
            self.replayed += 1
            return kept
        out = self.fn(h)
        if self.recording and self._bytes + out.nbytes <= self.limit:
            self._kept[key] = out.copy()  # the caller may work on ``out`` in place
            self._bytes += out.nbytes
        return out

    def forget(self) -> None:
        """Drop what was recorded and not replayed (and stop recording)."""
        self.recording = False
        self._kept.clear()
        self._bytes = 0


def _key(h: np.ndarray) -> tuple[object, ...]:
    a = np.ascontiguousarray(h)
    return a.shape, a.dtype.str, hashlib.blake2b(a.view(np.uint8).data, digest_size=20).digest()
