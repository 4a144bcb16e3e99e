"""Locust scenarios for shapserve, with payloads generated from the packaged artifact's own rows.

User classes (pick one on the locust command line; ``loadtests/run_load.py --scenario`` does it):

    Explain1User       POST /explain, 1 row, top_k=5 on half of the requests
    ExplainBatchUser   POST /explain, LOAD_BATCH rows (default 10)
    PredictUser        POST /predict, LOAD_PREDICT_BATCH rows (default 1)
    MixUser            6 x 1-row explain, 3 x predict, 1 x batch explain

Payloads: the rows stored in the packaged artifact (``background.json``, the explainer's background, and
``sample.json``, held-out training rows), in the raw schema (objects keyed by feature name).  Each request
draws rows at random and perturbs the numbers by a relative Gaussian jitter (LOAD_JITTER, default 0.05),
clipped to the range seen in the stored rows; categories are kept (1 in 20 is swapped for another
category seen in the rows) and nulls stay null.  The artifact is found from the server's own
``GET /metadata`` (model name and version) in the local BentoML store (BENTOML_HOME, default
``.bentoml`` of this checkout), or LOAD_ROWS names a JSON file holding a list of row objects.

Pacing (environment, read at start):
    LOAD_RATE      offered requests per second over all users; 0 (default): closed loop, no wait
    LOAD_USERS     the user count (-u) the rate is divided by
    LOAD_ARRIVALS  poisson (default): each user fires on its own Poisson schedule at LOAD_RATE/LOAD_USERS,
                   independent of response times (a late user catches up), so the sum is a Poisson
                   stream at LOAD_RATE; constant: locust's constant_throughput(LOAD_RATE/LOAD_USERS)
    LOAD_STAGES    "SECONDS:RPS,SECONDS:RPS,...": a load shape with Poisson arrivals; each stage runs
                   ceil(RPS/LOAD_USER_RPS) users (LOAD_USER_RPS default 0.5), each at RPS/users requests
                   per second; -u is then ignored
    LOAD_REQUEST_LOG  CSV written at the end: one line per request (start offset, name, status, ms,
                   stage, Retry-After header, error), read by load_summary.py
    LOAD_TIMEOUT   client timeout per request in seconds (default 60)
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import gevent
from locust import HttpUser, LoadTestShape, constant, constant_throughput, events, task

ROOT = Path(__file__).resolve().parents[1]

RATE = float(os.environ.get("LOAD_RATE", "0") or 0)
USERS = max(1, int(os.environ.get("LOAD_USERS", "1") or 1))
ARRIVALS = os.environ.get("LOAD_ARRIVALS", "poisson")
STAGES = os.environ.get("LOAD_STAGES", "").strip()
USER_RPS = float(os.environ.get("LOAD_USER_RPS", "0.5") or 0.5)
BATCH = int(os.environ.get("LOAD_BATCH", "10"))
PREDICT_BATCH = int(os.environ.get("LOAD_PREDICT_BATCH", "1"))
JITTER = float(os.environ.get("LOAD_JITTER", "0.05"))
TIMEOUT = float(os.environ.get("LOAD_TIMEOUT", "60"))
REQUEST_LOG = os.environ.get("LOAD_REQUEST_LOG", "")
SEED = os.environ.get("LOAD_SEED")
MAX_LAG = 2.0  # seconds a Poisson-paced user may fall behind its schedule and still catch up


# --------------------------------------------------------------------------------------------------
# payloads
# --------------------------------------------------------------------------------------------------
class RowPool:
    """Rows in the raw schema, drawn from the artifact's stored rows and perturbed."""

    def __init__(self, rows: list[dict[str, Any]], features: list[dict[str, Any]], source: str) -> None:
        if not rows:
            raise RuntimeError(f"no rows found in {source}")
        self.rows = rows
        self.source = source
        self.names = [f["name"] for f in features] if features else list(rows[0])
        self.ranges: dict[str, tuple[float, float]] = {}
        self.categories: dict[str, list[str]] = {}
        for name in self.names:
            values = [r.get(name) for r in rows]
            nums = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
            strs = sorted({v for v in values if isinstance(v, str)})
            if nums:
                self.ranges[name] = (min(nums), max(nums))
            if strs:
                self.categories[name] = strs
        self.rng = random.Random(int(SEED)) if SEED else random.Random()

    def row(self) -> dict[str, Any]:
        base = self.rng.choice(self.rows)
        out: dict[str, Any] = {}
        for name in self.names:
            v = base.get(name)
            if isinstance(v, bool) or v is None:
                out[name] = v
            elif isinstance(v, int | float):
                lo, hi = self.ranges[name]
                x = float(v) * (1.0 + self.rng.gauss(0.0, JITTER)) if JITTER > 0 else float(v)
                out[name] = round(min(hi, max(lo, x)), 6)
            elif isinstance(v, str) and name in self.categories and self.rng.random() < 0.05:
                out[name] = self.rng.choice(self.categories[name])
            else:
                out[name] = v
        return out

    def rows_for(self, n: int) -> list[dict[str, Any]]:
        return [self.row() for _ in range(n)]


