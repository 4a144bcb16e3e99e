"""The model function the search scores its candidates with: the explained outputs of encoded rows.

The search scores thousands of candidates per row (``search.py``), most of them single changes (the
row with one feature set to each of its training values), so the function matters: for the scorer's
own (``Scorer.outputs``, the coalition runtime) an RBF kernel machine explained in its margin is
scikit-learn's ``decision_function``, which libsvm evaluates one row and one support vector at a time.

- ``RbfDecision`` (``runtimes.fastpaths``): the decision value of any rows as one GEMM.
- ``RbfChanges``: the single changes exactly, from the product form of the kernel.  With
  ``a_j(s) = exp(-gamma |x_j - sv_j(s)|^2)`` the factor of feature j's encoded columns, the row with
  feature j set to value v has decision ``b + sum_s alpha_s T_j(v, s) prod_{k != j} a_k(s)``; the
  tables ``T_j`` (every training value of feature j against every support vector) are computed once per
  index, so a row's single changes cost one matrix-vector product per feature and no exponential.

A fast function is used only when it agrees with the scorer's to ``PARITY`` on the stored rows (and the
single changes of one of them); the rows the search returns are checked with the model's own
``predict`` in any case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import spaces
from ..kinds.kernel_machine import rbf_parts
from ..runtimes.base import CLASSIFIER
from ..runtimes.fastpaths import RbfDecision
from .bank import Bank

Outputs = Callable[[np.ndarray], np.ndarray]
# (bank, row q, features) -> per feature, the outputs (len(bank.choices(j)), K) of row q with feature j
# set to each of its choices
Changes = Callable[[Bank, int, list[int]], list[np.ndarray]]

PARITY = 1e-9  # largest difference to the scorer's outputs on the stored rows, relative to their scale
MAX_TABLE = 1 << 22  # floats in the tables of ``RbfChanges`` (32 MB); a larger model gathers instead


class Rbf:
    """A binary RBF kernel machine's margin in the explained layout: (n,) decision -> (n, K)."""

    def __init__(self, parts: tuple[np.ndarray, np.ndarray, float, float], classifier: bool) -> None:
        self.parts = parts
        self.classifier = classifier
        self.gemm = RbfDecision(*parts)

    @classmethod
    def of(cls, head: Any, task: str, space: str) -> Rbf | None:
        """For ``head`` explained in ``space``, or None where none applies."""
        parts = rbf_parts(head) if space == spaces.RAW else None
        return None if parts is None else cls(parts, task == CLASSIFIER)

    def layout(self, d: np.ndarray) -> np.ndarray:
        return spaces.from_margin(d, spaces.RAW, 2) if self.classifier else d[:, None]

    def outputs(self, e: np.ndarray) -> np.ndarray:
        return self.layout(self.gemm.decision_function(e))


def gathered(outputs: Outputs) -> Changes:
    """Single changes gathered from the bank and scored in one call of ``outputs``."""

    def changes(bank: Bank, q: int, features: list[int]) -> list[np.ndarray]:
        sizes = [len(bank.choices(j)) for j in features]
        src = np.full((sum(sizes), bank.z.shape[1]), q, dtype=np.int64)
        r = 0
        for j, n in zip(features, sizes, strict=True):
            src[r : r + n, j] = bank.choices(j)
            r += n
        if len(src) == 0:
            return [np.empty((0, 1)) for _ in features]
        return list(np.split(outputs(bank.encoded(src)), np.cumsum(sizes)[:-1]))

    return changes


class RbfChanges:
    """Exact single changes of a kernel machine from per-feature kernel tables (module docstring)."""

    def __init__(self, rbf: Rbf, bank: Bank) -> None:
        self.rbf = rbf
        self.sv, self.alpha, self.intercept, gamma = rbf.parts
        self.gamma = float(gamma)
        self.group = bank.group
        self.tables = [np.exp(self._log_factor(bank.e[bank.choices(j)], j)) for j in range(bank.z.shape[1])]
        # the k-th encoded column of every feature (-1 past its last): a row's factors of all features at
        # once, summed over each feature's columns in ``_log_factor``'s order (so bit for bit its values)
        cols = [np.flatnonzero(self.group == j) for j in range(bank.z.shape[1])]
        width = max((len(c) for c in cols), default=0)
        self.columns = np.array([[c[k] if k < len(c) else -1 for c in cols] for k in range(width)])

    def _log_factor(self, e: np.ndarray, j: int) -> np.ndarray:
        """-gamma |e_j - sv_j|^2 over feature j's encoded columns: (n, d) -> (n, S)."""
        cols = np.flatnonzero(self.group == j)
        sq = np.zeros((len(e), len(self.sv)))
        for c in cols.tolist():
            sq += (e[:, c, None] - self.sv[None, :, c]) ** 2
        return -self.gamma * sq

    def __call__(self, bank: Bank, q: int, features: list[int]) -> list[np.ndarray]:
        e = bank.e[q]
        sq = np.zeros((len(self.tables), len(self.sv)))  # (M, S)
        for ks in self.columns:
            part = (e[ks, None] - self.sv.T[ks]) ** 2
            sq += np.where((ks >= 0)[:, None], part, 0.0)
        logs = -self.gamma * sq
        total = logs.sum(axis=0)
        return [
            self.rbf.layout(self.tables[j] @ (self.alpha * np.exp(total - logs[j])) + self.intercept)
            for j in features
        ]


def search_functions(scorer: Outputs, rbf: Rbf | None, bank: Bank) -> tuple[Outputs, Changes]:
    """(outputs, single changes) for the search: ``rbf``'s where they agree with ``scorer`` on the
    stored rows and on the single changes of the first of them, else ``scorer`` gathered."""
    plain = gathered(scorer)
    if rbf is None or len(bank.e) == 0:
        return scorer, plain
    want = np.asarray(scorer(bank.e), dtype=np.float64)
    if not _agree(rbf.outputs(bank.e), want):
        return scorer, plain
    size = sum(len(bank.choices(j)) for j in range(bank.z.shape[1])) * len(rbf.parts[0])
    if size > MAX_TABLE:
        return rbf.outputs, gathered(rbf.outputs)
    fast = RbfChanges(rbf, bank)
    features = list(range(bank.z.shape[1]))
    if not all(_agree(f, w) for f, w in zip(fast(bank, 0, features), plain(bank, 0, features), strict=True)):
        return rbf.outputs, gathered(rbf.outputs)
    return rbf.outputs, fast


def _agree(got: np.ndarray, want: np.ndarray) -> bool:
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    return got.shape == want.shape and bool(np.all(np.abs(got - want) <= PARITY * scale))
