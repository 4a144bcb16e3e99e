"""Immutable features: packaged with ``scorers.fit(..., immutable=[...])`` (the CLI's ``--immutable``:
tests/cli/test_cli_immutable.py), kept in the manifest through save and load, never changed by a counterfactual; an
unknown name refused naming the field; an artifact packaged without them loads."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import scorers
from scorers.errors import InputError
from scorers.manifest import parse


def _data() -> tuple[LogisticRegression, pd.DataFrame]:
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.normal(size=(240, 3)), columns=["a", "b", "c"])
    y = np.where(2.0 * x["a"] + x["b"] > 0, "yes", "no")  # "a" pulls hardest: the search would change it
    return LogisticRegression().fit(x, y), x


def test_immutable_features_survive_save_and_never_change(tmp_path: Path) -> None:
    model, x = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = scorers.fit(model, x, eval_size=60, immutable=["a"])
    explainer.save(tmp_path / "art")
    loaded = scorers.load(tmp_path / "art", trust_pickle=True)
    assert loaded.manifest.counterfactuals is not None
    assert loaded.manifest.counterfactuals.immutable == ["a"]
    rows = x.iloc[:8]
    pred = model.predict(rows)
    moved = 0
    for i in range(len(rows)):
        target = "no" if pred[i] == "yes" else "yes"
        fitted = explainer.counterfactuals(rows.iloc[[i]], target, count=2).rows[0]
        out = loaded.counterfactuals(rows.iloc[[i]], target, count=2).rows[0]
        assert (out.frame["a"] == rows.iloc[i]["a"]).all()
        assert all("a" not in c for c in out.changed + fitted.changed)
        assert out.found == 0 or (model.predict(out.frame) == target).all()
        moved += out.found
    assert moved > 0  # some rows still reach the target through b and c


def test_an_unknown_immutable_feature_is_refused_and_old_manifests_load(tmp_path: Path) -> None:
    model, x = _data()
    with pytest.raises(InputError) as err:
        scorers.fit(model, x, eval_size=60, immutable=["zzz"])
    assert err.value.field == "immutable" and "zzz" in str(err.value)
    with pytest.raises(InputError) as err:
        scorers.fit(model, x, eval_size=60, immutable="a")  # type: ignore[arg-type]
    assert err.value.field == "immutable"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = scorers.fit(model, x, eval_size=60).save(tmp_path / "old")
    data = json.loads((path / "manifest.json").read_text())
    assert data.pop("counterfactuals") is None  # an artifact from before the field: no key at all
    assert parse(data).counterfactuals is None
