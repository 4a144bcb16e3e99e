"""``shapserve package --summary ... --coalitions N``: how the background rows are chosen and the size of a
design scorer's coalition design reach the artifact (the report is read off its manifest)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from skops.io import dump


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("cli-options")
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(240, 10)), columns=[f"f{i}" for i in range(10)])
    y = (x.f0 + x.f1 * x.f2 - x.f3 > 0).astype(int)
    model = LogisticRegression().fit(x.to_numpy(), y)
    dump(model, d / "model.skops")
    x.assign(label=y).to_csv(d / "train.csv", index=False)
    return d / "model.skops", d / "train.csv"


@pytest.mark.parametrize(("summary", "coalitions"), [("calibrated", 64), ("kmeans", 128)])
def test_summary_and_coalitions_reach_the_artifact(
    files: tuple[Path, Path], summary: str, coalitions: int, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.main import main

    model, data = files
    args = ["package", str(model), "--data", str(data), "--target", "label", "--name", f"cli-opt-{summary}"]
    args += ["--scorer", "kernel", "--output-space", "probability", "--background-size", "12"]
    code = main([*args, "--summary", summary, "--coalitions", str(coalitions)])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    report = out["report"]
    assert report["scorer"] == "kernel" and report["output_space"] == "probability"
    assert report["background"]["method"] == summary and report["fidelity"]["background_rows"] == 12
    assert report["fidelity"]["rel_mae_vs_full_data"] is not None
    import bentoml

    import scorers

    explainer = scorers.load(Path(bentoml.models.get(out["model_tag"]).path) / "artifact")
    assert explainer.manifest.scorer.params["n_coalitions"] == coalitions
    # the design takes whole pairs of coalition sizes up to the budget
    assert coalitions / 2 < explainer.scorer.n_coalitions <= coalitions


def test_a_bad_summary_is_refused_before_any_work(files: tuple[Path, Path]) -> None:
    from cli.main import main

    model, data = files
    with pytest.raises(SystemExit) as exc:
        main(["package", str(model), "--data", str(data), "--summary", "medoids"])
    assert exc.value.code == 2
