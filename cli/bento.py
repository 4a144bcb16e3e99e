"""The one BentoML-facing module: the model store, ``bentoml build`` and ``bentoml serve``.

The engine (``scorers``) never imports BentoML; packaging fits with the engine and then stores the
artifact under ``<model path>/artifact`` in BentoML's model store.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import scorers
from scorers import runtime_packages
from scorers.artifact import read_manifest, verify
from scorers.errors import ShapserveError

from .progress import Progress
from .report import packaging_report

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_NAME = "shapserve-demo"
ARTIFACT_DIR = "artifact"


def bentoml_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("BENTOML_DO_NOT_TRACK", "true")
    return env


def package(
    model: Any,
    data: Any,
    *,
    name: str,
    target: str | None = None,
    build: bool = False,
    progress: Callable[[str], None] | None = None,
    labels: dict[str, str] | None = None,
    eval_data: Any = None,
    eval_target: str | None = None,
    global_kinds: list[str] | None = None,
    eval_options: dict[str, Any] | None = None,
    **fit_kwargs: Any,
) -> dict[str, Any]:
    """Fit, save into the BentoML model store (under ``<model path>/artifact``), optionally build.

    ``eval_data``: evaluation rows stored with the artifact, with the global explanations of
    ``global_kinds`` computed on them (``scorers.evaluate``); their labels are the ``eval_target`` column,
    by default the ``target`` column when the evaluation rows have it.
    """
    import bentoml

    say = progress or Progress()
    rows = None if eval_data is None else scorers.read_table(eval_data)
    if rows is not None and eval_target is None and target is not None and target in rows.columns:
        eval_target = target
    holdout = None  # the evaluation rows without their labels: the fidelity error is also measured on them
    if rows is not None:
        holdout = rows.drop(columns=[eval_target]) if eval_target in rows.columns else rows
    explainer = scorers.fit(model, data, target=target, holdout=holdout, progress=say, **fit_kwargs)
    if rows is not None:
        scorers.evaluate(
            explainer, rows, target=eval_target, kinds=global_kinds, progress=say, **(eval_options or {})
        )
    m = explainer.manifest
    if m.fidelity is not None and m.checks is not None:
        say(
            f"fidelity: {m.fidelity.rel_mae_vs_full_data:.2%} rel. MAE against the full-data SHAP values "
            f"({m.background.size}-row {m.background.method} background), "
            f"{m.checks.explain_ms_per_row_single:.1f} ms per row"
        )
        if m.fidelity.holdout is not None and m.fidelity.holdout.rows_checked:
            held = m.fidelity.holdout
            say(
                f"fidelity: {held.rel_mae_vs_full_data:.2%} on {held.rows_checked} evaluation rows no fit has seen"
            )
    say("store: saving the artifact into the BentoML model store")
    with bentoml.models.create(
        name,
        labels=labels or {},
        metadata={
            "scorer": explainer.manifest.scorer.kind,
            "output_space": explainer.output_space,
            "features": len(explainer.features),
        },
    ) as stored:
        explainer.save(Path(stored.path) / ARTIFACT_DIR)
    tag = str(stored.tag)
    out: dict[str, Any] = {"model_tag": tag, "report": packaging_report(explainer)}
    if build:
        out["bento_tag"] = build_bento(tag, say)
    return out


def register(directory: str | Path, *, name: str, labels: dict[str, str] | None = None) -> str:
    """Copy a saved artifact (``ScoringExplainer.save``, ``scorers.interpret.save``) into the BentoML model
    store under ``name``, after verifying it; returns the model tag (``shapserve serve`` serves it)."""
    import shutil

    import bentoml

    src = Path(directory)
    manifest = read_manifest(src)
    verify(src, manifest)
    with bentoml.models.create(
        name,
        labels=labels or {},
        metadata={
            "scorer": manifest.scorer.kind,
            "output_space": manifest.output_space,
            "features": len(manifest.features),
        },
    ) as stored:
        shutil.copytree(src, Path(stored.path) / ARTIFACT_DIR)
    return str(stored.tag)


def build_bento(model_tag: str, say: Callable[[str], None]) -> str:
    """``bentoml build`` of the project with ``model_tag``, its Python requirements the core lock plus the
    extras the model needs (``scorers.runtime_packages``): an SVC's Bento carries no ONNX, LightGBM,
    XGBoost or Parquet package."""
    import tempfile

    import yaml

    manifest = read_manifest(artifact_path(model_tag))
    extras = runtime_packages.needed(manifest)
    say(
        f"bento: building with model {model_tag}, requirements.lock"
        + "".join(f" + {runtime_packages.EXTRAS[name].lock} ({why})" for name, why in extras.items())
    )
    (PROJECT_ROOT / "build").mkdir(exist_ok=True)
    # under the project (BentoML takes the requirements file by a relative path); build/ is excluded
    with tempfile.TemporaryDirectory(prefix="bentofile-", dir=PROJECT_ROOT / "build") as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(bento_requirements(extras))
        bentofile = yaml.safe_load((PROJECT_ROOT / "bentofile.yaml").read_text())
        bentofile["python"]["requirements_txt"] = str(requirements.relative_to(PROJECT_ROOT))
        (Path(tmp) / "bentofile.yaml").write_text(yaml.safe_dump(bentofile, sort_keys=False))
        cmd = [
            sys.executable,
            "-m",
            "bentoml",
            "build",
            str(PROJECT_ROOT),
            "-f",
            str(Path(tmp) / "bentofile.yaml"),
            "--arg",
            f"model={model_tag}",
            "-o",
            "tag",
        ]
        proc = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True, env=bentoml_env())
    if proc.returncode != 0:
        raise ShapserveError(f"bentoml build failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    tag = proc.stdout.strip().splitlines()[-1].replace("__tag__:", "").strip()
    say(f"bento: built {tag}")
    return tag


def bento_requirements(extras: Iterable[str]) -> str:
    """requirements.lock followed by each extra's lock: the pinned requirements of one model's Bento."""
    locks = ["requirements.lock", *(runtime_packages.EXTRAS[name].lock for name in extras)]
    return "".join(f"# {lock}\n{(PROJECT_ROOT / lock).read_text()}" for lock in locks)


def artifact_path(tag: str) -> Path:
    """The artifact directory of a packaged model (name or name:version) in the BentoML store."""
    import bentoml

    if ":" not in tag:
        tag += ":latest"
    try:
        return Path(bentoml.models.get(tag).path) / ARTIFACT_DIR
    except bentoml.exceptions.NotFound as exc:
        raise ShapserveError(
            f"no packaged model '{tag}' in the BentoML store; run 'shapserve package' first"
        ) from exc


def verify_stored(tag: str) -> Path:
    """Fail fast, before any server starts, on a missing, tampered or truncated artifact."""
    path = artifact_path(tag)
    verify(path, read_manifest(path))
    return path


def try_line(tag: str, host: str, port: int) -> str:
    """The request ``serve`` suggests: a model of ``shapserve demo`` (its ``example`` label) gets its own
    example request under ``examples/``; any other model ``GET /metadata``, which lists the features a
    row takes. The request file's path is relative to the working directory when it lies below it."""
    import bentoml

    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    example = bentoml.models.get(tag).info.labels.get("example")
    request = PROJECT_ROOT / "examples" / f"{str(example).replace('-', '_')}_request.json"
    if example is None or not request.is_file():
        return f"try: curl -s {url}/metadata   (the features a row of POST {url}/explain takes)"
    shown = request.relative_to(Path.cwd()) if request.is_relative_to(Path.cwd()) else request
    return f"try: curl -s -X POST {url}/explain -H 'Content-Type: application/json' -d @{shown}"


def serve(name_or_tag: str | None, port: int, host: str) -> int:
    tag = name_or_tag or DEFAULT_NAME
    if ":" not in tag:
        tag += ":latest"
    verify_stored(tag)
    env = bentoml_env()
    env["SHAPSERVE_MODEL"] = tag
    print(f"serving {tag} on http://{host}:{port}", file=sys.stderr)
    print(try_line(tag, host, port), file=sys.stderr)
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
