"""``shapserve package``: fit the scoring explainer and save model + explainer to the BentoML store."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scorers import REGISTRY, spaces
from scorers.errors import InputError
from scorers.global_explanations import KINDS, SURROGATES
from scorers.model_io import load_model_file

from .bento import DEFAULT_NAME, package


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "package", help="fit the scoring explainer and save model + explainer to the BentoML store"
    )
    p.add_argument(
        "model",
        type=Path,
        help=".onnx, .skops, LightGBM model text (.txt/.lgb), XGBoost JSON/UBJSON (.json/.ubj), "
        "or .joblib/.pkl (pickle: needs --trust-pickle or --sha256)",
    )
    p.add_argument("--data", required=True, type=Path, help="training rows, CSV or Parquet, raw input schema")
    p.add_argument("--target", help="target column in DATA, dropped from the features")
    p.add_argument("--name", default=DEFAULT_NAME, help="model name in the BentoML store")
    p.add_argument("--scorer", default="auto", choices=["auto", *REGISTRY])
    p.add_argument("--output-space", choices=list(spaces.SPACES))
    p.add_argument(
        "--background-size",
        type=_rows,
        help="background rows, or 'all' (every training row); default: the scorer's own size, calibrated",
    )
    p.add_argument(
        "--summary",
        choices=["calibrated", "kmeans", "sample"],
        help="how --background-size rows are chosen: calibrated to the full data, k-means or a random sample "
        "(default: the scorer's own summary; calibrated when no size is given)",
    )
    p.add_argument(
        "--coalitions",
        type=int,
        help="coalitions of the kernel and exact scorers' fixed design (default: the scorer's own)",
    )
    fidelity = p.add_mutually_exclusive_group()
    fidelity.add_argument(
        "--max-error",
        type=float,
        help="grow the background until the stated error (rel. MAE against the full-data SHAP values) meets this",
    )
    fidelity.add_argument(
        "--latency-budget-ms",
        type=float,
        help="the most accurate background whose explain time per row fits this budget",
    )
    p.add_argument(
        "--classes",
        help="comma-separated class names, one per class in the model's own order (they replace its labels)",
    )
    p.add_argument(
        "--immutable",
        help="comma-separated features no counterfactual may change (stored in the manifest)",
    )
    p.add_argument(
        "--task", choices=["classifier", "regressor"], help="what a black box (an object with predict) is"
    )
    p.add_argument(
        "--eval-data",
        type=Path,
        help="evaluation rows (CSV or Parquet, raw schema, labels optional): stored in the artifact with the "
        "global explanations computed on them",
    )
    p.add_argument(
        "--eval-target", help="label column of EVAL_DATA (default: --target, when EVAL_DATA has that column)"
    )
    p.add_argument(
        "--global",
        dest="global_kinds",
        help="comma-separated global explanations on EVAL_DATA: shap,pfi,mimic (default: shap, and pfi "
        "when EVAL_DATA has labels)",
    )
    p.add_argument("--surrogate", choices=sorted(SURROGATES), help="mimic's explainable model (default lgbm)")
    p.add_argument(
        "--pfi-metric", help="pfi's scikit-learn scorer (default accuracy / neg_mean_absolute_error)"
    )
    p.add_argument("--pfi-repeats", type=int, help="pfi's repeats per feature (default 5)")
    p.add_argument("--build", action="store_true", help="also build the Bento and print its tag")
    trust = p.add_mutually_exclusive_group()
    trust.add_argument("--trust-pickle", action="store_true", help="load a pickled model (a pickle is code)")
    trust.add_argument("--sha256", help="load a pickled model only if its sha256 matches")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    kinds = _kinds(args.global_kinds)  # refuse a bad list before any work
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
        summary=args.summary,
        n_coalitions=args.coalitions,
        max_error=args.max_error,
        latency_budget_ms=args.latency_budget_ms,
        classes=args.classes.split(",") if args.classes else None,
        task=args.task,
        immutable=args.immutable.split(",") if args.immutable else (),
        eval_data=args.eval_data,
        eval_target=args.eval_target,
        global_kinds=kinds,
        eval_options=_eval_options(args),
    )
    print(json.dumps(out, indent=2, default=str))
    return 0


def _rows(text: str) -> int | str:
    if text == "all":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive number of rows or 'all', got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of rows or 'all', got {text!r}")
    return value


def _kinds(text: str | None) -> list[str] | None:
    if text is None:
        return None
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise InputError(f"expected a comma-separated list of {list(KINDS)}, got {text!r}", field="--global")
    return kinds


def _eval_options(args: argparse.Namespace) -> dict[str, object]:
    options: dict[str, object] = {}
    if args.surrogate:
        options["surrogate"] = args.surrogate
    if args.pfi_metric:
        options["metric"] = args.pfi_metric
    if args.pfi_repeats is not None:
        options["n_repeats"] = args.pfi_repeats
    return options
