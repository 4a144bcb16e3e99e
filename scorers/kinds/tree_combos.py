"""The tree scorer's explain-time lookup: groups of leaves, one table row per joint position of a row.

Per leaf, a row matters only through its inside/outside pattern (``tree``); per *group* of consecutive
leaves it matters only through its bin on each feature the group splits on (how many of the group's
thresholds on that feature it exceeds, or NaN).  So every group gets a table with one row per joint bin
(``combo``): the Shapley values of all its leaves summed per player, for every output, and the leaves'
output.  Explaining a row is then

    combo[g] = sum over the group's tests u of weight_u * [x_col(u) > thr_u]   (or [x_col(u) is NaN])
    values   = sum over groups g of rows[offset_g + combo[g]]

one comparison per test and one row read per group: a depth-4 tree is 2 groups instead of 16 leaves of
up to 4 slots each.  A row's values are summed over groups in group order, whatever its batch.

The group rows are built from the per-leaf pattern table, at one representative value per bin (a
threshold, +inf, or NaN), so they hold the same numbers summed in another order (1e-15 relative).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from scipy import sparse

# joint bins of one group (table rows): groups grow leaf by leaf while their bins stay within this
GROUP_MAX_COMBOS = 256
# total table entries (rows x (K players + K outputs)) beyond which the per-leaf lookup is kept
MAX_ENTRIES = 2**23


class Combos(NamedTuple):
    """Tests in group order (one leading dummy test per group), the groups' first rows, and the rows."""

    col: np.ndarray  # (U,) column of each test
    thr: np.ndarray  # (U,) threshold (unused for NaN tests)
    nan: np.ndarray  # (U,) the test is "is NaN" rather than "> thr"
    weight: Any  # (U, G) sparse: what each test adds to its group's combo when it holds
    seg: np.ndarray  # (G,) first test of each group
    offset: np.ndarray  # (G,) first row of each group
    rows: np.ndarray  # (sum of combos, K * M + K): values by output and player, then the outputs


class Boxes(NamedTuple):
    """What the build reads of the leaves (see ``tree.TreeScorer._restore``)."""

    lo: np.ndarray  # (L, d)
    hi: np.ndarray  # (L, d)
    nan_ok: np.ndarray  # (L, d) bool
    col_slot: np.ndarray  # (L, P) column of each column slot, -1 pads
    col_bits: np.ndarray  # (L, P) bit of the player slot of each column slot, 0 pads
    full: int  # the pattern of a row inside a leaf on every slot


def _leaf_needs(boxes: Boxes, leaf: int) -> dict[int, tuple[set[float], bool]]:
    """Per path column of a leaf: its finite bounds, and whether NaN needs a bin of its own (NaN is not
    inside exactly where a value below every threshold is)."""
    out: dict[int, tuple[set[float], bool]] = {}
    for c in boxes.col_slot[leaf]:
        if c < 0:
            continue
        lo, hi = float(boxes.lo[leaf, c]), float(boxes.hi[leaf, c])
        thr = {t for t in (lo, hi) if np.isfinite(t)}
        out[int(c)] = (thr, bool(boxes.nan_ok[leaf, c]) != (lo == -np.inf))
    return out


def _count(features: dict[int, tuple[set[float], bool]]) -> int:
    return int(np.prod([len(t) + 1 + n for t, n in features.values()], dtype=np.float64))


def _groups(boxes: Boxes) -> list[tuple[int, int, dict[int, tuple[set[float], bool]]]] | None:
    """Consecutive leaves grouped greedily while their joint bins stay within GROUP_MAX_COMBOS."""
    groups = []
    start, feats = 0, {}  # type: ignore[var-annotated]
    for leaf in range(boxes.lo.shape[0]):
        need = _leaf_needs(boxes, leaf)
        if _count(need) > GROUP_MAX_COMBOS:
            return None
        merged = {c: (set(t), n) for c, (t, n) in feats.items()}
        for c, (t, n) in need.items():
            old_t, old_n = merged.get(c, (set(), False))
            merged[c] = (old_t | t, old_n or n)
        if leaf > start and _count(merged) > GROUP_MAX_COMBOS:
            groups.append((start, leaf, feats))
            start, merged = leaf, need
        feats = merged
    groups.append((start, boxes.lo.shape[0], feats))
    return groups


