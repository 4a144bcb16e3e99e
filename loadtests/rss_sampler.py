"""Sample the resident memory (RSS) of a running shapserve server's processes every few seconds, and
(CpuSampler) the CPU used by the server, by locust and by every other process on the machine.

The server is found from its port: the process listening on 127.0.0.1:PORT (a BentoML worker), then its
ancestors as long as they are shapserve/bentoml processes; every descendant of the topmost one is
sampled (the ``shapserve serve`` launcher, BentoML's arbiter, each worker).  ``--pid`` names the root
directly.  Each line of the CSV: elapsed seconds, total RSS of the tree in MiB, then pid:role=MiB.

    python loadtests/rss_sampler.py --port 3000 --interval 5 --duration 240 --out rss.csv
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import threading
import time
from pathlib import Path
from typing import Any

import psutil

MIB = 1024 * 1024


def _is_server(proc: psutil.Process) -> bool:
    """BentoML's processes, or a `shapserve serve` launcher (not a script whose arguments name a model)."""
    try:
        cmd = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    launcher = any(a.endswith("/shapserve") or a == "shapserve" for a in cmd[:2]) and "serve" in cmd[1:3]
    return launcher or any("bentoml" in a for a in cmd[:3])


def find_server_root(port: int) -> psutil.Process | None:
    """The topmost shapserve/bentoml ancestor of the process listening on ``port``."""
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            proc = psutil.Process(conn.pid)
            while True:
                parent = proc.parent()
                if parent is None or not _is_server(parent):
                    return proc
                proc = parent
    return None


def role(proc: psutil.Process) -> str:
    try:
        cmd = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "gone"
    text = " ".join(cmd)
    if "_bentoml_impl.worker" in text:
        return "worker"
    if "bentoml" in text and "serve" in text:
        return "arbiter"
    if "shapserve" in text and "serve" in cmd[1:3]:
        return "launcher"
    return cmd[0].rsplit("/", 1)[-1] if cmd else "?"


def tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def server_settings(root: psutil.Process) -> dict[str, Any]:
    """SHAPSERVE_* settings in the server's environment, and how many workers it runs."""
    procs = tree(root)
    env: dict[str, str] = {}
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            env.update({k: v for k, v in p.environ().items() if k.startswith("SHAPSERVE_")})
    return {"env": env, "workers_running": sum(role(p) == "worker" for p in procs), "root_pid": root.pid}


def sample(root: psutil.Process) -> tuple[float, dict[str, float]]:
    per: dict[str, float] = {}
    for p in tree(root):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            per[f"{p.pid}:{role(p)}"] = p.memory_info().rss / MIB
    return sum(per.values()), per


class Sampler:
    """Samples in a background thread until ``stop()``; rows are (elapsed s, total MiB, per-process)."""

    def __init__(self, root: psutil.Process, interval: float = 5.0) -> None:
        self.root = root
        self.interval = interval
        self.rows: list[tuple[float, float, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        t0 = time.monotonic()
        while True:
            total, per = sample(self.root)
            self.rows.append((round(time.monotonic() - t0, 2), round(total, 2), per))
            if self._stop.wait(self.interval):
                break
        total, per = sample(self.root)  # one last sample at the end
        self.rows.append((round(time.monotonic() - t0, 2), round(total, 2), per))

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def write(self, path: Path) -> None:
        with path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["elapsed_s", "total_mib", "processes"])
            for elapsed, total, per in self.rows:
                w.writerow([elapsed, total, " ".join(f"{k}={v:.1f}" for k, v in sorted(per.items()))])


def _tree_cpu(proc: psutil.Process | None) -> float:
    total = 0.0
    for p in tree(proc) if proc is not None else []:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            t = p.cpu_times()
            total += t.user + t.system
    return total


class CpuSampler:
    """CPU used each second by the server's processes, by locust and by everything else on the machine
    (in % of one core), so that a slow window can be told apart from a busy neighbour."""

    def __init__(self, server: psutil.Process | None, interval: float = 1.0) -> None:
        self.server = server
        self.locust: psutil.Process | None = None
        self.interval = interval
        self.rows: list[tuple[float, float, float, float, float]] = []  # epoch, total, server, locust, others
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        def busy() -> float:
            t = psutil.cpu_times()
            return sum(t) - t.idle - getattr(t, "iowait", 0.0)

        last = (time.time(), busy(), _tree_cpu(self.server), _tree_cpu(self.locust))
        while not self._stop.wait(self.interval):
            now = (time.time(), busy(), _tree_cpu(self.server), _tree_cpu(self.locust))
            dt = max(now[0] - last[0], 1e-6)
            total, server, locust = ((now[i] - last[i]) / dt * 100 for i in (1, 2, 3))
            if now[3] < last[3]:  # locust appeared in between: no baseline yet
                locust = 0.0
            self.rows.append(
                (
                    round(now[0], 3),
                    round(total, 1),
                    round(server, 1),
                    round(locust, 1),
                    round(max(0.0, total - server - locust), 1),
                )
            )
            last = now

    def start(self) -> CpuSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def write(self, path: Path) -> None:
        with path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["epoch", "total_pct", "server_pct", "locust_pct", "others_pct"])
            w.writerows(self.rows)


def read_cpu(path: Path) -> list[tuple[float, float, float, float, float]]:
    with path.open() as fh:
        return [
            (
                float(r["epoch"]),
                float(r["total_pct"]),
                float(r["server_pct"]),
                float(r["locust_pct"]),
                float(r["others_pct"]),
            )
            for r in csv.DictReader(fh)
        ]


def summarize(rows: list[tuple[float, float, dict[str, float]]]) -> dict[str, Any]:
    if not rows:
        return {}
    totals = [r[1] for r in rows]
    workers_start = sum(v for k, v in rows[0][2].items() if k.endswith(":worker"))
    workers_end = sum(v for k, v in rows[-1][2].items() if k.endswith(":worker"))
    return {
        "samples": len(rows),
        "span_s": rows[-1][0],
        "start_mib": totals[0],
        "end_mib": totals[-1],
        "at_60s_mib": next((r[1] for r in rows if r[0] >= 60), None),  # after warm-up allocations
        "max_mib": max(totals),
        "min_mib": min(totals),
        "workers_start_mib": round(workers_start, 2),
        "workers_end_mib": round(workers_end, 2),
        "processes": len(rows[-1][2]),
    }


def read_csv(path: Path) -> list[tuple[float, float, dict[str, float]]]:
    rows = []
    with path.open() as fh:
        for rec in csv.DictReader(fh):
            per = {}
            for item in (rec.get("processes") or "").split():
                k, _, v = item.rpartition("=")
                per[k] = float(v)
            rows.append((float(rec["elapsed_s"]), float(rec["total_mib"]), per))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--interval", type=float, default=5.0)
    ap.add_argument("--duration", type=float, required=True, help="seconds to sample for")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    root = psutil.Process(args.pid) if args.pid else find_server_root(args.port)
    if root is None:
        ap.error(f"no process listens on port {args.port}")
    sampler = Sampler(root, args.interval).start()
    time.sleep(args.duration)
    sampler.stop()
    sampler.write(args.out)
    print(summarize(sampler.rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
