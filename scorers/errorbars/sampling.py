"""The coalition sampling standard error of a KernelSHAP estimate, from the values already evaluated.

The design's estimate is ``phi = P y + q delta`` (``scorers.shapley.constrained_wls_projection``), and
``P Z phi + q 1'phi = phi`` for any phi that sums to delta, so its error against the regression over every
coalition is ``P e``, e the residuals ``y - Z phi*`` at the drawn coalitions.  Treating the drawn
complementary pairs as independent, the variance of feature m's value is
``sum over pairs p of (sum_{c in p} P[m, c] e_c)^2``, estimated with the fitted residuals inflated by
``n_pairs / (n_pairs - M)`` (the degrees of freedom the fit takes).  Enumerated sizes are counted too,
which makes the figure conservative where the design enumerates.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
# kinds whose standard error counts their background sample (the rows drawn from the training rows)
SAMPLES_ITS_BACKGROUND = ("permutation",)


def with_se(scorer: Any, population: int | None) -> Callable[[np.ndarray], tuple[FloatArray, ...]]:
    """The scorer's ``(values, outputs, se)`` function; a kind in ``SAMPLES_ITS_BACKGROUND`` is told
    ``population``, the training rows its background was sampled from."""
    if scorer.name in SAMPLES_ITS_BACKGROUND:
        return functools.partial(scorer.shap_values_with_se, population=population)
    return scorer.shap_values_with_se  # type: ignore[no-any-return]


def pair_ids(masks: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """An id per coalition shared by S and its complement: (C, M) -> (C,)."""
    m = masks.shape[1]
    codes = masks.astype(np.int64) @ (np.int64(1) << np.arange(m, dtype=np.int64))
    full = (np.int64(1) << m) - 1
    canon = np.minimum(codes, full - codes)
    _, ids = np.unique(canon, return_inverse=True)
    return ids.astype(np.int64)


def standard_errors(
    masks: npt.NDArray[np.bool_], projection: FloatArray, dv: FloatArray, phi: FloatArray
) -> FloatArray:
    """Per-value sampling standard errors: masks (C, M), projection (M, C), coalition values less the
    base ``dv`` (n, C, K), the estimate ``phi`` (n, K, M) -> (n, K, M)."""
    z = masks.astype(np.float64)
    resid = dv - np.einsum("cm,nkm->nck", z, phi)  # (n, C, K)
    ids = pair_ids(masks)
    n_pairs = int(ids.max()) + 1 if len(ids) else 0
    terms = np.einsum("mc,nck->nkmc", projection, resid)  # (n, K, M, C)
    onehot = np.zeros((len(ids), n_pairs))
    onehot[np.arange(len(ids)), ids] = 1.0
    grouped = terms @ onehot  # (n, K, M, pairs): each pair's joint term
    m = masks.shape[1]
    inflate = n_pairs / (n_pairs - m) if n_pairs > 2 * m else 2.0
    return np.sqrt(inflate * np.sum(grouped**2, axis=-1))
