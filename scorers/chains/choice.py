"""Whether the ``permutation`` scorer serves a chain path: checked at packaging, replayed at load.

Like a coalition runtime (``scorers.runtimes.coalitions``), a chain path is served only when it matches
the scorer's own model function (the game function, whatever coalition runtime evaluates it) on probe
rows to the packaging's parity tolerance: explained rows and a background drawn from the probe hybrids of
the background, one antithetic pair and one unpaired order per row, every prefix compared.  The outcome
(name or reason, largest difference, op-count speedup) is the scorer's ``chain`` parameter in the
manifest; a load rebuilds the named path and compiles it (``warm_up``) before any request.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ArtifactError
from ..masking import RAW
from ..permutations import antithetic_orders, chain_masks
from ..runtimes.coalitions import probe_hybrids
from . import chain_path, estimates
from .base import ChainPath, OutputFn

PROBE_ROWS, PROBE_BACKGROUND = 8, 32  # explained rows and background rows of the parity check


def choose(
    head: Any,
    space: str,
    mode: str,
    column_group: np.ndarray,
    n_players: int,
    fn: OutputFn,
    background: np.ndarray,
    tolerance: float,
) -> tuple[ChainPath | None, dict[str, Any]]:
    """The chain path to serve (None: hybrid rows) and the record of the choice."""
    record: dict[str, Any] = {"name": None, "tolerance": tolerance}
    if head is None:
        return None, {**record, "reason": "the model is a black box"}
    if mode == RAW:
        return None, {**record, "reason": "raw masking evaluates the whole pipeline"}
    if n_players < 2:
        return None, {**record, "reason": "a single player has no chain"}
    path = chain_path(head, space, column_group, n_players)
    if path is None:
        return None, {**record, "reason": f"no chain path reads {type(head).__name__} in the {space} space"}
    try:
        _compile(path)
    except ImportError as err:  # numba absent where the model is packaged: served by hybrid rows
        reason = f"{path.name} needs numba, which is not installed (importing {err.name} failed)"
        return None, {**record, "reason": reason}
    diff = parity(path, fn, np.asarray(background, dtype=np.float64), column_group, n_players)
    record.update(max_abs_diff=diff, speedup=path.speedup)
    if not diff <= tolerance:
        return None, {**record, "reason": f"{path.name} differs from the model function by {diff:.1e}"}
    return path, {**record, "name": path.name, "reason": ""}


def parity(
    path: ChainPath, fn: OutputFn, background: np.ndarray, column_group: np.ndarray, n_players: int
) -> float:
    """Largest |path - fn| over every prefix of the probe chains (module docstring)."""
    probe = probe_hybrids(background, column_group, n_players, n=PROBE_ROWS + PROBE_BACKGROUND, seed=1)
    xs, bg = probe[:PROBE_ROWS], probe[PROBE_ROWS:]
    paired = antithetic_orders(len(bg), n_players, 1, seed=2)
    lone = antithetic_orders(len(bg), n_players, 1, seed=3)[:, :1]
    worst = 0.0
    for orders in (paired, np.concatenate([paired, lone], axis=1)):
        cols = chain_masks(orders)[..., column_group]
        for x in xs:
            got = path.values(x, bg, orders, fn)
            hybrids = np.where(cols, x[None, None, None, :], bg[:, None, None, :])
            want = fn(hybrids.reshape(-1, len(x))).reshape(got.shape)
            worst = max(worst, float(np.max(np.abs(got - want))))
    return worst


def replay(
    record: dict[str, Any], head: Any, space: str, column_group: np.ndarray, n_players: int
) -> ChainPath:
    """The path a manifest names, compiled; an ``ArtifactError`` when this model does not offer it."""
    path = chain_path(head, space, column_group, n_players)
    if path is None or path.name != record.get("name"):
        raise ArtifactError(
            f"the manifest names chain path '{record.get('name')}', which this model does not offer"
        )
    _compile(path)
    return path


def _compile(path: ChainPath) -> None:
    """Compile what a served chain path runs per request: its own kernel and the estimates pass the
    scorer reads its prefixes with (``scorers.chains.estimates``), so that no request pays for numba."""
    path.warm_up()
    estimates.warm_up()
