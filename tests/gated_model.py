"""A model whose work the test controls, so no test depends on how fast the machine computes.

``GatedModel`` is a black-box regressor (``predict`` only: shapserve explains it with a model-calling
kind).  Every call whose rows hold the ``SENTINEL`` value is recorded in the gate's directory and waits
while the gate is closed; other rows pass at once.  The gate's directory comes from the environment
(``GATE_ENV``), so the same packaged model is gated in a server process, its workers and their job
processes, and computes plainly anywhere else (packaging).  A request of sentinel rows is therefore in
flight, inside the model, for exactly as long as the test keeps the gate closed; the recorded calls
count the work done for it.

The artifact holds the model as a pickle of this module's class: a server loads it with
``SHAPSERVE_TRUST_PICKLE=true`` and this folder on its ``PYTHONPATH`` (``Gate.server_env``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

GATE_ENV = "SHAPSERVE_TEST_GATE_DIR"
SENTINEL = -777.0  # a value of feature "a" no training row has
FEATURES = ["a", "b", "c", "d"]
COEF = np.array([1.5, -2.0, 0.5, 3.0])
HERE = Path(__file__).resolve().parent


class GatedModel:
    def predict(self, x: Any) -> np.ndarray:
        arr = np.asarray(x, dtype=np.float64)
        gate = os.environ.get(GATE_ENV)
        if gate and np.any(arr[:, 0] == SENTINEL):
            folder = Path(gate)
            with open(folder / "calls", "a") as fh:  # one short line per call: appends do not interleave
                fh.write(f"{os.getpid()} {len(arr)}\n")
            while (folder / "closed").exists():
                time.sleep(0.01)
        a = np.where(arr[:, 0] == SENTINEL, 0.0, arr[:, 0])
        return np.column_stack([a, arr[:, 1:]]) @ COEF + 0.25 * a * arr[:, 1]


def training_frame(n: int = 200) -> Any:
    import pandas as pd

    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(n, len(FEATURES))), columns=FEATURES)


def rows(n: int, *, sentinel: bool, start: int = 0) -> list[list[float]]:
    """``n`` rows of the training table; with ``sentinel``, each with feature "a" set to SENTINEL."""
    values = training_frame().to_numpy()
    out = [values[(start + i) % len(values)].tolist() for i in range(n)]
    if sentinel:
        for r in out:
            r[0] = SENTINEL
    return out


def package_gated(name: str = "test-gated") -> str:
    """The gated model packaged into the BentoML store with the real CLI code; its tag."""
    from cli.bento import package

    def quiet(_msg: str) -> None:
        return None

    return str(package(GatedModel(), training_frame(), name=name, progress=quiet, eval_size=20)["model_tag"])


class Gate:
    """The gate of a gated model: closed or open, and the calls it saw (pid, rows) in order."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder

    def server_env(self) -> dict[str, str]:
        """What a server process (and its job processes) needs to load and gate the model."""
        # the project's root first: tests/ holds folders named like the packages (tests/scorers, tests/cli)
        # that would otherwise be imported as namespace packages in their place
        path = os.pathsep.join(
            p for p in (str(HERE.parent), str(HERE), os.environ.get("PYTHONPATH", "")) if p
        )
        # a gated model is the model docs/decisions.md 48 warns of: predicted short from its open-gate
        # calls, then waiting at the gate. Inline on the event loop it would hold the worker with no 504
        # and no disconnect seen, and whether a request is predicted short depends on the machine's speed
        # (a 64-row request of it went inline on a fast CI machine). Its servers never run a request
        # inline unless a test sets a bound of its own (tests/service/test_inline_process.py).
        return {
            GATE_ENV: str(self.folder),
            "PYTHONPATH": path,
            "SHAPSERVE_TRUST_PICKLE": "true",
            "SHAPSERVE_INLINE_MS": "0",
        }

    def close(self) -> None:
        (self.folder / "closed").touch()

    def open(self) -> None:
        (self.folder / "closed").unlink(missing_ok=True)

    def calls(self) -> list[tuple[int, int]]:
        path = self.folder / "calls"
        if not path.exists():
            return []
        return [(int(p), int(n)) for p, n in (ln.split() for ln in path.read_text().splitlines() if ln)]

    def wait_for_calls(self, more_than: int, timeout: float = 120.0) -> list[tuple[int, int]]:
        """The calls once there are more than ``more_than`` (a bound on the wait, not a measurement)."""
        deadline = time.monotonic() + timeout
        while len(seen := self.calls()) <= more_than:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the model saw {len(seen)} gated calls in {timeout:g} s")
            time.sleep(0.02)
        return seen


def metric_value(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples with these label values in a Prometheus text (0 when absent)."""
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(
        float(ln.split()[-1])
        for ln in text.splitlines()
        if ln.startswith(name + "{") and all(w in ln for w in wanted)
    )


def wait_metric(url: str, name: str, ok: Any, timeout: float = 120.0, **labels: str) -> str:
    """The server's /metrics text once ``ok(value)`` holds for the metric (a bound on the wait)."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        text = httpx.get(url + "/metrics", timeout=10).text
        if ok(metric_value(text, name, **labels)):
            return text
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} {labels} = {metric_value(text, name, **labels)} after {timeout:g} s")
        time.sleep(0.1)