def _read_rows(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text())
    if isinstance(data, dict):  # tolerate {"rows": [...]} or {"instances": [...]}
        data = data.get("rows") or data.get("instances") or []
    return [r for r in data if isinstance(r, dict)]


def _artifact_dir(name: str, version: str) -> Path:
    home = Path(os.environ.get("BENTOML_HOME") or ROOT / ".bentoml")
    direct = home / "models" / name / version / "artifact"
    if direct.is_dir():
        return direct
    bentoml = Path(os.environ.get("LOAD_BENTOML") or ROOT / ".venv" / "bin" / "bentoml")
    out = subprocess.run(
        [str(bentoml), "models", "get", f"{name}:{version}", "-o", "path"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "BENTOML_HOME": str(home), "BENTOML_DO_NOT_TRACK": "true"},
    )
    if out.returncode != 0:
        raise RuntimeError(f"model {name}:{version} not in the BentoML store {home}: {out.stderr[-500:]}")
    return Path(out.stdout.strip().splitlines()[-1]) / "artifact"


def load_pool(host: str) -> RowPool:
    with urlopen(host.rstrip("/") + "/metadata", timeout=30) as resp:  # noqa: S310 - loopback target
        meta = json.load(resp)
    features = meta.get("features") or []
    if os.environ.get("LOAD_ROWS"):
        path = Path(os.environ["LOAD_ROWS"])
        return RowPool(_read_rows(path), features, str(path))
    art = _artifact_dir(meta["model"]["name"], meta["model"]["version"])
    rows: list[dict[str, Any]] = []
    for fname in ("background.json", "sample.json"):
        if (art / fname).is_file():
            rows += _read_rows(art / fname)
    return RowPool(rows, features, str(art))


POOL: RowPool | None = None


def pool(host: str) -> RowPool:
    global POOL
    if POOL is None:
        POOL = load_pool(host)
    return POOL


# --------------------------------------------------------------------------------------------------
# per-request log (exact percentiles, status counts, time windows, Retry-After)
# --------------------------------------------------------------------------------------------------
STAGE = [0]
GENERATOR = {"scheduled": 0, "dropped": 0}  # Poisson arrivals scheduled, and dropped by lagging users
LATENESS: list[float] = []  # seconds each Poisson-scheduled request left after its scheduled time
STAGE_USER_RATE = [USER_RPS]  # with LOAD_STAGES: the stage's rate divided by its user count
T0 = [0.0]
STOPPING = [0.0]
RECORDS: list[tuple[float, str, int, float, int, str, str]] = []


@events.test_start.add_listener
def _on_start(environment: Any, **_: Any) -> None:
    T0[0] = time.time()
    RECORDS.clear()
    STOPPING[0] = 0.0
    LATENESS.clear()
    GENERATOR.update(scheduled=0, dropped=0)
    pool(environment.host)


@events.request.add_listener
def _on_request(
    name: str,
    response_time: float,
    response: Any = None,
    exception: BaseException | None = None,
    start_time: float | None = None,
    **_: Any,
) -> None:
    status = int(getattr(response, "status_code", 0) or 0)
    headers = getattr(response, "headers", None) or {}
    retry_after = headers.get("Retry-After", "") if status in (429, 503) else ""
    err = "" if exception is None else str(exception).replace("\n", " ")[:120]
    start = (start_time or time.time()) - T0[0]
    RECORDS.append((round(start, 4), name, status, round(response_time, 3), STAGE[0], retry_after, err))


@events.test_stopping.add_listener
def _on_stopping(**_: Any) -> None:
    STOPPING[0] = time.time() - T0[0]  # the load ends here; the rest is users finishing


@events.test_stop.add_listener
def _on_stop(**_: Any) -> None:
    if not REQUEST_LOG:
        return
    path = Path(REQUEST_LOG)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["t", "name", "status", "ms", "stage", "retry_after", "error"])
        w.writerows(RECORDS)
    late = sorted(LATENESS)

    def q(p: float) -> float | None:
        return round(1000 * late[max(0, math.ceil(p * len(late)) - 1)], 1) if late else None

    meta = {
        "t0": T0[0],
        "elapsed_s": STOPPING[0] or time.time() - T0[0],
        "generator": {**GENERATOR, "lateness_ms": {"p50": q(0.5), "p99": q(0.99), "max": q(1.0)}},
    }
    path.with_suffix(".meta.json").write_text(json.dumps(meta))


