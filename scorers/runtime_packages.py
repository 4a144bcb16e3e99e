"""The optional packages a packaged model needs when served, and the check that they are installed.

The serving environment is the core lock (``requirements.lock``) plus one extra lock per optional
package group (``requirements-<extra>.lock``).  Packaging records what the model is built from
(manifest ``model.packages``); :func:`needed` reads the manifest and names the extras the model needs,
each with its reason.  The Bento's requirements follow it (``cli/bento.py``), and a server refuses to
start on a model whose extras are missing (:func:`check`, called by ``scorers.load`` and at the
service's start-up), instead of failing at the first request (docs/decisions.md, "one image per runtime").
"""

from __future__ import annotations

import importlib.util
import pickle
from dataclasses import dataclass
from typing import Any

from .errors import ArtifactError
from .manifest import Manifest


@dataclass(frozen=True)
class Extra:
    """One optional package group: its lock file and the modules serving imports from it."""

    name: str
    modules: tuple[str, ...]

    @property
    def lock(self) -> str:
        return f"requirements-{self.name}.lock"


EXTRAS: dict[str, Extra] = {
    e.name: e
    for e in (
        Extra("onnx", ("onnxruntime", "onnx")),
        Extra("lightgbm", ("lightgbm",)),
        Extra("xgboost", ("xgboost",)),
        Extra("parquet", ("pyarrow",)),
        Extra("numba", ("numba", "llvmlite")),
    )
}
# runtime names (manifest model.prediction_runtime / coalition_runtime / format) -> extra
_RUNTIME_EXTRA = {"onnxruntime": "onnx", "onnx": "onnx", "lightgbm": "lightgbm", "xgboost": "xgboost"}
# top-level packages a model object may be built from (manifest model.packages) -> extra
_PACKAGE_EXTRA = {"onnxruntime": "onnx", "onnx": "onnx", "lightgbm": "lightgbm", "xgboost": "xgboost"}
# scorer parameters that record a compiled path chosen at packaging ({"name": ...}) -> what it is
_NUMBA_PATHS = {
    "chain": "its permutation scorer's chain path",
    "pair_kernel": "its kernel_machine scorer's pair loop",
}


class MissingPackageError(ArtifactError):
    """The model needs an optional package this environment lacks (refused at load, not per request)."""

    kind = "missing_package"


def model_packages(model: Any) -> list[str] | None:
    """The top-level packages of every object the model is built from (a Pipeline's steps included),
    found by pickling it into nothing; None when it does not pickle."""
    found: set[str] = set()

    class _Walk(pickle.Pickler):
        def persistent_id(self, obj: Any) -> None:
            owner = obj if isinstance(obj, type) else type(obj)
            found.add(str(getattr(owner, "__module__", "") or "").partition(".")[0])
            return None

    class _Nowhere:
        def write(self, data: bytes) -> int:
            return len(data)

    try:
        _Walk(_Nowhere(), protocol=4).dump(model)
    except Exception:  # noqa: BLE001 - an object that does not pickle: its packages stay unknown
        return None
    return sorted(found - {"", "builtins", "copyreg", "_codecs", "pickle"})


def needed(manifest: Manifest) -> dict[str, str]:
    """The extras a model needs when served, each with the reason (in the manifest's words)."""
    info = manifest.model
    out: dict[str, str] = {}
    for field, value in (
        ("prediction runtime", info.prediction_runtime),
        ("coalition runtime", info.coalition_runtime),
        ("model format", info.format),
    ):
        extra = _RUNTIME_EXTRA.get(str(value))
        if extra is not None:
            out.setdefault(extra, f"its {field} is {value}")
    for package in info.packages or []:
        extra = _PACKAGE_EXTRA.get(package)
        if extra is not None:
            out.setdefault(extra, f"the model ({info.type}) is built from {package}")
    for key, what in _NUMBA_PATHS.items():
        record = manifest.scorer.params.get(key)
        name = record.get("name") if isinstance(record, dict) else None
        if isinstance(name, str) and name.startswith("numba"):
            out.setdefault("numba", f"{what} is {name}")
    ev = manifest.evaluation
    if ev is not None and ev.file.endswith(".parquet"):
        out.setdefault("parquet", f"its evaluation rows are stored as Parquet ({ev.file})")
    return out


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing(manifest: Manifest) -> dict[str, str]:
    """The extras the model needs that this environment lacks, each with its reason."""
    out = {}
    for name, reason in needed(manifest).items():
        absent = [m for m in EXTRAS[name].modules if not _installed(m)]
        if absent:
            out[name] = f"{reason}, and the package{'s' if len(absent) > 1 else ''} {', '.join(absent)} "
            out[name] += f"{'are' if len(absent) > 1 else 'is'} not installed"
    return out


def check(manifest: Manifest) -> None:
    """Raise ``MissingPackageError`` naming every missing package and why the model needs it."""
    lacking = missing(manifest)
    if not lacking:
        return
    what = "; ".join(f"{name}: {reason}" for name, reason in lacking.items())
    locks = " ".join(EXTRAS[name].lock for name in lacking)
    raise MissingPackageError(
        f"this environment cannot serve the model (a {manifest.model.type}, prediction runtime "
        f"{manifest.model.prediction_runtime}): {what}. Install {locks} (pip install -r), or build the "
        "image from a Bento packaged with this model (shapserve package --build), whose requirements "
        "include them"
    )
