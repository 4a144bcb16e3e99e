"""Section 1: the seed's model, SVC(gamma=0.001, C=100, probability=True) on breast cancer (M = 30).

Baseline (what the AzureML scoring explainer runs): ``shap.KernelExplainer(model.predict_proba,
shap.kmeans(x_train, 10))`` with ``nsamples = 2 M + 2048``.  Ours: the ``kernel`` scorer in probability
space on the SAME 10 weighted centroids (shap.kmeans' data and weights are put into our engine's game,
see :func:`on_background`), and the ``kernel_machine`` scorer (margin space) for speed.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
import warnings
from typing import Any

import numpy as np

from .common import (
    best_time,
    fmt,
    load_average,
    log,
    mae,
    say,
    section,
    table,
    time_interleaved,
    top5_spearman,
)
from .reference import RefSpec, reference_values
from .svc_replica import SVCProbaReplica

NSAMPLES_REF = 20000


# --------------------------------------------------------------------------------------------------
# engine helpers (read-only use of the engine's objects; nothing in scorers/ is changed)
# --------------------------------------------------------------------------------------------------
def on_background(
    explainer: Any, data: np.ndarray, weights: np.ndarray, fn: Any = None, **scorer_params: Any
) -> Any:
    """A copy of a fitted explainer whose scorer is refitted on another weighted background.

    The game is rebuilt as ``fit`` builds it (``Game(masking, fn, background, weights)``) with the same
    model function, so the only change is the background rows and their weights.  ``fn`` replaces the
    model function too: used only for the clearly labelled what-if line, never for a result of the engine.
    """
    from scorers.kinds import REGISTRY
    from scorers.masking import Game

    ctx = explainer.scorer.ctx_
    game = Game(
        ctx.masking,
        fn or ctx.game.fn,
        np.asarray(data, dtype=np.float64),
        np.asarray(weights, dtype=np.float64),
    )
    if explainer.scorer.name == "kernel":  # keep the fitted scorer's anchor unless told otherwise
        scorer_params = {"anchor": explainer.scorer.params.get("anchor"), **scorer_params}
    scorer = REGISTRY[explainer.scorer.name](**scorer_params).fit(dataclasses.replace(ctx, game=game))
    out = copy.copy(explainer)
    out.scorer = scorer
    return out


def design_mix(explainer: Any) -> tuple[int, int]:
    """(coalitions in fully enumerated sizes, sampled coalitions) of a kernel scorer's fixed design."""
    from math import comb

    masks = np.asarray(explainer.scorer.masks_, dtype=bool)
    m = masks.shape[1]
    sizes, counts = np.unique(masks.sum(axis=1), return_counts=True)
    enumerated = int(sum(c for s, c in zip(sizes, counts, strict=True) if c == comb(m, int(s))))
    return enumerated, len(masks) - enumerated


def hybrids_of_one_row(explainer: Any, frame_row: Any) -> np.ndarray:
    """The (n_coalitions x background rows, d) hybrid rows the kernel scorer evaluates for one row."""
    game = explainer.scorer.ctx_.game
    x = explainer.masking.encode(frame_row)
    cols = explainer.scorer.masks_[:, explainer.masking.column_group]
    hyb = np.where(cols[:, None, :], x[0][None, None, :], game.background[None, :, :])
    return hyb.reshape(-1, x.shape[1])


