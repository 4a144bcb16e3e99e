"""Summarize one load run from its per-request log: RPS, p50/p95/p99, failure rate by status, stages,
a time line, RSS; check optional SLO thresholds.

Reads OUT/requests.csv (written by the locustfile), OUT/run.json (written by run_load.py) and, when
present, OUT/rss.csv.  Writes OUT/summary.json and OUT/summary.md.  Re-run on an existing directory:

    python loadtests/load_summary.py OUT [--slo-p99-ms 500 --slo-max-fail-rate 0 ...]

Percentiles are nearest-rank over every request of the window (not locust's rounded buckets).
Latency percentiles and SLOs use the 2xx responses ("ok"); the all-responses figures are beside them,
since a shed 429 answers in about a millisecond and would flatter an overloaded run.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections import Counter
from pathlib import Path
from typing import Any

Record = tuple[float, str, int, float, int, str, str]  # t, name, status, ms, stage, retry_after, error
HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # rss_sampler sits beside this file (loadtests/ is not a package)
    sys.path.insert(0, str(HERE))
SETTLE_S = 5.0  # the first seconds of each stage are left out of its "settled" figures
WINDOW_S = 5.0  # time line resolution


def read_requests(path: Path) -> list[Record]:
    out: list[Record] = []
    with path.open(newline="") as fh:
        for r in csv.DictReader(fh):
            out.append(
                (
                    float(r["t"]),
                    r["name"],
                    int(r["status"]),
                    float(r["ms"]),
                    int(r["stage"]),
                    r["retry_after"],
                    r["error"],
                )
            )
    return out


def pct(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return round(sorted_values[rank - 1], 1)


def _lat(values: list[float]) -> dict[str, float | None]:
    v = sorted(values)
    return {
        "p50": pct(v, 50),
        "p95": pct(v, 95),
        "p99": pct(v, 99),
        "max": round(v[-1], 1) if v else None,
        "mean": round(sum(v) / len(v), 1) if v else None,
    }


def status_class(rec: Record) -> str:
    status, error = rec[2], rec[6]
    if status == 0:
        return "conn_error"
    if status == 200 and error:
        return "200_bad_body"
    return str(status)


def stats(records: list[Record], seconds: float) -> dict[str, Any]:
    n = len(records)
    ok = [r for r in records if 200 <= r[2] < 300 and not r[6]]
    counts = Counter(status_class(r) for r in records)
    failed = n - len(ok)
    seconds = max(seconds, 1e-9)
    return {
        "requests": n,
        "seconds": round(seconds, 2),
        "rps": round(n / seconds, 2),
        "ok_rps": round(len(ok) / seconds, 2),
        "status_counts": dict(sorted(counts.items())),
        "failures": failed,
        "failure_rate": round(failed / n, 5) if n else 0.0,
        "failure_rate_by_status": {
            k: round(v / n, 5) for k, v in sorted(counts.items()) if not k.startswith("2") or "bad" in k
        },
        "shed_without_retry_after": sum(1 for r in records if r[2] in (429, 503) and not r[5]),
        "server_errors_5xx": sum(1 for r in records if r[2] >= 500),
        "latency_ok_ms": _lat([r[3] for r in ok]),
        "latency_all_ms": _lat([r[3] for r in records]),
    }


def _cpu_in(cpu: list[Any], lo: float, hi: float) -> dict[str, float | None]:
    part = [c for c in cpu if lo <= c[0] < hi]
    if not part:
        return {"server_cpu_pct": None, "locust_cpu_pct": None, "others_cpu_pct": None}
    n = len(part)
    return {
        "server_cpu_pct": round(sum(c[2] for c in part) / n, 1),
        "locust_cpu_pct": round(sum(c[3] for c in part) / n, 1),
        "others_cpu_pct": round(sum(c[4] for c in part) / n, 1),
    }


def timeline(
    records: list[Record],
    seconds: float,
    window: float = WINDOW_S,
    cpu: list[Any] | None = None,
    t0: float = 0.0,
) -> list[dict[str, Any]]:
    out = []
    steps = max(1, math.ceil(seconds / window))
    for i in range(steps):
        lo, hi = i * window, (i + 1) * window
        if i and seconds - lo < 1.0:  # a last sliver of under a second says nothing
            break
        part = [r for r in records if lo <= r[0] < hi]
        st = stats(part, min(window, max(seconds - lo, 1e-9)))
        out.append(
            {
                "from_s": lo,
                "to_s": hi,
                "rps": st["rps"],
                "ok_rps": st["ok_rps"],
                "status_counts": st["status_counts"],
                "p50_ok_ms": st["latency_ok_ms"]["p50"],
                "p99_ok_ms": st["latency_ok_ms"]["p99"],
                **(_cpu_in(cpu, t0 + lo, t0 + hi) if cpu else {}),
            }
        )
    return out


def summarize(out_dir: Path) -> dict[str, Any]:
    meta = json.loads((out_dir / "run.json").read_text()) if (out_dir / "run.json").is_file() else {}
    records = read_requests(out_dir / "requests.csv")
    elapsed = float(meta.get("elapsed_s") or 0) or (max((r[0] for r in records), default=0.0) or 1.0)
    summary: dict[str, Any] = {"meta": meta, "total": stats(records, elapsed), "by_name": {}}
    for name in sorted({r[1] for r in records}):
        summary["by_name"][name] = stats([r for r in records if r[1] == name], elapsed)
    stages = meta.get("stages") or []
    if stages:
        summary["stages"] = []
        start = 0.0
        for i, (seconds, rps) in enumerate(stages):
            part = [r for r in records if start <= r[0] < start + seconds]
            settled = [r for r in part if r[0] >= start + SETTLE_S]
            summary["stages"].append(
                {
                    "stage": i,
                    "from_s": start,
                    "seconds": seconds,
                    "offered_rps": rps,
                    "all": stats(part, seconds),
                    "settled": stats(settled, max(seconds - SETTLE_S, 1e-9)),
                }
            )
            start += seconds
    cpu: list[Any] = []
    t0 = 0.0
    timing = out_dir / "requests.meta.json"
    if (out_dir / "cpu.csv").is_file() and timing.is_file():
        from rss_sampler import read_cpu

        cpu = read_cpu(out_dir / "cpu.csv")
        t0 = float(json.loads(timing.read_text())["t0"])
        summary["cpu"] = _cpu_in(cpu, t0, t0 + elapsed)
    summary["timeline"] = timeline(records, elapsed, cpu=cpu, t0=t0)
    rss_path = out_dir / "rss.csv"
    if rss_path.is_file():
        from rss_sampler import read_csv
        from rss_sampler import summarize as rss_summary

        summary["rss"] = rss_summary(read_csv(rss_path))
    return summary


# --------------------------------------------------------------------------------------------------
# SLO thresholds
# --------------------------------------------------------------------------------------------------
def add_slo_args(ap: argparse.ArgumentParser) -> None:
    g = ap.add_argument_group("SLO thresholds (any violated: exit 1)")
    g.add_argument("--slo-p50-ms", type=float, help="p50 of 2xx latency at most this")
    g.add_argument("--slo-p95-ms", type=float, help="p95 of 2xx latency at most this")
    g.add_argument("--slo-p99-ms", type=float, help="p99 of 2xx latency at most this")
    g.add_argument("--slo-p99-ratio", type=float, help="p99 / p50 of 2xx latency at most this (e.g. 3)")
    g.add_argument("--slo-max-fail-rate", type=float, help="share of non-2xx answers and errors at most this")
    g.add_argument("--slo-no-5xx", action="store_true", help="no 5xx answer and no connection error")
    g.add_argument("--slo-min-rps", type=float, help="2xx answers per second at least this")
    g.add_argument("--slo-name", help="check this request name (e.g. '/explain [1 row]') instead of all")


def check_slos(summary: dict[str, Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    st = summary["by_name"].get(args.slo_name) if args.slo_name else summary["total"]
    if st is None:
        return [{"slo": f"name {args.slo_name!r} present", "value": None, "limit": None, "ok": False}]
    lat = st["latency_ok_ms"]
    checks = []

    def add(slo: str, value: float | None, limit: float, ok: bool) -> None:
        checks.append({"slo": slo, "value": value, "limit": limit, "ok": bool(ok)})

    for q in ("p50", "p95", "p99"):
        limit = getattr(args, f"slo_{q}_ms")
        if limit is not None:
            add(f"{q} ok ms <= limit", lat[q], limit, lat[q] is not None and lat[q] <= limit)
    if args.slo_p99_ratio is not None:
        ratio = round(lat["p99"] / lat["p50"], 2) if lat["p50"] else None
        add("p99/p50 <= limit", ratio, args.slo_p99_ratio, ratio is not None and ratio <= args.slo_p99_ratio)
    if args.slo_max_fail_rate is not None:
        add(
            "failure rate <= limit",
            st["failure_rate"],
            args.slo_max_fail_rate,
            st["requests"] > 0 and st["failure_rate"] <= args.slo_max_fail_rate,
        )
    if args.slo_no_5xx:
        bad = st["server_errors_5xx"] + st["status_counts"].get("conn_error", 0)
        add("5xx + connection errors == 0", bad, 0, bad == 0)
    if args.slo_min_rps is not None:
        add("2xx rps >= limit", st["ok_rps"], args.slo_min_rps, st["ok_rps"] >= args.slo_min_rps)
    return checks


# --------------------------------------------------------------------------------------------------
# markdown
# --------------------------------------------------------------------------------------------------
def _f(v: Any) -> str:
    return "-" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))


def _statuses(st: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in st["status_counts"].items()) or "-"


def _offered(m: dict[str, Any]) -> str:
    if m.get("stages"):
        stages = ", ".join(f"{r:g} req/s for {s:g} s" for s, r in m["stages"])
        return f"stages {stages} ({m.get('arrivals')} arrivals)"
    if m.get("rate"):
        return f"{m['rate']:g} req/s ({m.get('arrivals')} arrivals)"
    return "closed loop (no wait)"


def results_row(summary: dict[str, Any]) -> str:
    """One line of loadtests/README.md's results table."""
    m, st = summary["meta"], summary["total"]
    lat = st["latency_ok_ms"]
    offered = m.get("rate") or (
        "/".join(f"{r:g}" for _, r in m["stages"]) if m.get("stages") else "closed loop"
    )
    server = m.get("server") or {}
    workers = (server.get("env") or {}).get("SHAPSERVE_WORKERS", "1")
    return (
        f"| {m.get('started', '-')[:16]} | {m.get('machine', {}).get('summary', '-')} | {m.get('model', '-')} "
        f"| {m.get('scorer', '-')} | {workers} | {m.get('scenario', '-')} | {m.get('users', '-')} | {offered} "
        f"| {st['ok_rps']} | {_f(lat['p50'])} | {_f(lat['p95'])} | {_f(lat['p99'])} "
        f"| {_statuses(st)} | {m.get('commit', '-')} |"
    )


