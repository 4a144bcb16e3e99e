"""The run's global explanation: mean |SHAP| per class per feature over every row of the table.

Each part's record holds the (K, M) sum of |SHAP| over its rows; the sums are added in part order, so
the result is the same from either engine and whatever order the parts finished in.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def global_explanation(explainer: Any, sums: list[npt.NDArray[np.float64]], n_rows: int) -> Any:
    """A :class:`scorers.GlobalExplanation` from per-part sums of |SHAP| ((K, M) each) over ``n_rows``."""
    from scorers import GlobalExplanation

    k = len(explainer.classes) if explainer.classes is not None else 1
    total = np.zeros((k, len(explainer.features)), dtype=np.float64)
    for s in sums:
        total = total + s
    mean = total / n_rows if n_rows else total
    return GlobalExplanation(
        mean, list(explainer.features), explainer.classes, explainer.output_space, n_rows
    )
