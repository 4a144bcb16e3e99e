"""The dashboard's routes in-process: the page and its files (open, relative, versioned), the key on the
data routes, and every number a tab shows checked against an independent computation (pandas,
scikit-learn, /predict and /explain on the same rows)."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    mean_absolute_error,
    mean_squared_error,
    precision_recall_fscore_support,
    r2_score,
)

import service.dashboard

API = "/dashboard/api/"
RICH = {"name": "rich", "filters": [{"field": "income", "op": "gt", "value": 40000}]}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]


def post(c: Any, route: str, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    r = c.post(API + route, json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def predict_all(c: Any, frame: pd.DataFrame) -> dict[str, Any]:
    """/predict over any number of rows (in requests within the row limit)."""
    out: dict[str, list[Any]] = {"predictions": [], "probabilities": []}
    rows = records(frame)
    for i in range(0, len(rows), 400):
        r = c.post("/predict", json={"instances": rows[i : i + 400]})
        assert r.status_code == 200, r.text
        body = r.json()
        out["predictions"] += body["predictions"]
        out["probabilities"] += body.get("probabilities", [])
        out["classes"] = body.get("classes")  # type: ignore[assignment]
    return out


def explain_values(c: Any, frame: pd.DataFrame) -> np.ndarray:
    vals = []
    rows = records(frame)
    for i in range(0, len(rows), 400):
        r = c.post("/explain", json={"instances": rows[i : i + 400]})
        assert r.status_code == 200, r.text
        vals.append(np.asarray(r.json()["local_importance_values"], dtype=float))
    return np.concatenate(vals)


def wait_shap(c: Any, source: str | None = None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = post(c, "summary", {"source": source})["shap"]
        if status["complete"]:
            return
        time.sleep(0.2)
    raise TimeoutError("the SHAP sample was not explained in time")


# ------------------------------------------------------------------------------------ page and files
def test_page_and_its_files_are_relative_versioned_and_offline(client_for: Any) -> None:
    c = client_for("loan")
    page = c.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert page.headers["cache-control"] == "no-cache"
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    template = (Path(service.dashboard.__file__).parent / "static" / "index.html").read_text()
    assert len(urls) == template.count("{{static:") >= 4  # every placeholder resolved, none left raw
    for url in urls:
        assert not url.startswith(("/", "http:", "https:", "//")), url
        r = c.get("/" + url, headers={"accept-encoding": "gzip"})
        assert r.status_code == 200, url
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        if url.endswith(".js"):
            assert r.headers["content-type"].startswith("text/javascript")
            assert r.headers["content-encoding"] == "gzip"  # decoded by the client
    js = c.get("/dashboard/static/dashboard.js").text
    assert "http://" not in js and "https://" not in js and '"/dashboard' not in js and 'fetch("/' not in js
    assert c.get("/dashboard/static/dashboard.js").headers["cache-control"] == "no-cache"  # unversioned
    assert c.get("/dashboard/static/vendor/LICENSE-plotly.js.txt").text.startswith("MIT License")
    assert c.get("/dashboard/static/../core.py").status_code == 404
    missing = c.get("/dashboard/static/nope.js")
    assert missing.status_code == 404 and missing.json()["kind"] == "not_found"
    slash = c.get("/dashboard/", follow_redirects=False)
    assert slash.status_code == 308 and slash.headers["location"] == "../dashboard"
    assert urljoin("http://h/models/x/dashboard/", "../dashboard") == "http://h/models/x/dashboard"


def test_the_page_is_open_and_its_data_needs_the_key(client_for: Any) -> None:
    c = client_for("loan", SHAPSERVE_API_KEY="dash-key")
    assert c.get("/dashboard").status_code == 200
    assert c.get("/dashboard/static/dashboard.js").status_code == 200
    for method, route in (
        ("GET", "sources"),
        ("GET", "packaged_sources"),
        ("POST", "summary"),
        ("POST", "ice"),
    ):
        r = c.request(method, API + route, json={} if method == "POST" else None)
        assert r.status_code == 401 and r.json()["kind"] == "unauthorized", route
    ok = c.post(API + "summary", json={}, headers={"authorization": "Bearer dash-key"})
    assert ok.status_code == 200 and ok.json()["source"]["id"] == "eval"


def test_served_under_a_path_prefix(client_for: Any) -> None:
    """Mounted under /models/x (what an ingress does), the page's relative URLs reach the service."""
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.testclient import TestClient

    inner = client_for("loan").app
    with TestClient(Starlette(routes=[Mount("/models/x", app=inner)])) as outer:
        base = "http://testserver/models/x/dashboard"
        page = outer.get(base)
        assert page.status_code == 200
        for url in re.findall(r'(?:src|href)="([^"]+)"', page.text):
            assert outer.get(urljoin(base, url)).status_code == 200
        assert outer.post(urljoin(base, "dashboard/api/summary"), json={}).status_code == 200
        assert (
            outer.post(urljoin(base, "predict"), json={"instances": records(pd.DataFrame([{}]))}).status_code
            == 400
        )