def markdown(summary: dict[str, Any], checks: list[dict[str, Any]]) -> str:
    m = summary["meta"]
    lines = [
        f"# load run {m.get('started', '')}",
        "",
        f"- target {m.get('host')}, model {m.get('model')}, scorer {m.get('scorer')}, commit {m.get('commit')}",
        f"- scenario {m.get('scenario')}, users {m.get('users')}, offered {_offered(m)}, "
        f"elapsed {m.get('elapsed_s')} s",
        f"- machine {m.get('machine', {}).get('summary')}, load average before/after "
        f"{m.get('loadavg_before')} / {m.get('loadavg_after')}",
        f"- server {json.dumps(m.get('server') or {})}",
        f"- load generator {json.dumps(m.get('generator') or 'closed loop')}",
        f"- CPU in % of one core, averaged over the run: {json.dumps(summary.get('cpu') or 'not sampled')}",
        "",
        "| requests | n | RPS | 2xx RPS | p50 | p95 | p99 | max (2xx ms) | p99 all | failure rate | statuses |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows = [*summary["by_name"].items(), ("all", summary["total"])]
    for name, st in rows:
        lat, lall = st["latency_ok_ms"], st["latency_all_ms"]
        lines.append(
            f"| {name} | {st['requests']} | {st['rps']} | {st['ok_rps']} | {_f(lat['p50'])} | {_f(lat['p95'])} "
            f"| {_f(lat['p99'])} | {_f(lat['max'])} | {_f(lall['p99'])} | {st['failure_rate']:.2%} "
            f"| {_statuses(st)} |"
        )
    tot = summary["total"]
    lines += [
        "",
        f"failure rate by status: {json.dumps(tot['failure_rate_by_status'])}; "
        f"429/503 without Retry-After: {tot['shed_without_retry_after']}; 5xx: {tot['server_errors_5xx']}",
    ]
    if summary.get("stages"):
        lines += [
            "",
            f"| stage | offered RPS | 2xx RPS | p50 | p95 | p99 (2xx ms) | statuses | settled p50 (after {SETTLE_S:g} s) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for s in summary["stages"]:
            st, lat = s["all"], s["all"]["latency_ok_ms"]
            lines.append(
                f"| {s['stage']} ({s['from_s']:g}-{s['from_s'] + s['seconds']:g} s) | {s['offered_rps']:g} "
                f"| {st['ok_rps']} | {_f(lat['p50'])} | {_f(lat['p95'])} | {_f(lat['p99'])} | {_statuses(st)} "
                f"| {_f(s['settled']['latency_ok_ms']['p50'])} |"
            )
        lines += [
            "",
            "| window s | RPS | 2xx RPS | p50 | p99 (2xx ms) | statuses | CPU % server / locust / others |",
            "|---|---|---|---|---|---|---|",
        ]
        for w in summary["timeline"]:
            lines.append(
                f"| {w['from_s']:g}-{w['to_s']:g} | {w['rps']} | {w['ok_rps']} | {_f(w['p50_ok_ms'])} "
                f"| {_f(w['p99_ok_ms'])} | {', '.join(f'{k}: {v}' for k, v in w['status_counts'].items())} "
                f"| {_f(w.get('server_cpu_pct'))} / {_f(w.get('locust_cpu_pct'))} / {_f(w.get('others_cpu_pct'))} |"
            )
    if summary.get("rss"):
        r = summary["rss"]
        lines += [
            "",
            f"RSS of the server's {r['processes']} processes, {r['samples']} samples over {r['span_s']} s: "
            f"start {r['start_mib']:.1f} MiB, at 60 s {r.get('at_60s_mib')} MiB, end {r['end_mib']:.1f} MiB, "
            f"max {r['max_mib']:.1f} MiB "
            f"(workers: start {r['workers_start_mib']:.1f}, end {r['workers_end_mib']:.1f} MiB)",
        ]
    if checks:
        lines += ["", "| SLO | value | limit | ok |", "|---|---|---|---|"]
        lines += [
            f"| {c['slo']} | {_f(c['value'])} | {_f(c['limit'])} | {'yes' if c['ok'] else 'NO'} |"
            for c in checks
        ]
    lines += ["", "results table row:", "", results_row(summary), ""]
    return "\n".join(lines)


def write(out_dir: Path, args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    summary = summarize(out_dir)
    checks = check_slos(summary, args)
    summary["slo"] = {"checks": checks, "passed": all(c["ok"] for c in checks)}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    (out_dir / "summary.md").write_text(markdown(summary, checks))
    return summary, summary["slo"]["passed"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    add_slo_args(ap)
    args = ap.parse_args()
    _, passed = write(args.out, args)
    print((args.out / "summary.md").read_text())
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
