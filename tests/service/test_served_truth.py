"""The numbers a real server answers equal the brute-force Shapley oracle, on every route family.

Two models, each packaged with the real CLI code and served by ONE real ``bentoml serve`` process shared
by this module: a 3-class forest whose classes are named at packaging in an order that is not sorted
(``classes=["zeta", "alpha", "mu"]``: tree kind, probability space), and the loan pipeline (a
ColumnTransformer with imputed, scaled numbers and one-hot string categories with missing values:
linear kind, log-odds space, classes "approved" / "denied").  The truth (``tests/truth_oracle.py``) is
the oracle on the model itself against the background rows and weights read back from the packaged
artifact.  Every answer is mapped to it by the class and feature NAMES the answer gives, and the names
and their order are asserted too, for ``/explain``, ``/score``, KServe V1, OIP V2, explain jobs, the
store's ``/explanations`` (recorded and uploaded answers read back) and ``shapserve explain-batch``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from svc_helpers import eventually, free_port, recording_settled, stop, wait_ready
from truth_oracle import TOL, Truth, packaged_background, truth

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NAMES = ["zeta", "alpha", "mu"]  # the forest's classes, by position in its classes_ (0, 1, 2)
MODELS = ["named", "loan"]
WAIT = 120.0  # seconds a job may take to finish before the test fails (a bound, not a measurement)
pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Served:
    """One served model: its tag and URL, the fitted model, the rows the tests send, the truth on them."""

    tag: str
    url: str
    model: Any
    rows: pd.DataFrame  # the raw rows (NaN for a missing value), the model's column order
    classes: list[str]  # the class names, in the model's column order
    truth: Truth

    @property
    def name(self) -> str:
        return self.tag.split(":")[0]

    def records(self) -> list[dict[str, Any]]:
        """The rows as JSON objects, keys in reverse order (names matter, not positions), null for NaN."""
        cols = list(reversed(self.rows.columns))
        return [{c: _json(r[c]) for c in cols} for _, r in self.rows.iterrows()]

    def post(self, path: str, body: Any) -> dict[str, Any]:
        r = httpx.post(self.url + path, json=body, timeout=60)
        assert r.status_code == 200, (path, r.text)
        return dict(r.json())

    def get(self, path: str) -> Any:
        r = httpx.get(self.url + path, timeout=60)
        assert r.status_code == 200, (path, r.text)
        return r.json()


def _json(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    return v.item() if isinstance(v, np.generic) else v


def _named_forest() -> tuple[Any, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    x, y = load_iris(return_X_y=True, as_frame=True)
    model = RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0).fit(x, y)
    rows = x.iloc[[0, 1, 52, 77, 101, 133]].reset_index(drop=True)  # every class, a boundary case
    return model, x, rows, {"classes": NAMES}


def _loan() -> tuple[Any, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    from scorers.examples import loan_data, loan_pipeline

    pipe, x, _ = loan_pipeline()
    fresh, _ = loan_data(80, seed=11)  # rows no fit has seen
    picks = [
        int(np.flatnonzero(fresh[c].isna().to_numpy())[0]) for c in ("income", "years_employed", "housing")
    ]
    picks += [i for i in range(8) if i not in picks][:3]
    rows = fresh.iloc[picks].reset_index(drop=True)
    rows["debt_ratio"] = rows["debt_ratio"].round(4)  # exact through pandas' 10-digit JSON (/score)
    assert rows[["income", "years_employed", "housing"]].isna().any().all()
    return pipe, x, rows, {}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Served]]:
    """Both models packaged, their truth computed, and one real server each, started together (with
    a jobs directory and a SQLite store that records every /explain answer)."""
    import warnings

    from batch.cli import resolve_artifact
    from cli.bento import package

    warnings.simplefilter("ignore")
    built: dict[str, tuple[str, Any, pd.DataFrame, list[str], Truth]] = {}
    for key, make in (("named", _named_forest), ("loan", _loan)):
        model, x, rows, options = make()
        tag = package(model, x, name=f"truth-{key}", progress=lambda _m: None, eval_size=20, **options)[
            "model_tag"
        ]
        report = json.loads((resolve_artifact(tag) / "manifest.json").read_text())
        assert report["scorer"]["exact"] is True, report["scorer"]
        classes = options.get("classes") or [str(c) for c in model.classes_]
        background, weights = packaged_background(resolve_artifact(tag))
        assert list(background.columns) == list(x.columns)  # the model's own column order
        # a weighted summary (the weights matter), or every training row (the tree kind's default)
        assert len(set(np.round(weights, 12))) > 1 or len(background) == len(x), (len(background), len(x))
        t = truth(model, background, weights, rows, report["output_space"], classes)
        built[key] = (tag, model, rows, classes, t)
    assert built["named"][4].output_space == "probability" and built["loan"][4].output_space == "log_odds"

    procs: dict[str, tuple[str, subprocess.Popen[bytes]]] = {}
    tmp = tmp_path_factory.mktemp("truth")
    try:
        for key, (tag, *_) in built.items():
            port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("SHAPSERVE_")}  # defaults
            env.update(
                BENTOML_DO_NOT_TRACK="true",
                SHAPSERVE_MODEL=tag,
                SHAPSERVE_WORKERS="1",
                SHAPSERVE_JOBS_DIR=str(tmp / f"jobs-{key}"),
                SHAPSERVE_STORE_URL=f"sqlite:///{tmp / f'store-{key}.db'}",
                SHAPSERVE_STORE_RECORD_SAMPLE_RATE="1",
            )
            cmd = [sys.executable, "-m", "bentoml", "serve", "service.service:Shapserve"]
            cmd += ["--port", str(port), "--host", "127.0.0.1"]
            log = (tmp / f"server-{key}.log").open("wb")
            proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            procs[key] = (f"http://127.0.0.1:{port}", proc)
        with ThreadPoolExecutor(len(procs)) as pool:
            list(pool.map(lambda item: wait_ready(*item), procs.values()))
        yield {
            key: Served(tag, procs[key][0], model, rows, classes, t)
            for key, (tag, model, rows, classes, t) in built.items()
        }
    finally:
        for _, proc in procs.values():
            stop(proc)


def _check_predictions(s: Served, predictions: Any, probabilities: Any, classes: list[str]) -> None:
    """Predicted labels and probabilities equal the model's own, mapped by class name."""
    own = list(s.model.classes_)
    assert list(predictions) == [s.classes[own.index(label)] for label in s.model.predict(s.rows)]
    proba = s.model.predict_proba(s.rows)[:, [s.classes.index(c) for c in classes]]
    np.testing.assert_allclose(np.asarray(probabilities, dtype=float), proba, rtol=0, atol=TOL)


