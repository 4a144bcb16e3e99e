"""Drift over time from recorded answers (store.drift, docs/monitoring.md#over-time), on SQLite and
PostgreSQL: answers recorded through the recorder with their coded rows, bucketed by the time they were
recorded; a covariate shift from hour 3 alerts in every bucket after it and in none before; the PSI of a
bucket equals a PSI computed here by hand from the baseline's edges; ``since`` keeps the later buckets;
an answer of another feature list is skipped and one without its rows counts towards attributions only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import update

from scorers.input_schema import Schema, infer_features
from scorers.monitoring import Thresholds, baseline
from store import ExplanationStore, recorder
from store.drift import drift_history
from store.models import ExplanationRow

W = np.array([3.0, 1.0, 0.2])
EFFECT = {"x": 0.0, "y": 0.5, "z": -0.4}
T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = 3600.0
PER_HOUR = 300
BATCH = 50


def rows(n: int, rng: np.random.Generator, shift: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "a": rng.normal(shift, 1.0, n),
            "b": rng.normal(0.0, 1.0, n),
            "c": rng.normal(0.0, 1.0, n),
            "d": rng.choice(list(EFFECT), n),
        }
    )


def shap_values(frame: pd.DataFrame, mean: np.ndarray, mean_effect: float) -> np.ndarray:
    """A linear regressor's exact SHAP values against the baseline rows' means: (n, 1, 4)."""
    nums = (frame[["a", "b", "c"]].to_numpy() - mean) * W
    cat = frame["d"].map(EFFECT).to_numpy(dtype=float) - mean_effect
    return np.column_stack([nums, cat])[:, None, :]


@pytest.fixture(scope="module")
def model() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    ref = rows(2000, rng)
    mean, mean_effect = ref[["a", "b", "c"]].to_numpy().mean(axis=0), float(ref["d"].map(EFFECT).mean())
    base = baseline.build(
        Schema(infer_features(ref)), ref, shap_values(ref, mean, mean_effect), None, "evaluation"
    )
    return {"base": base, "mean": mean, "effect": mean_effect}


def answer(frame: pd.DataFrame, values: np.ndarray) -> dict[str, Any]:
    return {
        "features": list(frame.columns),
        "output_space": "raw",
        "expected_values": 1.0,
        "explained_outputs": (1.0 + values[:, 0, :].sum(axis=1)).tolist(),
        "local_importance_values": values[:, 0, :].tolist(),
        "predictions": (1.0 + values[:, 0, :].sum(axis=1)).tolist(),
    }


def record_at(store: ExplanationStore, body: dict[str, Any], when: datetime, inputs: Any) -> str:
    new = recorder.record(
        body, "r", 1.0, 10_000, store=store, model_name="m", model_version="1", inputs=inputs
    )
    assert new is not None
    with store.engine.begin() as c:  # the time it was recorded, chosen by the test
        c.execute(update(ExplanationRow).where(ExplanationRow.id == new).values(created=when))
    return new


def by_hand_psi(base: baseline.Baseline, coded: np.ndarray, j: int) -> float:
    edges = base.input_edges[j][np.isfinite(base.input_edges[j])]
    got = np.zeros(base.n_bins + 1)
    for x in coded[:, j]:
        got[len(base.input_edges[j]) + 1 if np.isnan(x) else int(np.searchsorted(edges, x, side="left"))] += 1
    ref = base.input_counts[j].astype(float)
    used = (got > 0) | (ref > 0)
    p, q = (got + 0.5) / (got + 0.5).sum(), (ref + 0.5) / (ref + 0.5).sum()
    return float(sum((p[i] - q[i]) * np.log(p[i] / q[i]) for i in range(len(p)) if used[i]))


def test_drift_over_time_from_recorded_answers(store_url: str, model: dict[str, Any]) -> None:
    base = model["base"]
    store = ExplanationStore(store_url)
    rng = np.random.default_rng(1)
    coded_by_hour = []
    for hour in range(6):
        frame = rows(PER_HOUR, rng, shift=1.0 if hour >= 3 else 0.0)  # +1 sd of the top feature from hour 3
        values = shap_values(frame, model["mean"], model["effect"])
        coded = base.code_inputs(frame)
        coded_by_hour.append(coded)
        for i in range(0, PER_HOUR, BATCH):
            when = T0 + timedelta(seconds=hour * HOUR + i)
            record_at(
                store, answer(frame.iloc[i : i + BATCH], values[i : i + BATCH]), when, coded[i : i + BATCH]
            )
    # another feature list under the same model name: skipped, not mixed in
    other = answer(frame[["a", "b", "c"]].iloc[:5], values[:5, :, :3])
    record_at(store, other, T0 + timedelta(seconds=10), None)

    got = drift_history(store, base, Thresholds(), bucket_seconds=HOUR, model_name="m")
    assert got["skipped_explanations"] == 1 and got["rows"] == 6 * PER_HOUR
    buckets = got["buckets"]
    assert [b["start"] for b in buckets] == [T0.timestamp() + h * HOUR for h in range(6)]
    assert [b["window_rows"] for b in buckets] == [PER_HOUR] * 6
    assert [b["attribution_drift"]["alert"] for b in buckets] == [False] * 3 + [True] * 3
    assert [b["input_drift"]["alert"] for b in buckets] == [False] * 3 + [True] * 3
    for h in (0, 4):
        for j, name in enumerate(base.features):
            want = by_hand_psi(base, coded_by_hour[h], j)
            assert buckets[h]["features"][name]["input_psi"] == pytest.approx(want, rel=1e-9, abs=1e-12)
    assert got["moved"][0]["feature"] == "a" and got["moved"][0]["change"] > 0
    # the dashboard's recorded rows: the coding undone, categories by name (service/dashboard/recorded.py)
    decoded = base.decode_inputs(coded_by_hour[5])
    np.testing.assert_array_equal(base.code_inputs(decoded), coded_by_hour[5])
    assert set(decoded["d"]) == set(EFFECT)

    later = drift_history(
        store, base, Thresholds(), bucket_seconds=HOUR, model_name="m", since=T0 + timedelta(hours=3)
    )
    assert [b["start"] for b in later["buckets"]] == [b["start"] for b in buckets[3:]]
    assert later["buckets"][0] == buckets[3]

    # an answer recorded without its rows: its attributions count, its inputs are not made up
    frame = rows(BATCH, rng)
    record_at(
        store,
        answer(frame, shap_values(frame, model["mean"], model["effect"])),
        T0 + timedelta(hours=7),
        None,
    )
    last = drift_history(store, base, Thresholds(), bucket_seconds=HOUR, model_name="m")["buckets"][-1]
    assert last["window_rows"] == BATCH and last["input_rows"] == 0
    assert last["input_drift"]["score"] is None and last["attribution_drift"]["score"] > 0
