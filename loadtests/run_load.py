"""Run locust headless against a running shapserve server for a bounded time, then summarize.

    python loadtests/run_load.py --host http://127.0.0.1:3000 --scenario explain1 --users 8 --duration 30s \
        [--rate 20] [--stages 30:10,30:40,30:10] [--rss] [--slo-p99-ms 500 --slo-max-fail-rate 0 ...]

Writes into --out (default loadtests/out/<time>-<scenario>/): locust_stats.csv, locust_stats_history.csv,
locust_failures.csv (locust's own CSV), requests.csv (one line per request), run.json, summary.json,
summary.md, and rss.csv with --rss.  Prints summary.md.  Exit code: 0, or 1 when an SLO threshold is
violated, 2 when the run itself failed (server not ready, locust crashed or overran its time bound, no
request made).  Only loopback targets unless --allow-remote.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.parse import urlparse
from urllib.request import urlopen

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import load_summary  # noqa: E402
import rss_sampler  # noqa: E402

SCENARIOS = {
    "explain1": "Explain1User",
    "batch": "ExplainBatchUser",
    "predict": "PredictUser",
    "mix": "MixUser",
}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def seconds(text: str) -> float:
    """'30', '30s', '2m', '1m30s', '1h' -> seconds."""
    text = str(text).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise argparse.ArgumentTypeError(f"bad duration {text!r}; e.g. 30s, 2m, 1m30s")
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def _get_json(url: str, timeout: float = 10) -> Any:
    with urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback target checked before
        return json.load(resp)


def wait_ready(host: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            with urlopen(host + "/readyz", timeout=5) as resp:  # noqa: S310
                if resp.status == 200:
                    return
        except (URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.5)
    raise SystemExit(f"run_load: {host}/readyz not ready after {timeout:g}s ({last})")


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        import psutil

        mem_gib = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    n = os.cpu_count()
    return {"cpus": n, "cpu": cpu, "mem_gib": mem_gib, "summary": f"{n} vCPU {cpu}, {mem_gib} GiB"}


def commit() -> str:
    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
        return out.stdout.strip()

    sha = git("rev-parse", "--short", "HEAD") or "unknown"
    # the server's code only: others' unrelated work in the same checkout does not change what is measured
    dirty = git("status", "--porcelain", "--", "service", "scorers", "bentofile.yaml")
    return sha + ("-dirty" if dirty else "")


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default=os.environ.get("LOAD_HOST", "http://127.0.0.1:3000"))
    ap.add_argument("--scenario", choices=sorted(SCENARIOS), default="mix")
    ap.add_argument("--users", type=int, default=4, help="locust users (ignored with --stages)")
    ap.add_argument(
        "--duration", type=seconds, default=30.0, help="run time, e.g. 30s, 2m (not with --stages)"
    )
    ap.add_argument("--rate", type=float, default=0.0, help="offered req/s over all users; 0: closed loop")
    ap.add_argument("--arrivals", choices=["poisson", "constant"], default="poisson")
    ap.add_argument("--stages", help="SECONDS:RPS,...: offered rate per stage, e.g. 30:10,30:40,40:10")
    ap.add_argument("--user-rps", type=float, default=0.5, help="with --stages: req/s of each user")
    ap.add_argument("--batch", type=int, default=10, help="rows of a batch explain")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--rss", action="store_true", help="sample the server processes' RSS (local server)")
    ap.add_argument("--rss-interval", type=float, default=5.0)
    ap.add_argument("--ready-timeout", type=float, default=60.0)
    ap.add_argument("--allow-remote", action="store_true", help="allow a non-loopback target")
    load_summary.add_slo_args(ap)
    args = ap.parse_args(argv)

    host = args.host.rstrip("/")
    parsed = urlparse(host)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        ap.error(f"--host must be a URL such as http://127.0.0.1:3000, got {args.host!r}")
    if parsed.hostname not in LOOPBACK and not args.allow_remote:
        ap.error(f"refusing non-loopback target {parsed.hostname!r} (use --allow-remote deliberately)")
    stages = (
        [(float(s), float(r)) for s, r in (p.split(":") for p in args.stages.split(","))]
        if args.stages
        else []
    )
    duration = sum(s for s, _ in stages) if stages else args.duration
    users = max(1, math.ceil(max(r for _, r in stages) / args.user_rps)) if stages else args.users

    wait_ready(host, args.ready_timeout)
    meta = _get_json(host + "/metadata")
    out = args.out or HERE / "out" / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{args.scenario}"
    out.mkdir(parents=True, exist_ok=True)

    server: dict[str, Any] = {}
    root = None
    try:
        root = rss_sampler.find_server_root(parsed.port or 80)
        if root is not None:
            server = rss_sampler.server_settings(root)
    except Exception as exc:  # noqa: BLE001 - the server description is best effort
        server = {"error": str(exc)}
    run: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": host,
        "scenario": args.scenario,
        "users": users,
        "rate": args.rate or None,
        "arrivals": args.arrivals if (args.rate or stages) else "closed loop",
        "stages": stages,
        "user_rps": args.user_rps if stages else None,
        "duration_s": duration,
        "batch": args.batch,
        "model": f"{meta['model']['name']}:{meta['model']['version']} ({meta['model'].get('type')})",
        "scorer": f"{meta['scorer']['kind']} ({meta['output_space']})",
        "commit": commit(),
        "machine": machine(),
        "server": server,
        "loadavg_before": loadavg(),
    }

    env = dict(os.environ)
    env.update(
        LOAD_RATE=str(args.rate),
        LOAD_USERS=str(users),
        LOAD_ARRIVALS=args.arrivals,
        LOAD_STAGES=args.stages or "",
        LOAD_USER_RPS=str(args.user_rps),
        LOAD_BATCH=str(args.batch),
        LOAD_REQUEST_LOG=str(out / "requests.csv"),
    )
    env.setdefault("BENTOML_HOME", str(ROOT / ".bentoml"))
    locust = Path(sys.executable).parent / "locust"
    cmd = [
        str(locust),
        "-f",
        str(HERE / "locustfile.py"),
        "--headless",
        "--host",
        host,
        "-u",
        str(users),
        "-r",
        str(max(users, 1)),
        "-t",
        f"{math.ceil(duration)}s",
        "--stop-timeout",
        "5",
        "--csv",
        str(out / "locust"),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
        SCENARIOS[args.scenario],
    ]
    run["command"] = " ".join(cmd)
    sampler = None
    if args.rss and root is not None:
        sampler = rss_sampler.Sampler(root, args.rss_interval).start()
    cpu = None
    with contextlib.suppress(Exception):  # best effort: who else used the CPU during the run
        cpu = rss_sampler.CpuSampler(root).start()
    bound = duration + 60  # the hard time bound of the run: locust's own -t plus start-up and stop
    t0 = time.monotonic()
    log = (out / "locust.log").open("w")
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    if cpu is not None:
        with contextlib.suppress(Exception):
            cpu.locust = rss_sampler.psutil.Process(proc.pid)
    try:
        code = proc.wait(timeout=bound)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        code = None
    finally:
        log.close()
        if sampler is not None:
            sampler.stop()
            sampler.write(out / "rss.csv")
        if cpu is not None:
            cpu.stop()
            cpu.write(out / "cpu.csv")
    timing = out / "requests.meta.json"  # the locustfile's own start-to-stop time of the load
    if timing.is_file():
        own = json.loads(timing.read_text())
        run["elapsed_s"] = round(own["elapsed_s"], 2)
        if args.rate or stages:
            run["generator"] = own.get("generator")
    else:
        run["elapsed_s"] = round(min(time.monotonic() - t0, duration), 2)
    run["loadavg_after"] = loadavg()
    run["locust_exit"] = code
    (out / "run.json").write_text(json.dumps(run, indent=1))
    if code is None:
        print(f"run_load: locust overran its bound of {bound:g}s and was stopped; see {out}/locust.log")
        return 2
    if code != 0 or not (out / "requests.csv").is_file():
        print(f"run_load: locust exited with {code}; see {out}/locust.log")
        print((out / "locust.log").read_text()[-3000:])
        return 2
    summary, passed = load_summary.write(out, args)
    print((out / "summary.md").read_text())
    print(f"written: {out}/summary.md, summary.json, requests.csv, locust_stats.csv")
    if summary["total"]["requests"] == 0:
        print("run_load: no request was made")
        return 2
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
