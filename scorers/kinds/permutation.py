"""``permutation``: antithetic permutations per background row (``scorers.permutations``); any model.

Same model evaluations per row as the ``kernel`` scorer's default (its 20 rows x its coalitions), spread
over many more background rows: a uniform sample of the training rows (every row when they are few),
so little or nothing of the error is the background's.  Chosen over ``kernel`` at packaging when it
measures closer to the full data (``scorers.fidelity.tune``).

Where a chain path reads the head (``scorers.chains``: an MLP's prefixes without hybrid rows), checked
against the model function at packaging, the prefix values come from it, and the saving buys more pairs
per background row: ``floor(pairs x speedup)``, the path's operation count, at most ``PAIR_CAP``
(decision 45).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..chains import choice, estimates
from ..errors import InputError
from ..permutations import ORDERS, chain_masks, contributions, row_estimates
from .base import FitContext, FitOptions, FloatArray, register
from .design import DesignScorer
from .kernel import default_coalitions

KERNEL_ROWS = 20  # the kernel scorer's default background: the budget is its rows x its coalitions
PAIR_CAP = 6  # pairs per background row with a chain path, at most: today's per-row time (decision 45)


def evaluations(n_players: int) -> int:
    """Model evaluations per explained row: the kernel scorer's default budget."""
    return KERNEL_ROWS * default_coalitions(n_players)


