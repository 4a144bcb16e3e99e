"""The numba kernel of ``scorers.chains.knn`` (imported only when a path is warmed up or asked for
values, so that serving without numba imports ``knn``): per background row the players' moves
(``_moves``), per prefix one fused add-and-flag pass and the exact selection of the k nearest (``_step``),
as that module's docstring says.  ``fastmath`` lets LLVM vectorise the passes; a single add or compare
is rounded the same way either way, so the selection is exact on the distances the kernel sums.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

RESERVE = 4  # rows just pushed out of the set, tried first each prefix (2, 4 and 8 measured)
_FAR = float(np.finfo(np.float64).max)


@njit(fastmath=True, cache=False)
def _player_terms(row, train_t, group, power, out):  # type: ignore[no-untyped-def]
    """out[j, n] = sum over player j's columns c of |row_c - train_t[c, n]|^power."""
    out[:] = 0.0
    for c in range(train_t.shape[0]):
        at = out[group[c]]
        col = train_t[c]
        v = row[c]
        if power == 2.0:
            for n in range(col.shape[0]):
                at[n] += (v - col[n]) * (v - col[n])
        elif power == 1.0:
            for n in range(col.shape[0]):
                at[n] += abs(v - col[n])
        else:
            for n in range(col.shape[0]):
                at[n] += abs(v - col[n]) ** power


@njit(fastmath=True, cache=False)
def _smallest(values, m, best_d, best_i):  # type: ignore[no-untyped-def]
    """The m smallest of values into best_d / best_i, ascending (the first seen first among equals)."""
    filled = 0
    for i in range(values.shape[0]):
        v = values[i]
        if filled < m:
            pos = filled
            filled += 1
        elif v < best_d[m - 1]:
            pos = m - 1
        else:
            continue
        while pos > 0 and best_d[pos - 1] > v:
            best_d[pos] = best_d[pos - 1]
            best_i[pos] = best_i[pos - 1]
            pos -= 1
        best_d[pos] = v
        best_i[pos] = i


@intrinsic
def _cttz(typingctx, x):  # type: ignore[no-untyped-def]
    """Trailing zero bits of a uint64 (LLVM's cttz): the index of its lowest set bit."""
    from llvmlite import ir

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 1))

    return types.int64(types.uint64), codegen


@njit(fastmath=True, cache=False, inline="always")
def _top(best_d, size):  # type: ignore[no-untyped-def]
    """The slot of the largest of best_d[:size] (branch-free scan)."""
    slot = 0
    top = best_d[0]
    for q in range(1, size):
        bigger = best_d[q] > top
        top = best_d[q] if bigger else top
        slot = q if bigger else slot
    return slot


@njit(fastmath=True, cache=False, inline="always")
def _step(dist, row, k, near, best_d, flags, words, cand, margin, member, reserve, slot_in):  # type: ignore[no-untyped-def]
    """One prefix: dist += row; near / best_d become the k nearest rows and their distances (in no
    order), member flags them.  Returns whether the k-th and the (k + 1)-th are within margin, and the
    reserve's next slot.

    The previous prefix's k nearest, moved by ``row``, bound the new k-th distance from above; the reserve
    rows (not in the set) replace the set's farthest when nearer, tightening that bound to the k-th of
    both.  One vectorised pass adds ``row`` to every distance and flags the rows at or below the bound
    plus ``margin`` (every other row is rejected by that one compare, and is farther than the k-th by
    more than margin), the set's own then unflagged; the flags are read back a word of 8 at a time, the
    non-zero words found by their bits (``_cttz``), and each flagged row replaces the farthest of the set
    when nearer, the row it pushes out going to the reserve (a ring).  The nearest row outside the set is
    among the rows pushed out or flagged and not taken, unless it is farther than the k-th by more than
    margin.  No sort: the set's farthest is a branch-free scan."""
    for q in range(k):
        i = near[q]
        best_d[q] = dist[i] + row[i]
    slot = _top(best_d, k)
    for q in range(reserve.shape[0]):
        i = reserve[q]
        if member[i]:
            continue
        v = dist[i] + row[i]
        if v < best_d[slot]:
            member[near[slot]] = 0
            member[i] = 1
            reserve[q] = near[slot]
            best_d[slot] = v
            near[slot] = i
            slot = _top(best_d, k)
    tau = best_d[slot] + margin
    for i in range(dist.shape[0]):
        v = dist[i] + row[i]
        dist[i] = v
        flags[i] = v <= tau
    for q in range(k):
        flags[near[q]] = 0  # the set's own rows are no candidates
    n_cand = 0
    for lo in range(0, words.shape[0], 64):
        hi = min(lo + 64, words.shape[0])
        hit = np.uint64(0)
        for w in range(lo, hi):
            hit |= np.uint64(words[w] != 0) << np.uint64(w - lo)
        while hit != 0:
            w = lo + _cttz(hit)
            hit &= hit - np.uint64(1)
            for i in range(8 * w, 8 * w + 8):
                cand[n_cand] = i
                n_cand += flags[i]
    second = _FAR  # the nearest row seen outside the set (finite: fastmath assumes no infinities)
    ring = slot_in
    for q in range(n_cand):
        i = cand[q]
        v = dist[i]
        if v < best_d[slot]:
            second = min(second, best_d[slot])
            member[near[slot]] = 0
            member[i] = 1
            reserve[ring] = near[slot]
            ring = ring + 1 if ring + 1 < reserve.shape[0] else 0
            best_d[slot] = v
            near[slot] = i
            slot = _top(best_d, k)
        else:
            second = min(second, v)
    return second - best_d[slot] <= margin, ring


