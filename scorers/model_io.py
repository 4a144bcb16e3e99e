"""Model files in and out, under one trust policy.

Safe formats first: ONNX (a graph, no code) and skops (a restricted loader that lists the types a file
holds).  A joblib/pickle file is code: loading it runs whatever its author put in it, so it loads only
on an explicit trust choice or when its sha256 matches one the caller pins.  The same rule holds for a
model file given to the CLI and for the model inside an artifact.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from .errors import ArtifactError, ShapserveError, UntrustedModelError
from .input_schema import Schema
from .runtimes import BoosterRuntime, GenericRuntime, ModelRuntime, OnnxRuntime, SklearnRuntime
from .runtimes.base import CLASSIFIER
from .runtimes.boosters import load_native

# types skops does not trust by default but that hold data, not behaviour (an encoder's dtype parameter)
HARMLESS_SKOPS_TYPES = frozenset({"numpy.dtype"})
PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")
LIGHTGBM_SUFFIXES = (".txt", ".lgb")  # LightGBM model text (Booster.save_model / model_to_string)
XGBOOST_SUFFIXES = (".json", ".ubj")  # XGBoost's JSON or UBJSON model (Booster.save_model)
NATIVE_FORMATS = ("lightgbm", "xgboost")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_pickle_trust(path: Path, trust: bool, sha256: str | None, how_to_trust: str) -> None:
    """Refuse a pickle unless trusted or pinned by its sha256; ``how_to_trust`` names the caller's knobs.

    A sha256 given is always checked, trust or not: a file that does not match it is refused with both
    digests and no advice to pin the file's own (that would pin whatever replaced the file)."""
    digest = sha256_file(path)
    if sha256 is not None and sha256.strip().lower() != digest:
        raise UntrustedModelError(
            f"'{path.name}' is not the file pinned: its sha256 is {digest}, not the {sha256.strip()} pinned. "
            "The file changed since its checksum was taken, or the checksum is wrong; a pickle is code, so it "
            "is not loaded"
        )
    if trust or sha256 is not None:
        return
    raise UntrustedModelError(
        f"'{path.name}' is a pickle, and a pickle is code: loading it runs whatever its author put in it. "
        + how_to_trust.format(digest=digest)
    )


def _load_pickle(path: Path) -> Any:
    import joblib

    return joblib.load(path)


def _load_skops(path: Path, allowed: set[str] | None, trust: bool) -> Any:
    """``allowed``: the types recorded at packaging (artifact); None: a user's file (CLI)."""
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=path)
    if allowed is not None:
        unexpected = [t for t in untrusted if t not in allowed]
        if unexpected:
            raise UntrustedModelError(
                f"'{path.name}' holds types the packaging step did not record: {unexpected[:5]}"
            )
    else:
        unexpected = [t for t in untrusted if t not in HARMLESS_SKOPS_TYPES]
        if unexpected and not trust:
            raise UntrustedModelError(
                f"'{path.name}' holds types skops does not trust by default: {unexpected[:8]}; "
                "review them and pass --trust-pickle to accept"
            )
    return sio.load(path, trusted=untrusted)