def build(
    boxes: Boxes,
    flat: np.ndarray,
    slot_leaf: np.ndarray,
    slot_start: np.ndarray,
    slot_player: np.ndarray,
    value: np.ndarray,
    n_players: int,
) -> Combos | None:
    """The group tables from the per-leaf table (``flat``, its slots' leaf, offset and player, and each
    leaf's (K,) value); None when some leaf alone has too many bins or the rows would be too many."""
    groups = _groups(boxes)
    if groups is None:
        return None
    k_out = value.shape[1]
    width = k_out * n_players + k_out
    if sum(_count(f) for _, _, f in groups) * width > MAX_ENTRIES:
        return None
    tests: list[tuple[int, float, bool, int]] = []
    seg: list[int] = []
    offset: list[int] = []
    parts: list[np.ndarray] = []
    first_slot = np.searchsorted(slot_leaf, np.arange(boxes.lo.shape[0] + 1))
    row = 0
    for lo_leaf, hi_leaf, feats in groups:
        seg.append(len(tests))
        offset.append(row)
        tests.append((0, np.inf, False, 0))  # never holds
        n_combo = _count(feats)
        reps = np.zeros((n_combo, boxes.lo.shape[1]))
        radix = 1
        for c in sorted(feats):
            t_set, with_nan = feats[c]
            t = np.array(sorted(t_set))
            n_bins = len(t) + 1 + with_nan
            for u in t:
                tests.append((c, float(u), False, radix))
            if with_nan:
                tests.append((c, np.nan, True, (len(t) + 1) * radix))
            # a value in each bin: bin i exceeds the i smallest thresholds
            per_bin = np.concatenate([t, [np.inf]]) if len(t) else np.zeros(1)
            if with_nan:
                per_bin = np.concatenate([per_bin, [np.nan]])
            reps[:, c] = per_bin[(np.arange(n_combo) // radix) % n_bins]
            radix *= n_bins
        parts.append(
            _group_rows(
                boxes,
                reps,
                lo_leaf,
                hi_leaf,
                flat,
                first_slot,
                slot_leaf,
                slot_start,
                slot_player,
                value,
                n_players,
            )
        )
        row += n_combo
    col, thr, nan, weight = (list(v) for v in zip(*tests, strict=True))
    return Combos(
        col=np.array(col, dtype=np.intp),
        thr=np.array(thr),
        nan=np.array(nan, dtype=bool),
        weight=sparse.csr_matrix(
            (
                np.array(weight, dtype=np.float32),
                (np.arange(len(col)), np.repeat(np.arange(len(seg)), np.diff(seg + [len(col)]))),
            ),
            shape=(len(col), len(seg)),
        ),
        seg=np.array(seg, dtype=np.intp),
        offset=np.array(offset, dtype=np.int64),
        rows=np.concatenate(parts),
    )


def _group_rows(
    boxes: Boxes,
    reps: np.ndarray,
    lo_leaf: int,
    hi_leaf: int,
    flat: np.ndarray,
    first_slot: np.ndarray,
    slot_leaf: np.ndarray,
    slot_start: np.ndarray,
    slot_player: np.ndarray,
    value: np.ndarray,
    n_players: int,
) -> np.ndarray:
    """(combos, K * M + K): the group's values and outputs at each combo's representative row."""
    leaves = np.arange(lo_leaf, hi_leaf)
    cs = boxes.col_slot[leaves]  # (l, P)
    c = np.where(cs >= 0, cs, 0)
    v = reps.T[c]  # (l, P, C)
    lo = boxes.lo[leaves[:, None], c][..., None]
    hi = boxes.hi[leaves[:, None], c][..., None]
    nan_ok = boxes.nan_ok[leaves[:, None], c].astype(bool)[..., None]
    inside = np.where(np.isnan(v), nan_ok, (v > lo) & (v <= hi)) | (cs < 0)[..., None]
    outside = ~inside * boxes.col_bits[leaves][..., None].astype(np.int64)
    pattern = boxes.full ^ np.bitwise_or.reduce(outside, axis=1)  # (l, C)
    n_combo = reps.shape[0]
    k_out = value.shape[1]
    s0, s1 = first_slot[lo_leaf], first_slot[hi_leaf]
    local = slot_leaf[s0:s1] - lo_leaf
    share = flat[slot_start[s0:s1, None] + pattern[local]]  # (s, C)
    bins = (np.arange(n_combo)[None, :] * n_players + slot_player[s0:s1, None]).ravel()
    out = np.empty((n_combo, k_out * n_players + k_out))
    reached = pattern == boxes.full  # (l, C)
    for k in range(k_out):
        contrib = (share * value[lo_leaf + local, k, None]).ravel()
        out[:, k * n_players : (k + 1) * n_players] = np.bincount(
            bins, weights=contrib, minlength=n_combo * n_players
        ).reshape(n_combo, n_players)
        out[:, k_out * n_players + k] = value[leaves, k] @ reached
    return out


def lookup(combos: Combos, z: np.ndarray) -> np.ndarray:
    """(m, d) rows (compared as the leaves compare) -> (m, K * M + K): values and outputs."""
    v = z[:, combos.col]  # (m, U)
    hold = v > combos.thr
    if combos.nan.any() and np.isnan(v).any():
        hold[:, combos.nan] = np.isnan(v[:, combos.nan])
    # integer sums (< 2^24) are exact in float32, whatever order the product adds them in
    idx = (hold @ combos.weight).astype(np.intp) + combos.offset  # (m, G)
    acc = np.take(combos.rows, idx[:, 0], axis=0)
    part = np.empty_like(acc)
    for g in range(1, idx.shape[1]):  # groups in order: a row's sum does not depend on its batch
        np.take(combos.rows, idx[:, g], axis=0, out=part)
        acc += part
    return acc
