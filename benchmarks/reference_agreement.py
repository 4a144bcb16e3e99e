"""The seed's SVC's two full-data probability references side by side, on the same test rows.

``.venv/bin/python -m benchmarks.reference_agreement [--rows 8] [--rounds 512] [--coalitions 4096] [--detail 0]
[--second-seed]``

``--proba-ref anchored`` of benchmarks/http_fidelity.py (the anchored kernel scorer's secant control
variate on a 4096-coalition design against all 455 training rows: the estimator the default serves, on
more rows and coalitions) against ``--proba-ref permutation`` (antithetic permutation sampling against
the same rows, benchmarks/permutation_reference.py, which shares nothing with the scorers but the
model's probability function).  Prints the anchored reference's rel. MAE against the permutation one
(mean |a - p| / mean |p|, positive class, as the benchmark's errors), the permutation reference's own
expected rel. MAE from its standard errors, and the z-scores (a - p) / se (their median: features the
row barely moves have standard errors near 0, and their z-scores are large whatever the difference).
``--second-seed`` also computes a second permutation reference with other orders and prints how far the
two are apart against what their standard errors predict (a check of those standard errors).
"""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np

from .common import load_average, say, section, table
from .http_fidelity import _anchored_reference
from .reference import permutation_reference


def main(argv: list[str] | None = None) -> int:
    from scorers.examples import breast_cancer_svc

    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=8, help="test rows, from the first")
    p.add_argument("--rounds", type=int, default=512, help="antithetic rounds of the permutation reference")
    p.add_argument("--coalitions", type=int, default=4096, help="design of the anchored reference")
    p.add_argument("--detail", type=int, default=None, help="also print this row's values feature by feature")
    p.add_argument(
        "--second-seed",
        action="store_true",
        help="also a second permutation reference, other orders, against the first",
    )
    opts = p.parse_args(argv)
    warnings.simplefilter("ignore")
    section("the seed's SVC: the anchored probability reference against the independent permutation one")
    say(f"load average at start: {load_average()}")
    model, x_train, x_test, *_ = breast_cancer_svc()
    rows = x_test.to_numpy()[: opts.rows]
    perm, se, info = permutation_reference(
        model, x_train.to_numpy(), rows, rounds=opts.rounds, label="permutation reference"
    )
    anchored = _anchored_reference(model, x_train, rows, opts.coalitions)
    scale = float(np.mean(np.abs(perm)))
    z = (anchored - perm) / se
    per_row = [
        [
            str(i),
            f"{np.mean(np.abs(perm[i])):.5f}",
            f"{np.mean(se[i]) / np.mean(np.abs(perm[i])):.4f}",
            f"{np.mean(np.abs(anchored[i] - perm[i])) / np.mean(np.abs(perm[i])):.4f}",
            f"{np.median(np.abs(z[i])):.1f}",
        ]
        for i in range(len(rows))
    ]
    say(
        table(
            ["test row", "mean |value|", "permutation: rel. SE", "anchored vs permutation", "median |z|"],
            per_row,
        )
    )
    say(
        f"all rows: anchored vs permutation rel. MAE {np.mean(np.abs(anchored - perm)) / scale:.4f}; the "
        f"permutation reference's rel. SE {np.mean(se) / scale:.4f}, expected rel. MAE of its noise "
        f"{np.sqrt(2 / np.pi) * np.mean(se) / scale:.4f}; |z| > 3 for {np.mean(np.abs(z) > 3):.1%} of "
        f"{z.size} values (1.0x the standard errors: 0.3%); walks vs predict_proba {info['path_check']:.1e}"
    )
    if opts.detail is not None:
        i = opts.detail
        say(
            table(
                [f"feature (row {i})", "permutation", "its SE", "anchored", "z"],
                [
                    [
                        x_train.columns[j],
                        f"{perm[i, j]:.3e}",
                        f"{se[i, j]:.1e}",
                        f"{anchored[i, j]:.3e}",
                        f"{z[i, j]:.1f}",
                    ]
                    for j in np.argsort(-np.abs(perm[i]))
                ],
            )
        )
    if opts.second_seed:
        other, se2, _ = permutation_reference(
            model,
            x_train.to_numpy(),
            rows,
            rounds=opts.rounds,
            seed_salt="second",
            label="second permutation reference",
        )
        z2 = (other - perm) / np.sqrt(se**2 + se2**2)
        say(
            f"two permutation references (other orders): rel. MAE {np.mean(np.abs(other - perm)) / scale:.4f} "
            f"apart, expected from their standard errors {np.sqrt(2 / np.pi) * np.mean(np.sqrt(se**2 + se2**2)) / scale:.4f}; "
            f"mean z^2 {np.mean(z2**2):.2f} (1 if the standard errors are right), |z| > 3 for "
            f"{np.mean(np.abs(z2) > 3):.1%} of {z2.size} values"
        )
    say(f"load average at end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
