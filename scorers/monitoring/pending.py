"""Requests observed but not yet counted: a request's cost to the monitor is an append, and the pending
rows are counted in one vectorised pass (``fold``) when enough have gathered or before the windows are read.

A fold leaves the windows exactly as counting each request as it came left them, bit for bit
(``tests/scorers/monitoring/test_pending.py``): the bins of all the pending rows are found at once; the
requests are cut into runs that went to the same row block (the row window) or the same time bucket (the
time window), in the order they came; each run is added as one ``sketch.Run``, whose integer counts add in
any order and whose sums of |SHAP| (each request's own, taken as it came) are added one after the other.
"""

from __future__ import annotations

import numpy as np

from .baseline import Baseline
from .binning import FloatArray, counts
from .sketch import RowWindow, Run, TimeWindow, abs_sum, bins


class Pending:
    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.coded: list[FloatArray] = []
        self.values: list[FloatArray] = []
        self.sums: list[FloatArray] = []  # each request's sum of |SHAP| (K, M)
        self.times: list[float] = []
        self.rows = 0

    def add(self, coded: FloatArray, values: FloatArray, t: float) -> None:
        """One request's rows, coded (n, M), their SHAP values (n, K, M), and its time."""
        self.coded.append(coded)
        self.values.append(values)
        self.sums.append(abs_sum(values))
        self.times.append(t)
        self.rows += coded.shape[0]

    def fold(self, base: Baseline, rows: RowWindow, hour: TimeWindow) -> None:
        """Count every pending request into both windows, in the order they came, and empty the buffer."""
        if not self.times:
            return
        inputs, attributions = bins(base, np.concatenate(self.coded), np.concatenate(self.values))
        sizes = [c.shape[0] for c in self.coded]
        starts = np.concatenate([[0], np.cumsum(sizes)])
        sums = np.stack(self.sums)

        def run(a: int, b: int) -> Run:
            """Requests a..b-1 as one run."""
            lo, hi = int(starts[a]), int(starts[b])
            n_bins = base.n_bins
            return Run(counts(inputs[lo:hi], n_bins), counts(attributions[lo:hi], n_bins), sums[a:b], hi - lo)

        first, open_rows = 0, rows.open.rows
        for i, n in enumerate(sizes):  # a run ends where a block closes (``RowWindow.add``) or at the end
            open_rows += n
            if open_rows >= rows.block or i == len(sizes) - 1:
                rows.add(run(first, i + 1))
                first, open_rows = i + 1, 0
        numbers = [hour.number(t) for t in self.times]
        first = 0
        for i in range(1, len(numbers) + 1):  # a run ends where the time bucket changes
            if i == len(numbers) or numbers[i] != numbers[first]:
                hour.add(run(first, i), self.times[first])
                first = i
        self.clear()
