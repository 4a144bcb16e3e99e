"""The KNN chain path (``scorers.chains.knn``) against today's hybrid rows: per-row CPU time and error
(issue 24).

``.venv/bin/python -m benchmarks.knn_chain [--seeds N] [--pairs 1,2,4,5,6,7,8] [--rounds R]`` packages the
KNN regressor of benchmarks/blackbox.py (k = 10, brute, 12 features, 300 rows) as
benchmarks/blackbox_time.py does (``scorer="permutation"``, all 300 training rows its background) and
refits the scorer on that context:

- ``hybrids x1``: the served scorer, one antithetic pair per background row, its prefix values by the
  packaged model function on the hybrid rows (the coalition runtime);
- ``chain xN``: the same scorer at N pairs per background row, its prefix values from ``KnnChain`` and
  each row's estimates by ``scorers.chains.estimates``, as the scorer serves a chain path.

First the chain is checked against the hybrids on one row (same orders, largest difference printed;
at most 1e-10).  Time: ``scorer.shap_values`` one unseen row at a time, as CPU time of this one thread
(``time.thread_time``; every thread pool is limited to one thread), the variants alternating within
each round; the median over rounds of the per-row mean.  Error: rel. MAE against the brute-force
values on the 6 unseen rows (benchmarks/blackbox.py's truth and cache), the mean over seeds with its
standard error.  Also printed: the op-count ``speedup`` of the path (the chain pairs that cost one pair
of hybrid rows) next to the same measured, ``(hybrids x1 - the chain's fixed time) / its time per pair``
(the intercept and slope of the chain's time over pairs, a straight-line fit), and the measured
per-prefix ratio (hybrids x1 per prefix / the chain's time per added prefix).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

import scorers
from scorers.chains.knn import KnnChain
from scorers.kinds.permutation import PermutationScorer
from scorers.threads import limit_threads

from . import blackbox
from .common import OUT, load_average, log, section
from .permutation_orders import mean_and_se, publish

NAME = "KNN regressor"


class ChainScorer(PermutationScorer):
    """The ``permutation`` scorer served with the KNN chain path, as it serves a path that
    ``scorers.chains.PATHS`` lists (its prefix values from the path, each row's estimates by the numba
    pass); this benchmark only, the KNN's path not being listed there yet."""

    path: Any = None

    def _restore(self, ctx: Any) -> None:
        super()._restore(ctx)
        self.path_, self.cols_ = self.path, None
        self.background_ = np.ascontiguousarray(ctx.game.background, dtype=np.float64)


def _scorer(path: KnnChain | None, pairs: int, seed: int, ctx: Any) -> PermutationScorer:
    if path is None:
        return PermutationScorer(pairs=pairs, seed=seed).fit(ctx)
    sc = ChainScorer(pairs=pairs, seed=seed)
    sc.path = path
    return sc.fit(ctx)


def _cpu_ms_per_row(sc: PermutationScorer, x: np.ndarray) -> tuple[np.ndarray, float]:
    t = time.thread_time()
    est = np.concatenate([sc.shap_values(x[i : i + 1])[0] for i in range(len(x))])
    return est, 1000 * (time.thread_time() - t) / len(x)


