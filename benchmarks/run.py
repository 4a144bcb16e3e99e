"""``make bench``: ours vs shap, side by side, in one run on one machine.

    .venv/bin/python -m benchmarks.run            # the full run (first run computes and caches the reference)
    .venv/bin/python -m benchmarks.run --quick    # a smoke run: fewer rows, no sweep

Prints progress while it works, then the tables and a summary of ratios against the targets (reported,
never asserted), writes benchmarks/out/results.json and benchmarks/out/bench.png.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from . import common
from .common import OUT, log, say, section, table


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--ref-rows",
        type=int,
        default=12,
        help="test rows with a reference (each costs ~30 s of one core the first time; cached)",
    )
    p.add_argument(
        "--time-rows", type=int, default=16, help="test rows timed for the SVC probability methods"
    )
    p.add_argument("--workers", type=int, default=2, help="processes computing the reference")
    p.add_argument(
        "--kernel-alternatives",
        type=int,
        nargs="*",
        default=[256, 512],
        help="extra n_coalitions timed beside the default",
    )
    p.add_argument(
        "--no-sweep", dest="sweep", action="store_false", help="skip the n_coalitions x background sweep"
    )
    p.add_argument(
        "--equal-accuracy",
        type=lambda t: tuple(int(v) for v in t.split(",")),
        nargs="*",
        default=[(20, 256), (20, 512)],
        metavar="K,N",
        help="extra interleaved kernel lines: shap.kmeans(x_train, K) background, N coalitions",
    )
    p.add_argument("--sweep-backgrounds", type=int, nargs="*", default=[10, 20, 40])
    p.add_argument("--sweep-coalitions", type=int, nargs="*", default=[128, 256, 512, 768, 1200])
    p.add_argument("--sweep-coalitions-k10-extra", type=int, nargs="*", default=[64, 2108, 4096])
    p.add_argument(
        "--no-exact-check",
        dest="exact_check",
        action="store_false",
        help="skip the margin-space check against exact values",
    )
    p.add_argument("--exact-check-rows", type=int, default=8)
    p.add_argument("--exact-check-coalitions", type=int, nargs="*", default=[512, 1200, 2108, 4096])
    p.add_argument("--quick", action="store_true", help="smoke run: 4 reference rows, 4 timed rows, no sweep")
    p.add_argument(
        "--skip", nargs="*", default=[], choices=["svc", "tree", "linear"], help="sections to skip"
    )
    opts = p.parse_args(argv)
    if opts.quick:
        opts.ref_rows, opts.time_rows, opts.sweep, opts.exact_check_rows = 4, 4, False, 4
    return opts


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items() if not isinstance(v, np.ndarray) or v.size <= 64}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    return x


def _met(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "MISSED")


def summary(results: dict[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []
    if "svc" in results:
        svc = results["svc"]
        m = svc["methods"]
        base = m["baseline"]
        default_n = svc["kernel_fit_report"]["default_n_coalitions"]
        d = m[f"kernel_n{default_n}"]
        rows.append(
            [
                f"kernel (default {default_n} coal., 10 centroids) vs AzureML baseline: rows/s",
                f"single {d['single_rows_per_s'] / base['single_rows_per_s']:.2f}x, batch {d['batch_rows_per_s'] / base['batch_rows_per_s']:.2f}x",
                ">= 10x at equal or better accuracy",
                _met(d["single_rows_per_s"] / base["single_rows_per_s"] >= 10 and d["mae"] <= base["mae"]),
            ]
        )
        rows.append(
            [
                "  accuracy at that setting: MAE ours / baseline; top-5 rho ours vs baseline",
                f"{d['mae'] / base['mae']:.2f} ({d['mae']:.2e} vs {base['mae']:.2e}); rho {d['top5_spearman']:.3f} vs {base['top5_spearman']:.3f}",
                "<= 1",
                _met(d["mae"] <= base["mae"]),
            ]
        )
        for k, r in m.items():
            if (k.startswith("kernel_") and not k.startswith("kernel_machine")) and k not in (
                f"kernel_n{default_n}",
                "kernel_default_ownbg",
            ):
                rows.append(
                    [
                        r["label"].replace("ours ", "") + " vs baseline",
                        f"rows/s single {r['single_rows_per_s'] / base['single_rows_per_s']:.2f}x, batch {r['batch_rows_per_s'] / base['batch_rows_per_s']:.2f}x; MAE ratio {r['mae'] / base['mae']:.2f}",
                        ">= 10x at MAE ratio <= 1",
                        _met(
                            r["single_rows_per_s"] / base["single_rows_per_s"] >= 10
                            and r["mae"] <= base["mae"]
                        ),
                    ]
                )
        sweep = [s for s in svc.get("sweep", []) if s["mae"] <= base["mae"]]
        if sweep:
            best = min(sweep, key=lambda s: s["batch_ms_per_row"])
            ratio = base["batch_ms_per_row"] / best["batch_ms_per_row"]
            rows.append(
                [
                    "fastest swept setting with MAE <= baseline (batch)",
                    f"k={best['background_k']}, n={best['n_coalitions']}{', anchored' if best.get('anchored') else ''}: {ratio:.1f}x baseline rows/s, MAE {best['mae']:.2e}",
                    ">= 10x",
                    _met(ratio >= 10),
                ]
            )
        rows.append(
            [
                "kernel per-row time / floor (bare model evaluations)",
                f"single {d['single_over_floor']:.2f}, batch {d['batch_over_floor']:.2f} (floor {d['floor_ms']:.1f} ms via {d['runtime']})",
                "<= 1.5",
                _met(d["single_over_floor"] <= 1.5),
            ]
        )
        km = m["kernel_machine_bg10"]
        rows.append(
            [
                "kernel_machine (margin space!) 10 centroids vs baseline rows/s",
                f"single {km['single_rows_per_s'] / base['single_rows_per_s']:.0f}x, batch {km['batch_rows_per_s'] / base['batch_rows_per_s']:.0f}x",
                ">= 100x",
                _met(km["single_rows_per_s"] / base["single_rows_per_s"] >= 100),
            ]
        )
        km = m["kernel_machine_bg100"]
        rows.append(
            [
                "kernel_machine (margin space!) 100 rows vs baseline rows/s",
                f"single {km['single_rows_per_s'] / base['single_rows_per_s']:.0f}x, batch {km['batch_rows_per_s'] / base['batch_rows_per_s']:.0f}x",
                "(info)",
                "-",
            ]
        )
    for sec, name in (("tree", "tree vs shap.TreeExplainer"), ("linear", "linear vs shap.LinearExplainer")):
        if sec in results:
            t = results[sec]
            r1 = t["ours"]["single_ms_median"] / t["shap"]["single_ms_median"]
            r2 = t["ours"]["batch_ms_per_row"] / t["shap"]["batch_ms_per_row"]
            rows.append(
                [
                    f"{name}: per-row time ours / shap",
                    f"single {r1:.2f}, batch {r2:.2f}",
                    "<= 1",
                    _met(r1 <= 1 and r2 <= 1),
                ]
            )
            rows.append(
                [
                    f"{name}: max |ours - shap|",
                    f"{t['max_abs_diff']:.1e} (additivity: ours {t['ours']['additivity_max_abs_error']:.0e}, shap {t['shap']['additivity_max_abs_error']:.0e})",
                    "exact (<= 1e-6)",
                    _met(t["max_abs_diff"] <= 1e-6),
                ]
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    opts = _parse(argv)
    t0 = time.perf_counter()
    section("shapserve benchmarks: ours vs shap on this machine (targets are reported, never asserted)")
    info = common.machine()
    common.print_machine(info)
    results: dict[str, Any] = {"machine": info, "options": vars(opts)}
    if "svc" not in opts.skip:
        from . import svc

        results["svc"] = svc.run(opts)
    from . import exact

    if "tree" not in opts.skip:
        results["tree"] = exact.run_tree(opts)
    if "linear" not in opts.skip:
        results["linear"] = exact.run_linear(opts)

    section("Summary: ratios against the targets")
    rows = summary(results)
    say(table(["comparison", "measured", "target", "status"], rows))
    results["summary"] = rows
    OUT.mkdir(parents=True, exist_ok=True)
    if "svc" in results:
        from .plot import plot

        png = plot(results, OUT / "bench.png")
        say(f"plot: {png.relative_to(OUT.parent.parent)}")
    results["wall_seconds"] = time.perf_counter() - t0
    text = json.dumps(_jsonable(results), indent=1, default=str)
    stamped = OUT / time.strftime("results-%Y%m%d-%H%M%S.json")
    stamped.write_text(text)  # every run keeps its own copy; results.json is the latest
    (OUT / "results.json").write_text(text)
    say(f"results: {(OUT / 'results.json').relative_to(OUT.parent.parent)} (and {stamped.name})")
    log(f"done in {results['wall_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
