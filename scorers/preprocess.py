"""Column-wise preprocessing: find which engineered columns come from which raw column.

A preprocessor is column-wise when every engineered column depends on one raw column only (the seed's
rule: transformations act on one column, one-to-many).  Then masking a raw column is masking its group
of engineered columns, and the preprocessor runs once per row instead of once per hybrid.  We do not
trust the pipeline's structure for this: we perturb raw columns and watch the output, then check on
random hybrids that transform(hybrid) == hybrid(transform).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


def dense(a: Any) -> np.ndarray:
    if hasattr(a, "toarray"):
        a = a.toarray()
    return np.ascontiguousarray(a, dtype=np.float64)


def detect_groups(
    transform: Callable[[pd.DataFrame], np.ndarray],
    frame: pd.DataFrame,
    out_names: list[str] | None,
    seed: int = 0,
) -> tuple[np.ndarray | None, str]:
    """Player index per engineered column, or None with the reason it is not column-wise."""
    rng = np.random.default_rng(seed)
    sample = frame.iloc[rng.permutation(len(frame))[: min(len(frame), 200)]].reset_index(drop=True)
    base = transform(sample)
    n_out = base.shape[1]
    owner = np.full(n_out, -1)
    for j, name in enumerate(sample.columns):
        changed = np.zeros(n_out, dtype=bool)
        for shift in (1, 2, 3, max(1, len(sample) // 2)):
            pert = sample.copy()
            pert[name] = np.roll(sample[name].to_numpy(), shift)
            changed |= np.any(~_same(transform(pert), base), axis=0)
        clash = changed & (owner >= 0)
        if clash.any():
            c = int(np.flatnonzero(clash)[0])
            return None, (
                f"engineered column {c} depends on raw columns '{sample.columns[owner[c]]}' and '{name}'"
            )
        owner[changed] = j
    for c in (int(i) for i in np.flatnonzero(owner < 0)):
        # constant on the background (say a rare one-hot level): fall back on the output name
        label = out_names[c] if out_names is not None else ""
        hits = [j for j, n in enumerate(sample.columns) if str(n) in label]
        if not hits:
            return None, f"cannot tell which raw column engineered column {c} ({label!r}) comes from"
        owner[c] = max(hits, key=lambda j: len(str(sample.columns[j])))
    # verify on hybrids of real rows: the transform must commute with masking
    m = len(sample.columns)
    n_check = min(len(sample), 64)
    xs = sample.iloc[:n_check].reset_index(drop=True)
    bs = sample.iloc[rng.permutation(len(sample))[:n_check]].reset_index(drop=True)
    masks = rng.random((n_check, m)) < 0.5
    hybrid = bs.copy()
    for j, name in enumerate(sample.columns):
        hybrid.loc[masks[:, j], name] = xs.loc[masks[:, j], name]
    expected = np.where(masks[:, owner], transform(xs), transform(bs))
    if not np.all(_same(transform(hybrid), expected)):
        return None, "masking raw columns does not commute with the preprocessor"
    return owner, ""


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a == b) | (np.isnan(a) & np.isnan(b)) | np.isclose(a, b, rtol=1e-12, atol=1e-12)
