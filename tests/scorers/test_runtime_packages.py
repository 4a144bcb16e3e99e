"""The optional packages a packaged model needs when served (``scorers.runtime_packages``): recorded at
packaging from the model itself (a pipeline's steps included), read from the manifest, and a load in an
environment lacking one refused at once with a message naming the package and the model's runtime.

A package is made absent the way Python documents it: ``sys.modules[name] = None`` (``import name``
then raises ImportError and ``importlib.util.find_spec`` finds nothing)."""

from __future__ import annotations

import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest
from scorer_support import dataset
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import scorers
from scorers import runtime_packages
from scorers.artifact import read_manifest
from scorers.runtime_packages import MissingPackageError

FAST = {"background_size": 10, "eval_size": 20, "onnx": False}


def test_packages_of_a_model_include_its_pipeline_steps() -> None:
    x, y = dataset("binary")
    svc = SVC().fit(x, y)
    assert runtime_packages.model_packages(svc) == ["numpy", "sklearn"]
    pipe = make_pipeline(StandardScaler(), lgb.LGBMClassifier(n_estimators=5, verbose=-1)).fit(x, y)
    assert {"lightgbm", "sklearn"} <= set(runtime_packages.model_packages(pipe) or [])
    assert runtime_packages.model_packages(lambda row: row) is None  # does not pickle: unknown


def test_a_sklearn_model_needs_no_extra_and_a_lightgbm_pipeline_needs_lightgbm(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = dataset("binary")
    svc = scorers.fit(LogisticRegression().fit(x, y), x.iloc[:40], **FAST)
    assert svc.manifest.model.packages == ["numpy", "sklearn"]
    assert runtime_packages.needed(svc.manifest) == {}
    out = svc.save(tmp_path / "linear")
    assert read_manifest(out).model.packages == ["numpy", "sklearn"]
    # a pipeline holding a LightGBM model runs on the sklearn runtime: only its packages tell
    pipe = make_pipeline(StandardScaler(), lgb.LGBMClassifier(n_estimators=5, verbose=-1)).fit(x, y)
    manifest = svc.manifest.model_copy(deep=True)
    manifest.model.type, manifest.model.packages = "Pipeline", runtime_packages.model_packages(pipe)
    assert manifest.model.prediction_runtime == "sklearn"
    assert runtime_packages.needed(manifest) == {"lightgbm": "the model (Pipeline) is built from lightgbm"}


def test_a_booster_and_an_onnx_model_need_their_runtimes(tmp_path: Path) -> None:
    x, y = dataset("binary")
    booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(x.to_numpy(), y), 5)
    explainer = scorers.fit(booster, x.iloc[:60], **FAST)
    assert runtime_packages.needed(explainer.manifest)["lightgbm"] == "its prediction runtime is lightgbm"
    from skl2onnx import to_onnx

    model = SVC().fit(x.to_numpy(np.float32), y)
    onnx_bytes = to_onnx(model, x.to_numpy(np.float32)[:1]).SerializeToString()
    onnx = scorers.fit(onnx_bytes, x.iloc[:60], **FAST)
    assert set(runtime_packages.needed(onnx.manifest)) == {"onnx"}


def test_a_load_without_the_package_is_refused_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x, y = dataset("binary")
    booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(x.to_numpy(), y), 5)
    out = scorers.fit(booster, x.iloc[:60], **FAST).save(tmp_path / "booster")
    assert scorers.load(out).predict(x.iloc[:2]).shape == (2,)
    monkeypatch.setitem(sys.modules, "lightgbm", None)
    manifest = read_manifest(out)
    assert set(runtime_packages.missing(manifest)) == {"lightgbm"}
    with pytest.raises(MissingPackageError) as err:
        scorers.load(out)
    message = str(err.value)
    assert "prediction runtime lightgbm" in message and "lightgbm is not installed" in message
    assert "requirements-lightgbm.lock" in message


def test_the_lgbm_surrogate_without_lightgbm_is_a_400_naming_the_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sklearn.linear_model import LogisticRegression

    from scorers.errors import InputError

    x, y = dataset("binary")
    explainer = scorers.fit(LogisticRegression().fit(x, y), x.iloc[:60], **FAST)
    monkeypatch.setitem(sys.modules, "lightgbm", None)
    with pytest.raises(InputError, match="lgbm surrogate needs the lightgbm package") as err:
        explainer.explain_global(x.iloc[:30], kind="mimic")
    assert err.value.field == "surrogate" and err.value.status == 400
    assert explainer.explain_global(x.iloc[:30], kind="mimic", surrogate="tree").kind == "mimic"