# --------------------------------------------------------------------------------------------------
# pacing
# --------------------------------------------------------------------------------------------------
def _per_user_rate() -> float:
    if STAGES:
        return STAGE_USER_RATE[0]
    return RATE / USERS if RATE > 0 else 0.0


def _poisson() -> Any:
    def wait(user: Any) -> float:
        rate = _per_user_rate()
        now = time.monotonic()
        nxt = getattr(user, "_next_arrival", None)
        if nxt is None:
            nxt = now
        elif nxt < now - MAX_LAG:
            GENERATOR["dropped"] += 1  # a user more than MAX_LAG behind drops its missed arrivals
            nxt = now
        nxt += random.expovariate(rate)
        user._next_arrival = nxt
        GENERATOR["scheduled"] += 1
        LATENESS.append(max(0.0, now - nxt))  # > 0: this request leaves after its scheduled time
        return max(0.0, nxt - now)

    return wait


def _wait_time() -> Any:
    if not STAGES and RATE <= 0:
        return constant(0)
    if ARRIVALS == "constant" and not STAGES:
        return constant_throughput(RATE / USERS)
    return _poisson()


# --------------------------------------------------------------------------------------------------
# users
# --------------------------------------------------------------------------------------------------
class _ShapserveUser(HttpUser):
    abstract = True
    wait_time = _wait_time()

    def on_start(self) -> None:
        rate = _per_user_rate()
        if rate > 0:  # the first arrival too is exponential: the users' sum is Poisson from the start
            gevent.sleep(
                random.expovariate(rate) if ARRIVALS == "poisson" or STAGES else random.uniform(0, 1 / rate)
            )
            self._next_arrival = time.monotonic()

    def _post(self, path: str, n: int, top_k: int | None = None) -> None:
        rows = pool(self.host or "").rows_for(n)
        body: dict[str, Any] = {"instances": rows}
        if top_k is not None:
            body["top_k"] = top_k
        name = f"{path} [{n} row{'s' if n > 1 else ''}]"
        with self.client.post(path, json=body, name=name, catch_response=True, timeout=TIMEOUT) as resp:
            if resp.status_code == 0:  # no answer: connection refused, reset, timed out
                resp.failure(f"connection error: {resp.error!r}"[:200])
                return
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}")
                return
            try:
                out = resp.json()
            except ValueError:
                resp.failure("bad body: not JSON")
                return
            if len(out.get("predictions") or []) != n:
                resp.failure("bad body: wrong number of predictions")
            elif path == "/explain" and len(out.get("local_importance_values") or []) != n:
                resp.failure("bad body: wrong number of explanations")
            elif top_k is not None and len(out.get("ranked") or []) != n:
                resp.failure("bad body: missing ranked")

    def explain1(self) -> None:
        self._post("/explain", 1, top_k=5 if random.random() < 0.5 else None)

    def explain_batch(self) -> None:
        self._post("/explain", BATCH)

    def predict(self) -> None:
        self._post("/predict", PREDICT_BATCH)


class Explain1User(_ShapserveUser):
    @task
    def one_row_explain(self) -> None:
        self.explain1()


class ExplainBatchUser(_ShapserveUser):
    @task
    def batch_explain(self) -> None:
        self.explain_batch()


class PredictUser(_ShapserveUser):
    @task
    def predict_only(self) -> None:
        self.predict()


class MixUser(_ShapserveUser):
    @task(6)
    def one_row_explain(self) -> None:
        self.explain1()

    @task(3)
    def predict_only(self) -> None:
        self.predict()

    @task(1)
    def batch_explain(self) -> None:
        self.explain_batch()


def parse_stages(text: str) -> list[tuple[float, float]]:
    stages = []
    for part in text.split(","):
        seconds, _, rps = part.strip().partition(":")
        stages.append((float(seconds), float(rps)))
    return stages


if STAGES:

    class StagesShape(LoadTestShape):
        """Offered rate per stage; the user count is ceil(RPS / LOAD_USER_RPS)."""

        stages = parse_stages(STAGES)

        def tick(self) -> tuple[int, float] | None:
            t = self.get_run_time()
            end = 0.0
            for i, (seconds, rps) in enumerate(self.stages):
                end += seconds
                if t < end:
                    STAGE[0] = i
                    users = max(1, math.ceil(rps / USER_RPS))
                    STAGE_USER_RATE[0] = rps / users
                    return users, 1000.0  # start and stop users at once (first arrivals are exponential)
            return None
