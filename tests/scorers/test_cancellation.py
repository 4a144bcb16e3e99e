"""Cooperative cancellation: a cancellable explanation is sliced into rows, asks its token between
slices, and stops when the token is set; the slicing changes no value, bit for bit, for every kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scorer_support import CASES, case_frame, fitted_explainer, held_out_rows

import scorers
from scorers import scoring_explainer as explainer_module


def _recording(explainer: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The row counts of the scorer's calls from outside, from now on (a design scorer calls itself)."""
    sizes: list[int] = []
    depth = [0]
    real = explainer.scorer.shap_values

    def recorded(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if depth[0] == 0:
            sizes.append(len(x))
        depth[0] += 1
        try:
            return real(x)
        finally:
            depth[0] -= 1

    monkeypatch.setattr(explainer.scorer, "shap_values", recorded)
    return sizes


def _assert_sliced_equals_whole(
    explainer: Any, frame: pd.DataFrame, slice_seconds: float, monkeypatch: pytest.MonkeyPatch
) -> list[int]:
    whole = explainer.explain_frame(frame)
    # 0 s: the smallest slices (one row, or one block of 4); 1e9 s: doubling slices
    monkeypatch.setattr(explainer_module, "_SLICE_SECONDS", slice_seconds)
    sizes = _recording(explainer, monkeypatch)
    sliced = explainer.explain_frame(frame, cancel=lambda: False)
    assert sum(sizes) == len(frame) and len(sizes) > 1
    assert np.array_equal(sliced.values, whole.values)
    assert np.array_equal(sliced.outputs, whole.outputs)
    assert np.array_equal(sliced.base_values, whole.base_values)
    return sizes


@pytest.mark.parametrize("slice_seconds", [0.0, 1e9], ids=["smallest-slices", "doubling-slices"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_slicing_changes_no_value(name: str, slice_seconds: float, monkeypatch: pytest.MonkeyPatch) -> None:
    explainer = fitted_explainer(name)
    frame = explainer.validate(held_out_rows(name, n=13))
    sizes = _assert_sliced_equals_whole(explainer, frame, slice_seconds, monkeypatch)
    if explainer.scorer.rows_alone:
        assert sizes == ([1] * 13 if slice_seconds == 0 else [1, 2, 4, 6])
    else:  # whole blocks of 4 rows, the last slice with the remainder
        assert sizes == ([4, 4, 5] if slice_seconds == 0 else [4, 9])


@pytest.mark.parametrize("slice_seconds", [0.0, 1e9], ids=["smallest-slices", "doubling-slices"])
@pytest.mark.parametrize(
    "name", ["pipeline-linear", "kernel_machine-kernel-ridge", "linear-logistic-multiclass"]
)
def test_slicing_keeps_the_bits_where_blas_rounds_by_batch(
    name: str,
    slice_seconds: float,
    monkeypatch: pytest.MonkeyPatch,
    record_property: Callable[[str, object], None],
) -> None:
    """On some CPUs these models' outputs change in the last bit with the batch (one row alone, or 2, 3, 7
    rows; in whole blocks of 4 they do not). Whether this BLAS does so is recorded (the test's
    ``blas_rounds_by_batch`` property and its output), never required: sliced equals whole either way."""
    explainer = fitted_explainer(name)
    frame = explainer.validate(case_frame(CASES[name]).iloc[:203].reset_index(drop=True))
    x = explainer.masking.encode(frame)
    alone = np.concatenate([explainer.scorer.shap_values(x[i : i + 1])[1] for i in range(len(x))])
    hazard = not np.array_equal(alone, explainer.scorer.shap_values(x)[1])
    record_property("blas_rounds_by_batch", hazard)
    print(f"{name}: this BLAS {'rounds' if hazard else 'does not round'} one row apart from a batch")
    _assert_sliced_equals_whole(explainer, frame, slice_seconds, monkeypatch)


@pytest.mark.parametrize("name", ["kernel_machine-svc", "exact-mlp", "pipeline-linear", "tree-forest"])
def test_a_set_token_stops_between_slices(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    explainer = fitted_explainer(name)
    frame = explainer.validate(held_out_rows(name, n=20))
    monkeypatch.setattr(explainer_module, "_SLICE_SECONDS", 0.0)  # the smallest slices
    sizes = _recording(explainer, monkeypatch)
    asked = []

    def set_at_the_fourth_question() -> bool:
        asked.append(1)
        return len(asked) > 3

    with pytest.raises(scorers.ExplanationCancelled) as info:
        explainer.explain_frame(frame, cancel=set_at_the_fourth_question)
    assert len(sizes) == 3  # no slice was explained once the token was set
    done = 3 if explainer.scorer.rows_alone else 12  # single rows, or blocks of 4 rows
    assert str(info.value) == f"the explanation was cancelled after {done} of 20 rows"
    assert info.value.status == 499 and info.value.kind == "cancelled"


def test_without_a_token_the_scorer_gets_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    explainer = fitted_explainer("pipeline-linear")
    frame = explainer.validate(held_out_rows("pipeline-linear", n=8))
    calls: list[int] = []
    real = explainer.scorer.shap_values

    def counting(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        calls.append(len(x))
        return real(x)

    monkeypatch.setattr(explainer.scorer, "shap_values", counting)
    explainer.explain_frame(frame)
    assert calls == [8]