# ------------------------------------------------------------------------------------ sources and cohorts
def test_sources_and_summary(client_for: Any, loan_eval: tuple[pd.DataFrame, pd.Series]) -> None:
    c = client_for("loan")
    src = c.get(API + "sources").json()
    assert src["default"] == "eval"
    assert [s["id"] for s in src["sources"]][:2] == ["eval", "sample"]
    # what the page paints from: the same answer with the artifact's sources only (no store opened)
    packaged = c.get(API + "packaged_sources").json()
    assert packaged == {**src, "sources": src["sources"][:2], "store_error": None}
    meta = c.get("/metadata").json()
    assert src["fidelity"] == meta["fidelity"] and src["model"]["output_space"] == meta["output_space"]
    s = post(c, "summary", {})
    assert s["source"]["n_rows"] == len(loan_eval[0]) and s["has_labels"] and s["live"]
    ids = [f["id"] for f in s["fields"]]
    assert ids[:7] == list(loan_eval[0].columns)
    assert {"@prediction", "@proba:approved", "@proba:denied", "@label", "@error"} <= set(ids)
    assert s["global_kinds"] == ["shap", "pfi", "mimic"]
    assert s["output_space"] == meta["output_space"] and s["fidelity"] == meta["fidelity"]
    income = next(f for f in s["features"] if f["name"] == "income")
    assert income["missing"] == int(loan_eval[0]["income"].isna().sum())
    assert income["min"] == loan_eval[0]["income"].min()


def test_cohort_filters_count_what_pandas_counts(
    client_for: Any, loan_eval: tuple[pd.DataFrame, pd.Series]
) -> None:
    c = client_for("loan")
    x, y = loan_eval
    pred = np.asarray(predict_all(c, x)["predictions"])
    cases = [
        ([{"field": "income", "op": "gt", "value": 40000}], x["income"] > 40000),
        ([{"field": "age", "op": "between", "value": [30, 50]}], x["age"].between(30, 50)),
        ([{"field": "housing", "op": "in", "value": ["own", "rent"]}], x["housing"].isin(["own", "rent"])),
        (
            [{"field": "housing", "op": "not_in", "value": ["own"]}],
            x["housing"].notna() & (x["housing"] != "own"),
        ),
        ([{"field": "income", "op": "missing"}], x["income"].isna()),
        ([{"field": "@label", "op": "in", "value": ["approved"]}], y == "approved"),
        ([{"field": "@error", "op": "in", "value": ["wrong"]}], pd.Series(pred != y.to_numpy())),
        (
            [
                {"field": "@prediction", "op": "in", "value": ["denied"]},
                {"field": "debt_ratio", "op": "le", "value": 0.3},
            ],
            pd.Series(pred == "denied") & (x["debt_ratio"] <= 0.3),
        ),
    ]
    cohorts = [{"name": f"c{i}", "filters": f} for i, (f, _) in enumerate(cases)]
    got = post(c, "cohorts", {"cohorts": cohorts})
    assert got["n_rows"] == len(x)
    for (_, expected), entry in zip(cases, got["cohorts"], strict=True):
        assert entry["n"] == int(expected.sum()), entry


def test_bad_requests_name_the_field(client_for: Any) -> None:
    c = client_for("loan")

    def error(route: str, body: dict[str, Any]) -> dict[str, Any]:
        r = c.post(API + route, json=body)
        assert r.status_code == 400, r.text
        return r.json()

    bad_field = error(
        "cohorts", {"cohorts": [{"name": "x", "filters": [{"field": "nope", "op": "gt", "value": 1}]}]}
    )
    assert bad_field["field"] == "cohorts.0.filters.0.field" and "nope" in bad_field["error"]
    assert error("cohorts", {"cohorts": [{"filters": [{"field": "housing", "op": "gt", "value": 1}]}]})[
        "field"
    ] == ("cohorts.0.filters.0.op")
    assert (
        error("cohorts", {"cohorts": [{"filters": [{"field": "housing", "op": "in", "value": ["castle"]}]}]})[
            "field"
        ]
        == "cohorts.0.filters.0.value"
    )
    assert error("cohorts", {"cohorts": [{"filters": [{"field": "age", "op": "between", "value": [1]}]}]})[
        "field"
    ] == ("cohorts.0.filters.0.value")
    assert error("performance", {"cohorts": [{}, {}, {}, {}]})["field"] == "cohorts"
    assert error("summary", {"source": "elsewhere"})["field"] == "source"
    assert error("summary", {"source": "eval", "extra": 1})["field"] == "extra"
    assert error("explore", {"x": "age", "chart": "scatter"})["field"] == "y"
    assert error("row", {"row": 10**6})["field"] == "row"
    assert error("ice", {"feature": "nope"})["field"] == "feature"
    assert error("performance", {"class": "maybe"})["field"] == "class"