def breakdown(explainer: Any, frame_row: Any, repeat: int = 5) -> dict[str, float]:
    """Where the single-row time of the kernel scorer goes: the steps of explain(), re-run one by one.

    Mirrors scorers.kinds.design.DesignScorer.shap_values and Game.values for one row (one model call).
    """
    sc = explainer.scorer
    game = sc.ctx_.game
    masking = explainer.masking
    parts: dict[str, float] = {}
    parts["validate + encode"] = best_time(lambda: masking.encode(explainer.validate(frame_row)), repeat)
    x = masking.encode(frame_row)
    parts["f(x) (1 row)"] = best_time(lambda: game.outputs(x), repeat)
    cols = sc.masks_[:, masking.column_group]
    nb, d = game.background.shape

    def build() -> np.ndarray:
        return np.where(
            cols[None, :, None, :], x[:, None, None, :], game.background[None, None, :, :]
        ).reshape(-1, d)

    parts["build hybrids"] = best_time(build, repeat)
    hyb = build()
    parts["model on hybrids (floor)"] = best_time(lambda: game.fn(hyb), repeat)
    f = game.fn(hyb)
    k = f.shape[1]
    parts["weighted mean over background"] = best_time(
        lambda: np.einsum("rcbk,b->rck", f.reshape(1, len(cols), nb, k), game.weights), repeat
    )
    v = np.einsum("rcbk,b->rck", f.reshape(1, len(cols), nb, k), game.weights)
    parts["projection (WLS map)"] = best_time(
        lambda: np.einsum("mc,nck->nkm", sc.projection_, v - game.base), repeat
    )
    parts["whole explain() call"] = best_time(lambda: explainer.explain(frame_row), repeat)
    return parts


def shap_kernel_values(
    explainer: Any, rows: np.ndarray, nsamples: int, l1_reg: Any, seed: int = 0
) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        np.random.seed(seed)
        return np.asarray(explainer.shap_values(rows, nsamples=nsamples, l1_reg=l1_reg, silent=True))