# --------------------------------------------------------------------------------------------------
# the user's model file (CLI)
# --------------------------------------------------------------------------------------------------
def load_model_file(path: Path, *, trust_pickle: bool = False, sha256: str | None = None) -> Any:
    """A model file: .onnx (bytes), .skops (safe), LightGBM text (.txt/.lgb) or XGBoost JSON/UBJSON
    (.json/.ubj) as a booster (data, not code), or .joblib/.pkl (a pickle: explicit trust or checksum)."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ShapserveError(f"model file '{path}' does not exist")
    if suffix == ".onnx":
        return path.read_bytes()
    if suffix == ".skops":
        return _load_skops(path, None, trust_pickle)
    if suffix in LIGHTGBM_SUFFIXES:
        import lightgbm

        try:
            return lightgbm.Booster(model_file=str(path))
        except Exception as exc:  # noqa: BLE001 - LightGBM raises its own error type for a bad file
            raise ShapserveError(f"'{path.name}' is not a LightGBM model file: {exc}") from exc
    if suffix in XGBOOST_SUFFIXES:
        import xgboost

        booster = xgboost.Booster()
        try:
            booster.load_model(str(path))
        except Exception as exc:  # noqa: BLE001 - XGBoost raises its own error type for a bad file
            raise ShapserveError(f"'{path.name}' is not an XGBoost model file: {exc}") from exc
        return booster
    if suffix in PICKLE_SUFFIXES:
        check_pickle_trust(
            path,
            trust_pickle,
            sha256,
            "Pass --trust-pickle if you trust its source, or --sha256 {digest} to pin this exact file. "
            "Safe formats: .skops (skops.io.dump) or .onnx.",
        )
        return _load_pickle(path)
    raise ShapserveError(
        f"unknown model format '{suffix}'; expected .onnx, .skops, .txt/.lgb (LightGBM), .json/.ubj "
        "(XGBoost), .joblib or .pkl"
    )


# --------------------------------------------------------------------------------------------------
# the model inside an artifact
# --------------------------------------------------------------------------------------------------
def save_model(runtime: ModelRuntime, directory: Path) -> dict[str, Any]:
    """Write the model; return the manifest's file facts (file, format, pickle, type, skops types)."""
    if isinstance(runtime, OnnxRuntime):
        path = directory / "model.onnx"
        path.write_bytes(runtime.model_bytes)
        return {"file": path.name, "format": "onnx", "pickle": False, "type": "onnx"}
    if isinstance(runtime, BoosterRuntime):  # the library's own model file: trees as data, no code
        path = directory / f"model{runtime.native.suffix}"
        path.write_bytes(runtime.native.to_bytes())
        return {"file": path.name, "format": runtime.format, "pickle": False}
    if isinstance(runtime, GenericRuntime):  # an arbitrary object can only be pickled
        import joblib

        path = directory / "model.joblib"
        joblib.dump(runtime.model, path)
        return {"file": path.name, "format": "joblib", "pickle": True, "type": type(runtime.model).__name__}
    assert isinstance(runtime, SklearnRuntime)
    model = runtime.model
    info: dict[str, Any] = {"type": type(model).__name__}
    try:
        import skops.io as sio

        path = directory / "model.skops"
        sio.dump(model, path)
        untrusted = sio.get_untrusted_types(file=path)
        sio.load(path, trusted=untrusted)  # must load back
        return {
            **info,
            "file": path.name,
            "format": "skops",
            "pickle": False,
            "skops_trusted_types": untrusted,
        }
    except Exception:  # noqa: BLE001 - any skops limitation means: fall back to a pickle
        import joblib

        (directory / "model.skops").unlink(missing_ok=True)
        path = directory / "model.joblib"
        joblib.dump(model, path)
        return {**info, "file": path.name, "format": "joblib", "pickle": True}


def load_model(
    root: Path,
    *,
    file: str,
    fmt: str,
    schema: Schema,
    classes: list[Any] | None,
    skops_trusted_types: list[str] | None,
    trust_pickle: bool,
    expected_sha256: str | None,
    runtime: str = "sklearn",
    task: str = CLASSIFIER,
) -> ModelRuntime:
    """The runtime of an artifact's model file, under the trust policy.  ``classes`` are the model's own
    labels; ``runtime`` and ``task`` are the manifest's (a black box or a booster cannot tell)."""
    path = root / file
    if fmt == "onnx":
        return OnnxRuntime(path.read_bytes(), schema, classes)
    if fmt in NATIVE_FORMATS:
        labels = classes if task == CLASSIFIER else None
        return BoosterRuntime(load_native(fmt, path.read_bytes(), task=task, labels=labels), schema)
    if fmt == "skops":
        return SklearnRuntime(_load_skops(path, set(skops_trusted_types or []), False), schema)
    if fmt == "joblib":
        check_pickle_trust(
            path,
            trust_pickle,
            expected_sha256,
            "Load it only if you trust its source: pass trust_pickle=True (SHAPSERVE_TRUST_PICKLE=true) or "
            "its sha256 ({digest})",
        )
        if runtime == GenericRuntime.name:
            return GenericRuntime(_load_pickle(path), schema, task=task, labels=classes)
        return SklearnRuntime(_load_pickle(path), schema)
    raise ArtifactError(f"unknown model format '{fmt}' in the manifest")