# ------------------------------------------------------------------------------------ performance
def test_classification_metrics_match_scikit_learn(
    client_for: Any, loan_eval: tuple[pd.DataFrame, pd.Series]
) -> None:
    c = client_for("loan")
    x, y = loan_eval
    pred = np.asarray(predict_all(c, x)["predictions"])
    proba = np.asarray(predict_all(c, x)["probabilities"])
    res = post(c, "performance", {"cohorts": [{"name": "all"}, RICH], "class": "approved", "bins": 10})
    assert res["task"] == "classification" and res["class"] == "approved"
    for entry, sel in zip(
        res["cohorts"], [np.ones(len(x), bool), (x["income"] > 40000).to_numpy()], strict=True
    ):
        yt, yp = y.to_numpy()[sel], pred[sel]
        m = entry["metrics"]
        assert entry["n"] == sel.sum() == m["labelled"]
        assert m["accuracy"] == pytest.approx(accuracy_score(yt, yp), abs=1e-12)
        labels = ["approved", "denied"]
        p, r, f, support = precision_recall_fscore_support(yt, yp, labels=labels, zero_division=0)
        cm = confusion_matrix(yt, yp, labels=labels)
        assert m["confusion"] == cm.tolist()
        for k, pc in enumerate(m["per_class"]):
            tp, fn = cm[k, k], cm[k].sum() - cm[k, k]
            fp, tn = cm[:, k].sum() - tp, cm.sum() - cm[k].sum() - cm[:, k].sum() + tp
            assert pc["precision"] == pytest.approx(p[k]) and pc["recall"] == pytest.approx(r[k])
            assert pc["f1"] == pytest.approx(f[k]) and pc["support"] == support[k]
            assert pc["fpr"] == pytest.approx(fp / (fp + tn)) and pc["fnr"] == pytest.approx(fn / (fn + tp))
        assert entry["predicted_counts"] == [int((yp == k).sum()) for k in labels]
        assert entry["proba_counts"] == np.histogram(proba[sel, 0], bins=np.linspace(0, 1, 11))[0].tolist()


def test_regression_metrics_match_scikit_learn(
    client_for: Any, reg_eval: tuple[pd.DataFrame, pd.Series]
) -> None:
    c = client_for("reg")
    x, y = reg_eval
    pred = np.asarray(predict_all(c, x)["predictions"], dtype=float)
    cohort = {"name": "older", "filters": [{"field": "age", "op": "gt", "value": 0.0}]}
    res = post(c, "performance", {"cohorts": [{}, cohort]})
    assert res["task"] == "regression"
    for entry, sel in zip(res["cohorts"], [np.ones(len(x), bool), (x["age"] > 0).to_numpy()], strict=True):
        m = entry["metrics"]
        yt, yp = y.to_numpy()[sel], pred[sel]
        assert m["mae"] == pytest.approx(mean_absolute_error(yt, yp))
        assert m["rmse"] == pytest.approx(math.sqrt(mean_squared_error(yt, yp)))
        assert m["r2"] == pytest.approx(r2_score(yt, yp))
        assert m["mean_residual"] == pytest.approx(float(np.mean(yt - yp)))
        assert sum(entry["pred_counts"]) == sel.sum() == sum(entry["residual_counts"])
        assert entry["scatter"]["prediction"] == pytest.approx(pred[entry["scatter"]["rows"]].tolist())
    summary = post(c, "summary", {})
    assert {"@residual", "@error"} <= {f["id"] for f in summary["fields"]} and summary["classes"] is None
    # a class asked of a regressor is refused, not ignored (decision 60)
    for route, body in (("performance", {"class": "x"}), ("dependence", {"feature": "age", "class": "x"})):
        r = c.post(API + route, json=body)
        assert r.status_code == 400 and r.json()["field"] == "class", r.text
        assert "a regressor has no classes" in r.json()["error"]


