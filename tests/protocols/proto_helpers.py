"""Helpers shared by the protocol tests (a plain module: tests/ is not a package)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CLIENTS_PYTHON = ROOT / ".venv-clients" / "bin" / "python"
SCRIPTS = Path(__file__).resolve().parent / "clients"
API_KEY = "protocols-key"


def run_client(script: str, spec: dict[str, Any]) -> Any:
    """Run a third-party client script with .venv-clients' python on ``spec`` (stdin); it prints JSON."""
    assert CLIENTS_PYTHON.exists(), f"{CLIENTS_PYTHON} is missing: run `make clients`"
    proc = subprocess.run(
        [str(CLIENTS_PYTHON), str(SCRIPTS / script)],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def additive(values: Any, expected: Any, outputs: Any, layout: str = "row-class") -> float:
    """max |expected + sum(values) - outputs| for values laid out [row][class][feature] ('row-class'),
    [class][row][feature] ('class-row', the score.py layout) or [row][feature] (regressors)."""
    v = np.asarray(values, dtype=float)
    if layout == "class-row":
        v = v.transpose(1, 0, 2)
    return float(
        np.max(np.abs(np.asarray(expected, dtype=float) + v.sum(axis=-1) - np.asarray(outputs, dtype=float)))
    )


def same(a: Any, b: Any) -> bool:
    """Equal to 1e-12 (numbers) and exactly (labels)."""
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if a_arr.dtype.kind in "fiu" and b_arr.dtype.kind in "fiu":
        return a_arr.shape == b_arr.shape and bool(np.allclose(a_arr, b_arr, rtol=0, atol=1e-12))
    return bool(a_arr.shape == b_arr.shape and (a_arr == b_arr).all())
