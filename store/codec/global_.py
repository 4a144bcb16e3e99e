"""Global explanations (``/explain_global`` answers, ``to_json()`` objects) of any kind.

``kind`` is shap (default), pfi or mimic; ``extras`` carry per-feature arrays of a kind (a PFI's
``std``), ``info`` its scalar facts (a metric name, a surrogate's fidelity).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from scorers.errors import InputError

from .. import schemas
from ..records import EXTRA, GLOBAL_KINDS, Record, ranking
from .checks import (
    BY_CLASS,
    BY_FEATURE,
    MATRIX,
    NAME,
    NAMES,
    VECTOR,
    adapt,
    check_grid,
    check_info,
    check_space,
    check_unique,
    decode_labels,
    encode_labels,
    validate_model,
    where,
)


def _matrix_by_class(
    field: str, data: Any, labels: list[str], features: list[str] | None
) -> tuple[Any, list[str]]:
    """A (K, M) matrix from ``{class: {feature: v}}`` or a [class][feature] list; the features it names."""
    if isinstance(data, dict):
        by_class = adapt(BY_CLASS, data, field)
        if set(by_class) != set(labels):
            raise InputError(f"expected the keys {labels}, got {list(by_class)}", field=field)
        names = features or list(by_class[labels[0]])
        for label in labels:
            row = by_class[label]
            missing = [f for f in names if f not in row]
            unknown = [f for f in row if f not in set(names)]
            if missing or unknown:
                raise InputError(
                    f"expected one value per feature; missing {missing[:5]}, unknown {unknown[:5]}",
                    field=where(field, label),
                )
        return [[by_class[label][f] for f in names] for label in labels], names
    if isinstance(data, list):
        if features is None:
            raise InputError("a [class][feature] list needs 'features' beside it", field=field)
        rows = adapt(MATRIX, data, field)
        check_grid(field, rows, [(len(labels), "one per class"), (len(features), "one per feature")])
        return rows, features
    raise InputError(
        f"expected {{class: {{feature: value}}}} or a [class][feature] list, got {type(data).__name__}",
        field=field,
    )


def _vector_by_feature(field: str, data: Any, features: list[str]) -> list[float]:
    if isinstance(data, dict):
        row = adapt(BY_FEATURE, data, field)
        if set(row) != set(features):
            missing = [f for f in features if f not in row]
            unknown = [f for f in row if f not in set(features)]
            raise InputError(
                f"expected one value per feature; missing {missing[:5]}, unknown {unknown[:5]}", field=field
            )
        return [row[f] for f in features]
    if isinstance(data, list):
        values = adapt(VECTOR, data, field)
        check_grid(field, values, [(len(features), "one per feature")])
        return list(values)
    raise InputError(
        f"expected {{feature: value}} or a [feature] list, got {type(data).__name__}", field=field
    )


def _extra(field: str, data: Any, labels: list[str], features: list[str]) -> npt.NDArray[np.float64]:
    by_class = isinstance(data, dict) and bool(data) and all(isinstance(v, dict) for v in data.values())
    rows = isinstance(data, list) and bool(data) and all(isinstance(v, list) for v in data)
    if by_class or rows:
        rows, _ = _matrix_by_class(field, data, labels, features)
        return np.asarray(rows, dtype=np.float64)
    return np.asarray(_vector_by_feature(field, data, features), dtype=np.float64)


def global_from_json(payload: dict[str, Any], prefix: str) -> Record:
    p = validate_model(schemas.Global, payload, prefix)
    kind = p.kind or "shap"
    if kind not in GLOBAL_KINDS:
        raise InputError(
            f"unknown kind {kind!r}; expected one of {', '.join(GLOBAL_KINDS)} (global) or 'local'",
            field=where(prefix, "kind"),
        )
    check_space(where(prefix, "output_space"), p.output_space, kind)
    if p.classes is not None:
        check_unique(where(prefix, "classes"), p.classes, "class")
        if not p.classes:
            raise InputError(
                "expected at least one class (or null for a regressor)", field=where(prefix, "classes")
            )
    labels = [str(c) for c in p.classes] if p.classes is not None else ["value"]
    if p.features is not None:
        check_unique(where(prefix, "features"), p.features, "feature")
    rows, features = _matrix_by_class(where(prefix, "per_class"), p.per_class, labels, p.features)
    if not features:
        raise InputError("expected at least one feature", field=where(prefix, "per_class"))
    adapt(NAMES, features, where(prefix, "features"))  # names may come from per_class's keys
    per_class = np.asarray(rows, dtype=np.float64)
    importance = _importance(p, per_class, features, prefix)
    arrays: dict[str, npt.NDArray[Any]] = {"per_class": per_class, "importance": importance}
    for name, data in p.extras.items():
        field = where(prefix, "extras", name)
        if not NAME.match(name):
            raise InputError("expected a lower-case name of at most 32 letters, digits or '_'", field=field)
        arrays[EXTRA + name] = _extra(field, data, labels, features)
    if p.true_ys is not None:
        arrays["true_ys"] = encode_labels(where(prefix, "true_ys"), p.true_ys, p.classes, p.n_rows)
    return Record(
        kind=kind,
        features=features,
        classes=p.classes,
        output_space=p.output_space,
        n_rows=p.n_rows,
        arrays=arrays,
        info=check_info(where(prefix, "info"), p.info),
        engineered=p.engineered,
        scorer=p.scorer,
        top_k=p.top_k,
    )


def _importance(
    p: schemas.Global, per_class: Any, features: list[str], prefix: str
) -> npt.NDArray[np.float64]:
    names, values = p.ranked_names, p.ranked_values
    if (names is None) != (values is None):
        missing = "ranked_values" if values is None else "ranked_names"
        raise InputError("ranked_names and ranked_values come together", field=where(prefix, missing))
    if names is not None and values is not None:
        if len(names) != len(values):
            raise InputError(
                f"expected {len(names)} values (one per ranked name), got {len(values)}",
                field=where(prefix, "ranked_values"),
            )
        check_unique(where(prefix, "ranked_names"), names, "feature")
        unknown = next((i for i, nm in enumerate(names) if nm not in set(features)), None)
        if unknown is not None:
            raise InputError(
                f"unknown feature {names[unknown]!r}", field=where(prefix, "ranked_names", unknown)
            )
    if p.importance is not None:
        return np.asarray(
            _vector_by_feature(where(prefix, "importance"), p.importance, features), dtype=np.float64
        )
    if names is not None and values is not None and len(names) == len(features):
        by_name = dict(zip(names, values, strict=True))
        return np.asarray([by_name[f] for f in features], dtype=np.float64)
    return np.asarray(per_class, dtype=np.float64).mean(axis=0)


def global_to_json(r: Record) -> dict[str, Any]:
    labels = [str(c) for c in r.classes] if r.classes is not None else ["value"]
    names, values = ranking(r.importance(), r.features, r.top_k)

    def by_class(m: npt.NDArray[np.float64]) -> dict[str, dict[str, float]]:
        return {
            label: dict(zip(r.features, row, strict=True))
            for label, row in zip(labels, m.tolist(), strict=True)
        }

    extras: dict[str, Any] = {}
    for name, a in r.extras().items():
        extras[name] = by_class(a) if a.ndim == 2 else dict(zip(r.features, a.tolist(), strict=True))
    return {
        "kind": r.kind,
        "output_space": r.output_space,
        "n_rows": r.n_rows,
        "classes": r.classes,
        "features": r.features,
        "engineered": r.engineered,
        "ranked_names": names,
        "ranked_values": values,
        "per_class": by_class(r.arrays["per_class"]),
        "importance": dict(zip(r.features, r.arrays["importance"].tolist(), strict=True)),
        "extras": extras,
        **({"true_ys": decode_labels(r.arrays["true_ys"], r.classes)} if "true_ys" in r.arrays else {}),
    }
