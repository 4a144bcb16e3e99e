"""Faster, numerically equivalent model functions for specific model families.

Like an ONNX export, a fast path is used for coalition evaluation only when it matches the model on
probe hybrids to the parity tolerance (1e-10 by default) and is faster; the manifest records it.

``RbfSvcProba``: ``predict_proba`` of a binary RBF ``SVC(probability=True)``.  libsvm evaluates the
kernel one row and one support vector at a time; here the RBF kernel of a whole batch is one GEMM,
followed by libsvm's own probability steps reproduced exactly:

- decision value ``d = sum_i alpha_i exp(-gamma |x - sv_i|^2) + b`` (sklearn's ``decision_function``,
  whose sign is the opposite of libsvm's internal value for a binary problem);
- Platt's sigmoid on libsvm's value, ``r = 1 / (1 + exp(A * (-d) + B))``, clipped to [1e-7, 1 - 1e-7];
- libsvm's ``multiclass_probability`` pairwise coupling for k = 2 (an iterative solver that stops at
  ``eps = 0.005 / k``, so ``p`` is not exactly ``r``).
First written for the benchmark's reference (``benchmarks/svc_replica.py``), where it matched
``predict_proba`` to 9e-12 on 42160 hybrids.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import spaces

_MIN_PROB = 1e-7


class RbfDecision:
    """The decision value ``sum_i alpha_i exp(-gamma |x - sv_i|^2) + b`` of a batch as one GEMM (a binary
    RBF SVC/SVR/KernelRidge head: ``kinds.kernel_machine.rbf_parts``)."""

    def __init__(self, sv: np.ndarray, alpha: np.ndarray, intercept: float, gamma: float, chunk: int = 4096):
        sv = np.asarray(sv, dtype=np.float64)
        self.gamma = float(gamma)
        self.alpha = np.asarray(alpha, dtype=np.float64)
        self.intercept = float(intercept)
        self.w = np.ascontiguousarray((2.0 * self.gamma * sv).T)  # (d, S)
        self.sv_sq = self.gamma * np.einsum("ij,ij->i", sv, sv)  # (S,)
        self.chunk = chunk

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        # C order: a row's result must not depend on the memory layout of the batch it sits in
        x = np.ascontiguousarray(x, dtype=np.float64)
        out = np.empty(len(x))
        for s in range(0, len(x), self.chunk):
            xs = x[s : s + self.chunk]
            k = xs @ self.w  # 2 gamma x.sv
            k -= self.sv_sq[None, :]
            k -= (self.gamma * np.einsum("ij,ij->i", xs, xs))[:, None]
            np.minimum(k, 0.0, out=k)  # -gamma |x - sv|^2 <= 0 (rounding)
            np.exp(k, out=k)
            out[s : s + self.chunk] = k @ self.alpha + self.intercept
        return out


class RbfSvcProba(RbfDecision):
    name = "numpy-rbf-svc"

    def __init__(self, model: Any, chunk: int = 4096) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # probA_/probB_ deprecated with probability=True
            self.prob_a = float(np.ravel(model.probA_)[0])
            self.prob_b = float(np.ravel(model.probB_)[0])
        super().__init__(
            model.support_vectors_,
            model.dual_coef_[0],
            float(np.ravel(model.intercept_)[0]),
            float(model._gamma),
            chunk,
        )

    @staticmethod
    def applies(model: Any) -> bool:
        return (
            type(model).__name__ == "SVC"
            and getattr(model, "kernel", None) == "rbf"
            and len(getattr(model, "classes_", [])) == 2
            and bool(getattr(model, "probability", False))
        )

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self.proba_from_decision(self.decision_function(x))

    def proba_from_decision(self, d: np.ndarray) -> np.ndarray:
        f = -d * self.prob_a + self.prob_b  # libsvm's fApB with its own sign of the decision value
        e = np.exp(-np.abs(f))
        r = np.where(f >= 0, e / (1.0 + e), 1.0 / (1.0 + e))
        r = np.clip(r, _MIN_PROB, 1.0 - _MIN_PROB)
        return _couple_binary(r)


def _couple_binary(r01: np.ndarray) -> np.ndarray:
    """libsvm's multiclass_probability for k = 2, vectorised (same operations, same order)."""
    r10 = 1.0 - r01
    q00, q11, q01 = r10 * r10, r01 * r01, -r10 * r01
    p0 = np.full_like(r01, 0.5)
    p1 = p0.copy()
    eps = 0.005 / 2
    for _ in range(100):  # max_iter = max(100, k)
        qp0 = q00 * p0 + q01 * p1
        qp1 = q01 * p0 + q11 * p1
        pqp = p0 * qp0 + p1 * qp1
        idx = np.flatnonzero(np.maximum(np.abs(qp0 - pqp), np.abs(qp1 - pqp)) >= eps)
        if idx.size == 0:
            break
        a0, a1, qa0, qa1, pq = p0[idx], p1[idx], qp0[idx], qp1[idx], pqp[idx]
        c00, c01, c11 = q00[idx], q01[idx], q11[idx]
        diff = (-qa0 + pq) / c00  # t = 0
        a0 = a0 + diff
        pq = (pq + diff * (diff * c00 + 2 * qa0)) / (1 + diff) / (1 + diff)
        qa0, qa1 = (qa0 + diff * c00) / (1 + diff), (qa1 + diff * c01) / (1 + diff)
        a0, a1 = a0 / (1 + diff), a1 / (1 + diff)
        diff = (-qa1 + pq) / c11  # t = 1
        a1 = a1 + diff
        a0, a1 = a0 / (1 + diff), a1 / (1 + diff)
        p0[idx], p1[idx] = a0, a1
    return np.stack([p0, p1], axis=1)


def fast_output_fn(head: Any, space: str) -> tuple[str, Callable[[np.ndarray], np.ndarray]] | None:
    """(name, f) of a fast path for ``head`` in ``space``, or None."""
    if space in (spaces.PROBABILITY, spaces.LOG_ODDS) and RbfSvcProba.applies(head):
        fast = RbfSvcProba(head)
        return fast.name, lambda x: spaces.from_probability(fast.predict_proba(x), space)
    return None
