"""Does the same model and data package the same explainer, whatever the clock or the last bit? (issues 23/24)

``.venv/bin/python -m benchmarks.determinism [--only svc,knn]`` (about 1 min on a quiet machine):

- ``svc``: the seed's SVC with the default configuration (``scorers.fit(model, x_train)``, the
  ``kernel_machine`` kind's calibrated size chosen among 50, 60 and 75 rows), as it is, and with the
  reference splits scaled by 1 + 1e-15 and 1 - 1e-15 (a stand-in for another runtime's or BLAS's last
  bit): the sizes' estimated errors, the size served, the stated error and the error on the first 40
  test rows against the exact full-data values (``background_size="all"``), and their ratio;
- ``knn``: benchmarks/blackbox.py's KNN regressor packaged twice with ``scorer="kernel"`` in one process,
  the coalition runtime forced to ``onnxruntime`` and to ``sklearn`` (``coalitions._preferred``
  patched): the runtime, the stated error, a hash of the background rows and weights, the time.

Prints a table per part; nothing is written to benchmarks/out.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

import scorers
from scorers.examples import breast_cancer_svc
from scorers.fidelity import reference
from scorers.runtimes import coalitions

from .common import load_average, log, say, section, table

TEST_ROWS = 40
SCALES = (1.0, 1 + 1e-15, 1 - 1e-15)


@contextmanager
def _patched(module: Any, name: str, value: Any) -> Iterator[None]:
    old = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, old)


def _scaled_build(scale: float) -> Callable[..., reference.PoolSplits]:
    build = reference.build

    def scaled(*args: Any, **kwargs: Any) -> reference.PoolSplits:
        splits = build(*args, **kwargs)
        if scale != 1.0:
            splits.check, splits.calib, splits.truth = (
                scale * splits.check,
                scale * splits.calib,
                scale * splits.truth,
            )
        return splits

    return scaled


def _scaled_truth_at(scale: float) -> Callable[..., reference.PoolSplits]:
    truth_at = reference.truth_at

    def scaled(*args: Any, **kwargs: Any) -> reference.PoolSplits:
        splits = truth_at(*args, **kwargs)
        if scale != 1.0:
            splits.check, splits.truth = scale * splits.check, scale * splits.truth
        return splits

    return scaled


def svc() -> None:
    section("the seed's SVC, default: the calibrated size, the stated and the unseen error, by last bit")
    model, x_train, x_test, *_ = breast_cancer_svc()
    rows = x_test.iloc[:TEST_ROWS]
    truth = scorers.fit(model, x_train, background_size="all", eval_size=5).explain(rows).values
    tune = importlib.import_module("scorers.fidelity.tune")
    out = []
    for scale in SCALES:
        said: list[str] = []
        with (
            _patched(tune.reference, "build", _scaled_build(scale)),
            _patched(tune.reference, "truth_at", _scaled_truth_at(scale)),
        ):
            explainer = scorers.fit(model, x_train, eval_size=5, progress=said.append)
        fidelity = explainer.manifest.fidelity
        assert fidelity is not None
        values = explainer.explain(rows).values
        unseen = float(np.mean(np.abs(values - truth)) / np.mean(np.abs(truth)))
        sizes = next(
            (re.sub(r".*\(estimated errors (.*)\)", r"\1", s) for s in said if "estimated errors" in s), ""
        )
        stated = fidelity.rel_mae_vs_full_data
        out.append(
            [
                f"{scale - 1:+.0e}" if scale != 1.0 else "as is",
                sizes,
                len(explainer.background.weights),
                f"{stated:.4%}",
                f"{unseen:.4%}",
                f"{unseen / stated:.2f}",
            ]
        )
        log(f"scale {scale!r}: {out[-1]}")
    headers = [
        "splits scaled",
        "50 / 60 / 75 rows (est.)",
        "served",
        "stated",
        f"{TEST_ROWS} test rows",
        "ratio",
    ]
    say(table(headers, out))


def _hash(explainer: scorers.ScoringExplainer) -> str:
    bg = explainer.background
    return hashlib.sha256(np.asarray(bg.encoded).tobytes() + np.asarray(bg.weights).tobytes()).hexdigest()[
        :12
    ]


def knn() -> None:
    section("benchmarks/blackbox.py's KNN, scorer='kernel', packaged twice with the coalition runtime forced")
    from .blackbox import N_TRAIN, models

    _, model, x, _ = next(m for m in models() if m[0] == "KNN regressor")
    frame = pd.DataFrame(x[:N_TRAIN], columns=[f"f{i}" for i in range(x.shape[1])])
    out = []
    for runtime in (coalitions.ONNX_EXPORT, "sklearn"):
        t0 = time.perf_counter()
        with _patched(coalitions, "_preferred", lambda times, preference, r=runtime: r):
            explainer = scorers.fit(model, frame, eval_size=20, scorer="kernel")
        fidelity = explainer.manifest.fidelity
        assert fidelity is not None
        out.append(
            [
                runtime,
                explainer.manifest.model.coalition_runtime,
                f"{fidelity.rel_mae_vs_full_data:.6f}",
                len(explainer.background.weights),
                _hash(explainer),
                f"{time.perf_counter() - t0:.0f}",
            ]
        )
        log(f"{runtime}: {out[-1]}")
    say(table(["forced", "manifest runtime", "stated", "rows", "background hash", "s"], out))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="svc,knn", help="svc, knn (comma-separated)")
    opts = parser.parse_args(argv)
    log(f"load average {load_average()}")
    parts = opts.only.split(",")
    if "svc" in parts:
        svc()
    if "knn" in parts:
        knn()
    log(f"load average {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
