"""The monitor's pending requests (scorers/monitoring/pending.py): counted in batches, with reads in the
middle, they leave both windows bit for bit as counting each request as it came (the monitor before
batching, written out here as the oracle) left them: every block and bucket of the rings, not only the
totals."""

from __future__ import annotations

import numpy as np

from scorers.monitoring import Monitor
from scorers.monitoring.baseline import Baseline
from scorers.monitoring.binning import bin_index, counts, quantile_edges
from scorers.monitoring.sketch import Counts, RowWindow, TimeWindow, observe

M, K, BINS = 5, 2, 10
WINDOW, BLOCK, SPAN = 40, 6, 600.0  # 10-second buckets


def _baseline(rng: np.random.Generator) -> Baseline:
    x = rng.normal(size=(300, M))
    v = rng.normal(size=(300, K, M))
    in_edges, attr_edges = quantile_edges(x, BINS), quantile_edges(v.reshape(300, -1), BINS)

    return Baseline(
        features=[f"f{j}" for j in range(M)],
        classes=["a", "b"],
        categories={},
        input_edges=in_edges,
        input_counts=counts(bin_index(x, in_edges), BINS),
        attr_edges=attr_edges,
        attr_counts=counts(bin_index(v.reshape(300, -1), attr_edges), BINS),
        mean_abs=np.abs(v).mean(axis=0),
        rows=300,
        source="test",
    )


def _requests(rng: np.random.Generator, n: int) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """``n`` requests of 1-9 rows (some values missing), their times crossing buckets, once going back."""
    out, t = [], 1_000_000.0
    for i in range(n):
        rows = int(rng.integers(1, 10)) if i % 3 else 1
        coded = rng.normal(size=(rows, M)) * 1.5
        coded[rng.random(coded.shape) < 0.05] = np.nan
        values = rng.normal(size=(rows, K, M)) * rng.uniform(0.1, 3.0)
        t += float(rng.exponential(1.5))
        out.append((coded, values, t - 25.0 if i == n // 2 else t))  # a clock stepped back
    return out


def _state(rows: RowWindow, hour: TimeWindow) -> list[bytes | int | list[int]]:
    """Every counter of both windows as bytes: equal means equal bit for bit."""
    out: list[bytes | int | list[int]] = [rows.next, hour.stamp]
    for c in (*rows.ring, rows.open, *hour.ring):
        out += [c.inputs.tobytes(), c.attributions.tobytes(), c.abs_sum.tobytes(), c.rows]
    return out


def test_batched_counts_equal_per_request_counts_bit_for_bit() -> None:
    rng = np.random.default_rng(23)
    base = _baseline(rng)
    requests = _requests(rng, 150)
    # the oracle: each request counted as it came (Monitor.update_coded before pending.py)
    rows, hour = RowWindow(base, WINDOW, BLOCK), TimeWindow(base, SPAN, 60)
    oracle = []
    for i, (coded, values, t) in enumerate(requests):
        c = observe(base, coded, values)
        rows.add(c)
        hour.add(c, t)
        if i in (40, 41, 97):
            oracle.append(_state(rows, hour))
    oracle.append(_state(rows, hour))
    now = requests[-1][2]
    want = {**rows.total(base).to_arrays("rows"), **hour.total(base, now).to_arrays("hour")}

    for fold_rows in (1, 7, 64, 10_000):
        mon = Monitor(base, window_rows=WINDOW, block_rows=BLOCK, span=SPAN, fold_rows=fold_rows)
        got = []
        for i, (coded, values, t) in enumerate(requests):
            mon.update_coded(coded, values, now=t)
            if i in (40, 41, 97):  # reads in the middle fold what is pending
                got.append(_state(mon.rows, mon.hour))
        assert mon.pending.rows < fold_rows
        arrays = mon.arrays(now=now)
        assert mon.pending.rows == 0
        got.append(_state(mon.rows, mon.hour))
        assert got == oracle, fold_rows
        assert arrays.keys() == want.keys()
        assert all(arrays[k].tobytes() == want[k].tobytes() for k in want), fold_rows


def test_a_read_counts_everything_observed_and_reading_again_changes_nothing() -> None:
    rng = np.random.default_rng(5)
    base = _baseline(rng)
    mon = Monitor(base, window_rows=WINDOW, block_rows=BLOCK, span=SPAN)
    requests = _requests(rng, 9)
    for coded, values, t in requests:
        mon.update_coded(coded, values, now=t)
    assert mon.pending.rows == sum(len(c) for c, _, _ in requests) and mon.version == 9
    first = mon.arrays(now=requests[-1][2])
    again = mon.arrays(now=requests[-1][2])
    assert int(first["rows.rows"]) == int(first["hour.rows"]) == sum(len(c) for c, _, _ in requests)
    assert all(first[k].tobytes() == again[k].tobytes() for k in first)
    assert Counts.from_arrays(first, "rows").rows == mon.rows.total(base).rows
