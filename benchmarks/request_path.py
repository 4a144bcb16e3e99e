"""The request path before and after, side by side: the seed's SVC (margin, the CLI's defaults) packaged
once and served at once by this tree and by ``--base`` (a git revision, exported with ``git archive``),
one worker each; 1-row calls of each kind alternate between the two servers in blocks of ``--calls``,
``--reps`` times (the order flips every repetition); the CPU ms per call of each server's process tree
(``/proc``, clock ticks) and the median wall ms; this process's in-process ``explain`` (no error estimate,
one BLAS thread, freed memory kept, as the worker) alongside, both back to back (a hot loop: the goal's
reference) and spaced, each call after an idle wait of ``--gap-ms`` as a worker meets a client's request
(printed beside the goal's figure, not instead of it).

``.venv/bin/python -m benchmarks.request_path [--base main] [--calls 300] [--reps 4] [--env KEY=VALUE ...]``

``--env`` serves this tree's server with a setting changed (e.g. ``BENTOML_CONFIG_OPTIONS=...``), so a
setting is compared with ``--base`` served as it is (``--base`` naming this tree's revision compares the
setting alone).

The goal of issue 23: a served 1-row ``/explain`` within 1.5 ms of CPU of the in-process explanation plus
``/livez`` (docs/performance.md, "the request path").
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .common import load_average, say, section
from .http_fidelity import _cpu_seconds, _serve

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("GET /livez", "POST /predict", "POST /explain")
# the in-process explanation as the worker meets a request: after an idle wait (the gap between two of a
# client's calls), not back to back in a hot loop (docs/performance.md, "round 10": 0.4-0.9 ms apart)
SPACED = "explain in-process, spaced"


def _parser() -> argparse.ArgumentParser:
    p = pair_options(argparse.ArgumentParser())
    p.add_argument("--calls", type=int, default=300, help="1-row calls per block")
    p.add_argument("--reps", type=int, default=4, help="blocks of each kind per server")
    p.add_argument(
        "--gap-ms",
        type=float,
        default=2.0,
        help="the idle wait before each call of the spaced in-process reference (ms)",
    )
    return p


def pair_options(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--base`` and ``--env``, the options of ``served_pair``."""
    p.add_argument("--base", default="main", help="the git revision to compare with")
    p.add_argument(
        "--env",
        action="append",
        default=[],
        type=_setting,
        metavar="KEY=VALUE",
        help="an environment variable of this tree's server only (repeatable)",
    )
    return p


def _setting(text: str) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    if not key or not eq:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _export(rev: str, into: Path) -> Path:
    """The tree of ``rev`` written into ``into`` (``git archive``)."""
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main(argv: list[str] | None = None) -> int:
    import httpx
    import pandas as pd

    opts = _parser().parse_args(argv)
    title = f"the request path: this tree against {opts.base}, served side by side"
    with served_pair(title, opts.base, dict(opts.env)) as (tag, servers, rows, bodies):
        clients = {name: httpx.Client(base_url=url, timeout=600) for name, (_, url) in servers.items()}
        inproc = _in_process(tag, rows, pd)
        results = _alternate(clients, servers, bodies, opts.calls, opts.reps, inproc, opts.gap_ms / 1000)
    say("| 1-row call | CPU ms per call (mean of blocks) | blocks | wall p50 ms |")
    say("|---|---|---|---|")
    for key, got in results.items():
        blocks = ", ".join(f"{c:.2f}" for c, _ in got)
        say(f"| {key} | {_mean(results, key, 0):.2f} | {blocks} | {_mean(results, key, 1):.2f} |")
    for name in ("base", "this"):
        cpu, wall = (
            _mean(results, f"POST /explain ({name})", i)
            - _mean(results, "explain in-process", i)
            - _mean(results, f"GET /livez ({name})", i)
            for i in (0, 1)
        )
        spaced = (
            _mean(results, f"POST /explain ({name})", 0)
            - _mean(results, SPACED, 0)
            - _mean(results, f"GET /livez ({name})", 0)
        )
        say(
            f"{name}: /explain over in-process explain + /livez: CPU {cpu:.2f} ms (goal <= 1.5), wall p50 {wall:.2f} ms;"
            f" over the spaced in-process reference: CPU {spaced:.2f} ms"
        )
    say(f"load average at end: {load_average()}")
    return 0


