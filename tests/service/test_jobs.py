"""Explain jobs in-process, through the real service class: submit, progress, a result equal to /explain
on the same rows, paging, refusals, cancellation (running and queued), the queue bound, expiry,
eviction, and a job whose worker has gone.  The jobs run in real job processes."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from svc_helpers import assert_pages_are

WAIT = 120.0  # seconds a test waits for a job's state before failing (a bound, not a measurement)


@pytest.fixture(scope="module")
def jobs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jobs")


@pytest.fixture()
def jobs_client(client_for: Any, jobs_dir: Path) -> Callable[..., Any]:
    """jobs_client(model, **env): an in-process client whose jobs directory is this module's."""

    def open_client(name: str, **env: str) -> Any:
        # the row limit pinned: other modules' clients leave SHAPSERVE_MAX_ROWS in the environment
        return client_for(name, **{"SHAPSERVE_JOBS_DIR": str(jobs_dir), "SHAPSERVE_MAX_ROWS": "500", **env})

    return open_client


def rows_of(name: str, n: int, start: int = 0) -> list[Any]:
    """Rows a model takes: the loan table's (numbers, categories, missing values) or numeric arrays."""
    if name == "loan":
        from scorers.examples import loan_data

        x, _ = loan_data()
        records = x.iloc[start : start + n].to_dict("records")
        return [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in records
        ]
    if name == "reg":
        from sklearn.datasets import load_diabetes

        data = load_diabetes().data
        return [data[(start + i) % len(data)].tolist() for i in range(n)]
    from scorers.examples import breast_cancer_svc

    _, x_train, *_ = breast_cancer_svc()
    values = x_train.to_numpy()
    return [values[(start + i) % len(values)].tolist() for i in range(n)]


