"""ONNX graphs of trees and linear models explained by the tree and linear scorers, against the oracle.

Two brute-force oracles over the packaged background: on the graph as read (its trees or its affine
scores, in float64: the values must be exact for it, 1e-9) and on onnxruntime itself (a session of the
test's own: 1e-9 for a double graph; for a float32 graph, onnxruntime's own rounding, the 1e-6 additivity
contract; for a float32 linear graph, read as linear though its scores spread by ~1e-5 around the head as
read, a float32-scale tolerance, the outputs and base value being the head's own).  A graph with preprocessing that is not affine falls back to a black box, saying why.
"""

from __future__ import annotations

import warnings
from typing import Any

import lightgbm as lgb
import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
import xgboost as xgb
from onnxmltools import convert_lightgbm, convert_xgboost
from onnxmltools.convert.common.data_types import FloatTensorType
from scorer_support import shapley_oracle
from skl2onnx import to_onnx
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import scorers
from scorers.runtimes import onnx_read

D = 5


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    x, y = make_classification(240, D, n_informative=3, random_state=3)
    x = x.astype(np.float32)
    return x, y, pd.DataFrame(x.astype(np.float64), columns=[f"x{j}" for j in range(D)])


def _graphs(x: np.ndarray, y: np.ndarray) -> dict[str, onnx.ModelProto]:
    ft = [("X", FloatTensorType([None, D]))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rf = RandomForestClassifier(20, max_depth=5, random_state=0).fit(x, y)
        lr = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
        return {
            "forest": to_onnx(rf, x[:1], options={"zipmap": False}),
            "logistic": to_onnx(lr, x[:1].astype(np.float64), options={"zipmap": False}),
            "logistic32": to_onnx(lr, x[:1], options={"zipmap": False}),
            "lightgbm": convert_lightgbm(
                lgb.LGBMClassifier(n_estimators=8, num_leaves=8, verbose=-1).fit(x, y),
                initial_types=ft,
                zipmap=False,
            ),
            "xgboost": convert_xgboost(
                xgb.XGBClassifier(n_estimators=8, max_depth=3).fit(x, y), initial_types=ft
            ),
        }


def _ort_fn(graph: onnx.ModelProto, space: str, dtype: Any) -> Any:
    """onnxruntime's output in the space: probabilities, or log-odds from the margin (the graph with its
    post-transform removed: binary scores [-s, s]) or, for a graph without one, from its probabilities."""
    g = onnx.ModelProto()
    g.CopyFrom(graph)
    halve = False
    for node in g.graph.node:
        for a in node.attribute:
            if space == "log_odds" and a.name == "post_transform" and a.s == b"LOGISTIC":
                a.s, halve = b"NONE", True
    sess = ort.InferenceSession(g.SerializeToString(), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    out = sess.get_outputs()[1].name

    def f(frame: pd.DataFrame) -> np.ndarray:
        p = np.asarray(sess.run([out], {name: frame.to_numpy().astype(dtype)})[0], dtype=np.float64)
        if space == "probability":
            return p
        m = (p[:, 1] - p[:, 0]) / 2 if halve else np.log(p[:, 1]) - np.log(p[:, 0])
        return np.column_stack([-m, m])

    return f


F32_TOL = 1e-5  # float32 scores of a linear graph: ~1e-6 relative on log-odds of up to ~10 here

CASES = [  # graph, kind, space, input dtype, tolerance against the onnxruntime oracle
    ("forest", "tree", "probability", np.float32, 1e-6),
    ("logistic", "linear", "log_odds", np.float64, 1e-9),
    ("logistic32", "linear", "log_odds", np.float32, F32_TOL),
    ("lightgbm", "tree", "log_odds", np.float32, 1e-6),
    ("xgboost", "tree", "log_odds", np.float32, 1e-6),
]


@pytest.mark.parametrize(("name", "kind", "space", "dtype", "ort_tol"), CASES)
def test_onnx_graph_is_explained_exactly(
    data: Any, name: str, kind: str, space: str, dtype: Any, ort_tol: float
) -> None:
    x, y, frame = data
    graph = _graphs(x, y)[name]
    explainer = scorers.fit(graph.SerializeToString(), frame, eval_size=20)
    m = explainer.manifest
    assert (m.scorer.kind, m.output_space, m.scorer.exact) == (kind, space, True), m.masking.reason
    assert "equal to onnxruntime on 240 packaged rows" in m.masking.reason
    rows = frame.iloc[[0, 7, 50, 99, 200]].reset_index(drop=True)
    exp = explainer.explain(rows)
    bg = explainer.background
    head = explainer.runtime.encoder("identity")[1]
    read = onnx_read.head_output(head, "classifier", space, 2)
    phi, base, fx = shapley_oracle(lambda f: read(f.to_numpy()), bg.raw, np.asarray(bg.weights), rows)
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=1e-9)
    np.testing.assert_allclose(exp.base_values, base, rtol=0, atol=1e-9)
    np.testing.assert_allclose(exp.outputs, fx, rtol=0, atol=1e-9)
    phi, base, fx = shapley_oracle(_ort_fn(graph, space, dtype), bg.raw, np.asarray(bg.weights), rows)
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=ort_tol)
    np.testing.assert_allclose(exp.outputs, fx, rtol=0, atol=ort_tol)
    assert np.max(np.abs(exp.values.sum(axis=2) + exp.base_values - exp.outputs)) <= 1e-6
    if ort_tol <= 1e-6:  # additive against onnxruntime's own output, to the contract
        assert np.max(np.abs(exp.values.sum(axis=2) + exp.base_values - fx)) <= 1e-6
    else:  # the head's outputs differ from onnxruntime's by float32 rounding, and not by more
        assert 1e-9 < np.max(np.abs(exp.outputs - fx)) <= ort_tol


