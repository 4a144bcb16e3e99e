"""The engine's GEMM evaluation of a binary RBF ``SVC(probability=True)``, for the benchmark's reference.

The reference (shap.KernelExplainer on the full training background, nsamples=20000) needs 9.1 million
hybrid rows per explained row; ``scorers.runtimes.fastpaths.RbfSvcProba`` evaluates them with one GEMM per chunk
and libsvm's own probability steps.  ``check`` compares it with ``model.predict_proba``; the benchmark
refuses to use it (and falls back to the model itself) if the two differ by more than 1e-9.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scorers.runtimes.fastpaths import RbfSvcProba


class SVCProbaReplica(RbfSvcProba):
    def __init__(self, model: Any, chunk: int = 2048) -> None:
        if not self.applies(model):
            raise ValueError("the replica covers binary RBF SVC(probability=True) models only")
        super().__init__(model, chunk=chunk)

    def check(self, model: Any, x: np.ndarray) -> float:
        """Max abs difference to ``model.predict_proba`` on ``x``."""
        return float(np.max(np.abs(self.predict_proba(x) - model.predict_proba(x))))