# --------------------------------------------------------------------------------------------------
# the section
# --------------------------------------------------------------------------------------------------
def run(opts: Any) -> dict[str, Any]:
    import shap

    import scorers
    from scorers.examples import breast_cancer_svc

    logging.getLogger("shap").setLevel(logging.ERROR)
    section("1. The seed's model: SVC(gamma=0.001, C=100, probability=True), breast cancer, M = 30")
    res: dict[str, Any] = {}

    # SVC(probability=True) calibrates its sigmoid with an internal 5-fold CV drawn from numpy's global
    # generator (the example sets no random_state): seed it, so that the model (and the cache) is stable.
    np.random.seed(0)
    model, x_train, x_test, _, _ = breast_cancer_svc()
    xtr, xte = x_train.to_numpy(dtype=np.float64), x_test.to_numpy(dtype=np.float64)
    m = xtr.shape[1]
    pos = list(model.classes_).index("malignant")
    n_ref = min(opts.ref_rows, len(xte))
    n_time = min(max(opts.time_rows, n_ref), len(xte))
    say(
        f"model: {type(model).__name__}(gamma={model.gamma}, C={model.C}, probability=True), {len(model.support_)} support vectors; "
        f"train {xtr.shape}, test {xte.shape}; positive class '{model.classes_[pos]}' (column {pos})"
    )
    say(
        f"rows: accuracy on the first {n_ref} test rows (reference rows), timing on the first {n_time} test rows"
    )
    res.update({"n_ref_rows": n_ref, "n_time_rows": n_time, "n_support": int(len(model.support_)), "M": m})

    # ---- the fast, equivalent predict_proba used only inside the reference -----------------------
    rng = np.random.default_rng(0)
    n_probe = 2 * (2 * m + 2048) * 10  # covers the baseline's 21080 hybrids per row
    probe = np.where(
        rng.random((n_probe, m)) < 0.5,
        xtr[rng.integers(0, len(xtr), n_probe)],
        xte[rng.integers(0, len(xte), n_probe)],
    )
    replica = SVCProbaReplica(model)
    t_rep = best_time(lambda: replica.predict_proba(probe), 2)
    t_skl = best_time(lambda: model.predict_proba(probe), 2)
    rep_diff = replica.check(model, probe)
    use_replica = rep_diff <= 1e-9
    say(
        f"reference model function: GEMM replica of predict_proba, max |diff| to model.predict_proba on {len(probe)} hybrids = {rep_diff:.2e} "
        f"({'used' if use_replica else 'NOT used: above 1e-9, the model itself is used'}); "
        f"{1e6 * t_rep / len(probe):.2f} us/row vs sklearn {1e6 * t_skl / len(probe):.2f} us/row"
    )
    res["reference_fn"] = {
        "replica_max_abs_diff": rep_diff,
        "used": use_replica,
        "replica_us_per_row": 1e6 * t_rep / len(probe),
        "sklearn_us_per_row": 1e6 * t_skl / len(probe),
    }

    # ---- backgrounds -------------------------------------------------------------------------------
    t0 = time.perf_counter()
    km10 = shap.kmeans(xtr, 10)
    res["shap_kmeans10_seconds"] = time.perf_counter() - t0
    km10_w = np.asarray(km10.weights, dtype=np.float64)
    say(
        "background: shap.kmeans(x_train, 10) = sklearn KMeans(10, n_init=10, random_state=0) on raw columns, each centroid "
        "coordinate rounded to the nearest observed value, weights = cluster sizes "
        f"({np.sort(np.round(km10_w / km10_w.sum() * len(xtr)).astype(int))[::-1].tolist()} of {len(xtr)} rows). "
        "Baseline and ours use exactly these 10 rows and weights."
    )

    # ---- references (expensive, cached) ---------------------------------------------------------------
    ref_rows = xte[:n_ref]
    log(
        f"reference: shap.KernelExplainer(predict_proba, all {len(xtr)} training rows), nsamples={NSAMPLES_REF}, l1_reg=False"
    )
    ref_full, info_full = reference_values(
        RefSpec("full455", xtr, None, NSAMPLES_REF),
        model,
        ref_rows,
        use_replica=use_replica,
        workers=opts.workers,
        label="reference (full background)",
    )
    res["reference_full"] = info_full
    ref_full = ref_full[:, :, pos]  # (n, M)
    log(
        "reference on the 10-centroid background (twice, two seeds): splits error into background summary vs sampling"
    )
    refs10 = []
    for salt in ("A", "B"):
        vals, info = reference_values(
            RefSpec("kmeans10", np.asarray(km10.data), km10_w, NSAMPLES_REF, seed_salt=salt),
            model,
            ref_rows,
            use_replica=use_replica,
            workers=opts.workers,
            label=f"reference (10 centroids, seed {salt})",
        )
        refs10.append(vals[:, :, pos])
        res[f"reference_kmeans10_{salt}"] = info
    ref10 = refs10[0]
    scale = float(np.mean(np.abs(ref_full)))
    res["reference_mean_abs_phi"] = scale
    res["reference_noise_mae"] = mae(refs10[0], refs10[1]) / np.sqrt(2)
    res["background_summary_mae"] = mae(ref10, ref_full)
    say(
        f"reference scale: mean |phi| = {scale:.4g}; noise of a 20000-sample estimate ~ MAE(seed A, seed B)/sqrt2 = {res['reference_noise_mae']:.2e}; "
        f"cost of summarising 455 rows to 10 centroids: MAE(10-centroid ref, full ref) = {res['background_summary_mae']:.3e}"
    )

    def accuracy(values_pos: np.ndarray) -> dict[str, Any]:
        v = values_pos[:n_ref]
        rho, undefined = top5_spearman(v, ref_full)
        return {
            "mae": mae(v, ref_full),
            "mae_vs_ref10": mae(v, ref10),
            "top5_spearman": rho,
            "spearman_undefined_rows": undefined,
        }

    frames = [x_test.iloc[i : i + 1] for i in range(n_time)]
    batch_frame = x_test.iloc[:n_time]
    methods: dict[str, dict[str, Any]] = {}
    nsamples = 2 * m + 2048

    # ---- the explainers ------------------------------------------------------------------------------
    base_expl = shap.KernelExplainer(model.predict_proba, km10)
    log(
        "ours: scorers.fit(model, x_train, scorer='kernel', output_space='probability', background_size=10, summary='kmeans')"
    )
    t0 = time.perf_counter()
    ours = scorers.fit(
        model,
        x_train,
        scorer="kernel",
        output_space="probability",
        background_size=10,
        summary="kmeans",
        eval_size=20,
        progress=lambda s: log("  fit: " + s),
    )
    res["kernel_fit_seconds"] = time.perf_counter() - t0
    rep = ours.manifest.model
    default_n = int(ours.scorer.n_coalitions)
    res["kernel_fit_report"] = {
        "coalition_runtime": rep.coalition_runtime,
        "onnx": rep.onnx_export,
        "background": ours.manifest.background.model_dump(),
        "default_n_coalitions": default_n,
    }
    say(
        f"ours: coalition runtime = {rep.coalition_runtime} (ONNX export: {rep.onnx_export}); default n_coalitions = {default_n}; "
        f"fit {res['kernel_fit_seconds']:.1f} s"
    )
    configs: list[tuple[str, str, Any, int]] = [
        (
            "kernel_default_ownbg",
            f"ours kernel, n_coalitions={default_n} (default), engine's own k-means background",
            ours,
            default_n,
        )
    ]
    for n in dict.fromkeys([default_n, *opts.kernel_alternatives]):
        label = f"ours kernel, n_coalitions={n}" + (" (default)" if n == default_n else "")
        configs.append(
            (
                f"kernel_n{n}",
                label,
                # the default row passes the engine's own parameter (None), so its design is the default's exactly
                on_background(
                    ours, np.asarray(km10.data), km10_w, n_coalitions=None if n == default_n else n, seed=0
                ),
                n,
            )
        )
    configs.append(
        (
            f"kernel_plain_n{default_n}",
            f"ours kernel, n_coalitions={default_n} (default), NOT anchored",
            on_background(ours, np.asarray(km10.data), km10_w, n_coalitions=None, seed=0, anchor=None),
            default_n,
        )
    )
    # equal accuracy at the highest speed: a better background summary (shap.kmeans(x_train, k)) with
    # fewer coalitions, timed interleaved with the baseline like every other line
    for k_bg, n in opts.equal_accuracy:
        kd = shap.kmeans(xtr, k_bg)
        configs.append(
            (
                f"kernel_k{k_bg}_n{n}",
                f"ours kernel, n_coalitions={n}, shap.kmeans(x_train, {k_bg})",
                on_background(
                    ours,
                    np.asarray(kd.data),
                    np.asarray(kd.weights, dtype=np.float64),
                    n_coalitions=n,
                    seed=0,
                ),
                n,
            )
        )
    whatif = None
    if (
        use_replica and rep.coalition_runtime == "sklearn"
    ):  # what-if only while the engine evaluates with libsvm
        whatif = on_background(
            ours, np.asarray(km10.data), km10_w, fn=replica.predict_proba, n_coalitions=None, seed=0
        )

    # ---- kernel_machine (margin space) ---------------------------------------------------------------------
    log(
        "ours: scorers.fit(model, x_train, scorer='kernel_machine', background_size=100, summary='kmeans') (decision_function / margin space)"
    )
    t0 = time.perf_counter()
    kmach100 = scorers.fit(
        model,
        x_train,
        scorer="kernel_machine",
        background_size=100,
        summary="kmeans",
        eval_size=20,
        progress=lambda s: log("  fit: " + s),
    )
    res["kernel_machine_fit_seconds"] = time.perf_counter() - t0
    kmach10 = on_background(kmach100, np.asarray(km10.data), km10_w)

    # ---- single rows, interleaved (baseline and ours alternate row by row) -------------------------------
    def shap_one(i: int) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # l1_reg="auto" is deprecated in shap 0.51
            return base_expl.shap_values(xte[i : i + 1], nsamples=nsamples, l1_reg="auto", silent=True)

    # the floors are timed in the same interleaved loop (same load), on hybrids built beforehand
    base_hyb = probe[: nsamples * 10]
    calls: dict[str, Any] = {"baseline": shap_one, "floor:baseline": lambda i: model.predict_proba(base_hyb)}
    floored = [(key, expl) for key, _, expl, _ in configs] + (
        [("whatif_gemm", whatif)] if whatif is not None else []
    )
    hybrids = {key: [hybrids_of_one_row(expl, frames[i]) for i in range(n_time)] for key, expl in floored}
    for key, expl in floored:
        calls[key] = lambda i, e=expl: e.explain(frames[i])
        calls["floor:" + key] = lambda i, e=expl, k=key: e.scorer.ctx_.game.fn(hybrids[k][i])
    calls["kernel_machine_bg10"] = lambda i: kmach10.explain(frames[i])
    calls["kernel_machine_bg100"] = lambda i: kmach100.explain(frames[i])
    for c in calls.values():
        c(0)  # warm
    log(
        f"timing {n_time} rows one at a time, methods and their floors interleaved row by row: baseline = shap.KernelExplainer(model.predict_proba, "
        f"shap.kmeans(x_train, 10)), nsamples={nsamples}, l1_reg='auto'; ours = kernel scorer at n_coalitions {[c[3] for c in configs]} and kernel_machine (10 and 100 background rows)"
    )
    np.random.seed(0)
    lat = time_interleaved(calls, n_time, "SVC probability", every=4)

    # ---- batches, and the values for accuracy ------------------------------------------------------------
    log(f"baseline: one batch call on {n_time} rows (best of 2)")
    holder: dict[str, Any] = {}

    def base_batch() -> None:
        np.random.seed(0)
        holder["v"] = shap_kernel_values(base_expl, xte[:n_time], nsamples, "auto")

    t_batch = best_time(base_batch, 2)
    b = _timing(lat["baseline"], t_batch, n_time)
    b.update(accuracy(holder["v"][:, :, pos]))
    b.update(
        {
            "label": "AzureML baseline (shap Kernel, nsamples=2108, l1_reg='auto')",
            "space": "probability",
            "model_evals_per_row": nsamples * 10,
        }
    )
    b["floor_ms"] = 1000 * float(np.median(lat["floor:baseline"]))
    methods["baseline"] = b
    log("baseline variants (accuracy only): l1_reg=False and shap 0.51's default l1_reg='num_features(10)'")
    for key, l1 in (("baseline_l1_false", False), ("baseline_num_features10", "num_features(10)")):
        v = shap_kernel_values(base_expl, ref_rows, nsamples, l1)[:, :, pos]
        methods[key] = {"label": f"shap Kernel nsamples=2108, l1_reg={l1!r} (accuracy only)", **accuracy(v)}
    for key, label, expl, n in configs:
        log(f"{label}: one batch call on {n_time} rows (best of 2)")
        t_batch = best_time(lambda e=expl: holder.__setitem__("e", e.explain(batch_frame)), 2)
        exp = holder["e"]
        r = _timing(lat[key], t_batch, n_time)
        r.update(accuracy(exp.values[:, pos, :]))
        f_s, n_h = float(np.median(lat["floor:" + key])), len(hybrids[key][0])
        r.update(
            {
                "label": label,
                "space": "probability",
                "n_coalitions": n,
                "floor_ms": 1000 * f_s,
                "model_evals_per_row": n_h,
                "single_over_floor": float(np.median(lat[key] / lat["floor:" + key])),
                "batch_over_floor": r["batch_ms_per_row"] / (1000 * f_s),
                "runtime": rep.coalition_runtime,
                "additivity_max_abs_error": float(exp.additivity_error()),
            }
        )
        methods[key] = r
    if whatif is not None:
        f_s = float(np.median(lat["floor:whatif_gemm"]))
        methods["whatif_gemm"] = {
            "label": f"what-if, NOT the engine: n={default_n}, game.fn = GEMM replica of predict_proba",
            "single_ms_median": 1000 * float(np.median(lat["whatif_gemm"])),
            "single_rows_per_s": 1.0 / float(np.median(lat["whatif_gemm"])),
            "floor_ms": 1000 * f_s,
        }
    log("breakdown of one single-row explain() call (default n_coalitions, shap's 10 centroids)")
    parts = breakdown(configs[1][2], frames[0])
    res["kernel_breakdown_ms"] = {k: 1000 * v for k, v in parts.items()}

    # ---- sweep: n_coalitions x background size (accuracy / speed trade-off) ----------------------------
    sweep = []
    if opts.sweep:
        grid: list[tuple[int, int, bool]] = []
        for k in opts.sweep_backgrounds:
            ns = list(opts.sweep_coalitions) + (list(opts.sweep_coalitions_k10_extra) if k == 10 else [])
            grid += [(k, n, anchored) for anchored in (True, False) for n in sorted(set(ns))]
        log(
            f"sweep: {len(grid)} (background k, n_coalitions) settings on the {n_ref} reference rows (batch timing)"
        )
        bgs = {10: km10}
        anchor = ours.scorer.params.get("anchor")
        for k, n, anchored in grid:
            if anchored and anchor is None:
                continue
            if k not in bgs:
                bgs[k] = shap.kmeans(xtr, k)
            kd = bgs[k]
            expl = on_background(
                ours,
                np.asarray(kd.data),
                np.asarray(kd.weights, dtype=np.float64),
                n_coalitions=n,
                seed=0,
                anchor=anchor if anchored else None,
            )
            batch = x_test.iloc[:n_ref]
            t = best_time(lambda e=expl, bt=batch: holder.__setitem__("v", e.explain(bt).values), 1)
            v = holder["v"][:, pos, :]
            rho, _ = top5_spearman(v, ref_full)
            row = {
                "design": "{} enum. + {} sampled".format(*design_mix(expl)),
                "background_k": k,
                "anchored": anchored,
                "n_coalitions": int(expl.scorer.n_coalitions),
                "batch_ms_per_row": 1000 * t / n_ref,
                "mae": mae(v, ref_full),
                "mae_vs_ref10": mae(v, ref10) if k == 10 else None,
                "top5_spearman": rho,
            }
            sweep.append(row)
            log(
                f"  sweep k={k:3d} n={row['n_coalitions']:5d} {'anchored' if anchored else 'plain   '}: {row['batch_ms_per_row']:8.1f} ms/row  MAE {row['mae']:.3e}  rho {rho:.3f}"
            )
    res["sweep"] = sweep

    # ---- kernel_machine (margin space): its single rows were timed in the interleaved loop above -------
    log(f"kernel_machine: one batch call on all {len(x_test)} test rows (best of 3)")
    for key, expl, label in (
        ("kernel_machine_bg10", kmach10, "ours kernel_machine, shap's 10 centroids (margin space)"),
        ("kernel_machine_bg100", kmach100, "ours kernel_machine, 100 k-means rows (margin space)"),
    ):
        t_batch = best_time(lambda e=expl: holder.__setitem__("e", e.explain(x_test)), 3)
        r = _timing(lat[key], t_batch, len(x_test))
        r.update(
            {
                "label": label,
                "space": "raw (margin)",
                "background_rows": int(len(expl.scorer.ctx_.game.weights)),
                "additivity_max_abs_error": float(holder["e"].additivity_error()),
            }
        )
        methods[key] = r
    res["methods"] = methods

    # ---- sampling error against EXACT values: margin space, same 10 centroids, kernel_machine as oracle ----
    res["exact_check"] = (
        exact_check(
            opts,
            model,
            x_train,
            x_test,
            xte,
            km10,
            km10_w,
            kmach10,
            min(n_ref, opts.exact_check_rows),
            nsamples,
        )
        if opts.exact_check
        else None
    )
    _print(res, methods, sweep, default_n)
    return res


