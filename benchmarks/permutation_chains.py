"""Cheaper model evaluations for the ``permutation`` scorer? Chain paths against hybrid rows (issue 24).

``.venv/bin/python -m benchmarks.permutation_chains [--only NAME,...] [--seeds N] [--pairs 1,2,4]``
packages each model like ``benchmarks/permutation_orders.py`` (``scorer="permutation"``; the four black
boxes of ``benchmarks/blackbox.py`` and the 11-feature MLP of ``benchmarks/fidelity.py``) and refits the
scorer on the same context, seed after seed, the variants alternating:

- ``hybrids xN``: the served scorer at N antithetic pairs per background row (the budget's default is
  one), its prefix values by the coalition runtime (an ONNX export here) on hybrid rows;
- ``chain xN``: the same scorer with its prefix values from the family's chain path
  (``benchmarks/chain_paths.py``: an MLP's first-layer pre-activations, a KNN's per-feature distance
  terms, summed along each order), at N pairs per background row (the same orders as ``hybrids xN``).

Each path is first checked against the hybrids on one row (same orders: the largest difference is
printed, and must be under 1e-9).  Prints each variant's rel. MAE against the brute-force values on the
unseen rows (mean over seeds, with its standard error) and its median per-row time one row at a time,
as process CPU time (every thread of this process: the work, less sensitive to the machine's other
load) and as wall time.  The question is how many pairs fit in the served per-row time (``hybrids x1``).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import numpy as np

import scorers
from scorers.allocator import keep_freed_memory
from scorers.kinds.permutation import PermutationScorer

from . import blackbox
from .chain_paths import chain_path, owner_matrix
from .common import log, section
from .permutation_orders import case_parser, each_case, mean_and_se, publish


class ChainScorer(PermutationScorer):
    """The ``permutation`` scorer with its prefix values from a chain path (this benchmark only)."""

    path: Any = None

    def _chain_values(self, x: np.ndarray) -> np.ndarray:
        ctx = self._check_fitted()
        owner = owner_matrix(ctx.masking.column_group, ctx.masking.n_players)
        bg = np.asarray(ctx.game.background, dtype=np.float64)
        return np.asarray(
            self.path.chain(np.asarray(x[0], dtype=np.float64), bg, self.orders_, owner, ctx.game.fn)
        )


def _scorer(path: Any, pairs: int, seed: int) -> PermutationScorer:
    if path is None:
        return PermutationScorer(pairs=pairs, seed=seed)
    sc = ChainScorer(pairs=pairs, seed=seed)
    sc.path = path
    return sc


def _timed(sc: PermutationScorer, x: np.ndarray) -> tuple[np.ndarray, float, float]:
    sc.shap_values(x[:1])  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    est = np.concatenate([sc.shap_values(x[i : i + 1])[0] for i in range(len(x))])
    return est, 1000 * (time.process_time() - cpu) / len(x), 1000 * (time.perf_counter() - wall) / len(x)


def compare(
    name: str, e: scorers.ScoringExplainer, x: np.ndarray, truth: np.ndarray, seeds: int, pairs: list[int]
) -> dict[str, Any] | None:
    ctx = e.scorer._check_fitted()
    path = chain_path(ctx.head, ctx.space, ctx.mode)
    if path is None:
        log(f"{name}: no chain path for {type(ctx.head).__name__}")
        return None
    want = PermutationScorer(pairs=1).fit(ctx)
    got = _scorer(path, 1, 0).fit(ctx)
    parity = float(np.abs(got._chain_values(x[:1]) - want._chain_values(x[:1])).max())
    assert parity <= 1e-9, parity
    variants = {
        f"{label} x{p}": (way, p) for p in pairs for label, way in (("hybrids", None), ("chain", path))
    }
    runs: dict[str, dict[str, list[float]]] = {v: {"err": [], "cpu": [], "wall": []} for v in variants}
    for seed in range(seeds):
        for label, (way, n) in variants.items():
            est, cpu, wall = _timed(_scorer(way, n, 100 + seed).fit(ctx), x)
            runs[label]["err"].append(blackbox.rel_mae(est.reshape(truth.shape), truth))
            runs[label]["cpu"].append(cpu)
            runs[label]["wall"].append(wall)
    entry = {
        "model": name,
        "background_rows": len(ctx.game.weights),
        "path": path.name,
        "parity": parity,
        "seeds": seeds,
        "variants": {
            v: {
                **mean_and_se(r["err"]),
                "cpu_ms_per_row": float(np.median(r["cpu"])),
                "wall_ms_per_row": float(np.median(r["wall"])),
            }
            for v, r in runs.items()
        },
    }
    log(f"{name}: parity {parity:.1e}; {json.dumps(entry['variants'])}")
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = case_parser(__doc__, 4, "permutation draws per model and variant")
    parser.add_argument("--pairs", default="1,2,4", help="pairs per background row of both variants")
    args = parser.parse_args(argv)
    only = args.only
    pairs = [int(p) for p in args.pairs.split(",") if p]
    keep_freed_memory()  # as a serving worker (scorers.allocator)
    section("permutation scorer: chain paths vs hybrid rows, error and per-row time (unseen rows)")
    results = each_case(
        only, lambda name, e, held, truth: compare(name, e, e.masking.encode(held), truth, args.seeds, pairs)
    )
    rows = []
    for r in results:
        base = r["variants"][f"hybrids x{pairs[0]}"]
        for label, v in r["variants"].items():
            rows.append(
                [
                    r["model"] if v is base else "",
                    label,
                    f"{v['rel_mae']:.4f} +- {v['se']:.4f}",
                    f"{v['cpu_ms_per_row']:.1f}",
                    f"{v['cpu_ms_per_row'] / base['cpu_ms_per_row']:.2f}",
                    f"{v['wall_ms_per_row']:.1f}",
                ]
            )
    first = f"CPU / hybrids x{pairs[0]}"
    headers = ["model", "variant (pairs per row)", "rel. MAE", "CPU ms/row", first, "wall ms/row"]
    return publish(headers, rows, results, "permutation_chains")


if __name__ == "__main__":
    sys.exit(main())
