"""The search's fast model functions (``scorers.counterfactuals.fast``) against the model's own answers
on rows the parity check at build never saw (held-out rows appended to the bank), and the one
preprocessing pass that checks a Pipeline's counterfactuals (``ScoringExplainer.encoded_predictions``)
against ``predict``/``predict_proba`` of the whole Pipeline, and the counterfactuals judged and explained
from the encoding gathered from the bank (no second pass): as the Pipeline and the brute-force oracle
answer them, the same as with the second pass, and never where gathering is not the preprocessing's own."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scorer_support import fitted_explainer, fitted_model, held_out_rows, oracle_for

from scorers.counterfactuals import gathers_exactly
from scorers.counterfactuals.bank import Bank
from scorers.counterfactuals.fast import Rbf, RbfChanges


@pytest.mark.parametrize(
    ("name", "kind", "data"),
    [("kernel_machine-svc", "svc", "binary"), ("kernel_machine-svr", "svr", "regression")],
)
def test_kernel_machine_single_changes_equal_the_models_decision_function(
    name: str, kind: str, data: str
) -> None:
    explainer = fitted_explainer(name)
    model = fitted_model(kind, data)
    index = explainer.counterfactual_index()
    assert isinstance(index.changes, RbfChanges)  # the fast path applies: what follows tests it
    rows = held_out_rows(name, 6)
    space, z = index.space.encode(rows)
    bank = index.bank.extend(z, np.asarray(index.encode(rows), dtype=np.float64))
    features = list(range(space.width))
    margin = model.decision_function if hasattr(model, "decision_function") else model.predict
    for q in range(len(index.bank.z), len(bank.z)):
        src = np.full((sum(len(bank.choices(j)) for j in features), space.width), q)
        r = 0
        for j in features:
            src[r : r + len(bank.choices(j)), j] = bank.choices(j)
            r += len(bank.choices(j))
        e = bank.encoded(src)
        want = np.asarray(margin(e), dtype=np.float64)
        got = np.concatenate(index.changes(bank, q, features))
        np.testing.assert_allclose(got[:, -1], want, rtol=0, atol=1e-9)
        np.testing.assert_allclose(index.outputs(e)[:, -1], want, rtol=0, atol=1e-9)
        if got.shape[1] == 2:  # a classifier's margin is laid out as (-d, d)
            np.testing.assert_array_equal(got[:, 0], -got[:, 1])


def test_a_model_that_is_no_kernel_machine_keeps_the_scorers_function() -> None:
    explainer = fitted_explainer("pipeline-tree")
    _, head = explainer.runtime.encoder(explainer.masking.mode)
    assert Rbf.of(head, explainer.task, explainer.output_space) is None
    assert explainer.counterfactual_index().outputs == explainer.scorer.outputs


def test_one_preprocessing_pass_answers_as_the_pipeline() -> None:
    explainer = fitted_explainer("pipeline-tree")
    model = fitted_model("loan_tree", "loan")
    rows = held_out_rows("pipeline-tree", 8)  # missing values in each nullable column among them
    frame = explainer.validate(rows)
    x, labels, proba = explainer.encoded_predictions(frame)
    np.testing.assert_array_equal(x, explainer.masking.encode(frame))
    np.testing.assert_array_equal(labels, model.predict(rows))
    np.testing.assert_array_equal(proba, model.predict_proba(rows))
    exp = explainer.explain_encoded(x)
    np.testing.assert_array_equal(exp.values, explainer.explain_frame(frame).values)


def test_a_pipelines_counterfactuals_are_judged_and_explained_from_their_gathered_encoding() -> None:
    explainer = fitted_explainer("pipeline-tree")
    model = fitted_model("loan_tree", "loan")
    index = explainer.counterfactual_index()
    assert index.gathers  # imputer, scaler and one-hot encoder: each feature's columns its own
    rows = explainer.validate(held_out_rows("pipeline-tree", 6))  # missing values among them
    second_pass = replace(index, gathers=False)  # the judge encodes the rows it checks itself
    found = []
    for target in explainer.classes:
        args = {
            "target": target,
            "count": 2,
            "classes": explainer.classes,
            "explain": explainer.explain_encoded,
        }
        got = index.find(rows, judge=explainer.encoded_predictions, **args)
        want = second_pass.find(rows, judge=explainer.encoded_predictions, **args)
        for g, w in zip(got.rows, want.rows, strict=True):
            pd.testing.assert_frame_equal(g.frame, w.frame)
            if g.found:
                np.testing.assert_array_equal(g.explanation.values, w.explanation.values)
                np.testing.assert_array_equal(g.probabilities, w.probabilities)
                assert (model.predict(g.frame) == target).all()  # the Pipeline itself
                np.testing.assert_array_equal(g.probabilities, model.predict_proba(g.frame))
                found.append(g)
    assert found
    frame = pd.concat([f.frame for f in found], ignore_index=True)
    phi, _, fx = oracle_for(explainer, model, frame, as_array=False)
    np.testing.assert_allclose(np.concatenate([f.explanation.values for f in found]), phi, rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.concatenate([f.explanation.outputs for f in found]), fx, rtol=0, atol=1e-9)


def test_gathering_is_refused_where_an_encoding_mixes_features() -> None:
    index = fitted_explainer("pipeline-tree").counterfactual_index()
    n = len(index.pool_outputs)  # the stored rows
    pool = index.space.decode(index.bank.z[:n])

    def mixing(frame: pd.DataFrame) -> np.ndarray:  # every column scaled by the row's age
        return np.asarray(index.encode(frame)) * (
            1.0 + 1e-3 * np.nan_to_num(frame[["age"]].to_numpy(dtype=float))
        )

    assert gathers_exactly(index.space, index.bank, index.encode)
    bank = Bank.build(index.bank.z[:n], mixing(pool), index.bank.group, n)
    assert not gathers_exactly(index.space, bank, mixing)
