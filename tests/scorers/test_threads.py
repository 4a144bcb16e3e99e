"""Thread limits cover the libraries a model brings (scorers.threads): checked in a fresh process, on
every pool threadpoolctl sees, including OpenMP runtimes loaded by the model and after it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
sys.path.insert(0, {root!r})
from scorers.threads import loaded_with_threads, thread_counts
import numpy  # loaded before the limit, like the worker's own imports

def load_model():
    import scipy.linalg  # scipy's own OpenBLAS
    import sklearn.ensemble  # scikit-learn's OpenMP runtime
    return 1

loaded_with_threads(1, load_model)
during = thread_counts()
import lightgbm  # loaded later (a surrogate fitted on first use)
print(json.dumps({{"during": during, "later": thread_counts()}}))
"""


def _probe() -> dict[str, dict[str, int]]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(root=str(ROOT))],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: every pool has one thread anyway")
def test_every_pool_has_one_thread_including_the_models_libraries() -> None:
    seen = _probe()
    during, later = seen["during"], seen["later"]
    assert any(k.startswith("openblas:") and "scipy_openblas-" in k for k in during)  # scipy's, not numpy's
    assert any(k.startswith("openmp:") for k in during)
    assert during and set(during.values()) == {1}, during
    assert set(later.values()) == {1}, later
    assert len(later) >= len(during)
