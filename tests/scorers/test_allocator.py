"""Freed memory kept for the next row (scorers.allocator): checked in fresh processes by their page faults,
on a repeated pair of 20 MB temporaries with and without the setting, and on the seed's SVC explained row
by row from a saved artifact, as a serving worker does (3,300 faults per row with glibc's defaults)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import importlib.util, json, resource
import numpy as np

# the module alone, not the engine's package (its imports would only slow the probe)
spec = importlib.util.spec_from_file_location("allocator", {path!r})
allocator = importlib.util.module_from_spec(spec)
spec.loader.exec_module(allocator)
keep_freed_memory = allocator.keep_freed_memory

taken = keep_freed_memory({keep!r})
faults = []
for _ in range(4):
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = np.ones(20 << 17)  # 20 MiB each: two of them exceed glibc's default trim threshold once freed
    b = np.ones(20 << 17)
    del a, b
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
print(json.dumps({{"taken": taken, "faults": faults}}))
"""


def _probe(keep: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(path=str(ROOT / "scorers" / "allocator.py"), keep=keep)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def probes() -> dict[str, dict[str, Any]]:
    return {"kept": _probe(64 << 20), "default": _probe(0)}


def test_the_default_allocator_faults_the_temporaries_in_again(probes: dict[str, dict[str, Any]]) -> None:
    # the problem the setting solves: every round, the 40 MiB come back from the kernel (a page each)
    default = probes["default"]
    assert default["taken"] is False
    assert min(default["faults"][1:]) > 1000


def test_kept_memory_serves_the_next_rounds_without_page_faults(probes: dict[str, dict[str, Any]]) -> None:
    kept = probes["kept"]
    assert kept["taken"] is True
    assert kept["faults"][0] > 1000  # the first round takes the pages from the kernel once
    assert max(kept["faults"][1:]) < 50  # the later rounds reuse them


LOADED = """
import json, resource, sys
sys.path.insert(0, {root!r})
from scorers.allocator import keep_freed_memory

taken = keep_freed_memory()  # before any numeric work, as a worker does
import numpy as np
import scorers

explainer = scorers.load({artifact!r})
x = explainer.masking.encode(explainer.validate(np.load({rows!r})))
explainer.scorer.shap_values(x[:1])
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(1, len(x)):
    explainer.scorer.shap_values(x[i : i + 1])
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / (len(x) - 1)
print(json.dumps({{"taken": taken, "faults_per_row": faults}}))
"""


def test_a_loaded_kernel_machine_explains_its_rows_without_page_faults(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    import scorers
    from scorers.examples import breast_cancer_svc

    model, x_train, x_test, *_ = breast_cancer_svc()
    tmp = tmp_path_factory.mktemp("allocator")
    # 50 calibrated rows: temporaries of megabytes per row (with 10 rows they stay under glibc's thresholds)
    scorers.fit(model, x_train, background_size=50, summary="kmeans", eval_size=5).save(tmp / "artifact")
    np.save(tmp / "rows.npy", x_test.to_numpy()[:6])
    code = LOADED.format(root=str(ROOT), artifact=str(tmp / "artifact"), rows=str(tmp / "rows.npy"))
    out = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
        ).stdout
    )
    assert out["taken"] is True
    assert out["faults_per_row"] < 300  # 3,300 per row with glibc's defaults (docs/performance.md, round 4)
