"""A real server's ``/explain`` and ``/predict`` answers equal the answers built the old way in this test,
to the last bit of every float: the rows validated as a DataFrame (not the JSON rows' plain-number path,
``scorers.plain_rows``), the explanation of the same engine, the labels and probabilities from the model's
own ``predict`` and ``predict_proba`` (not the verified decision path), and the answer's keys written out
by hand.  So the request path's cuts (docs/performance.md, "the request path, round 11b") change no answer.

The model: the seed's SVC (the kernel_machine scorer, margin space, its decision path verified at load),
served by one ``shapserve serve`` process of one worker; rows sent as arrays and as objects, one at a time
(the inline path) and five at once, with and without ``top_k``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from svc_helpers import additivity_error, free_port, stop, wait_ready

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(packaged: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """(url, the packaged explainer loaded here) of the seed's SVC, served by one real worker."""
    import bentoml

    import scorers
    from cli.bento import ARTIFACT_DIR

    tag = packaged["svc"]
    explainer = scorers.load(Path(bentoml.models.get(tag).path) / ARTIFACT_DIR, trust_pickle=True)
    assert explainer.decision_path is not None  # the path these answers are read from when served
    url = f"http://127.0.0.1:{free_port()}"
    log = tmp_path_factory.mktemp("served-answers") / "server.log"
    env = {**os.environ, "BENTOML_DO_NOT_TRACK": "true", "SHAPSERVE_WORKERS": "1"}
    proc = subprocess.Popen(
        [str(BIN / "shapserve"), "serve", tag, "--port", url.rsplit(":", 1)[1]],
        env=env,
        cwd=ROOT,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_ready(url, proc)
        yield url, explainer
    finally:
        stop(proc)


def _rows(explainer: Any) -> pd.DataFrame:
    from scorers.examples import breast_cancer_svc

    _, _, x_test, *_ = breast_cancer_svc()
    return pd.DataFrame(x_test.to_numpy()[:6], columns=explainer.features)


def _old_way(explainer: Any, rows: pd.DataFrame, top_k: int | None) -> dict[str, Any]:
    """The answer of ``rows`` as main built it before the cuts, each part from the model's own calls."""
    frame = explainer.validate(rows)  # the DataFrame path of the schema
    exp = explainer.explain_frame(frame)
    # the runtime's own predict and predict_proba, as main answered a model without a decision path
    labels = [v.item() if isinstance(v, np.generic) else v for v in explainer.predict_frame(frame)]
    proba = np.asarray(explainer.predict_proba_frame(frame), dtype=np.float64)
    classes = [c.item() if isinstance(c, np.generic) else c for c in explainer.classes]
    out: dict[str, Any] = {
        "predictions": labels,
        "probabilities": proba.tolist(),
        "classes": classes,
        "features": list(explainer.features),
        "output_space": explainer.output_space,
        "expected_values": np.asarray(explainer.expected_values, dtype=np.float64).tolist(),
        "explained_outputs": exp.outputs.tolist(),
        "local_importance_values": exp.values.tolist(),
    }
    if top_k is not None:
        ranked = []
        for i, label in enumerate(labels):
            v = exp.values[i, classes.index(label)]
            order = np.argsort(-np.abs(v), kind="stable")[:top_k]
            ranked.append({"names": [explainer.features[j] for j in order], "values": v[order].tolist()})
        out["ranked"] = ranked
    return out


def _post(url: str, route: str, body: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(url + route, json=body, timeout=60)
    assert r.status_code == 200, r.text[:500]
    answer: dict[str, Any] = r.json()
    return answer


def test_served_answers_equal_the_old_way_bit_for_bit(served: tuple[str, Any]) -> None:
    url, explainer = served
    rows = _rows(explainer)
    arrays = rows.to_numpy().tolist()
    objects = [dict(reversed(list(zip(explainer.features, r, strict=True)))) for r in arrays]
    for i in range(len(rows)):
        for instances in ([arrays[i]], [objects[i]]):
            for top_k in (None, 3):
                body = {"instances": instances} if top_k is None else {"instances": instances, "top_k": top_k}
                answer = _post(url, "/explain", body)
                assert answer == _old_way(explainer, rows.iloc[i : i + 1], top_k)
                assert additivity_error(answer) < 1e-6
    together = _post(url, "/explain", {"instances": arrays[:5], "top_k": 2})
    assert together == _old_way(explainer, rows.iloc[:5], 2)
    want = _old_way(explainer, rows, None)
    predicted = _post(url, "/predict", {"instances": objects})
    assert predicted == {k: want[k] for k in ("predictions", "probabilities", "classes")}


def test_bad_rows_answer_the_same_400_as_before(served: tuple[str, Any]) -> None:
    url, explainer = served
    good = _rows(explainer).to_numpy()[0].tolist()
    name = explainer.features[1]
    cases = [
        ([*good[:1], True, *good[2:]], "expected a number, got bool True"),
        ([*good[:1], "1.5", *good[2:]], "expected a number, got str '1.5'"),
        ([*good[:1], None, *good[2:]], "missing value, but the model cannot impute this feature"),
        (good[:-1], f"expected {len(good)} values in feature order"),
    ]
    for row, message in cases:
        r = httpx.post(url + "/explain", json={"instances": [good, row]}, timeout=60)
        assert r.status_code == 400, r.text[:500]
        body = r.json()
        assert message in body["error"], body
        assert body["row"] == 1, body
        if len(row) == len(good):
            assert body["field"] == name, body
