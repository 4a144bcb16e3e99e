"""An ONNX graph reads a number as its input's declared element type, and onnxruntime does not raise on
one that type cannot hold: a float32 input reads 1e300 as infinity, an int64 input truncates 1.5.  So
packaging bounds each number by its type (``scorers.magnitude``: float32's and float16's largest value, a
signed integer's range, nothing for float64) and marks an integer type's numbers ``integer``; the cell
checks refuse the rest with the row and the field named (docs/decisions.md, 61).  Graphs are built with
``onnx.helper``: a cast to double, then an affine head, whose answer is known exactly."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
from onnx import TensorProto, helper

import scorers
from scorers.input_schema import FLOAT32_MAX, TYPE_BOUNDS
from scorers.interpret.seed_explainers import wrap_model

W = np.array([1e-3, -2e-3])  # small weights: float32's largest value gives a finite answer
B = 0.5


def _graph(inputs: dict[str, int]) -> bytes:
    """Y = concat(cast(inputs, double)) @ W + B: one input of two columns, or one input per column."""
    width = 2 if len(inputs) == 1 else 1
    values = [helper.make_tensor_value_info(n, t, [None, width]) for n, t in inputs.items()]
    nodes = [helper.make_node("Cast", [n], [f"{n}_d"], to=TensorProto.DOUBLE) for n in inputs]
    nodes.append(helper.make_node("Concat", [f"{n}_d" for n in inputs], ["x"], axis=1))
    nodes.append(helper.make_node("MatMul", ["x", "w"], ["xw"]))
    nodes.append(helper.make_node("Add", ["xw", "b"], ["y"]))
    init = [
        helper.make_tensor("w", TensorProto.DOUBLE, [2, 1], W.tolist()),
        helper.make_tensor("b", TensorProto.DOUBLE, [1], [B]),
    ]
    out = [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [None, 1])]
    graph = helper.make_graph(nodes, "affine", values, out, init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _rows() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame({"a": rng.normal(size=40), "n": rng.integers(-5, 6, size=40).astype(float)})


def _refusal(call: Any, rows: Any) -> tuple[int, int | None, str | None, str]:
    with pytest.raises(scorers.InputError) as err:
        call(rows)
    return err.value.status, err.value.row, err.value.field, str(err.value)


@pytest.mark.parametrize(
    ("elem", "bound"),
    [(TensorProto.FLOAT, FLOAT32_MAX), (TensorProto.FLOAT16, 65504.0), (TensorProto.DOUBLE, None)],
    ids=["float32", "float16", "float64"],
)
def test_a_one_input_graph_is_bounded_by_its_float_type(elem: int, bound: float | None) -> None:
    model = _graph({"X": elem})
    runtime, schema, _ = wrap_model(model, _rows())
    assert [(f.max_abs, f.integer) for f in schema.features] == [(bound, False)] * 2
    if bound is None:  # float64 reads any finite number: 1e300 is answered, exactly
        got = runtime.predict(schema.rows_to_frame([[1e300, -1e300]]))
        assert got.tolist() == [1e300 * W[0] - 1e300 * W[1] + B]
        return
    name = "float32" if elem == TensorProto.FLOAT else "float16"
    want = f"expected a number with magnitude <= {bound!r} (the model reads {name}), got 1e+300"
    for call in (schema.rows_to_frame, schema.cells_to_frame, schema.validate_frame):
        rows = [[0.5, 1.0], [2.0, 1e300]]
        assert _refusal(call, np.array(rows) if call == schema.validate_frame else rows)[:3] == (400, 1, "n")
        assert want in _refusal(call, rows if call != schema.validate_frame else np.array(rows))[3]
    edge = [[bound, -bound], [-bound, 0.25]]
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    dtype = np.float32 if elem == TensorProto.FLOAT else np.float16
    want_y = session.run(None, {"X": np.array(edge, dtype=dtype)})[0].ravel()
    got_y = runtime.predict(schema.rows_to_frame(edge))
    assert np.isfinite(got_y).all() and got_y.tolist() == want_y.tolist()


def test_float32_largest_value_is_answered_and_explained_as_onnxruntime_answers() -> None:
    model = _graph({"X": TensorProto.FLOAT})
    explainer = scorers.fit(model, _rows(), background_size=10, eval_size=10)
    rows = [[3.4e38, -FLOAT32_MAX], [FLOAT32_MAX, 1.0]]
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    want = session.run(None, {"X": np.array(rows, dtype=np.float32)})[0].ravel()
    assert explainer.predict(rows).tolist() == want.tolist()
    exp = explainer.explain(rows)
    assert np.isfinite(exp.values).all() and exp.additivity_error() <= 1e-6
    status, row, field, text = _refusal(explainer.predict, [[1.0, 2.0], [1.0, 3.0], [1e300, 0.0]])
    assert (status, row, field) == (400, 2, "a") and "(the model reads float32), got 1e+300" in text


def test_an_int64_input_takes_integers_only() -> None:
    model = _graph({"a": TensorProto.FLOAT, "n": TensorProto.INT64})
    runtime, schema, frame = wrap_model(model, _rows())
    got = {f.name: (f.max_abs, f.integer, f.nullable) for f in schema.features}
    assert got == {"a": (FLOAT32_MAX, False, False), "n": (TYPE_BOUNDS["int64"], True, False)}
    want = "expected an integer (the model reads int64), got 1.5"
    rows = [[0.5, 2], [0.5, 1.5]]
    for call, given in [
        (schema.rows_to_frame, rows),
        (schema.rows_to_frame, [{"a": 0.5, "n": 2}, {"n": 1.5, "a": 0.5}]),
        (schema.cells_to_frame, rows),
        (schema.validate_frame, np.array(rows)),
        (schema.validate_frame, pd.DataFrame(rows, columns=["a", "n"])),
        (schema.validate_frame, pd.DataFrame({"a": pd.Series([0.5, 0.5], dtype=object), "n": [2, 1.5]})),
    ]:  # the plain path, the cell checks, the block path and (an object column beside) the column path
        status, row, field, text = _refusal(call, given)
        assert (status, row, field) == (400, 1, "n") and want in text, text
    call = schema.rows_to_frame
    assert "got 1e+19" in _refusal(call, [[0.5, 10**19]])[3]  # beyond int64's range
    assert "missing value" in _refusal(call, [[0.5, None]])[3]  # NaN is no int64
    # float64, which rows are validated as, holds every integer only up to 2**53: 2**53 + 1 would be rounded
    assert (
        TYPE_BOUNDS["int64"] == 2**53 - 1
        and "got 9007199254740992.0" in _refusal(call, [[0.5, 2**53 + 1]])[3]
    )
    taken = [[0.25, -3], [0.25, 2**53 - 1]]
    assert runtime.predict(schema.rows_to_frame(taken)).tolist() == [
        0.25 * W[0] - 3 * W[1] + B,
        0.25 * W[0] + (2**53 - 1) * W[1] + B,
    ]
    with pytest.raises(ValueError, match="'n' reads int64"):  # the feed itself never truncates
        runtime.predict(pd.DataFrame({"a": [0.0], "n": [1.5]}))


def test_an_input_type_not_fed_is_refused_naming_it() -> None:
    with pytest.raises(scorers.UnsupportedModelError, match=r"'X' is tensor\(uint8\)"):
        wrap_model(_graph({"X": TensorProto.UINT8}), _rows())
