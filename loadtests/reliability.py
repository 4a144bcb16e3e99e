"""The reliability measurements of loadtests/README.md, each a sequence of bounded run_load.py runs.

    python loadtests/reliability.py max  (--host URL | --serve shapserve-demo [--workers 1]) [--out DIR]
    python loadtests/reliability.py soak (--host URL | --serve shapserve-demo) [--rate 8 --duration 5m --scenario mix]

``max``: 1-row /explain only.
  1. capacity: closed loop, as many users as one worker admits at once (SHAPSERVE_MAX_INFLIGHT, 8), no
     wait, 20 s: the throughput C of a saturated server (no request is shed: the users wait).
  2. fixed-rate steps: Poisson arrivals at 0.3, 0.4 .. 1.0, 1.1 .. 2.0 x C, 30 s each, up to the first
     step that is not sustainable, then one step midway between it and the last sustainable one.  A rate is SUSTAINABLE when, over
     its 30 s: no 5xx or connection error, no request shed (every answer 2xx), the 2xx rate is at least
     95 % of the offered rate, and the 2xx p99 is at most 1 s.  The maximum sustainable RPS is the
     highest sustainable step (every lower step passing too).
  3. half: 60 s at half of it (p50/p95/p99 and p99/p50).
  4. burst: stages of 30 s at half, 30 s at twice the maximum, 60 s at half again: status counts of the
     burst (429 with Retry-After, no 5xx) and the p50 of the calm stage after it, beside the one before.
``soak``: a moderate fixed rate (the mix by default) with the server's RSS sampled every 5 s.

With ``--serve`` the script starts ``shapserve serve MODEL`` itself on a free 127.0.0.1 port with
SHAPSERVE_WORKERS / SHAPSERVE_MAX_INFLIGHT set, and stops it at the end.  Writes reliability.json and
reliability.md into --out (default loadtests/out/<time>-reliability-<command>/).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import run_load  # noqa: E402

STEPS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5, 1.75, 2.0)
USER_RPS = 0.25


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalServer:
    """``shapserve serve MODEL`` on a free loopback port, stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, model: str, workers: str, max_inflight: int | None, log: Path) -> None:
        self.port = free_port()
        self.host = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.setdefault("BENTOML_HOME", str(ROOT / ".bentoml"))
        env["BENTOML_DO_NOT_TRACK"] = "true"
        env["SHAPSERVE_WORKERS"] = workers
        if max_inflight:
            env["SHAPSERVE_MAX_INFLIGHT"] = str(max_inflight)
        self.log = log.open("w")
        bin_dir = Path(sys.executable).parent
        cmd = [str(bin_dir / "shapserve"), "serve", model, "--port", str(self.port), "--host", "127.0.0.1"]
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self) -> int:
        self.proc.terminate()
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.log.close()
        return code


def run(out: Path, name: str, args: list[str]) -> dict[str, Any]:
    """One bounded run_load.py run; its summary.json (an exit code of 1, a failed SLO, is data here)."""
    d = out / name
    code = run_load.main([*args, "--out", str(d)])
    if code == 2 or not (d / "summary.json").is_file():
        raise SystemExit(f"reliability: run {name} failed (exit {code}); see {d}")
    return json.loads((d / "summary.json").read_text())


def _row(
    name: str, offered: Any, st: dict[str, Any], summary: dict[str, Any] | None = None
) -> dict[str, Any]:
    lat = st["latency_ok_ms"]
    gen = ((summary or {}).get("meta") or {}).get("generator") or {}
    return {
        "run": name,
        "offered_rps": offered,
        "sent_rps": st["rps"],
        "late_p99_ms": (gen.get("lateness_ms") or {}).get("p99"),
        "ok_rps": st["ok_rps"],
        "p50": lat["p50"],
        "p95": lat["p95"],
        "p99": lat["p99"],
        "max": lat["max"],
        "statuses": st["status_counts"],
        "shed_without_retry_after": st["shed_without_retry_after"],
    }