def _check_explain_answer(s: Served, body: dict[str, Any], top_k: int | None = None) -> None:
    """An /explain-shaped answer: values, names, predictions, and the ranked top k of the predicted class."""
    s.truth.check(
        body["features"],
        body["classes"],
        body["local_importance_values"],
        body["expected_values"],
        body["explained_outputs"],
        output_space=body["output_space"],
    )
    _check_predictions(s, body["predictions"], body["probabilities"], body["classes"])
    if top_k is None:
        assert "ranked" not in body
        return
    for i, (ranked, predicted) in enumerate(zip(body["ranked"], body["predictions"], strict=True)):
        truth_row = {f: s.truth.value(i, predicted, f) for f in s.truth.features}
        names = ranked["names"]
        assert len(names) == len(set(names)) == top_k and set(names) <= set(truth_row), ranked
        np.testing.assert_allclose(ranked["values"], [truth_row[f] for f in names], rtol=0, atol=TOL)
        sizes = [abs(truth_row[f]) for f in names]  # by decreasing |value| (ties within rounding aside)
        assert all(a >= b - TOL for a, b in zip(sizes, sizes[1:], strict=False)), ranked
        assert all(abs(v) <= sizes[-1] + TOL for f, v in truth_row.items() if f not in names), ranked


@pytest.mark.parametrize("key", MODELS)
def test_explain_and_kserve_v1_answer_the_truth(served: dict[str, Served], key: str) -> None:
    s = served[key]
    assert s.get("/metadata")["model"]["name"] == s.name
    _check_explain_answer(s, s.post("/explain", {"instances": s.records(), "top_k": 3}), top_k=3)
    _check_explain_answer(s, s.post(f"/v1/models/{s.name}:explain", {"instances": s.records()}))
    predicted = s.post(f"/v1/models/{s.name}:predict", {"instances": s.records()})
    _check_predictions(s, predicted["predictions"], predicted["probabilities"], predicted["classes"])
    assert predicted["classes"] == s.classes


