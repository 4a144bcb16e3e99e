"""``shapserve package`` takes LightGBM model text and XGBoost JSON/UBJSON files (data, not code: no
trust flag needed) and names classes with ``--classes``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


@pytest.mark.parametrize("suffix", ["txt", "json", "ubj"])
def test_cli_packages_a_booster_file(suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pandas as pd

    from cli.main import main

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(200, 4)), columns=list("abcd"))
    y = np.digitize(x["a"] + x["b"] * x["c"], [-0.5, 0.5])
    path = tmp_path / f"model.{suffix}"
    if suffix == "txt":
        import lightgbm as lgb

        lgb.LGBMClassifier(n_estimators=5, num_leaves=4, verbose=-1).fit(x, y).booster_.save_model(str(path))
    else:
        import xgboost as xgb

        xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(x, y).save_model(str(path))
    x.assign(label=y).to_csv(tmp_path / "train.csv", index=False)
    code = main(
        ["package", str(path), "--data", str(tmp_path / "train.csv"), "--target", "label"]
        + ["--name", f"cli-booster-{suffix}", "--classes", "low,mid,high", "--background-size", "10"]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)["report"]
    assert (report["scorer"], report["output_space"], report["exact"]) == ("tree", "log_odds", True)
    assert report["classes"] == ["low", "mid", "high"]
    assert report["runtimes"]["predictions"] == ("lightgbm" if suffix == "txt" else "xgboost")
    assert report["checks"]["additivity_max_abs_error"] < 1e-9
