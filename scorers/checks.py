"""Fit-time checks: what the packaging report and the manifest state about the fitted explainer.

On an evaluation sample of training rows: the global explanation (mean |SHAP|), the additivity error
(packaging refuses a non-additive explainer), the explain time per row alone and in a batch, and, for
at most 10 features, the distance to full enumeration.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from .errors import UnsupportedModelError
from .explanation_objects import GlobalExplanation
from .kinds.exact import ExactScorer
from .manifest import ChecksSection, GlobalSection
from .monitoring import baseline as monitoring
from .runtimes.base import time_call
from .scoring_explainer import ScoringExplainer

Progress = Callable[[str], None]
ADDITIVITY_TOL = 1e-6


def run_checks(explainer: ScoringExplainer, sample: pd.DataFrame, say: Progress) -> None:
    t0 = time.perf_counter()
    exp = explainer.explain_frame(sample)
    batch_s = time.perf_counter() - t0
    additivity = exp.additivity_error()
    glob = GlobalExplanation(
        np.abs(exp.values).mean(axis=0),
        explainer.features,
        explainer.classes,
        explainer.output_space,
        len(sample),
    )
    explainer.global_explanation = glob
    explainer.manifest.global_explanation = GlobalSection.model_validate(glob.to_json())
    # the drift monitor's baseline from these training rows, until evaluation rows replace it
    explainer.baseline = monitoring.build(explainer.schema, sample, exp.values, explainer.classes, "training")
    # single-row latency, the serving case
    explainer.explain_frame(sample.iloc[:1])
    singles = [
        time_call(explainer.explain_frame, sample.iloc[i : i + 1], repeat=1)
        for i in range(min(5, len(sample)))
    ]
    diff: float | None = None
    m = explainer.masking.n_players
    if m <= 10 and explainer.scorer.name != "exact":
        say("checks: comparing against full enumeration on 5 rows")
        ref = ExactScorer(max_features=m).fit(explainer.scorer._check_fitted())
        x = explainer.masking.encode(sample.iloc[:5])
        diff = float(np.max(np.abs(ref.shap_values(x)[0] - explainer.scorer.shap_values(x)[0])))
    elif explainer.scorer.name == "exact":
        diff = 0.0
    explainer.manifest.checks = ChecksSection(
        additivity_max_abs_error=additivity,
        additivity_rows=len(sample),
        explain_ms_per_row_single=1000 * float(np.median(singles)),
        explain_ms_per_row_batch=1000 * batch_s / len(sample),
        max_abs_diff_vs_enumeration=diff,
    )
    if not math.isfinite(additivity) or additivity > ADDITIVITY_TOL:
        raise UnsupportedModelError(
            f"explanations are not additive on the training rows (max error {additivity:.3g}); "
            "refusing to package them"
        )