def sustainable(summary: dict[str, Any]) -> tuple[bool, str]:
    st = summary["total"]
    gen = summary["meta"].get("generator") or {}
    bad = st["server_errors_5xx"] + st["status_counts"].get("conn_error", 0)
    p99 = st["latency_ok_ms"]["p99"]
    reasons = []
    if bad:
        reasons.append(f"{bad} 5xx/connection errors")
    if st["failures"]:
        reasons.append(f"{st['failures']} non-2xx")
    if p99 is None or p99 > 1000:
        reasons.append(f"p99 {p99} ms > 1000")
    if gen.get("dropped"):
        reasons.append(f"the load generator fell {gen['dropped']} times over 2 s behind its schedule")
    return not reasons, "; ".join(reasons) or "ok"


def users_for(rate: float) -> int:
    """4 users per request per second: each user idles most of the time, so a slow answer rarely
    delays the user's next scheduled request (the arrivals stay Poisson)."""
    return max(8, math.ceil(rate / USER_RPS))


def cmd_max(a: argparse.Namespace, host: str, out: Path, inflight: int) -> dict[str, Any]:
    base = ["--host", host, "--scenario", "explain1"]
    rows: list[dict[str, Any]] = []
    cap = run(out, "capacity", [*base, "--users", str(inflight), "--duration", "20s"])
    capacity = cap["total"]["ok_rps"]
    rows.append(_row(f"capacity: closed loop, {inflight} users", "-", cap["total"]))
    best, failed = 0.0, None

    def step(label: str, rate: float) -> bool:
        s = run(
            out,
            f"step-{rate:g}",
            [*base, "--rate", str(rate), "--users", str(users_for(rate))] + ["--duration", "30s"],
        )
        ok, why = sustainable(s)
        rows.append({**_row(label, rate, s["total"], s), "sustainable": ok, "why": why})
        return ok

    for frac in STEPS:
        rate = round(frac * capacity, 1)
        if not step(f"step {frac:g} x C", rate):
            failed = rate
            break
        best = rate
    if failed is not None and best > 0:  # one refinement between the last good and the first bad step
        mid = round((best + failed) / 2, 1)
        if step("step midway", mid):
            best = mid
    if best == 0:
        raise SystemExit("reliability: not even the lowest step was sustainable; see the runs in " + str(out))
    half = round(best / 2, 1)
    h = run(
        out,
        "half",
        [*base, "--rate", str(half), "--users", str(users_for(half)), "--duration", "60s"],
    )
    rows.append(_row("half of max", half, h["total"], h))
    twice = round(2 * best, 1)
    b = run(out, "burst", [*base, "--stages", f"30:{half},30:{twice},60:{half}", "--user-rps", str(USER_RPS)])
    stages = b["stages"]
    for s, label in zip(stages, ("burst: calm before", "burst: 2x max", "burst: calm after"), strict=True):
        rows.append(
            {**_row(label, s["offered_rps"], s["all"]), "settled_p50": s["settled"]["latency_ok_ms"]["p50"]}
        )
    recovery = after_burst(out / "burst", b)
    hl = h["total"]["latency_ok_ms"]
    return {
        "capacity_rps": capacity,
        "max_sustainable_rps": best,
        "half": {"rate": half, **hl, "p99_over_p50": round(hl["p99"] / hl["p50"], 2) if hl["p50"] else None},
        "burst": {
            "rate": twice,
            "statuses": stages[1]["all"]["status_counts"],
            "shed_without_retry_after": stages[1]["all"]["shed_without_retry_after"],
            "server_errors_5xx": stages[1]["all"]["server_errors_5xx"],
            "p50_before": stages[0]["settled"]["latency_ok_ms"]["p50"],
            "p50_after": stages[2]["settled"]["latency_ok_ms"]["p50"],
            "p99_after": stages[2]["settled"]["latency_ok_ms"]["p99"],
            "after_statuses": stages[2]["all"]["status_counts"],
            "p50_5_to_30s_after": recovery,
        },
        "runs": rows,
    }


