"""CPU ms per explained row of the ``kernel_machine`` scorer: this tree's code against an earlier
revision's, on the same fitted scorer, side by side in one run (issue 23).

``.venv/bin/python -m benchmarks.kernel_machine_cpu [--base main] [--sizes 50 75] [--rows 16]``

Packages the seed's SVC (margin, calibrated backgrounds of the given sizes), loads
``scorers/kinds/kernel_machine.py`` as it is at ``--base`` (``git show``) beside this tree's, gives both
the same fitted state, and times ``_values`` one test row at a time with ``getrusage`` (user and system
CPU, this process, one BLAS thread), alternating old, new, old, new.  Prints the largest difference
between the two codes' values.  CPU time, not wall time: on a shared machine it still moves with the
load (caches, hyperthreads), so read the ratios within a line, with the load average printed beside.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from .common import say, section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _module_at(rev: str) -> Any:
    """The kernel_machine module as it is at ``rev``, imported under another name, not registered."""
    text = subprocess.run(
        ["git", "show", f"{rev}:scorers/kinds/kernel_machine.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    text = re.sub(r"^from \.\. import", "from scorers import", text, flags=re.M)
    text = re.sub(r"^from \.\.", "from scorers.", text, flags=re.M)
    text = re.sub(r"^from \.base", "from scorers.kinds.base", text, flags=re.M)
    text = re.sub(r"^@register$", "", text, flags=re.M)
    path = Path(tempfile.mkdtemp()) / "kernel_machine_base.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("kernel_machine_base", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["kernel_machine_base"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _cpu_ms(fn: Any, rows: np.ndarray) -> tuple[float, float]:
    """(user, system) CPU ms per row, one row per call."""
    fn(rows[:1])
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    for i in range(len(rows)):
        fn(rows[i : i + 1])
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    n = len(rows)
    return 1000 * (r1.ru_utime - r0.ru_utime) / n, 1000 * (r1.ru_stime - r0.ru_stime) / n


def main(argv: list[str] | None = None) -> int:
    import scorers
    from scorers.examples import breast_cancer_svc

    p = argparse.ArgumentParser()
    p.add_argument("--base", default="main", help="the git revision to compare with")
    p.add_argument("--sizes", type=int, nargs="+", default=[50, 75], help="calibrated background sizes")
    p.add_argument("--rows", type=int, default=16, help="test rows, explained one at a time")
    opts = p.parse_args(argv)
    section(f"kernel_machine: CPU ms per row, this tree against {opts.base}, same fitted scorer")
    base = _module_at(opts.base)
    model, x_train, x_test, *_ = breast_cancer_svc()
    for size in opts.sizes:
        explainer = scorers.fit(model, x_train, background_size=size, summary="calibrated", eval_size=5)
        new = explainer.scorer
        old = base.KernelMachineScorer(**new.params).set_state(new._check_fitted(), new.state())
        rows = explainer.masking.encode(explainer.validate(x_test.iloc[: opts.rows]))
        times = [_cpu_ms(f, rows) for f in (old._values, new._values, old._values, new._values)]
        diff = float(np.max(np.abs(old._values(rows) - new._values(rows))))
        cells = ", ".join(
            f"{n} {u:.2f} user + {s:.2f} sys"
            for n, (u, s) in zip(["base", "this", "base", "this"], times, strict=True)
        )
        ratio = (times[0][0] + times[2][0]) / (times[1][0] + times[3][0])
        say(
            f"{size} calibrated rows: {cells} ms per row; base / this {ratio:.2f}x; values differ by "
            f"{diff:.2g}; load average {os.getloadavg()[0]:.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
