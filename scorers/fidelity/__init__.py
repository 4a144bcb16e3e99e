"""Fidelity: how far the served explanations are from the full-data ones, and backgrounds that are closer.

A SHAP value means the effect of a feature against the user's data: the interventional Shapley value
over **all** the training rows they packaged with.  Scorers explain against a background summary for
speed; this package measures, at packaging time, the distance between the served values and the
full-data values on held-out rows, states it in the manifest (``fidelity``), and chooses backgrounds
that make it small:

- ``reference``: full-data values (and each training row's own values) for a few rows;
- ``calibrate``: background weights fitted so the summary's values match the full-data ones;
- ``tune``: the packaging step: default, ``max_error`` and ``latency_budget_ms`` searches, the
  anchored kernel kind's split of its model evaluations (rows x coalitions), and an exact kind's
  calibrated size within a budget of work per row (``SIZE_BUDGET``).

See docs/fidelity.md for the definitions, the estimators and the measured numbers.
"""

from __future__ import annotations

from .measure import rel_mae
from .tune import SIZE_BUDGET, SPLIT_EVALUATIONS, FidelityOptions, tune

__all__ = ["SIZE_BUDGET", "SPLIT_EVALUATIONS", "FidelityOptions", "rel_mae", "tune"]