def packaged() -> tuple[scorers.ScoringExplainer, np.ndarray, np.ndarray]:
    """The KNN packaged as benchmarks/blackbox_time.py does, its encoded unseen rows and their truth."""
    for name, model, x, kw in blackbox.models():
        if name != NAME:
            continue
        train, held = x[: blackbox.N_TRAIN], x[blackbox.N_TRAIN :]
        frame = pd.DataFrame(train, columns=[f"f{i}" for i in range(x.shape[1])])
        e = scorers.fit(
            model,
            frame,
            eval_size=5,
            scorer="permutation",
            calibrate=False,
            background_size=blackbox.N_TRAIN,
            summary="sample",
            **kw,
        )
        truth = blackbox._truth(name, blackbox.output_fn(model, e.output_space), train, held)
        return e, e.masking.encode(pd.DataFrame(held, columns=frame.columns)), truth
    raise LookupError(NAME)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=4, help="permutation draws per variant")
    parser.add_argument("--pairs", default="1,2,4,5,6,7,8", help="pairs per background row of the chain")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (variants alternating)")
    args = parser.parse_args(argv)
    pairs = [int(p) for p in args.pairs.split(",") if p]
    limit_threads(1)
    section("KNN chain path vs hybrid rows: CPU ms per row (one thread) and error on unseen rows")
    log(f"load average {load_average()}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e, x, truth = packaged()
    ctx = e.scorer._check_fitted()
    path = KnnChain.build(ctx.head, ctx.space, ctx.masking.column_group, ctx.masking.n_players)
    assert path is not None, type(ctx.head)
    t = time.perf_counter()
    path.warm_up()
    log(f"warm-up (numba compilation) {time.perf_counter() - t:.1f} s")
    want = _scorer(None, 1, 0, ctx)
    parity = float(np.abs(_scorer(path, 1, 0, ctx)._chain_values(x[:1]) - want._chain_values(x[:1])).max())
    log(f"parity with the hybrids on one row: {parity:.1e}")
    assert parity <= 1e-10, parity
    variants: dict[str, tuple[KnnChain | None, int]] = {"hybrids x1": (None, 1)}
    variants.update({f"chain x{p}": (path, p) for p in pairs})
    err: dict[str, list[float]] = {v: [] for v in variants}
    cpu: dict[str, list[float]] = {v: [] for v in variants}
    for seed in range(args.seeds):
        fitted = {v: _scorer(way, n, 100 + seed, ctx) for v, (way, n) in variants.items()}
        for sc in fitted.values():
            sc.shap_values(x[:1])  # warm-up
        for rnd in range(args.rounds if seed == 0 else 1):
            names = list(fitted)[rnd % len(fitted) :] + list(fitted)[: rnd % len(fitted)]  # rotate the order
            for v in names:
                est, ms = _cpu_ms_per_row(fitted[v], x)
                cpu[v].append(ms)
                if rnd == 0:
                    err[v].append(blackbox.rel_mae(est.reshape(truth.shape), truth))
        log(f"seed {seed}: " + ", ".join(f"{v} {err[v][-1]:.4f} {cpu[v][-1]:.1f} ms" for v in variants))
    base = float(np.median(cpu["hybrids x1"]))
    prefixes = len(ctx.game.weights) * 2 * (ctx.masking.n_players - 1)  # per row and pair
    chain_ms = {p: float(np.median(cpu[f"chain x{p}"])) for p in pairs}
    slope, fixed = (
        [float(c) for c in np.polyfit(pairs, [chain_ms[p] for p in pairs], 1)]
        if len(pairs) > 1
        else (chain_ms[pairs[0]], 0.0)
    )
    measured = (base - fixed) / slope  # the chain pairs that cost one pair of hybrid rows
    fits = [p for p in pairs if chain_ms[p] <= base]
    entry = {
        "model": NAME,
        "load_average_end": load_average(),
        "parity": parity,
        "background_rows": len(ctx.game.weights),
        "prefixes_per_pair": prefixes,
        "speedup_op_count": path.speedup,
        "speedup_measured": measured,
        "per_prefix_ratio": base / slope,
        "chain_fixed_ms_per_row": fixed,
        "chain_us_per_prefix": 1000 * slope / prefixes,
        "hybrid_us_per_prefix": 1000 * base / prefixes,
        "pairs_within_today": max(fits, default=0),
        "variants": {
            v: {**mean_and_se(err[v]), "cpu_ms_per_row": float(np.median(cpu[v]))} for v in variants
        },
    }
    log(
        f"speedup (chain pairs per pair of hybrid rows): op count {path.speedup:.2f}, measured {measured:.2f} "
        f"(fixed {fixed:.2f} ms per row, {slope:.2f} ms per pair); per prefix {base / slope:.2f} "
        f"({entry['hybrid_us_per_prefix']:.2f} against {entry['chain_us_per_prefix']:.2f} us); "
        f"pairs within today's per-row time: {entry['pairs_within_today']}; load {load_average()}"
    )
    rows = [
        [
            v,
            f"{r['rel_mae']:.4f} +- {r['se']:.4f}",
            f"{r['cpu_ms_per_row']:.1f}",
            f"{r['cpu_ms_per_row'] / base:.2f}",
        ]
        for v, r in entry["variants"].items()
    ]
    OUT.mkdir(exist_ok=True)
    return publish(
        ["variant (pairs per row)", "rel. MAE", "CPU ms/row", "CPU / hybrids x1"], rows, [entry], "knn_chain"
    )


if __name__ == "__main__":
    sys.exit(main())