def after_burst(run_dir: Path, summary: dict[str, Any]) -> float | None:
    """2xx p50 from 5 s to 30 s after the burst stage ended: how fast latency comes back."""
    import load_summary

    end = sum(seconds for seconds, _ in summary["meta"]["stages"][:2])
    records = load_summary.read_requests(run_dir / "requests.csv")
    part = [r for r in records if end + 5 <= r[0] < end + 30]
    return load_summary.stats(part, 25.0)["latency_ok_ms"]["p50"]


def cmd_soak(a: argparse.Namespace, host: str, out: Path) -> dict[str, Any]:
    users = users_for(a.rate)
    s = run(
        out,
        "soak",
        ["--host", host, "--scenario", a.scenario, "--rate", str(a.rate), "--users", str(users)]
        + ["--duration", a.duration, "--rss", "--rss-interval", str(a.rss_interval)],
    )
    return {
        "rate": a.rate,
        "scenario": a.scenario,
        "rss": s.get("rss"),
        "runs": [_row("soak", a.rate, s["total"], s)],
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# reliability {result['command']} {result['started']}",
        "",
        f"server: {json.dumps(result['server'])}",
        "",
        "| run | offered RPS | sent RPS | 2xx RPS | p50 | p95 | p99 | max (ms) | statuses | sustainable |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        st = ", ".join(f"{k}: {v}" for k, v in r["statuses"].items())
        sus = {True: "yes", False: f"no ({r.get('why')})"}.get(r.get("sustainable"), "")
        lines.append(
            f"| {r['run']} | {r['offered_rps']} | {r['sent_rps']} | {r['ok_rps']} | {r['p50']} | {r['p95']} | {r['p99']} "
            f"| {r['max']} | {st} | {sus} |"
        )
    rest = {k: v for k, v in result.items() if k not in ("runs", "server", "command", "started")}
    lines += ["", "```json", json.dumps(rest, indent=1), "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["max", "soak"])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--host", help="a running server (loopback)")
    where.add_argument("--serve", metavar="MODEL", help="start 'shapserve serve MODEL' on a free port")
    ap.add_argument("--workers", default="1", help="SHAPSERVE_WORKERS of the started server")
    ap.add_argument("--max-inflight", type=int, help="SHAPSERVE_MAX_INFLIGHT of the started server (8)")
    ap.add_argument("--rate", type=float, default=8.0, help="soak: offered req/s")
    ap.add_argument("--duration", default="5m", help="soak: run time")
    ap.add_argument("--scenario", default="mix", choices=sorted(run_load.SCENARIOS), help="soak: scenario")
    ap.add_argument("--rss-interval", type=float, default=5.0)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    out = a.out or HERE / "out" / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-reliability-{a.command}"
    out.mkdir(parents=True, exist_ok=True)
    server = None
    commit = run_load.commit()
    if a.serve:
        server = LocalServer(a.serve, a.workers, a.max_inflight, out / "server.log")
        host = server.host
        run_load.wait_ready(host, 180)
    else:
        host = a.host.rstrip("/")
    try:
        import rss_sampler

        root = rss_sampler.find_server_root(int(host.rsplit(":", 1)[1]))
        info = rss_sampler.server_settings(root) if root else {}
        env = info.get("env", {})
        inflight = int(env.get("SHAPSERVE_MAX_INFLIGHT", 8))  # per worker
        result: dict[str, Any] = {
            "command": a.command,
            "started": datetime.now().isoformat(timespec="seconds"),
            # the commit when the measurement starts: with --serve, the code the server has loaded
            "server": {"host": host, "commit": commit, **info},
        }
        if a.command == "max":
            result.update(cmd_max(a, host, out, inflight))
        else:
            result.update(cmd_soak(a, host, out))
    finally:
        if server is not None:
            result_code = server.stop()
            print(f"reliability: server stopped ({result_code})")
    (out / "reliability.json").write_text(json.dumps(result, indent=1))
    (out / "reliability.md").write_text(markdown(result))
    print(markdown(result))
    print(f"written: {out}/reliability.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
