"""The scorer contract and the registry ``auto`` chooses from.

Scorers follow the scikit-learn estimator contract: ``__init__`` stores options, ``fit(ctx)`` learns
trailing-underscore attributes, and those attributes (``state()``) are exactly what the artifact stores.
Every scorer computes the same quantity: interventional SHAP values of the model output in one output
space, with respect to the packaged (weighted) background, over the raw features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .errors import NotFittedError
from .masking import Game, Masking

FloatArray = npt.NDArray[np.float64]


@dataclass
class FitContext:
    """What a scorer may look at: the masking, the model function in the chosen space, the head
    estimator (None for black boxes), the encoded background with its weights, and the task."""

    masking: Masking
    game: Game
    head: Any
    space: str
    task: str
    n_outputs: int
    mode: str
    # the kernel scorer's control variate (scorers.anchor.AnchorPlan), where the model has one
    anchor: Any = None


class Scorer:
    """Base class: ``shap_values(x_enc) -> (values (n, K, M), outputs (n, K))``."""

    name: ClassVar[str] = ""
    exact: ClassVar[bool] = False
    # whether explaining runs the model on many hybrids (only then a faster runtime pays off)
    evaluates_coalitions: ClassVar[bool] = False
    _state_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **params: Any) -> None:
        self.params = params

    # -- what applies -----------------------------------------------------------------------------
    @classmethod
    def native_spaces(cls, head: Any, task: str, mode: str, masking: Masking) -> list[str]:
        """Output spaces this scorer explains exactly for this model; first is its default."""
        raise NotImplementedError

    def fit(self, ctx: FitContext) -> Scorer:
        self.ctx_ = ctx
        self._fit(ctx)
        return self

    def _fit(self, ctx: FitContext) -> None:
        raise NotImplementedError

    def _check_fitted(self) -> FitContext:
        ctx = getattr(self, "ctx_", None)
        if ctx is None:
            raise NotFittedError(f"the {self.name} scorer is not fitted")
        return ctx

    def shap_values(self, x: np.ndarray) -> tuple[FloatArray, FloatArray]:
        raise NotImplementedError

    def engineered_values(self, x: np.ndarray) -> tuple[FloatArray, FloatArray] | None:
        """Per encoded column, where the scorer has them exactly (linear, tree); else None."""
        return None

    def state(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in self._state_keys}

    def set_state(self, ctx: FitContext, arrays: dict[str, np.ndarray]) -> Scorer:
        self.ctx_ = ctx
        for k in self._state_keys:
            setattr(self, k, arrays[k])
        self._restore(ctx)
        return self

    def _restore(self, ctx: FitContext) -> None:
        """Rebuild derived, unsaved helpers after set_state (by default nothing)."""

    @property
    def base_values(self) -> FloatArray:
        return self._check_fitted().game.base


REGISTRY: dict[str, type[Scorer]] = {}

# the order ``auto`` tries: exact closed forms first, sampling last
AUTO_ORDER = ("linear", "tree", "kernel_machine", "exact", "kernel")


def register(cls: type[Scorer]) -> type[Scorer]:
    REGISTRY[cls.name] = cls
    return cls
