"""Where a 1-row in-process explain of the seed's SVC (the CLI's defaults) spends its CPU: the parts of the
kernel_machine scorer on its numpy path (main's arithmetic) and on the fused numba loop, and what the
explain spends outside the scorer (issue 23, docs/performance.md "Margin space, round 8").

``.venv/bin/python -m benchmarks.kernel_machine_parts [--passes 5]``

Packages the model (``cli.bento.package``), loads it as a server does (one BLAS thread, freed memory
kept) and times each part over 16 test rows one at a time (``time.process_time``, ms per row): the whole
explain; validating and encoding the row; the scorer's values (``_values``) by each path; the model's
output (``game.outputs``, scikit-learn's decision function); and inside ``_values``, each path's steps,
called as ``_numpy`` and ``_fused`` call them.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .common import load_average, say, section


def _ms(fn: Callable[[int], Any], n: int, passes: int) -> float:
    fn(0)
    t0 = time.process_time()
    for _ in range(passes):
        for i in range(n):
            fn(i)
    return 1000 * (time.process_time() - t0) / (passes * n)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--passes", type=int, default=5)
    opts = p.parse_args(argv)
    section("1-row in-process explain of the seed's SVC: CPU ms per row, by part")
    say(f"load average at start: {load_average()}")
    os.environ["BENTOML_HOME"] = tempfile.mkdtemp(prefix="km-parts-")
    os.environ["BENTOML_DO_NOT_TRACK"] = "true"
    import bentoml
    import pandas as pd

    import scorers
    from cli.bento import ARTIFACT_DIR, package
    from scorers.allocator import keep_freed_memory
    from scorers.examples import breast_cancer_svc
    from scorers.kinds.kernel_machine import PRUNE_TOL, _legendre, _Plan
    from scorers.threads import limit_threads

    limit_threads(1)
    keep_freed_memory()
    model, x_train, x_test, *_ = breast_cancer_svc()
    tag = package(model, x_train, name="km-parts", progress=lambda _m: None)["model_tag"]
    ex = scorers.load(Path(bentoml.models.get(tag).path) / ARTIFACT_DIR, trust_pickle=True)
    sc = ex.scorer
    n = 16
    frames = [pd.DataFrame(x_test.to_numpy()[i : i + 1], columns=list(ex.features)) for i in range(n)]
    enc = [ex.masking.encode(ex.validate(f)) for f in frames]
    kernel = sc.kernel_
    assert kernel is not None, "the packaged scorer serves no fused loop (numba missing?)"
    weights, log_scale = sc._scales(sc.ctx_.game.weights)
    log_a = [np.ascontiguousarray(sc._log_factors(e)[0]) for e in enc]  # (S, M)
    log_a_t = [np.ascontiguousarray(a.T) for a in log_a]  # (M, S), the numpy path's layout
    kept_np = [sc._kept(a, log_scale) for a in log_a_t]
    plans_np = [_Plan.of(_Plan.spread(la - lc), bs) for _, lc, la, bs in kept_np]
    n_sv = sc.alpha_.shape[0]

    def numpy_plan_values(i: int) -> None:
        pairs, log_c, _, _ = kept_np[i]
        b_idx, s_idx = np.divmod(pairs, n_sv)
        a = np.take(np.exp(log_a_t[i]), s_idx, axis=1)
        coef = weights[b_idx] * sc.alpha_[s_idx]
        plans_np[i].values(a, np.take(sc.c_t_, pairs, axis=1), log_c, coef)

    screen_c, log_c_pm, c_pm, alpha = sc.pair_major_
    threshold = math.log(PRUNE_TOL / (2 * log_scale.shape[0]))
    kept_f = [
        kernel.kept(a, log_scale, sc.screen_, screen_c, log_c_pm, threshold, PRUNE_TOL / 2) for a in log_a
    ]
    plans_f = [_Plan.of(spread, bs + PRUNE_TOL) for _, bs, spread in kept_f]

    def fused_values(i: int) -> None:
        plan = plans_f[i]
        t, w = _legendre(plan.nodes)
        out = np.zeros((1, log_a[i].shape[1]))
        kernel.values(
            kept_f[i][0], np.exp(log_a[i]), c_pm, log_c_pm, weights, alpha, plan.active, plan.passive,
            plan.degree, t, w, False, out,
        )  # fmt: skip

    def numpy_values(i: int) -> None:
        sc.kernel_ = None
        try:
            sc._values(enc[i])
        finally:
            sc.kernel_ = kernel

    parts: list[tuple[str, Callable[[int], Any]]] = [
        ("explain (fused loop served)", lambda i: ex.explain(frames[i], error_estimate=False)),
        ("  validate + encode the row", lambda i: ex.masking.encode(ex.validate(frames[i]))),
        ("  model output (game.outputs)", lambda i: sc.ctx_.game.outputs(enc[i])),
        ("  _values, fused loop", lambda i: sc._values(enc[i])),
        ("    _log_factors", lambda i: sc._log_factors(enc[i])),
        ("    kept (numba)", lambda i: kernel.kept(log_a[i], log_scale, sc.screen_, screen_c, log_c_pm, threshold, PRUNE_TOL / 2)),
        ("    _Plan.of", lambda i: _Plan.of(kept_f[i][2], kept_f[i][1] + PRUNE_TOL)),
        ("    values (numba)", fused_values),
        ("  _values, numpy path (main's arithmetic)", numpy_values),
        ("    _kept", lambda i: sc._kept(log_a_t[i], log_scale)),
        ("    _Plan.spread + _Plan.of", lambda i: _Plan.of(_Plan.spread(kept_np[i][2] - kept_np[i][1]), kept_np[i][3])),
        ("    gathers + _Plan.values", numpy_plan_values),
    ]  # fmt: skip
    say(f"kept pairs per row: {min(len(k[0]) for k in kept_f)}-{max(len(k[0]) for k in kept_f)} of "
        f"{log_scale.shape[0]}; plan (active, degree, nodes) of row 0: "
        f"({len(plans_f[0].active)}, {plans_f[0].degree}, {plans_f[0].nodes})")  # fmt: skip
    say("| part | CPU ms per row |")
    say("|---|---|")
    for name, fn in parts:
        say(f"| {name} | {_ms(fn, n, opts.passes):.3f} |")
    say(f"load average at end: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
