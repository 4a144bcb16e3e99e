"""``shapserve``: package a model with its scoring explainer, build the Bento, serve it.

    shapserve package MODEL --data DATA [--target COL] [--name NAME] [--scorer auto|...]
                      [--output-space ...] [--background-size N] [--build] [--trust-pickle | --sha256 HEX]
    shapserve serve [NAME_OR_TAG] [--port P] [--host H]
    shapserve demo [--build]

This module is the one place in ``scorers`` that imports BentoML (to register models in its store).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .errors import ShapserveError, UntrustedModelError

DEFAULT_NAME = "shapserve-demo"
# types skops does not trust by default but that hold data, not behaviour (an encoder's dtype parameter)
HARMLESS_SKOPS_TYPES = frozenset({"numpy.dtype"})
PROJECT_ROOT = Path(__file__).resolve().parents[1]


class _Progress:
    """Step lines with elapsed time on stderr: packaging takes seconds to minutes."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def __call__(self, msg: str) -> None:
        print(f"[{time.perf_counter() - self.t0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_model_file(path: Path, *, trust_pickle: bool = False, sha256: str | None = None) -> Any:
    """A model file: .onnx (bytes), .skops (safe), or .joblib/.pkl (a pickle: explicit trust or checksum)."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ShapserveError(f"model file '{path}' does not exist")
    if suffix == ".onnx":
        return path.read_bytes()
    if suffix == ".skops":
        import skops.io as sio

        untrusted = sio.get_untrusted_types(file=path)
        unexpected = [t for t in untrusted if t not in HARMLESS_SKOPS_TYPES]
        if unexpected and not trust_pickle:
            raise UntrustedModelError(
                f"'{path.name}' holds types skops does not trust by default: {unexpected[:8]}; "
                "review them and pass --trust-pickle to accept"
            )
        return sio.load(path, trusted=untrusted)
    if suffix in (".joblib", ".pkl", ".pickle"):
        digest = _sha256(path)
        if not trust_pickle and (sha256 is None or sha256.lower() != digest):
            raise UntrustedModelError(
                f"'{path.name}' is a pickle, and a pickle is code: loading it runs whatever its author put in it. "
                f"Pass --trust-pickle if you trust its source, or --sha256 {digest} to pin this exact file. "
                "Safe formats: .skops (skops.io.dump) or .onnx."
            )
        import joblib

        return joblib.load(path)
    raise ShapserveError(f"unknown model format '{suffix}'; expected .onnx, .skops, .joblib or .pkl")


def package(
    model: Any,
    data: Any,
    *,
    name: str,
    target: str | None = None,
    build: bool = False,
    progress: Any = None,
    labels: dict[str, str] | None = None,
    **fit_kwargs: Any,
) -> dict[str, Any]:
    """Fit, save into the BentoML model store (under ``<model path>/artifact``), optionally build."""
    import bentoml

    from .explainer import fit

    say = progress or _Progress()
    explainer = fit(model, data, target=target, progress=say, **fit_kwargs)
    say("store: saving the artifact into the BentoML model store")
    with bentoml.models.create(
        name,
        labels=labels or {},
        metadata={
            "scorer": explainer.report.scorer,
            "output_space": explainer.output_space,
            "features": len(explainer.features),
        },
    ) as stored:
        explainer.save(Path(stored.path) / "artifact")
    tag = str(stored.tag)
    out: dict[str, Any] = {"model_tag": tag, "report": _report(explainer)}
    if build:
        out["bento_tag"] = build_bento(tag, say)
    return out


def _report(explainer: Any) -> dict[str, Any]:
    r = explainer.report
    return {
        "scorer": r.scorer,
        "exact": explainer.scorer.exact,
        "output_space": r.output_space,
        "fallback": r.fallback,
        "masking": f"{r.mode} ({r.mode_reason})",
        "features": len(explainer.features),
        "classes": explainer.classes,
        "background": r.background,
        "runtimes": {"predictions": r.prediction_runtime, "coalitions": r.coalition_runtime},
        "checks": r.checks,
    }


def build_bento(model_tag: str, say: Any) -> str:
    say(f"bento: building with model {model_tag}")
    cmd = [
        sys.executable,
        "-m",
        "bentoml",
        "build",
        str(PROJECT_ROOT),
        "--arg",
        f"model={model_tag}",
        "-o",
        "tag",
    ]
    proc = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True, env=_bentoml_env())
    if proc.returncode != 0:
        raise ShapserveError(f"bentoml build failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    tag = proc.stdout.strip().splitlines()[-1].replace("__tag__:", "").strip()
    say(f"bento: built {tag}")
    return tag


def _bentoml_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("BENTOML_DO_NOT_TRACK", "true")
    return env


def demo(build: bool = False) -> dict[str, Any]:
    """Package the seed's model (the default) and the mixed-type loan pipeline."""
    from .examples import breast_cancer_svc, loan_pipeline

    say = _Progress()
    say("demo: training the seed's model, SVC(gamma=0.001, C=100., probability=True) on breast cancer")
    model, x_train, *_ = breast_cancer_svc()
    out = package(
        model, x_train, name=DEFAULT_NAME, progress=say, build=build, labels={"example": "breast-cancer"}
    )
    say("demo: training the mixed-type example (ColumnTransformer with impute, scale, one-hot)")
    pipe, x, _ = loan_pipeline()
    loan = package(pipe, x, name="shapserve-loan", progress=say, labels={"example": "loan"})
    out["examples"] = {"shapserve-loan": loan["model_tag"]}
    return out


def verify_stored(tag: str) -> Path:
    """Fail fast, before any server starts, on a missing, tampered or truncated artifact."""
    import bentoml

    from .artifact import read_manifest, verify

    try:
        path = Path(bentoml.models.get(tag).path) / "artifact"
    except bentoml.exceptions.NotFound as exc:
        raise ShapserveError(
            f"no packaged model '{tag}' in the BentoML store; run 'shapserve package' first"
        ) from exc
    verify(path, read_manifest(path))
    return path


def serve(name_or_tag: str | None, port: int, host: str) -> int:
    tag = name_or_tag or DEFAULT_NAME
    if ":" not in tag:
        tag += ":latest"
    verify_stored(tag)
    env = _bentoml_env()
    env["SHAPSERVE_MODEL"] = tag
    print(f"serving {tag} on http://{host}:{port}", file=sys.stderr)
    print(
        f"try: curl -s -X POST http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/explain "
        "-H 'Content-Type: application/json' -d @examples/breast_cancer_request.json",
        file=sys.stderr,
    )
    cmd = [
        sys.executable,
        "-m",
        "bentoml",
        "serve",
        "service.service:Shapserve",
        "--port",
        str(port),
        "--host",
        host,
    ]
    # become the server (no wrapper process): signals such as SIGTERM reach BentoML directly
    os.chdir(PROJECT_ROOT)
    os.execve(sys.executable, cmd, env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="shapserve", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "package", help="fit the scoring explainer and save model + explainer to the BentoML store"
    )
    p.add_argument(
        "model", type=Path, help=".onnx, .skops, or .joblib/.pkl (pickle: needs --trust-pickle or --sha256)"
    )
    p.add_argument("--data", required=True, type=Path, help="training rows, CSV or Parquet, raw input schema")
    p.add_argument("--target", help="target column in DATA, dropped from the features")
    p.add_argument("--name", default=DEFAULT_NAME, help="model name in the BentoML store")
    p.add_argument(
        "--scorer", default="auto", choices=["auto", "kernel", "tree", "linear", "exact", "kernel_machine"]
    )
    p.add_argument("--output-space", choices=["probability", "log_odds", "raw"])
    p.add_argument("--background-size", type=int)
    p.add_argument("--build", action="store_true", help="also build the Bento and print its tag")
    trust = p.add_mutually_exclusive_group()
    trust.add_argument("--trust-pickle", action="store_true", help="load a pickled model (a pickle is code)")
    trust.add_argument("--sha256", help="load a pickled model only if its sha256 matches")
    s = sub.add_parser("serve", help="serve a packaged model over HTTP")
    s.add_argument("name", nargs="?", help=f"model name or tag (default {DEFAULT_NAME})")
    s.add_argument("--port", type=int, default=3000)
    s.add_argument("--host", default="127.0.0.1")
    d = sub.add_parser("demo", help="train and package the built-in examples")
    d.add_argument("--build", action="store_true", help="also build the Bento")
    args = parser.parse_args(argv)
    try:
        if args.command == "package":
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
        elif args.command == "demo":
            out = demo(build=args.build)
        else:
            return serve(args.name, args.port, args.host)
    except ShapserveError as exc:
        print(f"shapserve: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(out, indent=2, default=str))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