def test_a_number_beyond_float32_is_a_400_naming_the_field_and_the_server_answers_after(
    served: dict[str, Served],
) -> None:
    """The forest reads float32 (packaging probed it: scorers.magnitude): a finite 1e300 was a 500."""
    s = served["named"]
    good = s.records()
    bad = {**good[0], "petal width (cm)": 1e300}
    matrix = {
        "name": "x",
        "shape": [2, 4],
        "datatype": "FP64",
        "data": [[5.1, 3.5, 1.4, 0.2], [5.1, 3.5, 1.4, -1e39]],
    }
    for path, body in (
        ("/predict", {"instances": [good[0], bad]}),
        ("/explain", {"instances": [good[0], bad]}),
        (f"/v2/models/{s.name}/infer", {"inputs": [matrix]}),
    ):
        r = httpx.post(s.url + path, json=body, timeout=60)
        assert r.status_code == 400, (path, r.text)
        answer = r.json()
        assert (answer["kind"], answer["field"], answer["row"]) == ("wrong_type", "petal width (cm)", 1), (
            answer
        )
        assert "magnitude <= 3.4028235e+38 (the model reads float32)" in answer["error"], (path, answer)
    _check_explain_answer(s, s.post("/explain", {"instances": good}))


@pytest.mark.parametrize("key", MODELS)
def test_score_answers_the_truth_in_azure_ml_layout(served: dict[str, Served], key: str) -> None:
    s = served[key]
    for body in (s.rows.to_json(), s.rows[list(reversed(s.rows.columns))].to_json(orient="split")):
        r = httpx.post(
            s.url + "/score", content=body, headers={"content-type": "application/json"}, timeout=60
        )
        assert r.status_code == 200, r.text
        out = r.json()
        values = np.asarray(out["local_importance_values"], dtype=float)  # [class][row][feature]
        assert values.shape == (len(out["classes"]), len(s.rows), len(out["features"]))
        s.truth.check(
            out["features"],
            out["classes"],
            values.transpose(1, 0, 2),
            out["expected_values"],
            out["explained_outputs"],
            output_space=out["output_space"],
        )
        _check_predictions(s, out["predictions"], out["probabilities"], out["classes"])


def _v2_columns(s: Served) -> list[dict[str, Any]]:
    """One tensor per column, in reverse order: FP64 for numbers, BYTES for text, null for missing."""
    out = []
    for c in reversed(s.rows.columns):
        numeric = pd.api.types.is_numeric_dtype(s.rows[c])
        data = [_json(v) for v in s.rows[c].tolist()]
        out.append(
            {"name": c, "datatype": "FP64" if numeric else "BYTES", "shape": [len(data)], "data": data}
        )
    return out


@pytest.mark.parametrize("key", MODELS)
def test_oip_v2_infer_answers_the_truth(served: dict[str, Served], key: str) -> None:
    s = served[key]
    requests = [{"inputs": _v2_columns(s), "parameters": {"explain": True}}]
    if key == "named":  # all numbers: also one [N, M] tensor in the served feature order
        matrix = {
            "name": "x",
            "shape": list(s.rows.shape),
            "datatype": "FP64",
            "data": s.rows.to_numpy().tolist(),
        }
        requests.append({"inputs": [matrix], "parameters": {"explain": True}})
    for request in requests:
        body = s.post(f"/v2/models/{s.name}/infer", request)
        out = {o["name"]: np.asarray(o["data"]).reshape(o["shape"]) for o in body["outputs"]}
        classes, features = out["classes"].tolist(), out["features"].tolist()
        n, k, m = len(s.rows), len(classes), len(features)
        assert out["local_importance_values"].shape == (n, k, m)
        assert out["expected_values"].shape == (k,) and out["explained_outputs"].shape == (n, k)
        s.truth.check(
            features,
            classes,
            out["local_importance_values"],
            out["expected_values"],
            out["explained_outputs"],
        )
        _check_predictions(s, out["predictions"].tolist(), out["probabilities"], classes)


