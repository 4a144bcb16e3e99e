"""``shapserve explain-batch``: the command line of a batch run.

    shapserve explain-batch NAME --input IN.parquet|csv --output OUT.parquet [--engine local|spark]
                            [--spark-master URL] [--rows-per-task N] [--workers N] [--id-column COL]
                            [--upload-global URL] [--no-progress] [--trust-pickle | --sha256 HEX]

The ``shapserve`` command registers it with :func:`add_subparser` and calls :func:`run`;
``python -m batch explain-batch ...`` runs the same parser.  ``NAME`` is an artifact directory or a
model in the BentoML store: :func:`resolve_artifact` is the only place here that imports BentoML.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .errors import BatchError
from .plan import RunResult

COMMAND = "explain-batch"


def resolve_artifact(name_or_path: str) -> Path:
    """An artifact directory from a path (the artifact itself, or a BentoML model directory holding
    ``artifact/``) or from a BentoML model name or tag (``<model path>/artifact``)."""
    path = Path(name_or_path)
    if path.is_dir():
        for candidate in (path, path / "artifact"):
            if (candidate / "manifest.json").is_file():
                return candidate
        raise BatchError(f"'{path}' is a directory but holds no artifact (no manifest.json, no artifact/)")
    import bentoml

    try:
        model = bentoml.models.get(name_or_path)
    except (bentoml.exceptions.NotFound, ValueError) as exc:
        raise BatchError(
            f"'{name_or_path}' is neither an artifact directory nor a model in the BentoML store: {exc}"
        ) from None
    artifact = Path(model.path) / "artifact"
    if not (artifact / "manifest.json").is_file():
        raise BatchError(f"BentoML model '{model.tag}' holds no shapserve artifact under {artifact}")
    return artifact


def add_subparser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``explain-batch`` on an ``argparse`` subparsers object; returns its parser."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        COMMAND,
        help="explain every row of a Parquet or CSV table into a directory of Parquet parts",
        description="Predictions and SHAP values for every row of a table; see docs/batch.md.",
    )
    p.add_argument("name", metavar="NAME", help="artifact directory, or model name/tag in the BentoML store")
    p.add_argument("--input", required=True, help="IN.parquet or IN.csv (one file)")
    p.add_argument("--output", required=True, help="OUT.parquet: a directory of part files (created)")
    p.add_argument("--engine", choices=["local", "spark"], default="local", help="default: local")
    p.add_argument("--spark-master", default="local[*]", help="Spark master URL (default local[*])")
    p.add_argument("--rows-per-task", type=int, default=10_000, help="rows per partition (default 10000)")
    p.add_argument(
        "--workers",
        type=int,
        help="local: worker processes (default: one per core); spark with a local master: local[N]",
    )
    p.add_argument("--id-column", help="pass only this input column through (default: every input column)")
    p.add_argument(
        "--error-estimate",
        action="store_true",
        help="a last column, error_estimate: each row's error estimate (per-row sigma, docs/batch.md)",
    )
    p.add_argument(
        "--upload-global", metavar="URL", help="send the run's global explanation to the explanation store"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    trust = p.add_mutually_exclusive_group()
    trust.add_argument(
        "--trust-pickle", action="store_true", help="the artifact's model is a pickle you trust"
    )
    trust.add_argument("--sha256", help="load a pickled model only if its sha256 matches")
    p.set_defaults(func=run, run=run)
    return p


add_parser = add_subparser  # the name the shapserve command's modules use


def _spark_master(args: argparse.Namespace) -> str:
    if args.workers and args.spark_master == "local[*]":
        return f"local[{args.workers}]"
    return str(args.spark_master)


def execute(args: argparse.Namespace) -> RunResult:
    """Run the batch the arguments describe (raises :class:`BatchError` on failure)."""
    if args.workers is not None and args.workers < 1:
        raise BatchError(f"--workers must be at least 1, got {args.workers}")
    artifact = resolve_artifact(args.name)
    common: dict[str, Any] = {
        "rows_per_task": args.rows_per_task,
        "id_column": args.id_column,
        "trust_pickle": args.trust_pickle,
        "expected_sha256": args.sha256,
        "progress": not args.no_progress,
        "error_estimate": args.error_estimate,
    }
    if args.engine == "spark":
        from pyspark.sql import SparkSession

        from . import spark as engine

        ours = SparkSession.getActiveSession() is None  # in a notebook, the session is the user's
        session = engine.session(_spark_master(args))
        try:
            return engine.explain_table(session, args.input, args.output, artifact, **common)
        finally:
            if ours:
                session.stop()
    from .local import explain_table_local

    return explain_table_local(args.input, args.output, artifact, workers=args.workers, **common)


def run(args: argparse.Namespace) -> int:
    """Exit code: 0 done, 1 the run failed, 2 a row of the input was rejected (row and field named)."""
    try:
        result = execute(args)
        if args.upload_global:
            from .store_hook import upload_global

            upload_global(args.upload_global, result.global_json)
    except BatchError as exc:
        print(f"shapserve explain-batch: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(result.summary(), file=sys.stderr)
    print(
        json.dumps(
            {
                "output": result.output_dir,
                "engine": result.engine,
                "rows": result.n_rows,
                "parts": result.n_parts,
                "computed_parts": result.computed_parts,
                "reused_parts": result.reused_parts,
                "seconds": round(result.seconds, 3),
                "rows_per_second": round(result.rows_per_second, 1),
                "max_additivity_error": result.max_additivity_error,
                "global_explanation": result.global_path,
                "uploaded_to": args.upload_global,
            },
            indent=2,
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m batch", description=__doc__)
    add_subparser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))
