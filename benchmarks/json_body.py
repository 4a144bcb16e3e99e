"""What the request bodies' JSON reader costs, side by side in one process: ``json.loads`` as the
service called it before docs/decisions.md 60, and ``service.parsing.load_json`` (duplicate keys found by
an ``object_pairs_hook``, ``NaN`` kept apart from ``null``, lone surrogate escapes refused), on the loan
pipeline's rows as objects and as arrays, 1 and 500 rows; the best of ``--repeat`` timings of
``--number`` parses each, the two alternating.

``.venv/bin/python -m benchmarks.json_body [--number 200] [--repeat 7]``
"""

from __future__ import annotations

import argparse
import json
import timeit
from collections.abc import Callable
from typing import Any

from service.parsing import load_json

from .common import load_average, say, section

ROW = {
    "age": 41.0,
    "income": 52000.0,
    "debt_ratio": 0.31,
    "years_employed": 6.5,
    "housing": "own",
    "purpose": "car",
    "region": "north",
}


def _best_us(fn: Callable[[bytes], Any], raw: bytes, number: int) -> float:
    return min(timeit.repeat(lambda: fn(raw), number=number, repeat=1)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=200, help="parses per timing")
    parser.add_argument("--repeat", type=int, default=7, help="timings per reader (the best is kept)")
    args = parser.parse_args()
    section(f"JSON request bodies: json.loads vs service.parsing.load_json (load {load_average()})")
    say(f"{'body':<18}{'bytes':>9}{'json.loads us':>16}{'load_json us':>15}{'ratio':>8}")
    for n in (1, 500):
        for kind, rows in (("objects", [ROW] * n), ("arrays", [list(ROW.values())] * n)):
            raw = json.dumps({"instances": rows}).encode()
            before, after = float("inf"), float("inf")
            for _ in range(args.repeat):  # alternate the two readers
                before = min(before, _best_us(json.loads, raw, args.number))
                after = min(after, _best_us(load_json, raw, args.number))
            say(f"{f'{n} {kind}':<18}{len(raw):>9}{before:>16.1f}{after:>15.1f}{after / before:>8.2f}")
    say(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
