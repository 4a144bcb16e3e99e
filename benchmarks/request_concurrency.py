"""Throughput of concurrent 1-row clients, this tree against ``--base``, served side by side: the seed's
SVC (margin, the CLI's defaults) packaged once and served by both (``request_path.served_pair``, one
worker each); ``--clients`` threads, each with its own connection, post 1-row ``/explain`` requests back
to back to one server for ``--seconds``, then to the other (the order flips every repetition); the
answers per second, the server's CPU ms per answer, and how many of this tree's requests ran on the event
loop (``shapserve_inline_requests_total``; a request runs there only when it is alone, decision 48).

``.venv/bin/python -m benchmarks.request_concurrency [--base main] [--clients 4] [--seconds 20] [--reps 2]``
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any

import numpy as np

from .common import load_average, say
from .http_fidelity import _cpu_seconds
from .request_path import pair_options, served_pair

INLINE = "shapserve_inline_requests_total"


def _parser() -> argparse.ArgumentParser:
    p = pair_options(argparse.ArgumentParser())
    p.add_argument("--clients", type=int, default=4, help="concurrent clients")
    p.add_argument("--seconds", type=float, default=20.0, help="length of one block")
    p.add_argument("--reps", type=int, default=2, help="blocks per server")
    return p


def main(argv: list[str] | None = None) -> int:
    opts = _parser().parse_args(argv)
    title = f"{opts.clients} concurrent 1-row clients: this tree against {opts.base}, side by side"
    with served_pair(title, opts.base, dict(opts.env)) as (_tag, servers, _rows, bodies):
        got: dict[str, list[tuple[float, float, float]]] = {"base": [], "this": []}
        for _, url in servers.values():  # warm-up: the route's estimate exists
            _block(url, bodies, 1, 1.0)
        for rep in range(opts.reps):
            for name in ["base", "this"] if rep % 2 == 0 else ["this", "base"]:
                proc, url = servers[name]
                inline0, cpu0 = _inline(url), _cpu_seconds(proc.pid)
                answers, wall = _block(url, bodies, opts.clients, opts.seconds)
                cpu, inline = _cpu_seconds(proc.pid) - cpu0, _inline(url) - inline0
                got[name].append((answers / wall, 1000 * cpu / answers, inline / answers))
                say(f"  {name}: {answers / wall:.1f} answers/s, {1000 * cpu / answers:.2f} ms CPU each")
    say("| server | answers/s (blocks) | mean | CPU ms per answer | share run inline |")
    say("|---|---|---|---|---|")
    for name, blocks in got.items():
        rates = ", ".join(f"{r:.1f}" for r, _, _ in blocks)
        mean = np.mean(np.array(blocks), axis=0)
        say(f"| {name} | {rates} | {mean[0]:.1f} | {mean[1]:.2f} | {mean[2]:.3f} |")
    ratio = np.mean([r for r, _, _ in got["this"]]) / np.mean([r for r, _, _ in got["base"]])
    say(f"this / base answers per second: {ratio:.3f}")
    say(f"load average at end: {load_average()}")
    return 0


def _block(url: str, bodies: list[Any], clients: int, seconds: float) -> tuple[int, float]:
    """Answers of ``clients`` threads posting back to back for ``seconds``, and the wall time taken."""
    import httpx

    counts = [0] * clients
    start = time.perf_counter()
    deadline = start + seconds

    def client(k: int) -> None:
        with httpx.Client(base_url=url, timeout=600) as c:
            i = k
            while time.perf_counter() < deadline:
                c.post("/explain", json=bodies[i % len(bodies)]).raise_for_status()
                counts[k] += 1
                i += clients

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts), time.perf_counter() - start


def _inline(url: str) -> float:
    import httpx

    text = httpx.get(url + "/metrics", timeout=30).text
    return sum(float(ln.split()[-1]) for ln in text.splitlines() if ln.startswith(INLINE + "{"))


if __name__ == "__main__":
    sys.exit(main())
