"""The ``permutation`` scorer's orders side by side, at the same model evaluations per row (issue 24).

``.venv/bin/python -m benchmarks.permutation_orders [--only NAME,...] [--seeds N]`` packages each model
with ``scorer="permutation"`` (every training row its background at these sizes, one antithetic pair
per row; the 11-feature MLP a uniform 352 of its 400 rows) and refits the scorer on the same context
with ``orders="antithetic"`` (the served default: independent random orders) and ``orders="latin"``
(cyclic Latin-square positions across background rows, ``scorers.permutations.latin_orders``), one seed
after the other, alternating.  Both draw their orders at fit, so a row costs the same either way.

The truth is brute force against every training row on the unseen rows: the four black boxes of
``benchmarks/blackbox.py`` (cached there) and the 11-feature MLP of ``benchmarks/fidelity.py``.  Prints
each order's rel. MAE, averaged over seeds with its standard error, and its median ms per row.

It also checks the additive surrogate control variate: a linear fit g of the model's output on the
background rows, the residual game f - g estimated with the same permutations, plus g's exact values,
gives the same per-permutation contributions as f itself (printed: the largest difference), because an
additive game's marginal contribution along any permutation is already its Shapley value.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

import scorers
from scorers.kinds.permutation import PermutationScorer
from scorers.permutations import ORDERS, contributions

from . import blackbox, fidelity
from .common import OUT, log, say, section, table

HEADERS = [
    "model",
    "background",
    "antithetic rel. MAE",
    "latin rel. MAE",
    "latin / antithetic",
    "ms/row (a / l)",
    "additive CV diff",
]
Truth = Callable[[], np.ndarray]  # the unseen rows' brute-force values (rows, K, M)


def cases(only: list[str]) -> Iterator[tuple[str, scorers.ScoringExplainer, pd.DataFrame, Truth]]:
    """(name, explainer packaged with scorer="permutation", unseen rows, their brute-force truth)."""
    for name, model, x, kw in blackbox.models():
        if only and name not in only:
            continue
        train, held = x[: blackbox.N_TRAIN], x[blackbox.N_TRAIN :]
        frame = pd.DataFrame(train, columns=[f"f{i}" for i in range(x.shape[1])])
        e = scorers.fit(model, frame, eval_size=20, scorer="permutation", **kw)
        f = blackbox.output_fn(model, e.output_space)
        yield (
            name,
            e,
            pd.DataFrame(held, columns=frame.columns),
            functools.partial(blackbox._truth, name, f, train, held),
        )
    for name, model, x, as_array, _ in fidelity.models():
        if name != "11-feature MLP (kernel)" or (only and "11-feature MLP" not in only):
            continue
        train = x.iloc[: fidelity.N_TRAIN].reset_index(drop=True)
        held = x.iloc[fidelity.N_TRAIN :].reset_index(drop=True)
        e = scorers.fit(model, train, eval_size=20, scorer="permutation", output_space="probability")
        yield (
            "11-feature MLP",
            e,
            held,
            functools.partial(_oracle, e, model, train, held, as_array),
        )


def _oracle(
    e: scorers.ScoringExplainer, model: Any, train: pd.DataFrame, held: pd.DataFrame, as_array: bool
) -> np.ndarray:
    f = fidelity.frame_model(model, e.output_space, as_array=as_array)
    ones = np.ones(len(train))
    return np.concatenate(
        [fidelity.shapley_oracle(f, train, ones, held.iloc[i : i + 1])[0] for i in range(len(held))]
    )


def additive_control_variate_gap(scorer: PermutationScorer, x: np.ndarray) -> float:
    """The largest difference between f's permutation contributions on row ``x`` (1, d) and those of the
    residual f - g plus g's exact values, g a least-squares linear fit to the background rows' outputs."""
    ctx = scorer._check_fitted()
    bg = ctx.game.background
    coef = np.linalg.lstsq(np.hstack([bg, np.ones((len(bg), 1))]), scorer.at_rows_, rcond=None)[0]

    def g(a: np.ndarray) -> np.ndarray:
        return np.asarray(a @ coef[:-1] + coef[-1])

    assert scorer.cols_ is not None
    r, p, steps, d = scorer.cols_.shape
    hybrids = np.where(scorer.cols_, x[0][None, None, None, :], bg[:, None, None, :]).reshape(-1, d)
    chain = ctx.game.fn(hybrids).reshape(r, p, steps, -1)
    fx = ctx.game.fn(x)[0]
    plain = contributions(scorer.ranks_, chain, scorer.at_rows_, fx)
    residual = contributions(
        scorer.ranks_, chain - g(hybrids).reshape(chain.shape), scorer.at_rows_ - g(bg), fx - g(x)[0]
    )
    exact_g = np.einsum("kd,bd->bkd", coef[:-1].T, x - bg)[:, None]
    return float(np.abs(residual + exact_g - plain).max())


def mean_and_se(errors: list[float]) -> dict[str, float]:
    """{"rel_mae": the mean over seeds, "se": its standard error (0 with one seed)}."""
    n = len(errors)
    se = float(np.std(errors, ddof=1) / np.sqrt(n)) if n > 1 else 0.0
    return {"rel_mae": float(np.mean(errors)), "se": se}


def each_case(only: list[str], measure: Callable[..., dict[str, Any] | None]) -> list[dict[str, Any]]:
    """``measure(name, explainer, unseen rows, truth)`` on every case, warnings off; its non-None entries."""
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, e, held, truth in cases(only):
            log(f"{name}: truth")
            entry = measure(name, e, held, truth())
            if entry is not None:
                results.append(entry)
    return results


def compare(
    name: str, e: scorers.ScoringExplainer, held: pd.DataFrame, truth: np.ndarray, seeds: int
) -> dict[str, Any]:
    ctx = e.scorer._check_fitted()
    x = e.masking.encode(held)
    errors: dict[str, list[float]] = {o: [] for o in ORDERS}
    ms: dict[str, list[float]] = {o: [] for o in ORDERS}
    for seed in range(seeds):
        for orders in ORDERS:
            sc = PermutationScorer(seed=100 + seed, orders=orders).fit(ctx)
            sc.shap_values(x[:1])  # warm-up
            t0 = time.perf_counter()
            est = np.concatenate([sc.shap_values(x[i : i + 1])[0] for i in range(len(x))])
            ms[orders].append(1000 * (time.perf_counter() - t0) / len(x))
            errors[orders].append(blackbox.rel_mae(est.reshape(truth.shape), truth))
    gap = additive_control_variate_gap(e.scorer, x[:1])  # type: ignore[arg-type]
    entry = {
        "model": name,
        "background_rows": len(ctx.game.weights),
        "pairs": e.scorer.params["pairs"],
        "seeds": seeds,
        "additive_cv_max_difference": gap,
        "orders": {
            o: {
                **mean_and_se(errors[o]),
                "ms_per_row": float(np.median(ms[o])),
            }
            for o in ORDERS
        },
    }
    log(f"{name}: {json.dumps(entry['orders'])}; additive control variate changes <= {gap:.1e}")
    return entry


def case_parser(doc: str, seeds: int, seeds_help: str) -> argparse.ArgumentParser:
    """The command line of a benchmark over ``cases``: ``--only NAME,...`` (a list) and ``--seeds N``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument(
        "--only",
        type=lambda text: [part for part in text.split(",") if part],
        default=[],
        help="comma-separated model names (default: all five)",
    )
    parser.add_argument("--seeds", type=int, default=seeds, help=seeds_help)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = case_parser(__doc__, 16, "orders drawn per model and kind").parse_args(argv)
    only = args.only
    section("permutation scorer: antithetic vs Latin-square orders at equal evaluations (unseen rows)")
    results = each_case(only, lambda name, e, held, truth: compare(name, e, held, truth, args.seeds))
    rows = []
    for r in results:
        a, lat = r["orders"]["antithetic"], r["orders"]["latin"]
        rows.append(
            [
                r["model"],
                f"{r['background_rows']} x {r['pairs']} pair",
                f"{a['rel_mae']:.4f} +- {a['se']:.4f}",
                f"{lat['rel_mae']:.4f} +- {lat['se']:.4f}",
                f"{lat['rel_mae'] / a['rel_mae']:.2f}",
                f"{a['ms_per_row']:.1f} / {lat['ms_per_row']:.1f}",
                f"{r['additive_cv_max_difference']:.0e}",
            ]
        )
    return publish(HEADERS, rows, results, "permutation_orders")


def publish(headers: list[str], rows: list[list[Any]], results: list[dict[str, Any]], stem: str) -> int:
    """Print the table and write the entries to benchmarks/out/<stem>.json; the exit status."""
    say(table(headers, rows))
    OUT.mkdir(exist_ok=True)
    (OUT / f"{stem}.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
