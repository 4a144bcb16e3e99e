"""Bounded live sketches of the baseline's distributions, over sliding windows, mergeable by addition.

``Counts`` holds the bin counts of the inputs and of the SHAP values, the sums of |SHAP| (the live
ranking) and the rows: adding two is merging them (two blocks, two windows, two workers).  A
``RowWindow`` is the last N rows as a ring of fixed-size blocks (between N - block and N rows); a
``TimeWindow`` is the last span of seconds as a ring of time buckets.  Memory is fixed by the baseline's
shape and the ring sizes, whatever the traffic.  A ``Run`` is the counts of several requests at once
(``pending``): its integer counts add in any order, its sums of |SHAP| one request after the other, as
adding each request's ``Counts`` did.
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

    def add(self, other: Counts | Run) -> None:
        self.inputs += other.inputs
        self.attributions += other.attributions
        if isinstance(other, Run):  # each request's sum in turn: the same floats as one add per request
            self.abs_sum[...] = np.add.accumulate(np.concatenate([self.abs_sum[None], other.sums]))[-1]
        else:
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


@dataclass
class Run:
    """The counts of consecutive requests: their rows' bin counts and each request's sum of |SHAP|."""

    inputs: IntArray  # (M, B + 1)
    attributions: IntArray  # (K * M, B + 1)
    sums: FloatArray  # (requests, K, M): ``abs_sum`` of each request, in the order they came
    rows: int


def abs_sum(values: FloatArray) -> FloatArray:
    """The sum of |SHAP| of one request's rows: (n, K, M) -> (K, M)."""
    return np.asarray(np.abs(values).sum(axis=0), dtype=np.float64)


def bins(base: Baseline, coded: FloatArray, values: FloatArray) -> tuple[IntArray, IntArray]:
    """The bins of n rows' inputs (n, M) and SHAP values (n, K * M)."""
    n = coded.shape[0]
    return bin_index(coded, base.input_edges), bin_index(values.reshape(n, -1), base.attr_edges)


def observe(base: Baseline, coded: FloatArray, values: FloatArray) -> Counts:
    """The counts of n rows: ``coded`` (n, M) from ``Baseline.code_inputs``, ``values`` (n, K, M)."""
    inputs, attributions = bins(base, coded, values)
    return Counts(
        counts(inputs, base.n_bins), counts(attributions, base.n_bins), abs_sum(values), coded.shape[0]
    )


class RowWindow:
    """The last ``size`` rows, as ``size // block`` closed blocks plus the open one."""

    def __init__(self, base: Baseline, size: int, block: int) -> None:
        self.block = block
        self.ring = [Counts.zeros(base) for _ in range(max(1, size // block))]
        self.open = Counts.zeros(base)
        self.next = 0

    def add(self, c: Counts | Run) -> None:
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

    def number(self, now: float) -> int:
        """The bucket number of a time (seconds)."""
        return int(now // self.width)

    def add(self, c: Counts | Run, now: float) -> None:
        number = self.number(now)
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