def test_onnx_graph_with_an_imputer_falls_back_saying_why(data: Any) -> None:
    x, y, frame = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make_pipeline(SimpleImputer(), LogisticRegression()).fit(x, y)
        graph = to_onnx(model, x[:1], options={"zipmap": False})
    explainer = scorers.fit(graph.SerializeToString(), frame, eval_size=10)
    m = explainer.manifest
    assert m.scorer.kind in ("exact", "kernel")  # a black box: 5 features, enumerated exactly
    assert "not read exactly" in m.masking.reason and "Imputer" in m.masking.reason


def test_float32_linear_regressor_graph_is_read_as_linear(data: Any) -> None:
    """skl2onnx's float32 StandardScaler + LinearRegression (``Scaler``, ``LinearRegressor``): its scores
    spread by ~1e-5 around the head as read, yet it is read as linear: exact for the head as read, and
    within float32 rounding of onnxruntime's own Shapley values and outputs."""
    from sklearn.linear_model import LinearRegression

    x, _, frame = data
    target = x.astype(np.float64) @ np.linspace(-30, 30, D) + 7.0
    graph = to_onnx(make_pipeline(StandardScaler(), LinearRegression()).fit(x, target), x[:1])
    explainer = scorers.fit(graph.SerializeToString(), frame, eval_size=20)
    m = explainer.manifest
    assert (m.scorer.kind, m.output_space) == ("linear", "raw"), m.masking.reason
    rows = frame.iloc[[0, 7, 50, 99, 200]].reset_index(drop=True)
    exp = explainer.explain(rows)
    bg = explainer.background
    head = explainer.runtime.encoder("identity")[1]
    phi, base, fx = shapley_oracle(
        lambda f: head.predict(f.to_numpy())[:, None], bg.raw, np.asarray(bg.weights), rows
    )
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=1e-9)
    np.testing.assert_allclose(exp.outputs, fx, rtol=0, atol=1e-9)
    sess = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])

    def ort_fn(f: pd.DataFrame) -> np.ndarray:
        out = sess.run(None, {sess.get_inputs()[0].name: f.to_numpy().astype(np.float32)})[0]
        return np.asarray(out, dtype=np.float64).reshape(len(f), 1)

    phi, base, fx = shapley_oracle(ort_fn, bg.raw, np.asarray(bg.weights), rows)
    tol = 1e-6 * max(1.0, float(np.max(np.abs(fx))))  # float32 scale, as onnx_read.verify
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=tol)
    np.testing.assert_allclose(exp.outputs, fx, rtol=0, atol=tol)
    assert np.max(np.abs(exp.values.sum(axis=2) + exp.base_values - exp.outputs)) <= 1e-6


def test_multiclass_logistic_graph_explains_its_softmax_logits(data: Any) -> None:
    """skl2onnx's float32 multiclass logistic regression ends in ``LinearClassifier`` (SOFTMAX) and an L1
    ``Normalizer``: its log-odds are the centred logits, the centred log-probabilities onnxruntime gives
    (the margin graph once kept the Normalizer, which rescaled the logits: every value and output was off,
    by up to 6 on a user's model, and the head as read was refused).  Exact for the head as read; within
    float32 rounding of onnxruntime's own Shapley values and of the model's float64 centred logits."""
    x, _, frame = data
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    model = LogisticRegression().fit(x, y)
    graph = to_onnx(model, x[:1], options={"zipmap": False})
    assert [n.op_type for n in graph.graph.node] == ["LinearClassifier", "Normalizer"]
    explainer = scorers.fit(graph.SerializeToString(), frame, eval_size=20)
    m = explainer.manifest
    assert (m.scorer.kind, m.output_space, m.scorer.exact) == ("linear", "log_odds", True), m.masking.reason
    rows = frame.iloc[[0, 7, 50, 99, 200]].reset_index(drop=True)
    exp = explainer.explain(rows)
    bg = explainer.background
    read = onnx_read.head_output(explainer.runtime.encoder("identity")[1], "classifier", "log_odds", 3)
    phi, base, fx = shapley_oracle(lambda f: read(f.to_numpy()), bg.raw, np.asarray(bg.weights), rows)
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=1e-9)
    np.testing.assert_allclose(exp.outputs, fx, rtol=0, atol=1e-9)
    sess = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])

    def centred_log_p(f: pd.DataFrame) -> np.ndarray:
        p = np.asarray(
            sess.run(["probabilities"], {"X": f.to_numpy().astype(np.float32)})[0], dtype=np.float64
        )
        return np.log(p) - np.log(p).mean(axis=1, keepdims=True)

    phi, base, fx = shapley_oracle(centred_log_p, bg.raw, np.asarray(bg.weights), rows)
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=F32_TOL)
    np.testing.assert_allclose(exp.base_values, base, rtol=0, atol=F32_TOL)
    np.testing.assert_allclose(exp.outputs, fx, rtol=0, atol=F32_TOL)
    d = model.decision_function(rows.to_numpy())
    np.testing.assert_allclose(exp.outputs, d - d.mean(axis=1, keepdims=True), rtol=0, atol=F32_TOL)
    assert np.max(np.abs(exp.values.sum(axis=2) + exp.base_values - exp.outputs)) <= 1e-6
    black_box = scorers.fit(
        graph.SerializeToString(), frame, scorer="exact", output_space="log_odds", eval_size=20
    )
    exp = black_box.explain(rows)  # onnxruntime's margin graph itself, every coalition enumerated
    bg = black_box.background
    phi, base, fx = shapley_oracle(centred_log_p, bg.raw, np.asarray(bg.weights), rows)
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=F32_TOL)
    np.testing.assert_allclose(exp.outputs, fx, rtol=0, atol=F32_TOL)
