"""The ``permutation`` scorer with and without its chain paths, error and per-row time side by side.

``.venv/bin/python -m benchmarks.permutation_chains [--only NAME,...] [--seeds N]`` packages each model
like ``benchmarks/permutation_orders.py`` (``scorer="permutation"``; the four black boxes of
``benchmarks/blackbox.py`` and the 11-feature MLP of ``benchmarks/fidelity.py``) and refits the scorer
on the same context, seed after seed, alternating:

- ``hybrids``: ``chain="none"``, the budget's pairs per background row through the model function on
  hybrid rows (the scorer as served before the chain paths);
- ``chain``: ``chain="auto"``, the family's chain path (``scorers.chains``) when the model has one, with
  as many times the pairs as the fit measured it faster (``PermutationScorer._try_chain``).

Prints each one's rel. MAE against the brute-force values on the unseen rows (mean over seeds, with its
standard error), the pairs per row, and the median ms per row of ``shap_values`` one row at a time, the
two timed in the same loop (the machine is shared: the ratio is the figure to read).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from typing import Any

import numpy as np

import scorers
from scorers.allocator import keep_freed_memory
from scorers.kinds.permutation import PermutationScorer

from . import blackbox
from .common import OUT, log, say, section, table
from .permutation_orders import cases

VARIANTS = {"hybrids": "none", "chain": "auto"}


def compare(
    name: str, e: scorers.ScoringExplainer, x: np.ndarray, truth: np.ndarray, seeds: int
) -> dict[str, Any]:
    ctx = e.scorer._check_fitted()
    errors: dict[str, list[float]] = {v: [] for v in VARIANTS}
    ms: dict[str, list[float]] = {v: [] for v in VARIANTS}
    pairs: dict[str, list[int]] = {v: [] for v in VARIANTS}
    used = "none"
    for seed in range(seeds):
        for label, chain in VARIANTS.items():
            sc = PermutationScorer(seed=100 + seed, chain=chain).fit(ctx)
            pairs[label].append(int(sc.params["pairs"]))
            if label == "chain":
                used = str(sc.params["chain"])
            sc.shap_values(x[:1])  # warm-up
            t0 = time.perf_counter()
            est = np.concatenate([sc.shap_values(x[i : i + 1])[0] for i in range(len(x))])
            ms[label].append(1000 * (time.perf_counter() - t0) / len(x))
            errors[label].append(blackbox.rel_mae(est.reshape(truth.shape), truth))
    entry = {
        "model": name,
        "background_rows": len(ctx.game.weights),
        "seeds": seeds,
        "chain": used,
        "variants": {
            v: {
                "rel_mae": float(np.mean(errors[v])),
                "se": float(np.std(errors[v], ddof=1) / np.sqrt(seeds)) if seeds > 1 else 0.0,
                "pairs": float(np.mean(pairs[v])),
                "ms_per_row": float(np.median(ms[v])),
            }
            for v in VARIANTS
        },
    }
    log(f"{name}: {json.dumps(entry['variants'])}")
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="comma-separated model names (default: all five)")
    parser.add_argument("--seeds", type=int, default=8, help="permutation draws per model and variant")
    args = parser.parse_args(argv)
    only = [part for part in args.only.split(",") if part]
    keep_freed_memory()  # as a serving worker (scorers.allocator)
    section("permutation scorer: hybrids vs chain paths at equal per-row time (unseen rows)")
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, e, held, truth in cases(only):
            log(f"{name}: truth")
            results.append(compare(name, e, e.masking.encode(held), truth(), args.seeds))
    rows = []
    for r in results:
        h, c = r["variants"]["hybrids"], r["variants"]["chain"]
        rows.append(
            [
                r["model"],
                f"{r['background_rows']} rows, {r['chain']}",
                f"{h['rel_mae']:.4f} +- {h['se']:.4f} ({h['pairs']:.0f} pair)",
                f"{c['rel_mae']:.4f} +- {c['se']:.4f} ({c['pairs']:.1f} pairs)",
                f"{h['ms_per_row']:.1f} / {c['ms_per_row']:.1f}",
                f"{c['ms_per_row'] / h['ms_per_row']:.2f}",
            ]
        )
    headers = [
        "model",
        "background, path",
        "hybrids rel. MAE",
        "chain rel. MAE",
        "ms/row (h / c)",
        "time c / h",
    ]
    say(table(headers, rows))
    OUT.mkdir(exist_ok=True)
    (OUT / "permutation_chains.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