@pytest.mark.parametrize("key", MODELS)
def test_an_explain_job_answers_the_truth(served: dict[str, Served], key: str) -> None:
    s = served[key]
    r = httpx.post(s.url + "/explain_jobs", json={"instances": s.records()}, timeout=60)
    assert r.status_code == 202, r.text
    job = r.json()["id"]
    deadline = time.monotonic() + WAIT
    status = s.get(f"/explain_jobs/{job}")
    while status["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        status = s.get(f"/explain_jobs/{job}")
    assert status["status"] == "done", status
    _check_explain_answer(s, status["result"])
    page = s.get(f"/explain_jobs/{job}?offset=2&limit=3")["result"]
    s.truth.check(
        page["features"],
        page["classes"],
        page["local_importance_values"],
        page["expected_values"],
        page["explained_outputs"],
        rows=[2, 3, 4],
    )
    # the job's global explanation: mean |SHAP| of the truth over its rows, per class and feature name
    glob = status["global_explanation"]
    assert glob["classes"] == s.classes and list(glob["per_class"]) == s.classes
    mean = np.abs(s.truth.phi).mean(axis=0)
    for c, per_feature in glob["per_class"].items():
        assert list(per_feature) == s.truth.features
        for f, v in per_feature.items():
            assert abs(v - mean[s.classes.index(c), s.truth.features.index(f)]) < TOL, (c, f)


@pytest.mark.parametrize("key", MODELS)
def test_the_store_reads_back_the_truth(served: dict[str, Served], key: str) -> None:
    s = served[key]
    answer = s.post("/explain", {"instances": s.records()})
    # one worker: its writer thread writes the queued answers in order, this one last
    eventually(lambda: recording_settled(httpx.get(s.url + "/metrics").text))
    recorded = s.get("/explanations?source=recorded&limit=1")
    assert len(recorded) == 1 and recorded[0]["source"] == "recorded"
    assert recorded[0]["features"] == s.truth.features and recorded[0]["classes"] == s.classes
    uploaded = s.post("/explanations", {"explanation": answer, "comment": "truth"})["id"]
    for explanation_id in (recorded[0]["id"], uploaded):
        back = s.get(f"/explanations/{explanation_id}")["explanation"]
        back.pop("ranked", None)  # none was asked for; a stored answer may carry its full ranking
        _check_explain_answer(s, back)
    # a download trimmed to the top 2 features keeps those features' columns: still the truth by name
    trimmed = s.get(f"/explanations/{uploaded}?top_k=2")["explanation"]
    kept = trimmed["features"]
    assert 2 <= len(kept) < len(s.truth.features)
    assert kept == [f for f in s.truth.features if f in kept]  # feature order kept
    assert trimmed["classes"] == s.classes
    values = np.asarray(trimmed["local_importance_values"], dtype=float)
    assert values.shape == (len(s.rows), len(s.classes), len(kept))
    for i in range(len(s.rows)):
        for k, c in enumerate(trimmed["classes"]):
            for j, f in enumerate(kept):
                assert abs(values[i, k, j] - s.truth.value(i, c, f)) < TOL, (i, c, f)


@pytest.mark.parametrize("key", MODELS)
def test_explain_batch_writes_the_truth(served: dict[str, Served], key: str, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    s = served[key]
    s.rows.to_parquet(tmp_path / "in.parquet")
    out_dir = tmp_path / "out"
    cmd = [str(BIN / "shapserve"), "explain-batch", s.tag, "--input", str(tmp_path / "in.parquet")]
    cmd += ["--output", str(out_dir), "--engine", "local", "--workers", "1", "--no-progress"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = pd.read_parquet(out_dir)
    assert len(out) == len(s.rows)
    parts = sorted(out_dir.glob("part-*.parquet"))
    meta = json.loads(pq.read_schema(parts[0]).metadata[b"shapserve.batch"])
    features, classes = meta["features"], meta["classes"]
    assert meta["shap_columns"] == [f"shap__{c}__{f}" for c in classes for f in features]
    values = [[[out[f"shap__{c}__{f}"].iloc[i] for f in features] for c in classes] for i in range(len(out))]
    expected = [out[f"expected_value_{c}"].iloc[0] for c in classes]
    explained = out[[f"explained_output_{c}" for c in classes]].to_numpy()
    s.truth.check(features, classes, values, expected, explained, output_space=meta["output_space"])
    probabilities = out[[f"probability_{c}" for c in classes]].to_numpy()
    _check_predictions(s, out["prediction"].tolist(), probabilities, classes)


def _csv(s: Served) -> str:
    """The rows as SageMaker sends CSV: no header, feature order, empty cells for missing values."""
    lines = []
    for row in s.records():
        row = {f: row[f] for f in s.truth.features}
        cells = [
            "" if v is None else (repr(float(v)) if isinstance(v, float) else str(v)) for v in row.values()
        ]
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("key", MODELS)
def test_sagemaker_invocations_answer_the_truth(served: dict[str, Served], key: str) -> None:
    """JSON and CSV bodies; the /explain answer, and SageMaker Clarify's shape (values by header)."""
    s = served[key]
    for ctype, body in (("application/json", json.dumps({"instances": s.records()})), ("text/csv", _csv(s))):
        r = httpx.post(s.url + "/invocations", content=body, headers={"content-type": ctype}, timeout=60)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json"), r.text
        _check_explain_answer(s, r.json())
        headers = {
            "content-type": ctype,
            "accept": "text/csv",
            "x-amzn-sagemaker-enable-explanations": "`true`",
        }
        r = httpx.post(s.url + "/invocations", content=body, headers=headers, timeout=60)
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["version"] == "1.0" and out["predictions"]["content_type"] == "text/csv; charset=utf-8"
        lines = [ln.split(",") for ln in out["predictions"]["data"].splitlines()]
        _check_predictions(
            s, [ln[0] for ln in lines], [[float(p) for p in ln[1:]] for ln in lines], s.classes
        )
        records = out["explanations"]["kernel_shap"]
        assert len(records) == len(s.rows)
        for i, record in enumerate(records):
            assert [f["feature_header"] for f in record] == s.truth.features
            for f in record:
                assert [a["label_header"] for a in f["attributions"]] == s.classes
                for a in f["attributions"]:
                    (value,) = a["attribution"]
                    assert abs(value - s.truth.value(i, a["label_header"], f["feature_header"])) <= TOL


@pytest.mark.parametrize("key", MODELS)
def test_vertex_predict_and_explain_answer_the_truth(served: dict[str, Served], key: str) -> None:
    """Vertex's default routes: predictions, and ExplainResponse attributions by output and feature."""
    s = served[key]
    base = s.url + "/v1/endpoints/1234/deployedModels/5678"
    assert httpx.get(base, timeout=30).status_code == 200
    predicted = s.post(
        "/v1/endpoints/1234/deployedModels/5678:predict", {"instances": s.records(), "parameters": {}}
    )
    _check_predictions(s, predicted["predictions"], predicted["probabilities"], predicted["classes"])
    out = s.post("/v1/endpoints/1234/deployedModels/5678:explain", {"instances": s.records()})
    assert len(out["explanations"]) == len(s.rows) and list(out["predictions"]) == list(
        predicted["predictions"]
    )
    k = len(s.classes)
    for i, explanation in enumerate(out["explanations"]):
        attributions = explanation["attributions"]
        assert [a["outputIndex"] for a in attributions] == [[j] for j in range(k)]
        assert [a["outputDisplayName"] for a in attributions] == s.classes
        values = [[a["featureAttributions"][f] for f in s.truth.features] for a in attributions]
        s.truth.check(
            s.truth.features,
            s.classes,
            [values],
            [a["baselineOutputValue"] for a in attributions],
            [[a["instanceOutputValue"] for a in attributions]],
            output_space=attributions[0]["outputName"],
            rows=[i],
        )
        errors = {a["approximationError"] for a in attributions}
        assert len(errors) == 1 and math.isfinite(errors.pop())