def submit(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/explain_jobs", json=body)
    assert r.status_code == 202, r.text
    status = r.json()
    assert r.headers["location"] == f"/explain_jobs/{status['id']}"
    return dict(status)


def wait_for(
    client: Any, job_id: str, done: Callable[[dict[str, Any]], bool], query: str = ""
) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        r = client.get(f"/explain_jobs/{job_id}{query}")
        assert r.status_code == 200, r.text
        status = r.json()
        if done(status):
            return dict(status)
        time.sleep(0.1)
    pytest.fail(f"job {job_id} did not get there in {WAIT:g} s: {status}")


def finished(status: dict[str, Any]) -> bool:
    return status["status"] not in ("queued", "running")


def gone(client: Any, job_id: str) -> None:
    r = client.get(f"/explain_jobs/{job_id}")
    assert r.status_code == 404, r.text
    body = r.json()
    assert body["kind"] == "not_found" and body["error"].startswith(f"no job '{job_id}' here")
    assert "a job whose worker restarts before it finishes is lost" in body["error"]


@pytest.mark.parametrize(
    ("name", "n", "error_estimate"), [("loan", 150, False), ("svc", 40, True), ("reg", 90, True)]
)
def test_a_job_result_equals_explain_on_the_same_rows(
    jobs_client: Any, name: str, n: int, error_estimate: bool
) -> None:
    """With ``error_estimate``, each row's error estimate too (the SVC's sampled, the trees' stated)."""
    client = jobs_client(name)
    rows = rows_of(name, n)
    top_k = 3
    asked = {"error_estimate": True} if error_estimate else {}
    queued = submit(client, {"instances": rows, "top_k": top_k, **asked})
    assert queued["status"] in ("queued", "running") and queued["rows"] == n, queued
    assert queued["result"] is None and queued["page"] is None and queued["error"] is None
    seen: list[int] = []

    def record(status: dict[str, Any]) -> bool:
        seen.append(status["rows_done"])
        return finished(status)

    status = wait_for(client, queued["id"], record)
    assert status["status"] == "done", status
    assert seen == sorted(seen) and seen[-1] == n and status["progress"] == 1.0
    assert status["submitted_at"] <= status["started_at"] <= status["finished_at"] < status["expires_at"]
    assert status["running_seconds"] > 0 and status["rows_per_second"] > 0
    # the whole result, a page at a time, equals one /explain of the same rows
    pages: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = client.get(f"/explain_jobs/{queued['id']}?offset={offset}&limit=64").json()
        assert page["page"]["offset"] == offset and page["page"]["rows"] == min(64, n - offset)
        pages.append(page["result"])
        offset = page["page"]["next_offset"]
    assert len(pages) == math.ceil(n / 64)
    answer = client.post("/explain", json={"instances": rows, "top_k": top_k, **asked})
    assert answer.status_code == 200, answer.text
    reference = answer.json()
    assert_pages_are(reference, pages)
    assert ("error_estimate" in reference) is error_estimate
    if error_estimate:
        sigma = np.asarray(reference["error_estimate"]["rows"])
        assert sigma.shape == (n,) and np.all(np.isfinite(sigma)) and np.all(sigma >= 0)
    # the job's global explanation: mean |SHAP| over all its rows
    glob = status["global_explanation"]
    assert glob["kind"] == "shap" and glob["n_rows"] == n
    values = np.abs(np.asarray(reference["local_importance_values"], dtype=float))
    mean = values.mean(axis=0) if values.ndim == 3 else values.mean(axis=0)[None, :]
    per_class = [[glob["per_class"][c][f] for f in reference["features"]] for c in glob["per_class"]]
    np.testing.assert_allclose(per_class, mean, rtol=1e-12, atol=0)


def test_a_job_body_is_refused_like_explain(jobs_client: Any) -> None:
    client = jobs_client("loan", SHAPSERVE_MAX_JOB_ROWS="50", SHAPSERVE_MAX_JOB_BODY_BYTES="40000")
    rows = rows_of("loan", 10)
    bad = [*rows[:3], {**rows[3], "age": "forty"}]
    cases = [
        ({"instances": bad}, 400, "wrong_type", "row 3, field 'age': expected a number, got str 'forty'"),
        ({"instances": rows_of("loan", 51)}, 400, "invalid_input", "51 rows exceed the limit of 50 per job"),
        ({"instances": rows, "top_k": 99}, 400, "invalid_input", "expected an integer between 1 and 7"),
        ({"instance": rows}, 400, "invalid_input", "unknown key 'instance'"),
        ({"instances": []}, 400, "invalid_input", "expected at least one row"),
        ({"instances": rows, "error_estimate": "yes"}, 400, "invalid_input", "expected true or false"),
        ({"instances": rows, "max_error": 0.1}, 400, "invalid_input", "a per-request time budget"),
    ]
    for body, status, kind, message in cases:
        r = client.post("/explain_jobs", json=body)
        assert r.status_code == status and r.json()["kind"] == kind, r.text
        assert message in r.json()["error"]
        if "error_estimate" in body or "max_error" in body:
            assert r.json()["field"] == next(k for k in ("error_estimate", "max_error") if k in body)
    r = client.post("/explain_jobs", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["kind"] == "invalid_json"
    r = client.post("/explain_jobs", json={"instances": rows_of("loan", 400)})  # ~60 kB > 40 kB
    assert r.status_code == 413 and r.json()["kind"] == "body_too_large"
    # ids that are not jobs of this server, and pages that do not exist
    gone(client, "0" * 32)
    gone(client, "not-a-job-id")
    job = wait_for(client, submit(client, {"instances": rows})["id"], finished)
    for query, field in (
        ("?limit=0", "limit"),
        ("?limit=10001", "limit"),
        ("?offset=-1", "offset"),
        ("?offset=10", "offset"),
        ("?offset=%201", "offset"),  # a query string's integer is ASCII digits alone (scorers.top_k)
        ("?limit=%2B5", "limit"),
    ):
        r = client.get(f"/explain_jobs/{job['id']}{query}")
        assert r.status_code == 400 and r.json()["field"] == field, (query, r.text)


def test_cancelling_stops_a_running_job_and_forgets_queued_ones(jobs_client: Any) -> None:
    """With one job at a time, a long job runs while the next waits; DELETE cancels each and forgets it."""
    client = jobs_client("svc", SHAPSERVE_MAX_QUEUED_JOBS="2")
    long_job = submit(client, {"instances": rows_of("svc", 40_000)})  # minutes of work in a job process
    waiting = submit(client, {"instances": rows_of("svc", 8)})
    assert waiting["status"] == "queued"
    # progress: rows done grow while the job runs
    first = wait_for(client, long_job["id"], lambda s: s["rows_done"] > 0)
    later = wait_for(client, long_job["id"], lambda s: s["rows_done"] > first["rows_done"])
    assert later["status"] == "running" and 0 < later["progress"] < 1
    # the queue is bounded: a third job is shed while one runs and two wait
    third = submit(client, {"instances": rows_of("svc", 4)})
    r = client.post("/explain_jobs", json={"instances": rows_of("svc", 4)})
    assert r.status_code == 429 and r.json()["kind"] == "overloaded" and r.headers["retry-after"] == "1"
    assert "2 jobs are already queued in this worker" in r.json()["error"]
    # cancel the queued job, then the running one: each answers its last status, then is forgotten
    r = client.delete(f"/explain_jobs/{waiting['id']}")
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["rows_done"] == 0
    gone(client, waiting["id"])
    r = client.delete(f"/explain_jobs/{long_job['id']}")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert 0 < r.json()["rows_done"] < 40_000
    gone(client, long_job["id"])
    assert client.delete(f"/explain_jobs/{long_job['id']}").status_code == 404
    # the job process moved on to the next job instead of finishing the cancelled one
    assert wait_for(client, third["id"], finished)["status"] == "done"


def test_finished_jobs_expire_and_the_oldest_are_evicted(jobs_client: Any) -> None:
    client = jobs_client("loan", SHAPSERVE_JOB_TTL="3", SHAPSERVE_JOB_STORED_ROWS="50")
    ids = []
    for start in (0, 30):  # 30 rows each: together over the 50 stored rows
        job = submit(client, {"instances": rows_of("loan", 30, start)})
        assert wait_for(client, job["id"], finished)["status"] == "done"
        ids.append(job["id"])
    gone(client, ids[0])  # the oldest done job was evicted when the second one finished
    newest = client.get(f"/explain_jobs/{ids[1]}").json()
    assert newest["status"] == "done" and newest["page"]["rows"] == 30
    expires = newest["expires_at"]
    while client.get(f"/explain_jobs/{ids[1]}").status_code == 200:
        assert time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 5)) < expires, "kept past its TTL"
        time.sleep(0.2)
    gone(client, ids[1])