@contextmanager
def served_pair(
    title: str, base: str, extra: dict[str, str]
) -> Iterator[tuple[str, dict[str, Any], np.ndarray, list[dict[str, Any]]]]:
    """The seed's SVC packaged once (the CLI's defaults) and served by ``base`` and this tree (with
    ``extra`` in its environment), one worker each: (tag, {"base"/"this": (process, url)}, 15 test rows,
    their 1-row ``instances`` bodies); ``title`` and the load average printed first."""
    section(title)
    say(f"load average at start: {load_average()}")
    if extra:
        say(f"this tree's server with {extra}")
    scratch = Path(tempfile.mkdtemp(prefix="request-path-"))
    homes = {"base": scratch / "home-base", "this": scratch / "home-this"}
    code = {"base": _export(base, Path(tempfile.mkdtemp(dir=scratch))), "this": ROOT}
    os.environ["BENTOML_HOME"] = str(homes["this"])
    os.environ["BENTOML_DO_NOT_TRACK"] = "true"
    import warnings

    warnings.simplefilter("ignore")
    from cli.bento import package
    from scorers.examples import breast_cancer_svc

    model, x_train, x_test, *_ = breast_cancer_svc()
    tag = package(model, x_train, name="request-path", progress=lambda _m: None)["model_tag"]
    shutil.copytree(homes["this"] / "models", homes["base"] / "models")
    envs = {name: {"PYTHONPATH": str(code[name]), "BENTOML_HOME": str(homes[name])} for name in code}
    envs["this"].update(extra)
    servers = {name: _serve(tag, code[name], envs[name]) for name in ("base", "this")}
    rows = x_test.to_numpy()[:15]
    try:
        yield tag, servers, rows, [{"instances": rows[i : i + 1].tolist()} for i in range(len(rows))]
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(60)
        shutil.rmtree(scratch, ignore_errors=True)


def _mean(results: dict[str, list[tuple[float, float]]], key: str, i: int) -> float:
    """The mean over blocks of ``key``'s CPU ms per call (``i`` = 0) or wall p50 ms (``i`` = 1)."""
    return float(np.mean([block[i] for block in results[key]]))


def _in_process(tag: str, rows: np.ndarray, pd: Any) -> Any:
    """The in-process explain of one row, as the benchmark of http_fidelity makes it."""
    import bentoml

    import scorers
    from cli.bento import ARTIFACT_DIR
    from scorers.allocator import keep_freed_memory
    from scorers.threads import limit_threads

    limit_threads(1)
    keep_freed_memory()
    explainer = scorers.load(Path(bentoml.models.get(tag).path) / ARTIFACT_DIR, trust_pickle=True)
    frames = [pd.DataFrame(rows[i : i + 1], columns=list(explainer.features)) for i in range(len(rows))]
    return lambda i: explainer.explain(frames[i % len(frames)], error_estimate=False)


def _alternate(
    clients: dict[str, Any],
    servers: dict[str, Any],
    bodies: list[Any],
    calls: int,
    reps: int,
    inproc: Any,
    gap: float = 0.002,
) -> dict[str, list[tuple[float, float]]]:
    """{kind (server): [(CPU ms per call, wall p50 ms) per block]}; the spaced in-process reference waits
    ``gap`` seconds before each call, outside its timing (a sleep costs no CPU)."""

    def call(client: Any, kind: str, i: int) -> None:
        if kind == "GET /livez":
            client.get("/livez").raise_for_status()
        else:
            client.post(kind.split()[1], json=bodies[i % len(bodies)]).raise_for_status()

    for client in clients.values():  # warm-up
        for i in range(30):
            call(client, "POST /explain", i)
    out: dict[str, list[tuple[float, float]]] = {}
    for rep in range(reps):
        order = ["base", "this"] if rep % 2 == 0 else ["this", "base"]
        for kind in (*KINDS, "explain in-process", SPACED):
            for name in order if kind in KINDS else ["this"]:
                if kind in KINDS:
                    pid = servers[name][0].pid
                    fn = partial(call, clients[name], kind)
                    cpu = partial(_cpu_seconds, pid)
                    key = f"{kind} ({name})"
                else:
                    fn, cpu, key = inproc, time.process_time, kind
                pause = gap if kind == SPACED else 0.0
                walls = []
                c0 = cpu()
                for i in range(calls):
                    if pause:
                        time.sleep(pause)
                    t0 = time.perf_counter()
                    fn(i)
                    walls.append(time.perf_counter() - t0)
                out.setdefault(key, []).append((1000 * (cpu() - c0) / calls, 1000 * float(np.median(walls))))
    return out


if __name__ == "__main__":
    sys.exit(main())
