"""Arrays at rest: little-endian ``.npy`` bytes (dtype and shape in the header), never pickles."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import numpy.typing as npt

_DTYPES = {"f": "<f8", "i": "<i8"}


def to_npy(a: npt.NDArray[Any]) -> bytes:
    """float arrays as ``<f8``, integer arrays as ``<i8``."""
    kind = np.asarray(a).dtype.kind
    if kind not in _DTYPES:
        raise TypeError(f"the store keeps float and integer arrays only, got dtype {a.dtype}")
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(a, dtype=_DTYPES[kind]), allow_pickle=False)
    return buf.getvalue()


def from_npy(data: bytes) -> npt.NDArray[Any]:
    a = np.load(io.BytesIO(data), allow_pickle=False)
    return a.astype(a.dtype.newbyteorder("="), copy=False)
