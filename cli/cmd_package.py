"""``shapserve package``: fit the scoring explainer and save model + explainer to the BentoML store."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scorers import REGISTRY, spaces
from scorers.model_io import load_model_file

from .bento import DEFAULT_NAME, package


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "package", help="fit the scoring explainer and save model + explainer to the BentoML store"
    )
    p.add_argument(
        "model", type=Path, help=".onnx, .skops, or .joblib/.pkl (pickle: needs --trust-pickle or --sha256)"
    )
    p.add_argument("--data", required=True, type=Path, help="training rows, CSV or Parquet, raw input schema")
    p.add_argument("--target", help="target column in DATA, dropped from the features")
    p.add_argument("--name", default=DEFAULT_NAME, help="model name in the BentoML store")
    p.add_argument("--scorer", default="auto", choices=["auto", *REGISTRY])
    p.add_argument("--output-space", choices=list(spaces.SPACES))
    p.add_argument("--background-size", type=int)
    p.add_argument("--build", action="store_true", help="also build the Bento and print its tag")
    trust = p.add_mutually_exclusive_group()
    trust.add_argument("--trust-pickle", action="store_true", help="load a pickled model (a pickle is code)")
    trust.add_argument("--sha256", help="load a pickled model only if its sha256 matches")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model = load_model_file(args.model, trust_pickle=args.trust_pickle, sha256=args.sha256)
    out = package(
        model,
        args.data,
        name=args.name,
        target=args.target,
        build=args.build,
        scorer=args.scorer,
        output_space=args.output_space,
        background_size=args.background_size,
    )
    print(json.dumps(out, indent=2, default=str))
    return 0