@njit(fastmath=True, cache=False)
def _moves(x, b, train_t, group, power, at_x, at_b, moves, start):  # type: ignore[no-untyped-def]
    """One background row's set-up: start[n] = b's distance term sum to training row n, moves[j, n] =
    player j's change of it when x's columns replace b's (at_x: x's terms, unused when power is 2)."""
    n_train = train_t.shape[1]
    start[:] = 0.0
    if power == 2.0:
        moves[:] = 0.0
        for c in range(train_t.shape[0]):
            at = moves[group[c]]
            col = train_t[c]
            bc = b[c]
            diff = x[c] - bc
            both = x[c] + bc
            for n in range(n_train):
                at[n] += diff * (both - 2.0 * col[n])
                start[n] += (bc - col[n]) * (bc - col[n])
    else:
        _player_terms(b, train_t, group, power, at_b)
        for j in range(moves.shape[0]):
            for n in range(n_train):
                start[n] += at_b[j, n]
                moves[j, n] = at_x[j, n] - at_b[j, n]


@njit(fastmath=True, cache=False)
def chains(x, background, orders, train_t, targets, group, k, power, margin, out, tie):  # type: ignore[no-untyped-def]
    """The fused kernel (module docstring): fills out (R, P, M - 1, K) and tie (R, P, M - 1)."""
    n_rows, n_orders, m = orders.shape
    n_train = train_t.shape[1]
    n_out = targets.shape[1]
    n_reserve = min(RESERVE, n_train - k)
    at_x = np.empty((m, n_train))
    if power != 2.0:
        _player_terms(x, train_t, group, power, at_x)
    at_b = np.empty((m, n_train))
    moves = np.empty((m, n_train))
    start = np.empty(n_train)
    dist = np.empty(n_train)
    cand = np.empty(n_train, dtype=np.int64)
    flags = np.zeros(8 * ((n_train + 7) // 8), dtype=np.uint8)  # the tail stays 0
    words = flags.view(np.uint64)
    member = np.zeros(n_train, dtype=np.uint8)
    first_d = np.empty(k + n_reserve)
    first = np.empty(k + n_reserve, dtype=np.int64)
    best_d = np.empty(k)
    near = np.empty(k, dtype=np.int64)
    reserve = np.empty(n_reserve, dtype=np.int64)
    for r in range(n_rows):
        _moves(x, background[r], train_t, group, power, at_x, at_b, moves, start)
        _smallest(start, k + n_reserve, first_d, first)
        for p in range(n_orders):
            dist[:] = start
            member[:] = 0
            near[:] = first[:k]
            member[near] = 1
            reserve[:] = first[k:]
            ring = 0
            for t in range(m - 1):
                tie[r, p, t], ring = _step(
                    dist,
                    moves[orders[r, p, t]],
                    k,
                    near,
                    best_d,
                    flags[:n_train],
                    words,
                    cand,
                    margin,
                    member,
                    reserve,
                    ring,
                )
                for o in range(n_out):
                    s = 0.0
                    for q in range(k):
                        s += targets[near[q], o]
                    out[r, p, t, o] = s / k
