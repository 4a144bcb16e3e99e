"""The scorer contract and the registry that ``auto``, the CLI and the docs read.

Scorers follow the scikit-learn estimator contract: ``__init__`` stores options, ``fit(ctx)`` learns
trailing-underscore attributes, and those attributes (``state()``) are exactly what the artifact stores.
Every scorer computes the same quantity: interventional SHAP values of the model output in one output
space, with respect to the packaged (weighted) background, over the raw features.

A kind describes itself to the registry: when it applies (``native_spaces``, ``why_not``), where
``auto`` tries it (``auto_rank``), whether it explains any model (``black_box``: the fallback when the
exact scorer of a model cannot explain the requested space), its default background and the constructor
parameters it takes from the fit options (``fit_params``).  Adding a kind is one new module here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ..errors import NotFittedError
from ..masking import Game, Masking
from ..packaging_options import PackagingOptions

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
    # the coalition runtime that evaluates ``game.fn`` (scorers.runtimes.coalitions)
    coalition_runtime: str = ""


@dataclass(frozen=True)
class FitOptions:
    """The packaging options a kind may read (``fit_params``) besides the context."""

    n_coalitions: int | None = None
    max_exact_features: int = 12
    anchor: bool = True
    anchor_estimator: str | None = None  # the anchored kernel's estimator (scorers.kinds.anchor.SECANT)
    seed: int = 0
    # parity of an alternative model evaluation (a chain path, scorers.chains) with the model function
    tolerance: float = PackagingOptions.onnx_tolerance


class Scorer:
    """Base class: ``shap_values(x_enc) -> (values (n, K, M), outputs (n, K))``."""

    name: ClassVar[str] = ""
    exact: ClassVar[bool] = False
    summary: ClassVar[str] = ""  # one line for the docs and the CLI help
    # where ``auto`` tries this kind (lower first; None: only when asked for by name)
    auto_rank: ClassVar[int | None] = None
    # explains any model (a black box): a fallback when a model's exact kind lacks the requested space
    black_box: ClassVar[bool] = False
    # whether explaining runs the model on many hybrids (only then a faster runtime pays off)
    evaluates_coalitions: ClassVar[bool] = False
    # offers background_split (values against each background row alone)
    splits_background: ClassVar[bool] = False
    # explains each row with model calls of its own: a row's bits do not depend on the rows beside it
    rows_alone: ClassVar[bool] = False
    _state_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **params: Any) -> None:
        self.params = params

    # -- what applies, with which defaults ------------------------------------------------------------
    @classmethod
    def native_spaces(cls, head: Any, task: str, mode: str, masking: Masking, **params: Any) -> list[str]:
        """Output spaces this scorer explains exactly for this model; first is its default."""
        raise NotImplementedError

    @classmethod
    def why_not(cls, head: Any, mode: str, masking: Masking, options: FitOptions) -> str:
        """Why the kind does not apply to this model (when ``native_spaces`` is empty)."""
        return f"the {cls.name} scorer does not apply to {type(head).__name__} in {mode} mode"

    @classmethod
    def refusal(cls, head: Any, task: str) -> str | None:
        """Why a model this kind recognises cannot be explained by it (None: no such reason); ``auto``
        reports it when it moves on to another kind."""
        return None

    @classmethod
    def default_background(cls, n_players: int, head: Any = None, n_columns: int = 0) -> tuple[int, str]:
        """(rows, summary method) of the background when the user does not say (``head``: the model
        at the masking's ``n_columns`` encoded columns, for kinds whose cost depends on it)."""
        return 20, "kmeans"

    @classmethod
    def calibrates(cls, rows: int) -> bool:
        """Whether the default background of ``rows`` rows is replaced by a calibrated one when that is
        closer to the full data (scorers.fidelity); False where the summary is already the most faithful."""
        return True

    @classmethod
    def fit_params(cls, ctx: FitContext, options: FitOptions) -> dict[str, Any]:
        """Constructor parameters from the fit options (stored in the manifest as ``scorer.params``)."""
        return {}

    # -- fitting and state ------------------------------------------------------------------------------
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

    def shap_values_with_se(self, x: np.ndarray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``shap_values`` and each value's sampling standard error (n, K, M): 0 where the kind is exact
        on its background (scorers.errorbars)."""
        values, outputs = self.shap_values(x)
        return values, outputs, np.zeros_like(values)

    def background_row_work(self) -> int | None:
        """The work one background row adds to one explained row, counted in the kind's own unit (for
        the default background's size budget, ``scorers.fidelity.tune``); None: not counted, the
        kind's default size is served."""
        return None

    def background_split(self, x: np.ndarray) -> FloatArray:
        """One row's values against each background row alone, unweighted: (1, d) -> (nb, K, M).

        Interventional SHAP values are linear in the background's weights: ``shap_values(x)`` is
        ``weights @ background_split(x)``.  Fidelity (scorers.fidelity) uses the split to compute
        full-data references and to fit background weights.  Kinds that offer it set
        ``splits_background``.
        """
        raise NotImplementedError(f"the {self.name} scorer does not split its values by background row")

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

    def outputs(self, x: np.ndarray) -> FloatArray:
        """The explained model outputs (n, K) of encoded rows, through the coalition runtime."""
        return self._check_fitted().game.outputs(x)

    @property
    def n_coalitions(self) -> int | None:
        """Coalitions evaluated per row (design scorers); None where the kind reads the model instead."""
        return None


REGISTRY: dict[str, type[Scorer]] = {}


def register(cls: type[Scorer]) -> type[Scorer]:
    REGISTRY[cls.name] = cls
    return cls


def auto_order() -> list[str]:
    """The kinds ``auto`` tries, in order: exact closed forms first, sampling last."""
    ranked = [(cls.auto_rank, name) for name, cls in REGISTRY.items() if cls.auto_rank is not None]
    return [name for _, name in sorted(ranked)]
