"""What packaging's magnitude probe (``scorers.magnitude``, docs/decisions.md 61) costs: its time beside
one call of the model on the two rows it probes, side by side in one process, for a 100-tree random
forest (reads float32: the bisection runs) and a linear regression (reads float64: one call), on the
diabetes data (10 numbers); the best of ``--repeat`` timings each.

``.venv/bin/python -m benchmarks.magnitude_probe [--repeat 7]``
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

from scorers import runtimes
from scorers.input_schema import Schema, infer_features
from scorers.magnitude import probe_magnitude

from .common import load_average, say, section


def _best_ms(fn: Any, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return 1000 * best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timings of each (the best is kept)")
    args = parser.parse_args()
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import LinearRegression

    warnings.simplefilter("ignore")
    x, y = load_diabetes(return_X_y=True, as_frame=True)
    section(f"the magnitude probe at packaging (load {load_average()})")
    say(f"{'model':<24}{'max_abs':>16}{'probe ms':>11}{'one call ms':>13}{'ratio':>8}")
    for model in (RandomForestRegressor(n_estimators=100, random_state=0), LinearRegression()):
        model.fit(x, y)
        features = infer_features(x)
        runtime = runtimes.wrap(model, Schema(features))
        probe = _best_ms(lambda: probe_magnitude(runtime, x, features), args.repeat)  # noqa: B023
        call = _best_ms(lambda: runtime.predict(x.iloc[:2]), args.repeat)  # noqa: B023
        bound = features[0].max_abs
        say(f"{type(model).__name__:<24}{bound!s:>16}{probe:>11.1f}{call:>13.2f}{probe / call:>8.1f}")
    say(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