# ------------------------------------------------------------------------------------ explorer
def test_explorer_samples_and_bins_on_the_server(
    client_for: Any, loan_eval: tuple[pd.DataFrame, pd.Series]
) -> None:
    c = client_for("loan")
    x, _ = loan_eval
    body = {"cohorts": [{}, RICH], "x": "age", "y": "income", "color": "housing", "max_points": 50}
    a = post(c, "explore", body)
    b = post(c, "explore", {**body, "y": "debt_ratio"})
    rich = set(np.flatnonzero((x["income"] > 40000).to_numpy()).tolist())
    for ea, eb in zip(a["cohorts"], b["cohorts"], strict=True):
        assert ea["shown"] == 50 and ea["rows"] == eb["rows"]  # the same rows whatever the axes
        rows = ea["rows"]
        assert ea["x"] == x["age"].to_numpy()[rows].tolist()
        assert ea["color"] == [None if pd.isna(v) else v for v in x["housing"].to_numpy()[rows]]
    assert set(a["cohorts"][1]["rows"]) <= rich and a["cohorts"][1]["n"] == len(rich)
    hist = post(
        c,
        "explore",
        {"cohorts": [{}, RICH], "chart": "histogram", "x": "income", "color": "@label", "bins": 12},
    )
    assert hist["groups"] == ["approved", "denied", "(missing)"] and len(hist["bins"]["edges"]) == 13
    for entry in hist["cohorts"]:
        assert sum(sum(g) for g in entry["counts"]) == entry["n"]
    assert sum(g[-1] for g in hist["cohorts"][0]["counts"]) == x["income"].isna().sum()  # the missing bin
    cat = post(c, "explore", {"chart": "histogram", "x": "housing", "color": "age"})
    assert cat["bins"]["categories"] == ["mortgage", "own", "rent", "(missing)"]
    totals = np.sum(cat["cohorts"][0]["counts"], axis=0).tolist()
    assert totals == [
        *x["housing"].value_counts()[["mortgage", "own", "rent"]].tolist(),
        x["housing"].isna().sum(),
    ]