def _timing(lat: np.ndarray, t_batch: float, n_batch: int) -> dict[str, Any]:
    return {
        "single_ms_median": 1000 * float(np.median(lat)),
        "single_rows_per_s": 1.0 / float(np.median(lat)),
        "batch_ms_per_row": 1000 * t_batch / n_batch,
        "batch_rows_per_s": n_batch / t_batch,
        "n_rows_timed": len(lat),
    }


def exact_check(
    opts: Any,
    model: Any,
    x_train: Any,
    x_test: Any,
    xte: np.ndarray,
    km10: Any,
    km10_w: np.ndarray,
    oracle: Any,
    n_rows: int,
    nsamples: int,
) -> list[dict[str, Any]]:
    """Kernel estimators against exact SHAP values of the decision function (kernel_machine on the same 10
    centroids): isolates the sampling error of each design, with no reference noise and no background error."""
    import shap

    import scorers

    log(
        f"exactness check (margin space, {n_rows} rows, shap's 10 centroids, oracle = kernel_machine): ours kernel at several n_coalitions and design seeds, shap Kernel"
    )
    rows = x_test.iloc[:n_rows]
    truth = oracle.explain(rows).values[:, 1, :]
    ker = scorers.fit(
        model, x_train, scorer="kernel", output_space="raw", background_size=10, summary="kmeans", eval_size=5
    )
    out = []
    scale = float(np.mean(np.abs(truth)))
    for n in opts.exact_check_coalitions:
        errs = []
        for seed in (0, 1, 2):
            e = on_background(ker, np.asarray(km10.data), km10_w, n_coalitions=n, seed=seed)
            errs.append(mae(e.explain(rows).values[:, 1, :], truth))
        out.append(
            {
                "method": f"ours kernel, n_coalitions={n}",
                "model_evals_per_row": n * 10,
                "design": "{} enumerated + {} sampled".format(*design_mix(e)),
                "mae_by_seed": errs,
                "mae": float(np.mean(errs)),
            }
        )
        log(
            f"  ours n={n}: MAE {np.mean(errs):.3e} (design seeds 0/1/2: {', '.join(f'{x:.2e}' for x in errs)})"
        )
    sh = shap.KernelExplainer(model.decision_function, km10)
    for ns, l1 in ((nsamples, "auto"), (nsamples, False), (2 * nsamples, False)):
        v = shap_kernel_values(sh, xte[:n_rows], ns, l1)
        out.append(
            {
                "method": f"shap Kernel, nsamples={ns}, l1_reg={l1!r}",
                "model_evals_per_row": ns * 10,
                "mae": mae(v, truth),
            }
        )
        log(f"  shap nsamples={ns} l1_reg={l1!r}: MAE {out[-1]['mae']:.3e}")
    for r in out:
        r["relative_mae"] = r["mae"] / scale
    return out


