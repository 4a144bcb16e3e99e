"""Chain paths: the ``permutation`` scorer's prefix values without hybrid rows (``scorers.chains.base``).

``PATHS`` is the registry (the first path that builds for a head wins); ``chain_path`` builds one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import ChainPath
from .knn import KnnChain
from .mlp import MlpChain

PATHS: list[type[ChainPath]] = [MlpChain, KnnChain]


def chain_path(head: Any, space: str, column_group: np.ndarray, n_players: int) -> ChainPath | None:
    """The first registered path that reads ``head`` in ``space``; None when none does."""
    for path in PATHS:
        built = path.build(head, space, column_group, n_players)
        if built is not None:
            return built
    return None
