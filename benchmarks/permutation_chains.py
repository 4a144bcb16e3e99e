"""The ``permutation`` scorer with a numba chain path against main's black-box default (issue 24).

``.venv/bin/python -m benchmarks.permutation_chains [--only NAME,...] [--seeds N] [--pairs 16]``
packages each model like ``benchmarks/permutation_orders.py`` (``scorer="permutation"``; the MLP
classifier, the MLP regressor and the 11-feature MLP by default, any of the five with ``--only``) and
``scorer="kernel"`` (calibrated, as packaging measures it, on the permutation explainer's background
rows: every training row, or 352 of the 11-feature MLP's 400), then refits the scorers on the same
contexts, seed after seed, the variants alternating:

- ``kernel (main)``: the shared KernelSHAP design on its 20 calibrated rows;
- ``hybrids x1 (main)``: the permutation scorer as main serves it, one antithetic pair per background
  row, its prefix values by the coalition runtime (the ONNX export) on hybrid rows;
- ``served: chain xN``: the permutation scorer as this branch packages it: the chain path
  (``scorers.chains``) checked at fit, N = ``floor(1 x speedup)`` pairs (its operation count, capped);
- ``chain xP`` for each ``--pairs`` P: the same path at P pairs (the cap's price).

Main's default is whichever of its two measured closer to the full data at packaging (decision 31):
``hybrids x1`` on all five models (docs/fidelity.md).
Prints each variant's rel. MAE against the brute-force values on the unseen rows (mean over seeds with
its standard error), the share of values inside their 2-sigma band, and its median per-row CPU time
(process time, one row at a time) with its ratio to ``hybrids x1``, measured side by side.  Also the
numba compile time of a fresh process (what a load pays once, in ``warm_up``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import numpy as np

import scorers
from scorers.allocator import keep_freed_memory
from scorers.kinds.base import FitOptions
from scorers.kinds.permutation import PermutationScorer
from scorers.threads import limit_threads

from . import blackbox
from .common import log, section
from .permutation_orders import case_parser, each_case, mean_and_se, publish

MLPS = ["MLP classifier", "MLP regressor", "11-feature MLP"]
COMPILE = """
import time, numpy as np
from sklearn.neural_network import MLPClassifier
from scorers.chains import chain_path
x = np.random.default_rng(0).normal(size=(60, 14))
path = chain_path(MLPClassifier((32,), max_iter=5).fit(x, x[:, 0] > 0), "probability", np.arange(14), 14)
t = time.perf_counter()
path.warm_up()
print(time.perf_counter() - t)
"""


def compile_seconds() -> float:
    """The chain path's numba compilation in a fresh process (a load's ``warm_up``)."""
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", COMPILE], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def _timed(sc: Any, x: np.ndarray, population: int) -> tuple[np.ndarray, np.ndarray, float]:
    sc.shap_values(x[:1])  # warm-up
    cpu = time.process_time()
    extra = (population,) if isinstance(sc, PermutationScorer) else ()  # the kernel's has no population
    runs = [sc.shap_values_with_se(x[i : i + 1], *extra) for i in range(len(x))]
    ms = 1000 * (time.process_time() - cpu) / len(x)
    return np.concatenate([r[0] for r in runs]), np.concatenate([r[2] for r in runs]), ms


def compare(
    name: str, e: scorers.ScoringExplainer, x: np.ndarray, truth: np.ndarray, seeds: int, pairs: list[int]
) -> dict[str, Any]:
    ctx = e.scorer._check_fitted()
    model = getattr(e.runtime, "model", None)
    kernel = scorers.fit(model, e.background.raw, eval_size=20, scorer="kernel", output_space=e.output_space)
    kctx = kernel.scorer._check_fitted()
    population = e.background.source_rows
    record = {"tolerance": FitOptions().tolerance}
    served = PermutationScorer(chain=record).fit(ctx)
    chain = served.params["chain"]
    variants: dict[str, Any] = {
        "kernel (main)": lambda s: type(kernel.scorer)(**{**kernel.scorer.params, "seed": s}).fit(kctx),
        "hybrids x1 (main)": lambda s: PermutationScorer(seed=s).fit(ctx),
        f"served: chain x{served.params['pairs']}": lambda s: PermutationScorer(seed=s, chain=record).fit(
            ctx
        ),
    }
    if chain["name"]:
        for p in pairs:
            variants[f"chain x{p}"] = lambda s, p=p: PermutationScorer(pairs=p, seed=s, chain=chain).fit(ctx)
    runs: dict[str, dict[str, list[float]]] = {v: {"err": [], "cpu": [], "cover": []} for v in variants}
    for seed in range(seeds):
        for label, make in variants.items():
            sc = make(100 + seed)
            est, se, cpu = _timed(sc, x, population)
            est, se = est.reshape(truth.shape), se.reshape(truth.shape)
            runs[label]["err"].append(blackbox.rel_mae(est, truth))
            runs[label]["cpu"].append(cpu)
            runs[label]["cover"].append(float(np.mean(np.abs(est - truth) <= 2 * se)))
    base = float(np.median(runs["hybrids x1 (main)"]["cpu"]))
    entry = {
        "model": name,
        "background_rows": len(ctx.game.weights),
        "chain": chain,
        "seeds": seeds,
        "variants": {
            v: {
                **mean_and_se(r["err"]),
                "covered_2se": float(np.mean(r["cover"])),
                "cpu_ms_per_row": float(np.median(r["cpu"])),
                "cpu_vs_hybrids_x1": float(np.median(r["cpu"])) / base,
            }
            for v, r in runs.items()
        },
    }
    log(f"{name}: chain {json.dumps(chain)}; {json.dumps(entry['variants'])}")
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = case_parser(__doc__, 4, "permutation draws per model and variant")
    parser.add_argument("--pairs", default="16", help="pairs per background row of the extra chain variants")
    args = parser.parse_args(argv)
    pairs = [int(p) for p in args.pairs.split(",") if p]
    keep_freed_memory()  # as a serving worker (scorers.allocator)
    limit_threads(1)  # as a serving worker (SHAPSERVE_BLAS_THREADS=1): process time is then this thread's
    seconds = compile_seconds()
    section(
        "permutation scorer: numba chain path vs main's default, error and per-row CPU time (unseen rows)"
    )
    log(f"numba compile of the MLP chain path in a fresh process: {seconds:.2f} s")
    results = each_case(
        args.only or MLPS,
        lambda name, e, held, truth: compare(name, e, e.masking.encode(held), truth, args.seeds, pairs),
    )
    rows = []
    for r in results:
        for label, v in r["variants"].items():
            rows.append(
                [
                    r["model"] if label.startswith("kernel") else "",
                    label,
                    f"{v['rel_mae']:.4f} +- {v['se']:.4f}",
                    f"{v['covered_2se']:.1%}",
                    f"{v['cpu_ms_per_row']:.1f}",
                    f"{v['cpu_vs_hybrids_x1']:.2f}",
                ]
            )
    headers = ["model", "variant (pairs per row)", "rel. MAE", "in 2 se", "CPU ms/row", "CPU / hybrids x1"]
    for r in results:
        r["compile_seconds"] = seconds
    return publish(headers, rows, results, "permutation_chains")


if __name__ == "__main__":
    sys.exit(main())
