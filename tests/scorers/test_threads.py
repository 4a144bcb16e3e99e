"""Thread limits cover the libraries a model brings (scorers.threads): checked in a fresh process, on
every pool threadpoolctl sees, including OpenMP runtimes loaded by the model and after it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, os, sys
sys.path.insert(0, {root!r})
from scorers.threads import loaded_with_threads, thread_counts
import numpy  # loaded before the limit, like the worker's own imports

# "cores": one more thread than this process may use cores, a count no pool has by default on any machine
n = {n!r} if {n!r} != "cores" else len(os.sched_getaffinity(0)) + 1
before = thread_counts()

def load_model():
    import scipy.linalg  # scipy's own OpenBLAS
    import sklearn.ensemble  # scikit-learn's OpenMP runtime
    return 1

loaded_with_threads(n, load_model)
during = thread_counts()
import lightgbm  # loaded later (a surrogate fitted on first use)
print(json.dumps({{"n": n, "before": before, "during": during, "later": thread_counts()}}))
"""


def _probe(n: int | str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(root=str(ROOT), n=n)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("n", [1, "cores"], ids=["one-thread", "more-threads-than-cores"])
def test_every_pool_has_the_limit_including_the_models_libraries(n: int | str) -> None:
    """One thread (what workers use) and one more thread than the process's cores: the default pools have
    one thread per core (one on a one-core machine, where the first case changes nothing), so the second
    case sees the limit act on every pool, on any core count."""
    seen = _probe(n)
    before, during, later = seen["before"], seen["during"], seen["later"]
    print(f"n={seen['n']}, before the limit: {before}")
    if n == "cores":
        assert all(count < seen["n"] for count in before.values()), before  # the limit is what set them
    assert any(k.startswith("openblas:") and "scipy_openblas-" in k for k in during)  # scipy's, not numpy's
    assert any(k.startswith("openmp:") for k in during)
    assert during and set(during.values()) == {seen["n"]}, during
    assert set(later.values()) == {seen["n"]}, later
    assert len(later) >= len(during)