def test_a_job_whose_worker_has_gone_is_reported_lost(
    jobs_client: Any, packaged: dict[str, str], jobs_dir: Path
) -> None:
    """A job left running by a worker that ended (its status file names the worker's process)."""
    client = jobs_client("loan")
    done = wait_for(client, submit(client, {"instances": rows_of("loan", 4)})["id"], finished)
    name, version = packaged["loan"].split(":")
    folder = jobs_dir / name / version
    status = json.loads((folder / done["id"] / "job.json").read_text())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = "f" * 32
    (folder / orphan).mkdir()
    owner = {**status["owner"], "pid": dead.pid}
    running = {
        **status,
        "id": orphan,
        "status": "running",
        "finished_at": None,
        "global": None,
        "owner": owner,
    }
    (folder / orphan / "job.json").write_text(json.dumps(running))
    r = client.get(f"/explain_jobs/{orphan}")
    assert r.status_code == 200, r.text
    lost = r.json()
    assert lost["status"] == "failed" and lost["error"]["kind"] == "job_lost"
    assert lost["error"]["error"] == (
        f"the job was lost: the worker that accepted it (pid {dead.pid}) ended before the job did (a restart, "
        "a crash or a shutdown), and a job does not outlive its worker; submit it again"
    )
    assert client.delete(f"/explain_jobs/{orphan}").json()["status"] == "failed"
    gone(client, orphan)


def test_jobs_say_they_do_not_outlive_their_worker_and_are_refused_where_a_shared_database_is_required(
    jobs_client: Any,
) -> None:
    meta = jobs_client("svc").get("/metadata").json()["jobs"]
    assert meta["backend"] == "directory" and meta["outlive_worker"] is False and meta["accepting"] is True
    assert "do not outlive" in meta["note"]
    client = jobs_client("svc", SHAPSERVE_JOBS_REQUIRE_SHARED="true")
    assert client.get("/metadata").json()["jobs"]["accepting"] is False
    r = client.post("/explain_jobs", json={"instances": rows_of("svc", 2)})
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["kind"] == "jobs_unavailable" and "SHAPSERVE_JOBS_URL" in body["error"], body
