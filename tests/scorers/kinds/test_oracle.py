"""Every exact scorer equals a brute-force Shapley oracle over the explainer's own packaged background.

The oracle (tests/scorers/scorer_support.py) masks RAW columns, calls the model's own predict / predict_proba /
decision_function and applies the Shapley formula over all 2^M coalitions; it shares no code with
``scorers/``.  The first tests check the oracle itself against closed forms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scorer_support import (
    CASES,
    fitted_explainer,
    fitted_model,
    held_out_rows,
    model_output,
    oracle_for,
    shapley_oracle,
)

# Tolerances.  Closed forms and full enumeration agree with the oracle to rounding (measured <= 4e-15),
# so 1e-9 leaves room only for rounding (kernel_machine: 1e-10, its certified bound of 2 x PRUNE_TOL
# and rounding).
TOL = {"linear": 1e-9, "tree": 1e-9, "exact": 1e-9, "kernel": 1e-9, "kernel_machine": 1e-10}


# ------------------------------------------------------------------------------------------------
# the oracle itself
# ------------------------------------------------------------------------------------------------
def test_oracle_product_game_closed_form() -> None:
    """f = x0*x1 + 2*x2 (+ an unused x3) against one zero background row: phi = (x0x1/2, x0x1/2, 2x2, 0)."""
    bg = pd.DataFrame({"a": [0.0], "b": [0.0], "c": [0.0], "d": [0.0]})

    def f(frame: pd.DataFrame) -> np.ndarray:
        return (frame["a"] * frame["b"] + 2 * frame["c"]).to_numpy()[:, None]

    rows = pd.DataFrame({"a": [3.0, -1.0], "b": [5.0, 2.0], "c": [1.0, 4.0], "d": [7.0, 9.0]})
    phi, base, fx = shapley_oracle(f, bg, np.array([1.0]), rows)
    expected = np.array([[7.5, 7.5, 2.0, 0.0], [-1.0, -1.0, 8.0, 0.0]])
    np.testing.assert_allclose(phi[:, 0, :], expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(base, [0.0], atol=1e-12)
    np.testing.assert_allclose(fx[:, 0], [17.0, 6.0], atol=1e-12)


def test_oracle_linear_closed_form_with_weighted_background(rng: np.random.Generator) -> None:
    """f = X w: phi_j = w_j (x_j - sum_b w_b b_j), and the weights of the background matter."""
    coef = np.array([1.5, -2.0, 0.5, 3.0])
    bg = pd.DataFrame(rng.normal(size=(6, 4)), columns=list("abcd"))
    weights = np.array([1.0, 2.0, 3.0, 1.0, 1.0, 2.0])
    rows = pd.DataFrame(rng.normal(size=(3, 4)), columns=list("abcd"))

    def f(frame: pd.DataFrame) -> np.ndarray:
        return (frame.to_numpy() @ coef)[:, None]

    phi, base, fx = shapley_oracle(f, bg, weights, rows)
    mean = (weights / weights.sum()) @ bg.to_numpy()
    np.testing.assert_allclose(phi[:, 0, :], (rows.to_numpy() - mean) * coef, atol=1e-12)
    np.testing.assert_allclose(base, [mean @ coef], atol=1e-12)
    # efficiency
    np.testing.assert_allclose(base + phi.sum(axis=2), fx, atol=1e-12)
    # uniform weights give a different answer (so the weights are really used)
    phi_uniform, _, _ = shapley_oracle(f, bg, np.ones(6), rows)
    assert np.max(np.abs(phi_uniform - phi)) > 1e-3


def test_oracle_keeps_categorical_and_missing_raw_values() -> None:
    """Hybrids carry raw strings and NaN through unchanged (the model sees the raw row)."""
    bg = pd.DataFrame({"n": [1.0, np.nan], "c": pd.Series(["u", np.nan], dtype=object)})
    seen: list[pd.DataFrame] = []

    def f(frame: pd.DataFrame) -> np.ndarray:
        seen.append(frame.copy())
        return np.zeros((len(frame), 1))

    shapley_oracle(f, bg, np.ones(2), pd.DataFrame({"n": [np.nan], "c": pd.Series(["v"], dtype=object)}))
    hybrids = seen[0]
    assert hybrids["n"].dtype == bg["n"].dtype and hybrids["c"].dtype == bg["c"].dtype
    assert (
        set(hybrids["c"].dropna()) == {"u", "v"} and hybrids["c"].isna().any() and hybrids["n"].isna().any()
    )


# ------------------------------------------------------------------------------------------------
# every scorer kind against the oracle
# ------------------------------------------------------------------------------------------------
EXACT_CASES = [name for name, case in CASES.items() if case.scorer != "kernel"]


@pytest.mark.parametrize("name", EXACT_CASES)
def test_scorer_matches_oracle(name: str) -> None:
    case = CASES[name]
    explainer = fitted_explainer(name)
    assert (explainer.scorer.name, explainer.output_space) == (case.scorer, case.space)
    model = fitted_model(case.model, case.data)
    rows = held_out_rows(name)

    exp = explainer.explain(rows)
    phi, base, fx = oracle_for(explainer, model, rows, as_array=case.as_array)

    assert exp.values.shape == phi.shape == (len(rows), fx.shape[1], len(explainer.features))
    tol = TOL[case.scorer]
    np.testing.assert_allclose(exp.base_values, base, rtol=0, atol=tol)
    np.testing.assert_allclose(exp.outputs, fx, rtol=0, atol=tol)
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=tol)
    # the values are not trivially small: the comparison means something
    assert np.max(np.abs(phi)) > 1e3 * tol


@pytest.mark.parametrize("name", ["pipeline-linear", "pipeline-tree", "pipeline-exact"])
def test_pipeline_masks_raw_columns_with_missing_and_unseen_values(name: str) -> None:
    """The pipeline is explained over its 7 raw columns; NaNs are imputed and an unseen category is
    one-hot encoded to zeros, exactly as the oracle's raw hybrids are."""
    case = CASES[name]
    explainer = fitted_explainer(name)
    pipe = fitted_model(case.model, case.data)
    assert explainer.features == [
        "age",
        "income",
        "debt_ratio",
        "years_employed",
        "housing",
        "purpose",
        "region",
    ]
    assert explainer.masking.mode == "grouped"
    assert all(isinstance(v, str) for v in explainer.background.raw["purpose"])  # raw, not encoded, rows

    rows = held_out_rows(name)
    assert rows[["income", "years_employed", "housing"]].isna().any().all()
    unseen = rows.iloc[:2].copy()
    unseen["purpose"] = ["vacation", "wedding"]  # not in the training data; the encoder ignores it
    assert explainer.schema.features[explainer.features.index("purpose")].unseen == "accepted"
    rows = pd.concat([rows, unseen], ignore_index=True)

    exp = explainer.explain(rows)
    phi, base, fx = oracle_for(explainer, pipe, rows, as_array=False)
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=TOL[case.scorer])
    np.testing.assert_allclose(exp.outputs, fx, rtol=0, atol=TOL[case.scorer])
    np.testing.assert_allclose(exp.outputs, model_output(pipe, rows, case.space), rtol=0, atol=1e-12)
    # the logistic head weighs every level: an unseen level (all zeros) changes the value of 'purpose'
    if case.model == "loan":
        assert np.max(np.abs(exp.values[-2:, :, 5] - exp.values[:2, :, 5])) > 1e-6
