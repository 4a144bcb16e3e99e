"""Anchored KernelSHAP (scorers/kinds/anchor.py): the exact margin explanation as a control variate.

Checked against the brute-force oracle: anchoring must keep additivity, and must be more accurate than
the plain kernel estimate at the same design, over several design seeds.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scorer_support import dataset, oracle_for

import scorers
from scorers.kinds.anchor import slopes
from scorers.kinds.kernel import KernelScorer

SEEDS = (0, 1, 2, 3)
N_COALITIONS = 120  # of the 4094 proper coalitions of 12 players: a sampled design


@functools.cache
def _model(kind: str) -> object:
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    x, y = dataset("wide12")
    est = {
        "svc": lambda: SVC(probability=True, random_state=0),
        "logistic": lambda: LogisticRegression(max_iter=1000),
        "gb": lambda: GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0),
    }[kind]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(x.to_numpy(), y)


def _fit(kind: str, seed: int, anchor: bool = True) -> scorers.ScoringExplainer:
    frame = dataset("wide12")[0]
    return scorers.fit(
        _model(kind),
        frame,
        scorer="kernel",
        output_space="probability",
        background_size=8,
        n_coalitions=N_COALITIONS,
        seed=seed,
        anchor=anchor,
        eval_size=10,
    )


def _rows() -> pd.DataFrame:
    return dataset("wide12")[0].iloc[-6:].reset_index(drop=True)


@functools.cache
def _oracle(kind: str) -> np.ndarray:
    return oracle_for(_fit(kind, 0), _model(kind), _rows(), as_array=True)[0]


@pytest.mark.parametrize(("kind", "anchor"), [("svc", "kernel_machine:raw"), ("gb", "tree:log_odds")])
def test_anchor_is_chosen_recorded_and_additive(kind: str, anchor: str) -> None:
    exp = _fit(kind, 0)
    assert exp.scorer.params["anchor"] == anchor
    e = exp.explain(_rows())
    assert e.additivity_error() < 1e-9
    plain = _fit(kind, 0, anchor=False)
    assert "anchor" not in plain.scorer.params
    # the same outputs and base values: only the split of f(x) - base between features changes
    p = plain.explain(_rows())
    np.testing.assert_array_equal(e.outputs, p.outputs)
    np.testing.assert_array_equal(e.base_values, p.base_values)


def test_linear_margin_is_not_anchored() -> None:
    # its margin game is additive, where plain KernelSHAP is exact: the correction would be exactly zero
    assert "anchor" not in _fit("logistic", 0).scorer.params


def test_black_box_without_an_exact_margin_is_not_anchored() -> None:
    from sklearn.neural_network import MLPClassifier

    x, y = dataset("wide12")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp = MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0).fit(x.to_numpy(), y)
    exp = scorers.fit(mlp, x, scorer="kernel", background_size=8, n_coalitions=N_COALITIONS, eval_size=10)
    assert "anchor" not in exp.scorer.params


# Mean |error| against the oracle, plain / anchored, over design seeds 0-3, measured: svc 1.02, gb 1.6.
# This SVC's margin is nearly additive (plain KernelSHAP gets it to 2.4% at 120 coalitions), so there is
# little for the anchor to remove; the seed's breast-cancer SVC margin is not (91% at 120 coalitions),
# and there the gain is 2.4x (benchmarks/README.md).
MIN_GAIN = {"svc": 1.0, "gb": 1.3}


@pytest.mark.parametrize("kind", ["svc", "gb"])
def test_anchored_is_closer_to_the_oracle_than_plain(kind: str) -> None:
    truth = _oracle(kind)
    base = _fit(kind, 0)
    x = base.masking.encode(base.validate(_rows()))
    key = base.scorer.params["anchor"]
    errors: dict[bool, list[float]] = {True: [], False: []}
    for seed in SEEDS:
        for anchored in (True, False):
            # the same fitted context (background, model function) with another design seed
            scorer = KernelScorer(N_COALITIONS, seed=seed, anchor=key if anchored else None)
            values = scorer.fit(base.scorer.ctx_).shap_values(x)[0]
            errors[anchored].append(float(np.mean(np.abs(values - truth))))
    anchored, plain = np.mean(errors[True]), np.mean(errors[False])
    assert plain / anchored > MIN_GAIN[kind], (anchored, plain)


def test_anchored_artifact_round_trip_is_bit_identical(tmp_path: Path) -> None:
    exp = _fit("svc", 0)
    exp.save(tmp_path / "a")
    back = scorers.load(tmp_path / "a")
    assert back.scorer.params["anchor"] == "kernel_machine:raw"
    assert back.manifest is not None and back.manifest.scorer.params["anchor"] == "kernel_machine:raw"
    a, b = exp.explain(_rows()), back.explain(_rows())
    assert np.array_equal(a.values, b.values)
    assert np.array_equal(a.outputs, b.outputs)


def test_anchored_rows_do_not_depend_on_their_batch() -> None:
    exp = _fit("svc", 1)
    rows = _rows()
    batch = exp.explain(rows).values
    one_by_one = np.concatenate([exp.explain(rows.iloc[i : i + 1]).values for i in range(len(rows))])
    assert np.array_equal(batch, one_by_one)


def test_slopes_recover_a_linear_relation_and_ignore_a_constant_margin() -> None:
    rng = np.random.default_rng(0)
    u = rng.normal(size=(2, 50, 3))
    v = 2.5 * u + 1.0
    np.testing.assert_allclose(slopes(v, u), 2.5, rtol=1e-12)
    assert np.all(slopes(v, np.ones_like(u)) == 0.0)
