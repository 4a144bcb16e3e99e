"""Every module the serving image carries imports without the optional packages (scorers/runtime_packages.py):
the SVC's image has no onnx, onnxruntime, LightGBM, XGBoost, pyarrow or numba, so none of them may be imported
at module level outside the modules that only their models reach.

Run in a child process where those packages are made absent (``sys.modules[name] = None``, Python's
documented import block), walking every module of the packages the Bento includes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCKED = (
    "onnx",
    "onnxruntime",
    "lightgbm",
    "xgboost",
    "pyarrow",
    "skl2onnx",
    "pyspark",
    "numba",
    "llvmlite",
)
# reached only through an ONNX model (lazily, from scorers/runtimes/onnx.py and the tree scorer)
NEEDS_ONNX = {"scorers.runtimes.onnx_read", "scorers.runtimes.onnx_linear"}
# reached only through a numba path recorded at packaging (lazily: the chain paths from scorers/chains/mlp.py,
# knn.py and estimates.py; the kernel_machine scorer's pair loop from scorers/kinds/kernel_machine.py)
NEEDS_NUMBA = {
    "scorers.chains._mlp_kernel",
    "scorers.chains._knn_kernel",
    "scorers.chains._estimates_kernel",
    "scorers.kinds._rbf_pairs_kernel",
}

WALK = f"""
import importlib, json, pkgutil, sys
for name in {BLOCKED!r}:
    sys.modules[name] = None
failed = {{}}
for pkg in ("scorers", "service", "store", "batch"):
    for info in pkgutil.walk_packages(importlib.import_module(pkg).__path__, pkg + "."):
        if info.name == "service.service":  # resolves a packaged model at import: the image tests run it
            continue
        try:
            importlib.import_module(info.name)
        except ImportError as exc:
            failed[info.name] = str(exc)
print(json.dumps(failed))
"""


def test_serving_modules_import_without_the_optional_packages() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", WALK], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    failed = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(failed) == NEEDS_ONNX | NEEDS_NUMBA, failed
    assert all(("numba" if name in NEEDS_NUMBA else "onnx") in why for name, why in failed.items()), failed
