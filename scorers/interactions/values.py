"""Pairwise interaction values: the definition, and the object that carries them.

For the interventional game ``v(S) = sum_b w_b f(x_S, b_notS)`` of one row (the same background rows,
weights and players as the SHAP values), the Shapley interaction index (SII) of players i != j is

    SII_ij = sum_{S subset of N minus {i, j}} |S|! (M - |S| - 2)! / (M - 1)! * D_ij(S),
    D_ij(S) = v(S + i + j) - v(S + i) - v(S + j) + v(S).

The matrix served splits it evenly between the two off-diagonal cells and puts the main effect on
the diagonal, so that each row sums to the feature's SHAP value:

    phi_ij = SII_ij / 2 (i != j),    phi_ii = phi_i - sum_{j != i} phi_ij,

with ``phi_i`` the SHAP value ``/explain`` serves for the row.  The whole matrix then sums to
``sum_i phi_i = f(x) - base``.  (shap's path-dependent ``shap_interaction_values`` uses the same split
over a different game.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class PairIndex(NamedTuple):
    """What a method computes: SII (n, K, M, M), symmetric with a zero diagonal, and its stated error
    (the same shape: one standard error per cell) or None when exact."""

    sii: FloatArray
    error: FloatArray | None = None


def assemble(sii: FloatArray, shap_values: FloatArray) -> FloatArray:
    """The served matrix from SII (n, K, M, M) and the SHAP values (n, K, M): see the module text."""
    phi = (sii + np.swapaxes(sii, -1, -2)) / 4.0  # symmetric to the bit, whatever a product's rounding
    m = phi.shape[-1]
    diag = np.arange(m)
    phi[..., diag, diag] = 0.0
    phi[..., diag, diag] = shap_values - phi.sum(axis=-1)
    return phi


def cell_errors(sii_error: FloatArray) -> FloatArray:
    """Stated error of each served cell from the SII's: half off the diagonal, and on it the sum of its
    row's off-diagonal errors (a bound: the diagonal is the SHAP value less that row)."""
    err = sii_error / 2.0
    m = err.shape[-1]
    diag = np.arange(m)
    err[..., diag, diag] = 0.0
    err[..., diag, diag] = err.sum(axis=-1)
    return err


@dataclass
class Interactions:
    """Pairwise interaction values of n rows.

    ``values``: (n, K, M, M), symmetric; ``values[i, k].sum(axis=1) == shap_values[i, k]`` and
    ``base_values[k] + values[i, k].sum() == outputs[i, k]``.  ``method``: how they were computed
    (``linear``, ``tree``, ``kernel_machine``, ``enumeration``, ``sampling``); ``exact`` whether the
    off-diagonal values are exact (to rounding) for the packaged background; ``errors`` (estimated
    only) one standard error per cell; ``note`` a sentence saying so.
    """

    values: FloatArray
    shap_values: FloatArray
    base_values: FloatArray
    outputs: FloatArray
    features: list[str]
    classes: list[Any] | None
    output_space: str
    method: str
    exact: bool
    note: str
    errors: FloatArray | None = None

    def _per_output(self, a: FloatArray) -> list[Any]:
        """[row][class]... for classifiers, [row]... for regressors (as ``Explanation``)."""
        return (a if self.classes is not None else a[:, 0]).tolist()

    @property
    def interaction_values(self) -> list[Any]:
        return self._per_output(self.values)

    @property
    def interaction_errors(self) -> list[Any] | None:
        return None if self.errors is None else self._per_output(self.errors)

    def index_pairs(self, pairs: list[tuple[str, str]]) -> npt.NDArray[np.int64]:
        """Feature-name pairs -> (P, 2) indices (the caller checks the names)."""
        pos = {f: i for i, f in enumerate(self.features)}
        return np.array([[pos[a], pos[b]] for a, b in pairs], dtype=np.int64).reshape(-1, 2)

    def pair_values(self, pairs: list[tuple[str, str]]) -> list[Any]:
        """phi_ab for each pair: [row][class][pair] (classifiers) or [row][pair]."""
        idx = self.index_pairs(pairs)
        return self._per_output(self.values[:, :, idx[:, 0], idx[:, 1]])

    def ranked_pairs(self, top_k: int, output_index: list[int]) -> list[dict[str, list[Any]]]:
        """Per row, the top-k pairs i < j by |phi_ij| for one output (the predicted class)."""
        m = len(self.features)
        iu, ju = np.triu_indices(m, k=1)
        out = []
        for r, k in enumerate(output_index):
            v = self.values[r, int(k), iu, ju]
            order = np.argsort(-np.abs(v), kind="stable")[:top_k]
            out.append(
                {
                    "pairs": [[self.features[iu[o]], self.features[ju[o]]] for o in order],
                    "values": v[order].tolist(),
                }
            )
        return out
