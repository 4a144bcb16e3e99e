"""The interactions tab's server side: a cohort's mean |interaction| matrix and a dependence plot
coloured by the feature that interacts most with the plotted one (shap's ``dependence_plot`` with
``interaction_index="auto"``, here from the exact or stated-error pairwise values of
``scorers.interactions``).  One row's matrix is ``POST /explain_interactions`` itself, called by the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from scorers.errors import InputError

from .cohorts import mask, sample
from .schemas import InteractionsBody
from .sources import dataset
from .table import finite_list

if TYPE_CHECKING:
    from ..core import ScoringService


def strongest_partner(mean_abs: np.ndarray, j: int) -> int | None:
    """The feature k != j of largest mean |phi_jk| (the first on ties), None when none interacts."""
    row = np.where(np.arange(len(mean_abs)) == j, -1.0, mean_abs[j])
    k = int(np.argmax(row))
    return k if row[k] > 0 else None


def interactions(
    core: ScoringService, body: InteractionsBody, cancel: Callable[[], bool] | None = None
) -> dict[str, Any]:
    ds = dataset(core, body.source)
    if not ds.has_rows or ds.take_rows is None:
        raise InputError(
            f"interaction values need feature values, and {ds.title} has none; choose the evaluation "
            "rows or the training sample",
            field="source",
        )
    k = ds.class_index(body.class_)
    j = ds.feature_index(body.feature, "feature") if body.feature is not None else None
    m = mask(ds, body.cohort)
    chosen = sample(ds, m, body.max_rows)
    inter = core.explainer.interactions_frame(ds.take(chosen), cancel=cancel)
    values = inter.values[:, k]  # (n, M, M)
    mean_abs = np.abs(values).mean(axis=0) if len(chosen) else np.zeros((len(ds.features),) * 2)
    out: dict[str, Any] = {
        "features": ds.features,
        "class": ds.classes[k] if ds.classes is not None else None,
        "output_space": inter.output_space,
        "method": inter.method,
        "exact": inter.exact,
        "note": inter.note,
        "rows": chosen.tolist(),
        "n_cohort": int(m.sum()),
        "mean_abs": mean_abs.tolist(),
        "dependence": None,
    }
    if j is not None:
        name = ds.features[j]
        partner = strongest_partner(mean_abs, j)
        color = ds.columns[ds.features[partner]] if partner is not None else None
        out["dependence"] = {
            "feature": name,
            "x": ds.columns[name].describe(),
            "x_values": ds.columns[name].display(chosen),
            "shap_values": finite_list(inter.shap_values[:, k, j]),
            "partner": ds.features[partner] if partner is not None else None,
            "partner_mean_abs": float(mean_abs[j, partner]) if partner is not None else 0.0,
            "color": color.describe() if color is not None else None,
            "color_values": color.display(chosen) if color is not None else None,
        }
    return out
