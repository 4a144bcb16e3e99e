"""``shapserve``: package a model with its scoring explainer, build the Bento, serve it.

    shapserve package MODEL --data DATA [--target COL] [--name NAME] [--scorer auto|...]
                      [--output-space ...] [--background-size N|all] [--max-error E | --latency-budget-ms MS]
                      [--classes A,B,..] [--task ...]
                      [--eval-data EVAL [--eval-target COL] [--global shap,pfi,mimic] [--surrogate ...]]
                      [--build] [--trust-pickle | --sha256 HEX]
    shapserve serve [NAME_OR_TAG] [--port P] [--host H]
    shapserve demo [--build]
    shapserve explain-batch NAME --input IN.parquet|csv --output OUT.parquet [--engine local|spark]
                            [--spark-master URL] [--rows-per-task N]
    shapserve explanations upload FILE.json [--comment C] | download [ID] [--top-k K] | list [--url U]

Each command is a module with ``add_parser(subparsers)`` and ``run(args) -> int``; ``COMMANDS`` lists them.
"""

from __future__ import annotations

import argparse
import sys
from types import ModuleType

from batch import cli as cmd_explain_batch
from scorers.errors import ShapserveError
from store import cli as cmd_explanations

from . import cmd_demo, cmd_package, cmd_serve

COMMANDS: tuple[ModuleType, ...] = (cmd_package, cmd_serve, cmd_demo, cmd_explanations, cmd_explain_batch)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="shapserve", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ShapserveError as exc:
        print(f"shapserve: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
