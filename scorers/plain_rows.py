"""Plain numeric rows: a request's rows as one float64 block, when every cell is a finite plain number.

A JSON body's rows are lists (arrays in feature order) or dicts (objects keyed by feature name) of
Python ``float`` and ``int``.  For an all-numeric schema such rows need no check per cell beyond their
types: :func:`plain_block` takes them only when every row has exactly the features, every cell's type is
exactly ``float`` or ``int`` (so no ``bool``, string, ``None`` or numpy scalar) and every value is finite,
within its column's bound (``Feature.max_abs``, the magnitude the model reads) and an integer where the
model reads one (``Feature.integer``), and then gives the same float64 values, in the same C-order (n, M)
block, as the cell-by-cell checks of
``Schema.rows_to_frame`` (numpy converts a Python ``int`` as ``float()`` does).  Anything else answers
None, and the rows go through those checks, which raise the error naming the row and the field: so every
bad input keeps its 4xx and its message (docs/decisions.md; docs/performance.md, "the request path,
round 11b").
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np

_PLAIN = frozenset((float, int))


def plain_block(
    rows: Sequence[Any],
    names: Sequence[str],
    limits: np.ndarray | None = None,
    integral: np.ndarray | None = None,
) -> np.ndarray | None:
    """``rows`` (a list or tuple of rows) as an (n, len(names)) float64 block when every row is a list or
    tuple of len(names) cells, or a dict with exactly the keys ``names``, and every cell is a finite plain
    ``float`` or ``int`` of magnitude at most its column's ``limits`` (None: no bound), with no fraction
    in the columns ``integral`` marks (None: none); else None."""
    width = len(names)
    values: list[Any] = []
    for row in rows:
        kind = type(row)
        if (kind is list or kind is tuple) and len(row) == width:
            values.append(row)
        elif kind is dict and len(row) == width:
            try:
                values.append([row[name] for name in names])
            except KeyError:  # as many keys as features, so one of them is unknown
                return None
        else:
            return None
    if not _PLAIN.issuperset(map(type, chain.from_iterable(values))):
        return None
    try:
        block = np.array(values, dtype=np.float64)
    except OverflowError:  # an integer beyond float64's range
        return None
    if not np.isfinite(block).all():
        return None
    if limits is not None and not (np.abs(block) <= limits).all():
        return None
    if integral is not None and fractional(block[:, integral]).any():
        return None
    return block


def fractional(values: np.ndarray) -> np.ndarray:
    """Where finite values have a fraction (NaN and infinity are the other checks' to refuse): the one
    rule of a number a model reads as an integer (``Feature.integer``, an ONNX integer input's feed)."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (np.round(values) != values)
