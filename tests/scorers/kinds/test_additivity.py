"""Additivity as a property: for random rows and every scorer, base + sum(values) == outputs, and the
outputs are the model's own output in the stated space (computed here from the model, not the engine)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scorer_support import CASES, case_frame, fitted_explainer, fitted_model, loan, model_output

ADDITIVITY_TOL = 1e-6
OUTPUT_TOL = 1e-9  # the explained output is the model's own output, up to rounding

# one numeric case per scorer kind (the sampled kernel design included), plus the raw-column pipeline
NUMERIC_CASES = [
    "linear-logistic-binary",
    "linear-logistic-multiclass",
    "linear-ridge",
    "tree-forest",
    "tree-forest-weighted-background",
    "tree-gb-regressor",
    "tree-gb-classifier",
    "exact-mlp",
    "exact-svc-probability",
    "kernel-mlp-wide",
    "kernel_machine-svc",
    "kernel_machine-svr",
    "kernel_machine-kernel-ridge",
]


def _check(explainer, model, rows: pd.DataFrame, as_array: bool) -> None:  # type: ignore[no-untyped-def]
    exp = explainer.explain(rows)
    n, k, m = exp.values.shape
    assert (n, m) == (len(rows), len(explainer.features)) and exp.base_values.shape == (k,)
    assert np.all(np.isfinite(exp.values))
    recon = exp.base_values[None, :] + exp.values.sum(axis=2)
    np.testing.assert_allclose(recon, exp.outputs, rtol=0, atol=ADDITIVITY_TOL)
    own = model_output(model, rows.to_numpy(dtype=np.float64) if as_array else rows, explainer.output_space)
    np.testing.assert_allclose(exp.outputs, own, rtol=0, atol=OUTPUT_TOL)


@pytest.mark.parametrize("name", NUMERIC_CASES)
def test_additivity_on_random_rows(name: str) -> None:
    case = CASES[name]
    explainer = fitted_explainer(name)
    assert explainer.scorer.name == case.scorer
    model = fitted_model(case.model, case.data)
    frame = case_frame(case)
    lo, hi = frame.min().to_numpy(), frame.max().to_numpy()
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    width = len(explainer.features)
    # rows over the data's range and half as far again beyond it on either side
    unit = st.floats(min_value=-1.5, max_value=1.5, allow_nan=False, allow_infinity=False)

    @settings(max_examples=15, deadline=None)
    @given(arrays(np.float64, st.tuples(st.integers(1, 6), st.just(width)), elements=unit))
    def prop(u: np.ndarray) -> None:
        rows = pd.DataFrame(centre + u * half, columns=explainer.features)
        _check(explainer, model, rows, as_array=True)

    prop()


@pytest.mark.parametrize("name", ["pipeline-linear", "pipeline-tree", "pipeline-exact"])
def test_pipeline_additivity_on_random_mixed_rows(name: str) -> None:
    """Random raw rows with missing values and unseen categories where the pipeline accepts them."""
    explainer = fitted_explainer(name)
    pipe, frame = fitted_model(CASES[name].model, "loan"), loan()[1]
    cats = {f.name: f.categories for f in explainer.schema.features if f.dtype == "category"}

    def numeric(col: str) -> st.SearchStrategy:
        lo, hi = float(frame[col].min()), float(frame[col].max())
        return st.one_of(st.none(), st.floats(min_value=lo, max_value=hi, allow_nan=False))

    def category(col: str) -> st.SearchStrategy:
        return st.one_of(st.none(), st.sampled_from(cats[col]), st.just("never-seen"))

    row = st.fixed_dictionaries({c: numeric(c) if c not in cats else category(c) for c in explainer.features})

    @settings(max_examples=15, deadline=None)
    @given(st.lists(row, min_size=1, max_size=5))
    def prop(records: list[dict]) -> None:
        exp = explainer.explain(records)  # the JSON path: nulls and strings
        recon = exp.base_values[None, :] + exp.values.sum(axis=2)
        np.testing.assert_allclose(recon, exp.outputs, rtol=0, atol=ADDITIVITY_TOL)
        raw = pd.DataFrame(records, columns=explainer.features)
        for c in cats:
            raw[c] = raw[c].astype(object).where(raw[c].notna(), np.nan)
        raw = raw.astype({c: np.float64 for c in explainer.features if c not in cats})
        np.testing.assert_allclose(
            exp.outputs, model_output(pipe, raw, explainer.output_space), rtol=0, atol=OUTPUT_TOL
        )

    prop()
