"""Shared helpers: progress lines, the machine header, timing, accuracy metrics and plain-text tables."""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

OUT = Path(__file__).resolve().parent / "out"
_T0 = time.perf_counter()


def log(msg: str) -> None:
    """A progress line with the elapsed wall time; flushed so that ``make bench`` shows it live."""
    print(f"[{time.perf_counter() - _T0:7.1f}s] {msg}", flush=True)


def say(msg: str = "") -> None:
    print(msg, flush=True)


def section(title: str) -> None:
    say()
    say("=" * 100)
    say(title)
    say("=" * 100)


# --------------------------------------------------------------------------------------------------
# the machine
# --------------------------------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # noqa: BLE001 - a missing package is reported, not fatal
        return "not installed"


def machine() -> dict[str, Any]:
    import numpy  # noqa: F401  (loaded so that threadpoolctl sees its BLAS)
    import scipy  # noqa: F401
    import sklearn  # noqa: F401
    from threadpoolctl import threadpool_info

    pools = [
        {
            k: p.get(k)
            for k in (
                "user_api",
                "internal_api",
                "version",
                "num_threads",
                "architecture",
                "threading_layer",
                "prefix",
            )
        }
        for p in threadpool_info()
    ]
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "load_average_at_start": [round(x, 2) for x in load],
        "env": {
            k: os.environ.get(k, "(unset)")
            for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
        },
        "versions": {
            n: _version(n)
            for n in (
                "numpy",
                "scipy",
                "scikit-learn",
                "shap",
                "onnxruntime",
                "skl2onnx",
                "pandas",
                "matplotlib",
                "threadpoolctl",
                "shapserve",
            )
        },
        "threadpools": pools,
    }


def print_machine(info: dict[str, Any]) -> None:
    say(f"CPU: {info['cpu_model']}  |  os.cpu_count()={info['cpu_count']}  usable={info['cpu_affinity']}")
    say(f"platform: {info['platform']}  |  python {info['python']}")
    say(
        f"load average at start (1/5/15 min): {info['load_average_at_start']}  (the machine is shared: timings are best/median of repeats)"
    )
    say("environment: " + "  ".join(f"{k}={v}" for k, v in info["env"].items()))
    say("versions: " + "  ".join(f"{k} {v}" for k, v in info["versions"].items()))
    for p in info["threadpools"]:
        say(
            f"threadpool: {p['user_api']}/{p['internal_api']} {p['version'] or ''} threads={p['num_threads']} "
            f"arch={p['architecture'] or '-'} layer={p['threading_layer'] or '-'} ({p['prefix']})"
        )


# --------------------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------------------
def best_of(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """The best time of ``repeat`` calls, and the last call's result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def best_time(fn: Callable[[], Any], repeat: int = 3) -> float:
    return best_of(fn, repeat)[0]


def time_interleaved(
    calls: dict[str, Callable[[int], Any]], n: int, label: str = "", every: int = 0
) -> dict[str, np.ndarray]:
    """Explain rows 0..n-1 one at a time with every method, interleaved row by row (the method order
    rotates), so that load from other processes on a shared machine hits all methods alike."""
    names = list(calls)
    lat = {k: np.empty(n) for k in names}
    for i in range(n):
        for j in range(len(names)):
            k = names[(i + j) % len(names)]
            t0 = time.perf_counter()
            calls[k](i)
            lat[k][i] = time.perf_counter() - t0
        if every and (i + 1) % every == 0 and i + 1 < n:
            log(
                f"  {label}: {i + 1}/{n} rows one at a time: "
                + ", ".join(
                    f"{k} {1000 * np.median(v[: i + 1]):.1f} ms"
                    for k, v in lat.items()
                    if not k.startswith("floor:")
                )
            )
    return lat


def load_average() -> str:
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


# --------------------------------------------------------------------------------------------------
# accuracy
# --------------------------------------------------------------------------------------------------
def mae(est: np.ndarray, ref: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(est) - np.asarray(ref))))


def top5_spearman(est: np.ndarray, ref: np.ndarray, k: int = 5) -> tuple[float, int]:
    """Mean over rows of Spearman's rho between |ref| and |est| on the reference's top-k features (by |ref|).

    Returns (mean rho, number of rows where rho is undefined because est is constant there, counted as 0).
    """
    from scipy.stats import spearmanr

    rhos, undefined = [], 0
    for e, r in zip(np.asarray(est), np.asarray(ref), strict=True):
        top = np.argsort(-np.abs(r))[:k]
        a, b = np.abs(r[top]), np.abs(e[top])
        if np.ptp(b) == 0:
            undefined += 1
            rhos.append(0.0)
            continue
        rhos.append(float(spearmanr(a, b).statistic))
    return float(np.mean(rhos)), undefined


# --------------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------------
def fmt(x: Any, spec: str = ".3g") -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if isinstance(x, (float, np.floating)) and not np.isfinite(x):
        return "-"
    return format(x, spec)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[j]) for r in cells) for j in range(len(headers))]
    lines = []
    for i, r in enumerate(cells):
        lines.append(
            "| "
            + " | ".join(c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(r))
            + " |"
        )
        if i == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