# ------------------------------------------------------------------------------------ importance
def test_importance_is_the_mean_abs_shap_of_each_cohort(
    client_for: Any, loan_eval: tuple[pd.DataFrame, pd.Series]
) -> None:
    c = client_for("loan")
    x, _ = loan_eval
    wait_shap(c)
    values = explain_values(c, x)  # (n, K, M)
    res = post(c, "importance", {"cohorts": [{}, RICH]})
    meta = c.get("/metadata").json()
    assert res["output_space"] == meta["output_space"]
    for entry, sel in zip(
        res["cohorts"], [np.ones(len(x), bool), (x["income"] > 40000).to_numpy()], strict=True
    ):
        assert entry["complete"] and entry["n_used"] == sel.sum()
        # all rows: the importance stored at packaging over every evaluation row; a cohort: the sample
        assert entry["scope"] == ("stored" if entry["name"] == "All data" else "sample")
        expected = np.abs(values[sel]).mean(axis=0)
        np.testing.assert_allclose(entry["per_class"], expected, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(entry["overall"], expected.mean(axis=0), rtol=1e-9, atol=1e-12)
        assert entry["fidelity"] == meta["fidelity"]
    pfi = post(c, "importance", {"cohorts": [{}, RICH], "kind": "pfi"})
    stored = c.get("/explain_global?kind=pfi").json()
    assert pfi["cohorts"][0]["scope"] == "stored"
    assert pfi["cohorts"][0]["per_class"][0] == [stored["per_class"]["value"][f] for f in pfi["features"]]
    assert pfi["cohorts"][1]["scope"] == "computed" and pfi["output_space"] == "accuracy"
    assert "computed live on" in pfi["cohorts"][1]["note"]
    mimic = post(c, "importance", {"cohorts": [RICH], "kind": "mimic"})
    assert mimic["cohorts"][0]["fidelity"]["metric"] == "r2" and len(mimic["cohorts"][0]["overall"]) == 7


def test_dependence_shows_the_explained_values(
    client_for: Any, loan_eval: tuple[pd.DataFrame, pd.Series]
) -> None:
    c = client_for("loan")
    x, _ = loan_eval
    wait_shap(c)
    res = post(
        c,
        "dependence",
        {"cohort": RICH, "feature": "debt_ratio", "color": "housing", "class": "approved", "max_points": 40},
    )
    assert (
        len(res["rows"]) == 40
        and res["class"] == "approved"
        and res["n_cohort"] == (x["income"] > 40000).sum()
    )
    rows = res["rows"]
    values = explain_values(c, x.iloc[rows])
    np.testing.assert_allclose(res["shap_values"], values[:, 0, 2], rtol=1e-9, atol=1e-12)
    assert res["x_values"] == x["debt_ratio"].to_numpy()[rows].tolist()
    assert res["output_space"] == c.get("/metadata").json()["output_space"]


# ------------------------------------------------------------------------------------ one row, ICE
def test_row_is_explained_like_explain(client_for: Any, loan_eval: tuple[pd.DataFrame, pd.Series]) -> None:
    c = client_for("loan")
    x, y = loan_eval
    res = post(c, "row", {"row": 17})
    direct = c.post("/explain", json={"instances": records(x.iloc[[17]])}).json()
    assert res["instance"] == records(x.iloc[[17]])[0]
    assert res["prediction"] == direct["predictions"][0] and res["label"] == y[17]
    assert res["probabilities"] == pytest.approx(direct["probabilities"][0], abs=1e-12)
    exp = res["explanation"]
    np.testing.assert_allclose(exp["values"], direct["local_importance_values"][0], atol=1e-12)
    assert exp["base_values"] == pytest.approx(direct["expected_values"])
    assert exp["additivity_error"] < 1e-9 and exp["output_space"] == direct["output_space"]
    # the row's error estimate, as /explain's with error_estimate
    est = c.post("/explain", json={"instances": records(x.iloc[[17]]), "error_estimate": True}).json()
    assert exp["error"]["row"] == est["error_estimate"]["rows"][0] > 0
    assert exp["error"]["values"] == est["error_estimate"]["values"][0]


@pytest.mark.parametrize("feature", ["debt_ratio", "housing"])
def test_ice_equals_predict_on_the_same_grid(
    client_for: Any, loan_eval: tuple[pd.DataFrame, pd.Series], feature: str
) -> None:
    c = client_for("loan")
    x, _ = loan_eval
    edited = {**records(x.iloc[[4]])[0], "age": 33.0, "income": None}
    res = post(
        c,
        "ice",
        {
            "cohort": RICH,
            "feature": feature,
            "rows": [3, 9],
            "instances": [edited],
            "grid_points": 7,
            "pd_rows": 30,
        },
    )
    grid = res["grid"]
    if feature == "housing":
        assert grid == ["mortgage", "own", "rent"] and res["kind"] == "category"
    else:
        assert len(grid) == 7 and grid[0] == x[feature].min() and grid[-1] == pytest.approx(x[feature].max())
    bases = [*records(x.iloc[[3, 9]]), edited]
    for base, curve in zip(bases, res["curves"], strict=True):
        rows = [{**base, feature: g} for g in grid]
        expected = c.post("/predict", json={"instances": rows}).json()["probabilities"]
        np.testing.assert_allclose(curve["values"], expected, rtol=0, atol=1e-12)
    pd_rows = res["pd"]["rows"]
    assert len(pd_rows) == 30 and set(pd_rows) <= set(
        np.flatnonzero((x["income"] > 40000).to_numpy()).tolist()
    )
    swept = [{**r, feature: g} for r in records(x.iloc[pd_rows]) for g in grid]
    proba = np.asarray(c.post("/predict", json={"instances": swept}).json()["probabilities"]).reshape(
        30, len(grid), 2
    )
    np.testing.assert_allclose(res["pd"]["values"], proba.mean(axis=0), atol=1e-12)


def test_ice_of_a_regressor_is_its_prediction(
    client_for: Any, reg_eval: tuple[pd.DataFrame, pd.Series]
) -> None:
    c = client_for("reg")
    x, _ = reg_eval
    res = post(c, "ice", {"feature": "bmi", "rows": [0], "grid_points": 5, "pd_rows": 0})
    assert res["target"] == "prediction" and res["pd"] is None
    rows = [{**records(x.iloc[[0]])[0], "bmi": g} for g in res["grid"]]
    expected = c.post("/predict", json={"instances": rows}).json()["predictions"]
    np.testing.assert_allclose(res["curves"][0]["values"], expected, atol=1e-12)


# ------------------------------------------------------------------------------------ stored explanations
def test_a_stored_explanation_is_a_source(
    client_for: Any, loan_eval: tuple[pd.DataFrame, pd.Series], tmp_path: Any
) -> None:
    c = client_for("loan", SHAPSERVE_STORE_URL=f"sqlite:///{tmp_path}/store.db")
    x, y = loan_eval
    part, labels = x.iloc[:120], y.iloc[:120].tolist()
    answer = c.post("/explain", json={"instances": records(part)}).json()
    up = c.post("/explanations", json={"explanation": answer, "true_ys": labels, "comment": "dash"})
    assert up.status_code == 200, up.text
    source = "stored:" + up.json()["id"]
    assert source in [s["id"] for s in c.get(API + "sources").json()["sources"]]
    s = post(c, "summary", {"source": source})
    assert s["source"]["kind"] == "local" and not s["has_rows"] and not s["live"] and s["has_labels"]
    assert "@shap:income" in {f["id"] for f in s["fields"]}
    perf = post(c, "performance", {"source": source, "cohorts": [{"name": "all"}]})
    pred = np.asarray(answer["predictions"])
    assert perf["cohorts"][0]["metrics"]["accuracy"] == pytest.approx(accuracy_score(labels, pred))
    imp = post(c, "importance", {"source": source})
    values = np.asarray(answer["local_importance_values"])
    np.testing.assert_allclose(imp["cohorts"][0]["per_class"], np.abs(values).mean(axis=0), atol=1e-12)
    row = post(c, "row", {"source": source, "row": 5})
    assert row["instance"] is None and row["explanation"]["computed"] == "stored"
    np.testing.assert_allclose(row["explanation"]["values"], values[5], atol=1e-12)
    assert row["explanation"]["error"] is None  # stored without an error estimate
    ice = c.post(API + "ice", json={"source": source, "feature": "age"})
    assert ice.status_code == 400 and ice.json()["field"] == "source"
    glob = c.post("/explanations", json={"explanation": c.get("/explain_global").json()}).json()["id"]
    g = post(c, "importance", {"source": "stored:" + glob})
    assert g["cohorts"][0]["scope"] == "stored" and len(g["cohorts"][0]["overall"]) == 7
    assert (
        c.post(
            API + "explore", json={"source": "stored:" + glob, "x": "@prediction", "chart": "histogram"}
        ).status_code
        == 400
    )


def test_a_stored_explanation_shows_the_error_estimate_it_was_stored_with(
    client_for: Any, reg_eval: tuple[pd.DataFrame, pd.Series], tmp_path: Any
) -> None:
    # issue 24: the estimate is shown beside each local explanation, a stored one's too (the store keeps it)
    c = client_for("reg", SHAPSERVE_STORE_URL=f"sqlite:///{tmp_path}/store.db")
    r = c.post("/explain", json={"instances": records(reg_eval[0].iloc[:6]), "error_estimate": True})
    assert r.status_code == 200, r.text
    answer = r.json()
    up = c.post("/explanations", json={"explanation": answer})
    assert up.status_code == 200, up.text
    row = post(c, "row", {"source": "stored:" + up.json()["id"], "row": 4})
    est = answer["error_estimate"]
    assert row["explanation"]["computed"] == "stored"
    assert row["explanation"]["error"] == {"row": est["rows"][4], "values": [est["values"][4]]}
    assert est["rows"][4] > 0


# ------------------------------------------------------------------------------------ pure parts
def test_metrics_against_scikit_learn_on_three_classes() -> None:
    from service.dashboard.metrics import classification

    rng = np.random.default_rng(3)
    truth = rng.integers(-1, 3, 400)
    pred = rng.integers(0, 3, 400)
    pred[truth == 2] = 0  # class 2 is never predicted right: precision has no denominator
    pred[pred == 2] = 1
    m = classification(pred, truth, ["a", "b", "c"])
    known = truth >= 0
    p, r, f, s = precision_recall_fscore_support(truth[known], pred[known], labels=[0, 1, 2], zero_division=0)
    assert m["labelled"] == known.sum() and m["accuracy"] == pytest.approx(
        accuracy_score(truth[known], pred[known])
    )
    assert [c["recall"] for c in m["per_class"]] == pytest.approx(r.tolist())
    assert m["per_class"][2]["precision"] is None and m["per_class"][2]["predicted"] == 0
    assert [c["precision"] for c in m["per_class"][:2]] == pytest.approx(p[:2].tolist())
    assert [c["support"] for c in m["per_class"]] == s.tolist()


def test_shap_sample_grows_in_chunks_and_reports_progress() -> None:
    from service.dashboard.shap_sample import ShapSample

    sizes: list[int] = []

    def explain(ids: np.ndarray) -> np.ndarray:
        sizes.append(len(ids))
        return np.ones((len(ids), 2, 3)) * ids[:, None, None]

    sample = ShapSample(np.arange(1000, dtype=np.int64)[::-1].copy(), explain)
    assert sample.snapshot()[1] is None and sample.status()["rows_done"] == 0
    assert sample.wait(30)
    assert sizes == [50, 100, 200, 400, 250]
    rows, values = sample.snapshot()
    assert values is not None and (values[:, 0, 0] == rows).all() and sample.status()["complete"]

    def fail(ids: np.ndarray) -> np.ndarray:
        raise RuntimeError("boom")

    broken = ShapSample(np.arange(10, dtype=np.int64), fail)
    assert broken.wait(30) and broken.error is not None and broken.status()["complete"] is False


@pytest.mark.slow
def test_the_bento_carries_the_page_and_its_files(packaged: dict[str, str]) -> None:
    """What the container serves comes from the Bento: every static file must travel in it."""
    import subprocess
    import sys
    from pathlib import Path

    from cli.bento import build_bento
    from service.dashboard.assets import STATIC

    tag = build_bento(packaged["loan"], lambda _m: None)
    bentoml = [sys.executable, "-m", "bentoml"]
    try:
        out = subprocess.run([*bentoml, "get", tag, "-o", "path"], capture_output=True, text=True, check=True)
        src = Path(out.stdout.strip()) / "src" / "service" / "dashboard" / "static"
        ours = sorted(p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*") if p.is_file())
        assert sorted(p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file()) == ours
        assert "vendor/plotly-basic.min.js" in ours and "vendor/LICENSE-plotly.js.txt" in ours
        # its requirements: the core lock and the extras its model needs (scorers/runtime_packages.py)
        from cli.bento import PROJECT_ROOT, artifact_path
        from scorers import runtime_packages
        from scorers.artifact import read_manifest

        def pins(text: str) -> set[str]:
            return {ln.strip() for ln in text.splitlines() if "==" in ln and not ln.startswith("#")}

        extras = runtime_packages.needed(read_manifest(artifact_path(packaged["loan"])))
        locks = ["requirements.lock", *(runtime_packages.EXTRAS[e].lock for e in extras)]
        expected = set().union(*(pins((PROJECT_ROOT / lock).read_text()) for lock in locks))
        bento_pins = pins((Path(out.stdout.strip()) / "env" / "python" / "requirements.txt").read_text())
        assert bento_pins == expected
        assert not {p.split("==")[0] for p in bento_pins} & {"onnxruntime", "lightgbm", "pyarrow"} or extras
    finally:
        subprocess.run([*bentoml, "delete", "-y", tag], capture_output=True, check=False)


def test_eval_predictions_stored_at_packaging_are_used_or_redone(tmp_path: Any) -> None:
    """The evaluation rows' predictions come from the artifact when the model agrees with them; when it
    does not, every row is predicted again and the page says so."""
    from types import SimpleNamespace

    import scorers
    from scorers.examples import loan_data, loan_pipeline
    from service.dashboard.sources import EVAL, RECOMPUTED, rows_dataset

    pipe, x, _ = loan_pipeline()
    explainer = scorers.fit(pipe, x, background_size=10, eval_size=20, onnx=False)
    xe, ye = loan_data(300, seed=2)
    scorers.evaluate(explainer, xe, labels=ye.to_numpy(), kinds=["shap"])
    own = explainer.predict_frame(explainer.eval_data[0])

    def shown(ex: Any) -> tuple[list[str], list[str]]:
        core = SimpleNamespace(explainer=ex, manifest=ex.manifest)
        data = rows_dataset(core, EVAL, shap_rows=10)  # type: ignore[arg-type]
        return [data.classes[i] for i in data.pred], data.notes

    labels, notes = shown(scorers.load(explainer.save(tmp_path / "same")))
    assert labels == [str(v) for v in own] and RECOMPUTED not in notes
    assert explainer.evaluation is not None and explainer.evaluation.predictions is not None
    classes = explainer.classes
    stale = np.array([classes[0]] * len(own), dtype=object)  # not what the model answers
    explainer.evaluation.predictions = (stale, explainer.evaluation.predictions[1])
    labels, notes = shown(scorers.load(explainer.save(tmp_path / "stale")))
    assert labels == [str(v) for v in own] and RECOMPUTED in notes


def test_the_shap_sample_explained_at_packaging_is_used_once_it_agrees(tmp_path: Any) -> None:
    """The evaluation rows' SHAP sample comes from the artifact, complete before any row is explained
    in the worker, with the values /explain gives those rows; a stored sample the explainer disagrees
    with is explained again and the page says so."""
    from types import SimpleNamespace

    import scorers
    from scorers.examples import loan_data, loan_pipeline
    from service.dashboard.sources import EVAL, STALE_SHAP, rows_dataset

    pipe, x, _ = loan_pipeline()
    explainer = scorers.fit(pipe, x, background_size=10, eval_size=20, onnx=False)
    xe, ye = loan_data(300, seed=3)
    scorers.evaluate(explainer, xe, labels=ye.to_numpy(), kinds=[])

    def opened(ex: Any, shap_rows: int) -> Any:
        core = SimpleNamespace(explainer=ex, manifest=ex.manifest)
        return rows_dataset(core, EVAL, shap_rows=shap_rows)  # type: ignore[arg-type]

    loaded = scorers.load(explainer.save(tmp_path / "same"))
    data = opened(loaded, 40)
    assert data.shap.status()["complete"] and STALE_SHAP not in data.notes  # nothing explained here
    rows, values = data.shap.snapshot()
    assert values is not None and len(rows) == 40
    # the fixed order and ranks stored at packaging are the ones the sample was explained in
    columns = loaded.evaluation.columns() if loaded.evaluation is not None else None
    assert columns is not None and data.order is columns.order and data.rank is columns.rank
    assert rows.tolist() == np.random.default_rng(0).permutation(300)[:40].tolist()
    np.testing.assert_array_equal(values, loaded.explain_frame(data.take(rows)).values)
    assert "explained at packaging" in " ".join(data.notes)
    assert explainer.evaluation is not None and explainer.evaluation.shap_sample is not None
    explainer.evaluation.shap_sample = explainer.evaluation.shap_sample * 1.5  # not what it answers
    stale = opened(scorers.load(explainer.save(tmp_path / "stale")), 40)
    assert STALE_SHAP in stale.notes and not stale.shap.status()["complete"]
    assert stale.shap.wait(60)
    np.testing.assert_array_equal(stale.shap.snapshot()[1], values)


def test_preload_prepares_the_first_visits_on_the_rows(tmp_path: Any) -> None:
    """``preload`` loads the evaluation rows with every column described, then computes the performance
    tab's first answer on all rows (the default class's probability bins with it) in its thread: the
    tab's first visit answers what numpy's histogram counts and scikit-learn's accuracy per cohort,
    without binning the rows again."""
    import scorers
    from scorers.examples import loan_data, loan_pipeline
    from service.dashboard import sources, views
    from service.dashboard.schemas import PerformanceBody
    from service.settings import Settings

    pipe, x, _ = loan_pipeline()
    explainer = scorers.fit(pipe, x, background_size=10, eval_size=20, onnx=False)
    xe, ye = loan_data(300, seed=4)
    scorers.evaluate(explainer, xe, labels=ye.to_numpy(), kinds=[])
    loaded = scorers.load(explainer.save(tmp_path / "a"))

    class Core:  # what the data routes read of a ScoringService (no store: its opening fails quietly)
        def __init__(self) -> None:
            self.explainer, self.manifest, self.settings = loaded, loaded.manifest, Settings()
            self.name, self.version = "m", "v"

    core = Core()
    sources.preload(core).join(120)  # type: ignore[arg-type]
    ds = sources.dataset(core, None)  # type: ignore[arg-type]
    assert all(c._described is not None for c in ds.columns.values())
    binned = [key for key in ds.cache if "cells" in key]
    assert len(binned) == 1  # the default class's probabilities, at the default bins
    kept = [key for key in ds.cache if "performance of all rows" in key]
    assert len(kept) == 1  # and the all-rows cohort's answer (counts, bins, metrics)
    body = PerformanceBody.model_validate({"cohorts": [{"name": "all", "filters": []}, RICH]})
    out = views.performance(core, body)  # type: ignore[arg-type]
    assert [key for key in ds.cache if "cells" in key] == binned  # nothing binned again
    k = ds.classes.index(out["class"])
    for cohort, m in zip(
        out["cohorts"], [np.ones(ds.n_rows, bool), ds.columns["income"].values > 40000], strict=True
    ):
        expected = np.histogram(ds.proba[m, k], bins=np.linspace(0, 1, 21))[0].tolist()
        assert cohort["proba_counts"] == expected and cohort["n"] == int(m.sum())
        known = ds.truth[m] >= 0
        accuracy = accuracy_score(ds.truth[m][known], ds.pred[m][known])
        assert cohort["metrics"]["accuracy"] == pytest.approx(accuracy, abs=1e-12)


# ------------------------------------------------------------------------------------ interactions
def test_cohort_interactions_are_the_mean_of_explain_interactions(
    client_for: Any, reg_eval: tuple[pd.DataFrame, pd.Series]
) -> None:
    """A tree regressor (its features interact): the cohort matrix is the mean |value| of
    /explain_interactions on the rows the view names, and the dependence plot is coloured by the
    feature of largest mean |interaction| with the plotted one."""
    c = client_for("reg")
    x, _ = reg_eval
    cohort = {"name": "old", "filters": [{"field": "age", "op": "gt", "value": 0.0}]}
    res = post(c, "interactions", {"cohort": cohort, "feature": "bmi", "max_rows": 30})
    rows = res["rows"]
    assert len(rows) == 30 and res["n_cohort"] == (x["age"] > 0).sum()
    assert all(x["age"].to_numpy()[rows] > 0)
    direct = c.post("/explain_interactions", json={"instances": records(x.iloc[rows])}).json()
    values = np.asarray(direct["interaction_values"], dtype=float)  # (n, M, M)
    mean_abs = np.abs(values).mean(axis=0)
    np.testing.assert_allclose(res["mean_abs"], mean_abs, rtol=1e-9, atol=1e-12)
    assert (res["method"], res["exact"]) == (direct["interaction_method"], True)
    names = direct["features"]
    j = names.index("bmi")
    partner = names[int(np.argmax(np.where(np.arange(len(names)) == j, -1.0, mean_abs[j])))]
    dep = res["dependence"]
    assert dep["partner"] == partner and dep["partner_mean_abs"] > 0
    assert dep["x_values"] == x["bmi"].to_numpy()[rows].tolist()
    assert dep["color_values"] == x[partner].to_numpy()[rows].tolist()
    np.testing.assert_allclose(
        dep["shap_values"], np.asarray(direct["local_importance_values"])[:, j], rtol=1e-9, atol=1e-12
    )
    bad = c.post(API + "interactions", json={"feature": "nope"})
    assert bad.status_code == 400 and bad.json()["field"] == "feature"
