"""Bounded live sketches of the baseline's distributions, over sliding windows, mergeable by addition.

``Counts`` holds the bin counts of the inputs and of the SHAP values, the sums of |SHAP| (the live
ranking) and the rows: adding two is merging them (two blocks, two windows, two workers).  A
``RowWindow`` is the last N rows as a ring of fixed-size blocks (between N - block and N rows); a
``TimeWindow`` is the last span of seconds as a ring of time buckets.  Memory is fixed by the baseline's
shape and the ring sizes, whatever the traffic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .baseline import Baseline
from .binning import FloatArray, IntArray, bin_index, counts


@dataclass
class Counts:
    inputs: IntArray  # (M, B + 1)
    attributions: IntArray  # (K * M, B + 1)
    abs_sum: FloatArray  # (K, M) sum of |SHAP|
    rows: int = 0

    @classmethod
    def zeros(cls, base: Baseline) -> Counts:
        return cls(
            np.zeros_like(base.input_counts), np.zeros_like(base.attr_counts), np.zeros_like(base.mean_abs)
        )

    def add(self, other: Counts) -> None:
        self.inputs += other.inputs
        self.attributions += other.attributions
        self.abs_sum += other.abs_sum
        self.rows += other.rows

    def clear(self) -> None:
        self.inputs[:] = 0
        self.attributions[:] = 0
        self.abs_sum[:] = 0
        self.rows = 0

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {
            f"{prefix}.inputs": self.inputs,
            f"{prefix}.attributions": self.attributions,
            f"{prefix}.abs_sum": self.abs_sum,
            f"{prefix}.rows": np.asarray(self.rows),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> Counts:
        return cls(
            arrays[f"{prefix}.inputs"].astype(np.int64),
            arrays[f"{prefix}.attributions"].astype(np.int64),
            arrays[f"{prefix}.abs_sum"].astype(np.float64),
            int(arrays[f"{prefix}.rows"]),
        )


def observe(base: Baseline, coded: FloatArray, values: FloatArray) -> Counts:
    """The counts of n rows: ``coded`` (n, M) from ``Baseline.code_inputs``, ``values`` (n, K, M)."""
    n = coded.shape[0]
    flat = values.reshape(n, -1)
    return Counts(
        counts(bin_index(coded, base.input_edges), base.n_bins),
        counts(bin_index(flat, base.attr_edges), base.n_bins),
        np.abs(values).sum(axis=0),
        n,
    )


class RowWindow:
    """The last ``size`` rows, as ``size // block`` closed blocks plus the open one."""

    def __init__(self, base: Baseline, size: int, block: int) -> None:
        self.block = block
        self.ring = [Counts.zeros(base) for _ in range(max(1, size // block))]
        self.open = Counts.zeros(base)
        self.next = 0

    def add(self, c: Counts) -> None:
        self.open.add(c)
        if self.open.rows >= self.block:  # a request larger than a block closes one larger block
            self.ring[self.next], self.open = self.open, self.ring[self.next]
            self.open.clear()
            self.next = (self.next + 1) % len(self.ring)

    def total(self, base: Baseline) -> Counts:
        out = Counts.zeros(base)
        for c in (*self.ring, self.open):
            out.add(c)
        return out


class TimeWindow:
    """The last ``span`` seconds, in ``buckets`` buckets (a bucket older than the span is cleared)."""

    def __init__(self, base: Baseline, span: float, buckets: int) -> None:
        self.width = span / buckets
        self.ring = [Counts.zeros(base) for _ in range(buckets)]
        self.stamp = [-1] * buckets  # the bucket number each slot holds

    def add(self, c: Counts, now: float) -> None:
        number = int(now // self.width)
        slot = number % len(self.ring)
        if self.stamp[slot] != number:
            self.ring[slot].clear()
            self.stamp[slot] = number
        self.ring[slot].add(c)

    def total(self, base: Baseline, now: float) -> Counts:
        out = Counts.zeros(base)
        oldest = int(now // self.width) - len(self.ring) + 1
        for c, stamp in zip(self.ring, self.stamp, strict=True):
            if stamp >= oldest:
                out.add(c)
        return out
