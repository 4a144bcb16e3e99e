"""Global explanations of several kinds over HTTP: a model packaged by the real CLI with ``--eval-data``
serves ``GET /explain_global?kind=shap|pfi|mimic``; ``POST /explain_global`` computes one on posted rows
(labels for pfi) within the row limit.  Answers equal the engine's, errors name their field."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from svc_helpers import make_client

FEATURES = [f"x{j}" for j in range(5)]


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=260, n_features=5, n_informative=4, n_redundant=0, random_state=4)
    return pd.DataFrame(x, columns=FEATURES), pd.Series(np.where(y == 1, "yes", "no"), name="outcome")


@pytest.fixture(scope="module")
def model(data: tuple[pd.DataFrame, pd.Series]) -> Any:
    from sklearn.ensemble import GradientBoostingClassifier

    x, y = data
    return GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=0).fit(
        x.iloc[:180], y.iloc[:180]
    )


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory, data: Any, model: Any) -> dict[str, Any]:
    """The model packaged twice through ``shapserve package``: with evaluation rows and without."""
    import contextlib
    import io

    import skops.io as sio

    from cli.main import main

    x, y = data
    root = tmp_path_factory.mktemp("globals")
    sio.dump(model, root / "model.skops")
    train = x.iloc[:180].assign(outcome=y.iloc[:180].to_numpy())
    test = x.iloc[180:].assign(outcome=y.iloc[180:].to_numpy())
    train.to_csv(root / "train.csv", index=False)
    test.to_csv(root / "test.csv", index=False)
    tags = {}
    for name, extra in (
        (
            "with",
            ["--eval-data", str(root / "test.csv"), "--global", "shap,pfi,mimic", "--surrogate", "tree"],
        ),
        ("without", []),
    ):
        out = io.StringIO()
        with warnings.catch_warnings(), contextlib.redirect_stdout(out):
            warnings.simplefilter("ignore")
            args = [
                "package",
                str(root / "model.skops"),
                "--data",
                str(root / "train.csv"),
                "--target",
                "outcome",
            ]
            code = main(
                [*args, "--name", f"test-globals-{name}", "--background-size", "10", "--trust-pickle", *extra]
            )
        assert code == 0
        tags[name] = json.loads(out.getvalue())
    return tags


@pytest.fixture(scope="module")
def clients(packaged: dict[str, Any]) -> Iterator[dict[str, Any]]:
    opened = {}
    for name, info in packaged.items():  # one at a time: each app registers its metrics when it starts
        opened[name] = make_client(info["model_tag"], SHAPSERVE_MAX_ROWS="100")
        opened[name].__enter__()
    yield opened
    for c in opened.values():
        c.__exit__(None, None, None)


def _err(r: Any, status: int, text: str, field: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert text in body["error"], body
    assert set(body) == {"error", "kind", "row", "field"}
    if field is not None:
        assert body["field"] == field


def test_the_report_lists_the_stored_globals(packaged: dict[str, Any]) -> None:
    ev = packaged["with"]["report"]["evaluation"]
    assert (
        ev["rows"] == 80
        and ev["label_column"] == "outcome"
        and set(ev["globals"]) == {"shap", "pfi", "mimic"}
    )
    assert (
        ev["globals"]["pfi"]["metric"] == "accuracy" and ev["globals"]["mimic"]["fidelity"]["metric"] == "r2"
    )
    assert "evaluation" not in packaged["without"]["report"]


def test_the_fidelity_error_is_also_measured_on_the_evaluation_rows(
    clients: dict[str, Any], packaged: dict[str, Any]
) -> None:
    """--eval-data rows are held out of every fit: the stated error is measured on them too, without
    their label column, and /metadata says so."""
    held = packaged["with"]["report"]["fidelity"]["holdout"]
    assert held["rows_checked"] > 0 and len(held["rows"]) == held["rows_checked"]
    assert all(0 <= i < 80 for i in held["rows"]) and held["rel_mae_vs_full_data"] >= 0
    assert clients["with"].get("/metadata").json()["fidelity"]["holdout"] == held
    assert packaged["without"]["report"]["fidelity"]["holdout"] is None


def test_get_serves_each_stored_kind(clients: dict[str, Any], packaged: dict[str, Any]) -> None:
    import scorers
    from cli.bento import artifact_path

    c = clients["with"]
    engine = scorers.load(artifact_path(packaged["with"]["model_tag"]))
    shap = c.get("/explain_global", params={"top_k": 3}).json()
    assert shap == c.get("/explain_global", params={"top_k": 3, "kind": "shap"}).json()
    assert set(shap) == {
        "kind",
        "output_space",
        "n_rows",
        "classes",
        "ranked_names",
        "ranked_values",
        "per_class",
    }
    assert shap["kind"] == "shap" and shap["n_rows"] == 80 and len(shap["ranked_names"]) == 3
    stored = engine.explain_global(kind="shap")
    assert shap["ranked_names"] == stored.get_ranked_global_names(3)
    assert shap["per_class"]["yes"] == pytest.approx(dict(zip(FEATURES, stored.per_class[1], strict=True)))

    pfi = c.get("/explain_global", params={"kind": "pfi"}).json()
    ref = engine.explain_global(kind="pfi")
    assert pfi["kind"] == "pfi" and pfi["output_space"] == "accuracy" and pfi["classes"] is None
    assert pfi["ranked_values"] == ref.get_ranked_global_values()
    assert set(pfi["extras"]) == {"std"} and set(pfi["extras"]["std"]["value"]) == set(FEATURES)
    assert pfi["info"]["n_repeats"] == 5 and pfi["info"]["classes"] == ["no", "yes"]

    mimic = c.get("/explain_global", params={"kind": "mimic", "top_k": 2}).json()
    assert mimic["kind"] == "mimic" and mimic["classes"] == ["no", "yes"] and len(mimic["ranked_names"]) == 2
    assert mimic["info"]["surrogate"] == "DecisionTreeExplainableModel"
    assert set(mimic["info"]["fidelity"]) == {"metric", "value", "rows", "agreement"}

    meta = c.get("/metadata").json()
    assert meta["evaluation"] == {"rows": 80, "label_column": "outcome", "globals": ["mimic", "pfi", "shap"]}


def test_get_without_evaluation_keeps_todays_answer(clients: dict[str, Any]) -> None:
    c = clients["without"]
    body = c.get("/explain_global").json()
    assert body["kind"] == "shap" and body["n_rows"] == 180  # the training sample explained at fit
    _err(c.get("/explain_global", params={"kind": "pfi"}), 400, "no stored 'pfi' global explanation", "kind")
    _err(c.get("/explain_global", params={"kind": "lime"}), 400, "unknown kind 'lime'", "kind")
    _err(c.get("/explain_global", params={"top_k": 0}), 400, "between 1 and 5", "top_k")
    assert c.get("/metadata").json()["evaluation"] is None


def test_post_computes_each_kind_on_the_rows(clients: dict[str, Any], data: Any, model: Any) -> None:
    from sklearn.inspection import permutation_importance

    x, y = data
    rows = x.iloc[200:260]
    body = {"instances": rows.to_dict("records")}
    c = clients["without"]

    shap = c.post("/explain_global", json=body).json()
    assert shap["kind"] == "shap" and shap["n_rows"] == 60

    labels = y.iloc[200:260].tolist()
    r = c.post("/explain_global", json={**body, "kind": "pfi", "labels": labels, "n_repeats": 3})
    assert r.status_code == 200, r.text
    pfi = r.json()
    ref = permutation_importance(
        model, rows, y.iloc[200:260], scoring="accuracy", n_repeats=3, random_state=0
    )
    assert [pfi["per_class"]["value"][f] for f in FEATURES] == ref.importances_mean.tolist()
    assert [pfi["extras"]["std"]["value"][f] for f in FEATURES] == ref.importances_std.tolist()
    loss = c.post("/explain_global", json={**body, "kind": "pfi", "labels": labels, "metric": "neg_log_loss"})
    assert loss.json()["output_space"] == "neg_log_loss"

    mimic = c.post(
        "/explain_global", json={**body, "kind": "mimic", "surrogate": "linear", "top_k": 2}
    ).json()
    assert mimic["kind"] == "mimic" and len(mimic["ranked_names"]) == 2 and mimic["n_rows"] == 60
    assert mimic["info"]["surrogate"] == "LinearExplainableModel" and mimic["info"]["fidelity"]["rows"] > 0


def test_post_refusals_name_the_field(clients: dict[str, Any], data: Any) -> None:
    x, y = data
    c = clients["without"]
    rows = x.iloc[:4].to_dict("records")
    _err(c.post("/explain_global", json={"instances": rows, "kind": "pfi"}), 400, "true labels", "labels")
    _err(
        c.post(
            "/explain_global", json={"instances": rows, "kind": "pfi", "labels": ["yes", "no", "maybe", "no"]}
        ),
        400,
        "unknown label 'maybe'",
        "labels",
    )
    _err(
        c.post("/explain_global", json={"instances": rows, "labels": ["yes"] * 4}),
        400,
        "kind 'pfi' only",
        "labels",
    )
    _err(c.post("/explain_global", json={"instances": rows, "surrogate": "tree"}), 400, "kind 'mimic' only")
    _err(
        c.post(
            "/explain_global",
            json={"instances": rows, "kind": "pfi", "labels": ["yes"] * 4, "metric": "nope"},
        ),
        400,
        "unknown metric",
        "metric",
    )
    _err(
        c.post("/explain_global", json={"instances": rows, "kind": "mimic", "surrogate": "forest"}),
        400,
        "unknown explainable model",
        "surrogate",
    )
    _err(
        c.post("/explain_global", json={"instances": rows, "kind": "everything"}), 400, "unknown kind", "kind"
    )
    _err(c.post("/explain_global", json={"instances": rows, "top_k": 9}), 400, "between 1 and 5", "top_k")
    _err(c.post("/explain_global", json={"instances": rows, "sample": 1}), 400, "unknown key 'sample'")
    too_many = x.iloc[:101].to_dict("records")
    _err(c.post("/explain_global", json={"instances": too_many}), 400, "101 rows exceed the limit of 100")


def test_openapi_documents_both_methods(clients: dict[str, Any]) -> None:
    doc = clients["without"].get("/docs.json").json()
    ops = doc["paths"]["/explain_global"]
    assert {"get", "post"} <= set(ops)
    assert {p["name"] for p in ops["get"]["parameters"]} == {"top_k", "kind"}
    schema = doc["components"]["schemas"]["GlobalRequest"]
    assert set(schema["properties"]) == {
        "instances",
        "kind",
        "labels",
        "top_k",
        "metric",
        "n_repeats",
        "surrogate",
    }
    assert ops["post"]["security"] == [{"bearer": []}]


def test_cli_refuses_a_bad_global_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    (tmp_path / "m.skops").write_bytes(b"")
    code = main(["package", str(tmp_path / "m.skops"), "--data", "d.csv", "--global", "shap,lime"])
    assert code == 2 and "expected a comma-separated list" in capsys.readouterr().err
