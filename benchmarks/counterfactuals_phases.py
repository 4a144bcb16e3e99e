"""Where a served counterfactual request's CPU goes, per phase, in-process.

    .venv/bin/python -m benchmarks.counterfactuals_phases            # 20 one-row calls per model
    .venv/bin/python -m benchmarks.counterfactuals_phases --rows 5

The call path of ``POST /counterfactuals`` (``service.core.Core.counterfactuals``: the rows' validation,
``ScoringExplainer.counterfactuals_frame``, ``service.answers.counterfactuals``) on the cached artifacts
of ``benchmarks.counterfactuals`` (run it first), one BLAS thread and the allocator setting of the served
workers (``scorers.allocator``), as the server runs them.  Each phase is timed with
``time.process_time`` by wrapping the engine's functions (``search.py``'s steps, the index's
preprocessing and model function, the judge and the explanation); phases nest (``search`` holds
``_seeds``, which holds ``_single_changes``), so the column does not sum to the total.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from .common import OUT, machine, print_machine, say
from .counterfactuals import COUNT, _models, _predict

_SEARCH_STEPS = ("_seeds", "_single_changes", "_valid_hybrids", "_unique", "_sparsify", "_refine", "_diverse")


class Clock:
    """CPU seconds and calls per phase."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, key: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[key] += time.process_time() - t
                self.calls[key] += 1

        return timed


def _phases(name: str, rows: int) -> tuple[Clock, np.ndarray]:
    import scorers
    from scorers.counterfactuals import CounterfactualIndex

    engine = sys.modules["scorers.counterfactuals"]
    search = sys.modules["scorers.counterfactuals.search"]
    model, _, queries = _models()[name]
    explainer = scorers.load(OUT / "cache" / f"counterfactuals-{name.replace(' ', '-')}", trust_pickle=True)
    picked = queries.iloc[:rows].reset_index(drop=True)
    pred = _predict(model, picked)
    classes = list(model.classes_)
    targets = [classes[1] if p == classes[0] else classes[0] for p in pred]
    records = [picked.iloc[[i]].to_dict("records") for i in range(len(picked))]
    clock = Clock()
    index: CounterfactualIndex = explainer.counterfactual_index()
    object.__setattr__(index, "encode", clock.wrap("preprocessing of the asked row", index.encode))
    object.__setattr__(index, "outputs", clock.wrap("model function (search)", index.outputs))
    originals = {step: getattr(search, step) for step in _SEARCH_STEPS}
    original_search = engine.search
    for step, fn in originals.items():
        setattr(search, step, clock.wrap(f"search.{step}", fn))
    engine.search = clock.wrap("search", original_search)
    try:
        return clock, _timed_calls(clock, explainer, index, records, targets)
    finally:
        for step, fn in originals.items():
            setattr(search, step, fn)
        engine.search = original_search


def _timed_calls(
    clock: Clock, explainer: Any, index: Any, records: list[Any], targets: list[Any]
) -> np.ndarray:
    from service import answers

    judge = clock.wrap("judge (predict, predict_proba)", explainer.encoded_predictions)
    explain = clock.wrap("explanation of the answers", explainer.explain_encoded)
    answer = clock.wrap("the answer's JSON body", answers.counterfactuals)

    def call(i: int) -> None:
        frame = explainer.validate(records[i])
        found = index.find(
            frame, target=targets[i], count=COUNT, classes=explainer.classes, judge=judge, explain=explain
        )
        answer(found, frame, explainer)

    call(0)  # warm
    clock.seconds.clear()
    clock.calls.clear()
    total = []
    for i in range(len(records)):
        t = time.process_time()
        call(i)
        total.append(time.process_time() - t)
    return np.array(total)


def main(argv: list[str] | None = None) -> None:
    from threadpoolctl import threadpool_limits

    from scorers.allocator import keep_freed_memory

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=20)
    args = parser.parse_args(argv)
    print_machine(machine())
    keep_freed_memory()
    warnings.simplefilter("ignore")
    with threadpool_limits(1):
        for name in ("seed SVC", "loan GB pipeline"):
            clock, total = _phases(name, args.rows)
            n = len(total)
            say(
                f"\n{name}: {n} one-row calls, count {COUNT}; CPU per call p50 "
                f"{np.percentile(total, 50) * 1000:.1f} ms, mean {total.mean() * 1000:.1f} ms"
            )
            say("| phase | CPU ms per call | share of the mean | calls per request |")
            say("|---|---|---|---|")
            for key, sec in sorted(clock.seconds.items(), key=lambda kv: -kv[1]):
                say(f"| {key} | {sec / n * 1000:.2f} | {sec / total.sum():.0%} | {clock.calls[key] / n:g} |")


if __name__ == "__main__":
    main()
