"""Local explanations (``/explain`` answers, ``scorers.Explanation``) in and out of a Record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from scorers.errors import InputError

from .. import schemas
from ..records import ERROR_VALUES, LOCAL, Record
from .checks import (
    LABELS,
    NAMES,
    SCORER,
    adapt,
    check_finite,
    check_grid,
    check_info,
    check_shape,
    check_space,
    check_unique,
    decode_labels,
    encode_labels,
    jsonable,
    validate_model,
    where,
)

# the JSON field each stored array comes from, for messages
JSON_FIELD = {
    "values": "local_importance_values",
    "base_values": "expected_values",
    "outputs": "explained_outputs",
}
# an error estimate's parts (scorers.errorbars.ErrorEstimate) -> the arrays they are stored as
ERROR_PARTS = {"rows": "error_rows", "sampling": "error_sampling", "background": "error_background"}


def _error_arrays(est: Mapping[str, Any], n: int, k: int, m: int, field: str) -> dict[str, npt.NDArray[Any]]:
    """An error estimate's arrays (per row parts (n,), per value sigma (n, K, M)), checked: shapes,
    finite, not negative."""
    out = {}
    for part, name in (*ERROR_PARTS.items(), ("values", ERROR_VALUES)):
        a = np.asarray(est[part], dtype=np.float64)
        shape, what = ((n, k, m), "row, class, feature") if part == "values" else ((n,), "row")
        check_shape(where(field, part), a, shape, what)
        check_finite(where(field, part), a)
        if np.any(a < 0):
            idx = tuple(int(i) for i in np.argwhere(a < 0)[0])
            raise InputError(
                f"expected a standard deviation >= 0, got {a[idx]!r}", field=where(field, part, *idx)
            )
        out[name] = a
    return out


def local_record(
    values: npt.NDArray[Any],
    base_values: npt.NDArray[Any],
    outputs: npt.NDArray[Any],
    *,
    features: list[str],
    classes: list[Any] | None,
    output_space: str,
    prefix: str,
    optional: Mapping[str, Any],
    scorer: str | None = None,
    engineered: bool = False,
    top_k: int | None = None,
    info: Mapping[str, Any] | None = None,
) -> Record:
    check_space(where(prefix, "output_space"), output_space, LOCAL)
    adapt(NAMES, features, where(prefix, "features"))  # the engine path has not been through pydantic
    check_unique(where(prefix, "features"), features, "feature")
    if scorer is not None:
        adapt(SCORER, scorer, where(prefix, "scorer"))
    if classes is not None:
        adapt(LABELS, classes, where(prefix, "classes"))
        check_unique(where(prefix, "classes"), classes, "class")
        if not classes:
            raise InputError("expected at least one class", field=where(prefix, "classes"))
    if not features:
        raise InputError("expected at least one feature", field=where(prefix, "features"))
    k = len(classes) if classes is not None else 1
    m, n = len(features), len(values)
    if n == 0:
        raise InputError("expected at least one row", field=where(prefix, JSON_FIELD["values"]))
    arrays: dict[str, npt.NDArray[Any]] = {
        "values": np.asarray(values, dtype=np.float64),
        "base_values": np.asarray(base_values, dtype=np.float64),
        "outputs": np.asarray(outputs, dtype=np.float64),
    }
    shapes = {
        "values": ((n, k, m), "row, class, feature"),
        "base_values": ((k,), "class"),
        "outputs": ((n, k), "row, class"),
    }
    for name, (shape, what) in shapes.items():
        field = where(prefix, JSON_FIELD[name])
        check_shape(field, arrays[name], shape, what)
        check_finite(field, arrays[name])
    if optional.get("probabilities") is not None:
        if classes is None:
            raise InputError("a regressor has no probabilities", field=where(prefix, "probabilities"))
        proba = np.asarray(optional["probabilities"], dtype=np.float64)
        check_shape(where(prefix, "probabilities"), proba, (n, k), "row, class")
        check_finite(where(prefix, "probabilities"), proba)
        arrays["probabilities"] = proba
    for name in ("predictions", "true_ys"):
        if optional.get(name) is not None:
            arrays[name] = encode_labels(where(prefix, name), optional[name], classes, n)
    if optional.get("error_estimate") is not None:
        arrays.update(_error_arrays(optional["error_estimate"], n, k, m, where(prefix, "error_estimate")))
    return Record(
        kind=LOCAL,
        features=list(features),
        classes=list(classes) if classes is not None else None,
        output_space=output_space,
        n_rows=n,
        arrays=arrays,
        info=check_info(where(prefix, "info"), info or {}),
        engineered=engineered,
        scorer=scorer,
        top_k=top_k,
    )


def local_from_json(payload: dict[str, Any], prefix: str) -> Record:
    model: type[schemas.LocalClassifier] | type[schemas.LocalRegressor] = (
        schemas.LocalClassifier if payload.get("classes") is not None else schemas.LocalRegressor
    )
    p = validate_model(model, payload, prefix)
    n, m = len(p.local_importance_values), len(p.features)
    if n == 0:
        raise InputError("expected at least one row", field=where(prefix, "local_importance_values"))
    if isinstance(p, schemas.LocalClassifier):
        k = len(p.classes)
        check_grid(where(prefix, "expected_values"), p.expected_values, [(k, "one per class")])
        check_grid(
            where(prefix, "explained_outputs"),
            p.explained_outputs,
            [(n, "one per row"), (k, "one per class")],
        )
        check_grid(
            where(prefix, "local_importance_values"),
            p.local_importance_values,
            [(n, "one per row"), (k, "one per class"), (m, "one per feature")],
        )
        if p.probabilities is not None:
            check_grid(
                where(prefix, "probabilities"), p.probabilities, [(n, "one per row"), (k, "one per class")]
            )
        values = np.asarray(p.local_importance_values, dtype=np.float64)
        base = np.asarray(p.expected_values, dtype=np.float64)
        outputs = np.asarray(p.explained_outputs, dtype=np.float64)
    else:
        check_grid(where(prefix, "explained_outputs"), p.explained_outputs, [(n, "one per row")])
        check_grid(
            where(prefix, "local_importance_values"),
            p.local_importance_values,
            [(n, "one per row"), (m, "one per feature")],
        )
        values = np.asarray(p.local_importance_values, dtype=np.float64)[:, None, :]
        base = np.asarray([p.expected_values], dtype=np.float64)
        outputs = np.asarray(p.explained_outputs, dtype=np.float64)[:, None]
    optional: dict[str, Any] = {k: getattr(p, k, None) for k in ("probabilities", "predictions", "true_ys")}
    if p.error_estimate is not None:
        est = p.error_estimate.model_dump()
        dims = [(n, "one per row"), (m, "one per feature")]
        if isinstance(p, schemas.LocalClassifier):
            dims.insert(1, (len(p.classes), "one per class"))
        check_grid(where(prefix, "error_estimate", "values"), est["values"], dims)
        if not isinstance(p, schemas.LocalClassifier):
            est["values"] = np.asarray(est["values"], dtype=np.float64)[:, None, :]
        optional["error_estimate"] = est
    return local_record(
        values,
        base,
        outputs,
        features=p.features,
        classes=p.classes,
        output_space=p.output_space,
        prefix=prefix,
        optional=optional,
        scorer=p.scorer,
        engineered=p.engineered,
        top_k=p.top_k,
        info=p.info,
    )


def local_from_engine(obj: Any, prefix: str) -> Record:
    """A ``scorers.Explanation``: arrays as they are, no JSON round trip."""
    classes = None if obj.classes is None else [jsonable(c) for c in obj.classes]
    values = np.asarray(obj.values, dtype=np.float64)
    if values.ndim != 3:
        raise InputError(
            f"expected a (row, class, feature) array, got shape {values.shape}", field=where(prefix, "values")
        )
    return local_record(
        values,
        np.asarray(obj.base_values, dtype=np.float64).reshape(-1),
        np.asarray(obj.outputs, dtype=np.float64),
        features=[str(f) for f in obj.features],
        classes=classes,
        output_space=str(obj.output_space),
        prefix=prefix,
        optional={"error_estimate": _engine_error(getattr(obj, "error_estimate", None))},
        scorer=getattr(obj, "scorer", None),
        engineered=bool(getattr(obj, "engineered", False)),
    )


def _engine_error(est: Any) -> dict[str, Any] | None:
    """A ``scorers.errorbars.ErrorEstimate`` as the parts ``local_record`` takes."""
    if est is None:
        return None
    return {"rows": est.rows, "sampling": est.sampling, "background": est.background, "values": est.values}


def local_to_json(r: Record) -> dict[str, Any]:
    a, clf = r.arrays, r.classes is not None
    out: dict[str, Any] = {"kind": LOCAL, "features": r.features, "output_space": r.output_space}
    if clf:
        out["classes"] = r.classes
    out["engineered"] = r.engineered
    out["expected_values"] = a["base_values"].tolist() if clf else float(a["base_values"][0])
    out["explained_outputs"] = a["outputs"].tolist() if clf else a["outputs"][:, 0].tolist()
    out["local_importance_values"] = a["values"].tolist() if clf else a["values"][:, 0, :].tolist()
    if "predictions" in a:
        out["predictions"] = decode_labels(a["predictions"], r.classes)
    if "probabilities" in a:
        out["probabilities"] = a["probabilities"].tolist()
    if "true_ys" in a:
        out["true_ys"] = decode_labels(a["true_ys"], r.classes)
    if ERROR_VALUES in a:
        est: dict[str, Any] = {part: a[name].tolist() for part, name in ERROR_PARTS.items()}
        est["values"] = a[ERROR_VALUES].tolist() if clf else a[ERROR_VALUES][:, 0, :].tolist()
        out["error_estimate"] = est
    return out