def _print(res: dict[str, Any], methods: dict[str, Any], sweep: list[dict[str, Any]], default_n: int) -> None:
    base = methods["baseline"]
    say()
    say(
        f"Accuracy: positive class, {res['n_ref_rows']} reference rows; MAE vs the full-background reference (mean |phi| there = "
        f"{res['reference_mean_abs_phi']:.3g}); 'MAE vs 10c ref' = vs a 20000-sample reference on the same 10 centroids "
        "(sampling error only); rho = mean Spearman of |phi| on the reference's top-5 features."
    )
    say(f"load average now (1/5/15 min): {load_average()}")
    say(
        "Timing: 'single' = explain one row per call (median latency; rows/s = 1 / median, robust to load spikes on a shared machine); 'batch' = one call on all timed rows."
    )
    rows = []
    for key in (
        "baseline",
        "baseline_l1_false",
        "baseline_num_features10",
        *[k for k in methods if k.startswith("kernel_") and not k.startswith("kernel_machine")],
    ):
        r = methods[key]
        rows.append(
            [
                r["label"],
                fmt(r.get("single_ms_median"), ".1f"),
                fmt(r.get("single_rows_per_s"), ".2f"),
                fmt(r.get("batch_ms_per_row"), ".1f"),
                fmt(r.get("batch_rows_per_s"), ".2f"),
                fmt(r.get("floor_ms"), ".1f"),
                fmt(r.get("single_over_floor"), ".2f"),
                fmt(r["mae"], ".3e"),
                fmt(r["mae_vs_ref10"], ".3e"),
                fmt(r["top5_spearman"], ".3f")
                + (f" ({r['spearman_undefined_rows']} undef.)" if r.get("spearman_undefined_rows") else ""),
                fmt(r["single_rows_per_s"] / base["single_rows_per_s"], ".2f")
                if "single_rows_per_s" in r
                else "-",
            ]
        )
    say(
        table(
            [
                "method (probability space)",
                "single ms",
                "single rows/s",
                "batch ms/row",
                "batch rows/s",
                "floor ms",
                "single/floor",
                "MAE",
                "MAE vs 10c ref",
                "top5 rho",
                "x baseline rows/s",
            ],
            rows,
        )
    )
    if "whatif_gemm" in methods:
        w = methods["whatif_gemm"]
        say(
            f"{w['label']}: single {w['single_ms_median']:.1f} ms/row ({w['single_rows_per_s']:.1f} rows/s, "
            f"{w['single_rows_per_s'] / base['single_rows_per_s']:.1f}x baseline), floor {w['floor_ms']:.1f} ms: what a BLAS-based model "
            "function would give the same scorer (same values to ~1e-11)."
        )
    say(
        "floor = median time of the bare model evaluation on the hybrids of each row "
        f"({methods['kernel_n' + str(default_n)]['model_evals_per_row']} rows for ours at the default, through game.fn = "
        f"{methods['kernel_n' + str(default_n)]['runtime']}), timed in the same interleaved loop as the explain calls; "
        "single/floor = median over rows of (that row's explain time / that row's floor). Baseline floor: model.predict_proba "
        f"on {base['model_evals_per_row']} rows (the rest of its time is shap's bookkeeping and the l1_reg='auto' LassoLarsIC)."
    )
    say()
    say("Where one single-row call of ours goes (default n_coalitions, best of 5 each):")
    bd = res["kernel_breakdown_ms"]
    say(table(["step", "ms"], [[k, fmt(v, ".2f")] for k, v in bd.items()]))
    say()
    if sweep:
        say(
            "Sweep (ours, kernel scorer, probability space, one batch over the reference rows; background = shap.kmeans(x_train, k)). "
            "Its timings are not interleaved with the baseline (load-sensitive); 'evals/row' (= k x n_coalitions) is the "
            "load-independent cost, and ours runs at its floor, so time is proportional to it."
        )
        say(
            table(
                [
                    "k",
                    "anchored",
                    "n_coalitions",
                    "design",
                    "evals/row",
                    "batch ms/row",
                    "rows/s",
                    "x baseline rows/s",
                    "baseline evals / ours",
                    "MAE",
                    "MAE vs 10c ref",
                    "top5 rho",
                    "MAE <= baseline",
                ],
                [
                    [
                        s["background_k"],
                        "yes" if s.get("anchored") else "no",
                        s["n_coalitions"],
                        s["design"],
                        s["background_k"] * s["n_coalitions"],
                        fmt(s["batch_ms_per_row"], ".1f"),
                        fmt(1000 / s["batch_ms_per_row"], ".2f"),
                        fmt(base["batch_ms_per_row"] / s["batch_ms_per_row"], ".1f"),
                        fmt(base["model_evals_per_row"] / (s["background_k"] * s["n_coalitions"]), ".1f"),
                        fmt(s["mae"], ".3e"),
                        fmt(s["mae_vs_ref10"], ".3e"),
                        fmt(s["top5_spearman"], ".3f"),
                        "yes" if s["mae"] <= base["mae"] else "no",
                    ]
                    for s in sweep
                ],
            )
        )
        say()
    if res.get("exact_check"):
        say(
            "Sampling error against EXACT values (margin space = decision_function, shap's 10 centroids, oracle = kernel_machine; "
            "no reference noise, no background error). Ours: mean over design seeds 0/1/2."
        )
        say(
            table(
                [
                    "estimator (margin space)",
                    "model evals/row",
                    "design",
                    "MAE",
                    "MAE / mean|phi|",
                    "by seed",
                ],
                [
                    [
                        r["method"],
                        r["model_evals_per_row"],
                        r.get("design", "random per row"),
                        fmt(r["mae"], ".3e"),
                        fmt(r["relative_mae"], ".3f"),
                        ", ".join(f"{x:.2e}" for x in r.get("mae_by_seed", [])) or "-",
                    ]
                    for r in res["exact_check"]
                ],
            )
        )
        say()
    say(
        "kernel_machine: explains the DECISION FUNCTION (margin, 'raw' space), not predict_proba like the baseline; exact, so no accuracy column."
    )
    say(
        table(
            [
                "method (margin space)",
                "background",
                "single ms",
                "single rows/s",
                "batch ms/row",
                "batch rows/s",
                "x baseline rows/s (single)",
                "x baseline rows/s (batch)",
                "additivity err",
            ],
            [
                [
                    methods[k]["label"],
                    methods[k]["background_rows"],
                    fmt(methods[k]["single_ms_median"], ".2f"),
                    fmt(methods[k]["single_rows_per_s"], ".0f"),
                    fmt(methods[k]["batch_ms_per_row"], ".2f"),
                    fmt(methods[k]["batch_rows_per_s"], ".0f"),
                    fmt(methods[k]["single_rows_per_s"] / base["single_rows_per_s"], ".0f"),
                    fmt(methods[k]["batch_rows_per_s"] / base["batch_rows_per_s"], ".0f"),
                    fmt(methods[k]["additivity_max_abs_error"], ".1e"),
                ]
                for k in ("kernel_machine_bg10", "kernel_machine_bg100")
            ],
        )
    )