def default_rows(n_players: int) -> int:
    """Background rows one antithetic pair each fits in the budget."""
    return max(1, evaluations(n_players) // (2 * max(1, n_players - 1)))


def hybrid_pairs(n_players: int, n_rows: int) -> int:
    """Antithetic pairs per background row that fit the kernel's evaluations by hybrid rows."""
    return max(1, evaluations(n_players) // (2 * max(1, n_players - 1) * n_rows))


def chain_pairs(pairs: int, speedup: float) -> int:
    """Pairs per background row a chain path serves in the time of ``pairs`` by hybrid rows."""
    return max(pairs, min(PAIR_CAP, int(np.floor(pairs * speedup))))


@register
class PermutationScorer(DesignScorer):
    """Antithetic permutations per background row, on a wide uniform background; any model, any space."""

    name = "permutation"
    exact = False
    summary = "antithetic permutation sampling per background row (IME), on a wide uniform background"
    auto_rank = None  # chosen against the kernel scorer at packaging by measured error
    _state_keys = ("orders_",)

    def __init__(
        self,
        pairs: int | None = None,
        seed: int = 0,
        orders: str = "antithetic",
        chain: dict[str, Any] | None = None,
        **params: Any,
    ) -> None:
        """``chain``: None, hybrid rows; ``{"tolerance": t}``, a chain path chosen at fit (checked to t);
        a record with a ``name`` (what the fit chose, in the manifest), that path or hybrid rows."""
        if orders not in ORDERS:
            raise InputError(f"orders must be one of {sorted(ORDERS)}, got {orders!r}", field="orders")
        super().__init__(pairs=pairs, seed=seed, orders=orders, chain=chain, **params)
        self.pairs = pairs
        self.seed = seed
        self.orders = orders
        self.chain = chain

    @classmethod
    def default_background(cls, n_players: int, head: Any = None, n_columns: int = 0) -> tuple[int, str]:
        return default_rows(n_players), "sample"

    @classmethod
    def calibrates(cls, rows: int) -> bool:
        return False  # a uniform sample: every row's permutations are unbiased for the training data

    @classmethod
    def fit_params(cls, ctx: FitContext, options: FitOptions) -> dict[str, Any]:
        return {"seed": options.seed, "chain": {"tolerance": options.tolerance}}

    def _fit(self, ctx: FitContext) -> None:
        m = ctx.masking.n_players
        nb = len(ctx.game.weights)
        pairs = self.pairs or hybrid_pairs(m, nb)
        if self.chain is not None and "name" not in self.chain:  # packaging: is there a chain path?
            path, self.chain = choice.choose(
                ctx.head,
                ctx.space,
                ctx.mode,
                ctx.masking.column_group,
                m,
                ctx.game.fn,
                ctx.game.background,
                float(self.chain["tolerance"]),
            )
            self.params["chain"] = self.chain  # recorded: a load replays it (and needs its packages)
            if path is not None and not self.pairs:
                pairs = chain_pairs(pairs, path.speedup)
        self.params["pairs"] = pairs  # recorded: a restored explainer draws the same permutations
        self.orders_ = ORDERS[self.orders](nb, m, pairs, self.seed)
        self._restore(ctx)

    def _restore(self, ctx: FitContext) -> None:
        game = ctx.game
        self.at_rows_ = game.fn(game.background)  # (nb, K): each row's game starts here
        m = ctx.masking.n_players
        self.ranks_ = np.argsort(self.orders_, axis=-1)
        self.path_ = None
        self.cols_ = None
        if self.chain is not None and self.chain.get("name"):
            self.path_ = choice.replay(self.chain, ctx.head, ctx.space, ctx.masking.column_group, m)
            self.background_ = np.ascontiguousarray(game.background, dtype=np.float64)
        elif m > 1:
            self.cols_ = np.ascontiguousarray(chain_masks(self.orders_)[..., ctx.masking.column_group])

    def _per_row(self, x: np.ndarray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """One row (1, d): each background row's estimate and its sampling variance (nb, K, M), and f(x)."""
        ctx = self._check_fitted()
        game = ctx.game
        fx = game.outputs(x)  # (1, K)
        nb = len(game.weights)
        if ctx.masking.n_players < 2:  # a single player takes the whole difference
            return (fx - self.at_rows_)[:, :, None], np.zeros((nb, fx.shape[1], 1)), fx
        chain = self._chain_values(x)
        # with a chain path numba is there: the same estimates in one pass (scorers.chains.estimates)
        if self.path_ is not None:
            est, var = estimates.row_estimates(self.orders_, chain, self.at_rows_, fx[0])
        else:
            est, var = row_estimates(contributions(self.ranks_, chain, self.at_rows_, fx[0]))
        return est, var, fx

    def _chain_values(self, x: np.ndarray) -> FloatArray:
        """f at every prefix of every permutation of every background row: (R, P, M - 1, K), by the chain
        path, or by one model call over the hybrid rows (in slices of ``max_batch``)."""
        game = self._check_fitted().game
        if self.path_ is not None:
            # a writeable copy: numba compiles a kernel again for a read-only array (an encoded request row
            # can be one), which the path's warm-up at load did not see
            row = np.array(x[0], dtype=np.float64)
            return self.path_.values(row, self.background_, self.orders_, game.fn)
        assert self.cols_ is not None
        r, p, steps, d = self.cols_.shape
        hyb = np.where(self.cols_, x[0][None, None, None, :], game.background[:, None, None, :])
        flat = hyb.reshape(-1, d)
        parts = [game.fn(flat[lo : lo + game.max_batch]) for lo in range(0, len(flat), game.max_batch)]
        return np.concatenate(parts).reshape(r, p, steps, -1)

    def shap_values_with_se(
        self, x: np.ndarray, population: int | None = None
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Values and their standard errors against the full data: the permutations' variance, plus,
        when the background is a sample of a ``population`` of more rows (the training rows), the
        sample's own (between-row variance with the finite-population correction; scorers.errorbars)."""
        if len(x) > 1:
            parts = [
                self.shap_values_with_se(np.ascontiguousarray(x[i : i + 1]), population)
                for i in range(len(x))
            ]
            return tuple(np.concatenate([p[j] for p in parts]) for j in range(3))  # type: ignore[return-value]
        w = self._check_fitted().game.weights
        est, var, fx = self._per_row(x)
        phi = np.einsum("b,bkm->km", w, est)[None]
        within = np.einsum("b,bkm->km", w**2, var)
        nb = len(w)
        if population is not None and 1 < nb < population:
            between = nb / (nb - 1) * np.einsum("b,bkm->km", w**2, (est - phi) ** 2)
            within = within + (1 - nb / population) * np.maximum(between - within, 0.0)
        return phi, fx, np.sqrt(within)[None]

    def shap_values(self, x: np.ndarray) -> tuple[FloatArray, FloatArray]:
        phi, fx, _ = self.shap_values_with_se(x)
        return phi, fx

    def background_split(self, x: np.ndarray) -> FloatArray:
        return self._per_row(x[:1])[0]

    @property
    def n_coalitions(self) -> int:
        """Coalitions per background row (the permutations' prefixes)."""
        return int(self.orders_.shape[1] * max(0, self.orders_.shape[2] - 1))
