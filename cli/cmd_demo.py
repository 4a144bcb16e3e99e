"""``shapserve demo``: train and package the built-in examples."""

from __future__ import annotations

import argparse
import json

from .demo import demo


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    d = sub.add_parser("demo", help="train and package the built-in examples")
    d.add_argument("--build", action="store_true", help="also build the Bento")
    d.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print(json.dumps(demo(build=args.build), indent=2, default=str))
    return 0
