"""What each tab of the dashboard shows, computed on the server: aggregated, binned or sampled so that
an answer stays small (a few thousand numbers) whatever the number of rows.

Each function takes the model's ``ScoringService`` and a parsed body (``schemas``) and returns JSON-able
dicts; errors are ``scorers`` errors (400 naming the field).
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from scorers import global_explanations as global_kinds
from scorers.errors import InputError
from scorers.manifest import MimicInfo
from store import Filters

from . import metrics, recorded
from .cohorts import describe, mask, masks, sample
from .schemas import (
    CohortsBody,
    DependenceBody,
    ExploreBody,
    IceBody,
    ImportanceBody,
    PerformanceBody,
    RowBody,
    SourceBody,
)
from .sources import EVAL, SAMPLE, STORED, Dataset, dataset, prepared, registry
from .table import CATEGORY, MISSING_LABEL, NUMBER, Column, finite_list

if TYPE_CHECKING:
    from ..core import ScoringService

LIVE_ROWS = 1000  # cohort rows (a sample) a live pfi or mimic explanation is computed on
STORED_LISTED = 50
CACHE_ENTRIES = 32


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _no_rows(ds: Dataset, what: str) -> InputError:
    return InputError(
        f"{what} needs feature values, and {ds.title} has none; choose the evaluation rows or the training "
        "sample",
        field="source",
    )


# ------------------------------------------------------------------------------------ sources, summary
def packaged_sources(core: ScoringService) -> dict[str, Any]:
    """The model and the data sets its artifact carries (evaluation rows, training sample), without the
    explanation store: what the page needs for its first paint (``sources`` adds the store's)."""
    explainer = core.explainer
    m = core.manifest
    found: list[dict[str, Any]] = []
    if explainer.evaluation is not None:
        ev = explainer.evaluation
        found.append(
            {
                "id": EVAL,
                "title": f"Evaluation rows ({ev.n_rows:,})",
                "kind": "rows",
                "n_rows": ev.n_rows,
                "labels": ev.label_column is not None,
            }
        )
    if explainer.sample is not None and len(explainer.sample):
        n = len(explainer.sample)
        found.append(
            {
                "id": SAMPLE,
                "title": f"Training sample ({n:,}, no labels)",
                "kind": "rows",
                "n_rows": n,
                "labels": False,
            }
        )
    return {
        "model": {
            "name": core.name,
            "version": core.version,
            "task": m.model.task,
            "classes": m.model.classes,
            "scorer": m.scorer.kind,
            "exact": m.scorer.exact,
            "output_space": m.output_space,
            "features": len(m.features),
        },
        "fidelity": m.fidelity.model_dump() if m.fidelity is not None else None,
        "default": registry(core).default_key(),
        "sources": found,
        "store_error": None,
    }


def sources(core: ScoringService) -> dict[str, Any]:
    """``packaged_sources`` and the explanation store's: the source ``recorded`` when this model has
    recorded answers, and the stored explanations (the store is opened on first use)."""
    out = packaged_sources(core)
    found: list[dict[str, Any]] = out["sources"]
    try:
        found.extend(recorded.listing(core))
        for meta in core.store.list(Filters(), limit=STORED_LISTED):
            found.append(
                {
                    "id": STORED + meta.id,
                    "title": f"Stored {meta.kind} explanation {meta.id[:8]}"
                    + (f" ({meta.comment})" if meta.comment else "")
                    + f", {meta.created:%Y-%m-%d %H:%M}",
                    "kind": "local" if meta.kind == "local" else "global",
                    "n_rows": meta.n_rows,
                    "labels": None,
                    "model": {"name": meta.model_name, "version": meta.model_version},
                }
            )
    except Exception:  # noqa: BLE001 - the page still works without the store; the log has the reason
        import logging

        logging.getLogger("shapserve").warning(
            "dashboard: the explanation store is unavailable", exc_info=True
        )
        out["store_error"] = "the explanation store is unavailable (see the server log)"
    return out


def _global_kinds(core: ScoringService, ds: Dataset) -> list[str]:
    if ds.global_only is not None:
        return [ds.global_only.kind]
    if not ds.has_rows:
        return ["shap"]
    kinds = ["shap"]
    if ds.has_labels:
        kinds.append("pfi")
    stored = core.explainer.evaluation.globals if core.explainer.evaluation is not None else {}
    if "pfi" in stored and "pfi" not in kinds and ds.key == EVAL:
        kinds.append("pfi")
    if core.explainer.sample is not None and len(core.explainer.sample):
        kinds.append("mimic")
    return kinds


def summary(core: ScoringService, body: SourceBody) -> dict[str, Any]:
    ds = dataset(core, body.source)
    if ds.has_rows:
        features = [f.to_json() for f in core.explainer.schema.features]
        for f in features:
            f.update(
                {k: v for k, v in ds.columns[f["name"]].describe().items() if k in ("min", "max", "missing")}
            )
    else:
        features = [{"name": name} for name in ds.features]
    return {
        "source": {"id": ds.key, "title": ds.title, "kind": ds.kind, "n_rows": ds.n_rows},
        "task": "classification" if ds.is_classifier else "regression",
        "classes": ds.classes,
        "class_values": ds.class_values,
        "features": features,
        "fields": [c.describe() for c in ds.columns.values()],
        "has_rows": ds.has_rows,
        "has_labels": ds.has_labels,
        "live": ds.has_rows,
        "global_kinds": _global_kinds(core, ds),
        "output_space": ds.output_space,
        "fidelity": ds.fidelity,
        "shap": ds.shap.status(),
        "notes": ds.notes,
    }


def cohort_counts(core: ScoringService, body: CohortsBody) -> dict[str, Any]:
    ds = dataset(core, body.source)
    out = []
    for c, m in zip(body.cohorts, masks(ds, body.cohorts), strict=True):
        n = int(m.sum())
        out.append({**describe(c), "n": n, "share": n / ds.n_rows if ds.n_rows else None})
    return {"n_rows": ds.n_rows, "cohorts": out}


# ------------------------------------------------------------------------------------ performance
def performance(core: ScoringService, body: PerformanceBody) -> dict[str, Any]:
    ds = dataset(core, body.source)
    if ds.global_only is not None:
        raise _no_rows(ds, "model performance")
    ms = masks(ds, body.cohorts)
    out: dict[str, Any] = {
        "task": "classification" if ds.is_classifier else "regression",
        "labels": ds.has_labels,
        "classes": ds.classes,
        "notes": ds.notes,
    }
    cohorts = []
    k = ds.class_index(body.class_)  # refuses a class asked of a regressor
    if ds.classes is not None:
        bin_edges = _proba_edges(body.bins)
        out.update({"class": ds.classes[k], "proba_edges": bin_edges.tolist()})
        for c, m in zip(body.cohorts, ms, strict=True):
            if c.filters or c.since is not None:
                cohorts.append({"name": c.name, **_class_entry(ds, m, k, body.bins)})
                continue
            # all rows: depends on the rows only, kept (and computed by ``_performance_of_all_rows``)
            key = _key("performance of all rows", k, body.bins)
            entry = _cached(ds, key, lambda rows=m: _class_entry(ds, rows, k, body.bins))
            cohorts.append({"name": c.name, **entry})
    else:
        pred_edges = metrics.edges(ds.pred, body.bins)
        out["pred_edges"] = metrics.edges_json(pred_edges)
        resid_edges = None
        if ds.truth is not None:
            resid_edges = metrics.edges(ds.truth - ds.pred, body.bins)
            out["residual_edges"] = metrics.edges_json(resid_edges)
        for c, m in zip(body.cohorts, ms, strict=True):
            entry = {"name": c.name, "n": int(m.sum()), "pred_counts": metrics.counts(ds.pred[m], pred_edges)}
            if ds.truth is not None and resid_edges is not None:
                entry["metrics"] = metrics.regression(ds.pred[m], ds.truth[m])
                entry["residual_counts"] = metrics.counts(ds.truth[m] - ds.pred[m], resid_edges)
                shown = sample(ds, m, 1000)
                entry["scatter"] = {
                    "rows": shown.tolist(),
                    "label": finite_list(ds.truth[shown]),
                    "prediction": finite_list(ds.pred[shown]),
                }
            cohorts.append(entry)
    out["cohorts"] = cohorts
    return out


def _proba_edges(bins: int) -> npt.NDArray[np.float64]:
    return np.linspace(0.0, 1.0, bins + 1)


def _class_entry(ds: Dataset, m: npt.NDArray[np.bool_], k: int, bins: int) -> dict[str, Any]:
    """A classifier's performance on the rows of mask ``m``: counts, the class ``k``'s probability bins
    (each row's bin kept, ``_cells``), metrics."""
    assert ds.classes is not None
    entry: dict[str, Any] = {
        "n": int(m.sum()),
        "predicted_counts": metrics.category_counts(ds.pred[m], len(ds.classes))[:-1],
    }
    if ds.proba is not None:
        cells = _cells(ds, f"proba:{k}", ds.proba[:, k], _proba_edges(bins))
        entry["proba_counts"] = metrics.cell_counts(cells[m], bins)
    if ds.truth is not None:
        entry["metrics"] = metrics.classification(ds.pred[m], ds.truth[m], ds.classes)
    return entry


@prepared
def _performance_of_all_rows(ds: Dataset) -> None:
    """What the performance tab's first visit asks of a classifier (all rows, the default class and bin
    count; a million rows: 0.3-0.6 s, most of it binning the probabilities), computed and kept once the
    rows are loaded (``sources.preload``); the rows' bins with it."""
    if ds.classes is None or not ds.has_rows:
        return
    k, bins = ds.class_index(None), PerformanceBody.model_fields["bins"].default
    everything = np.ones(ds.n_rows, dtype=bool)
    _cached(ds, _key("performance of all rows", k, bins), lambda: _class_entry(ds, everything, k, bins))


# ------------------------------------------------------------------------------------ dataset explorer
def _groups(col: Column) -> tuple[list[str], npt.NDArray[np.int64]]:
    """Colour groups of a histogram: the categories (missing last), or a number's quartiles."""
    if col.kind == CATEGORY:
        cats = list(col.categories or [])
        codes = np.where(col.values < 0, len(cats), col.values)
        return [*cats, MISSING_LABEL], codes
    finite = col.values[np.isfinite(col.values)]
    if finite.size == 0:
        return [MISSING_LABEL], np.zeros(col.values.size, dtype=np.int64)
    cuts = np.unique(np.quantile(finite, [0.25, 0.5, 0.75]))
    bounds = [float(finite.min()), *cuts.tolist(), float(finite.max())]
    labels = [f"{_short(bounds[i])} to {_short(bounds[i + 1])}" for i in range(len(bounds) - 1)]
    codes = np.searchsorted(cuts, col.values, side="right").astype(np.int64)
    codes[~np.isfinite(col.values)] = len(labels)
    return [*labels, MISSING_LABEL], codes


def _short(v: float) -> str:
    return f"{v:.4g}"


def explore(core: ScoringService, body: ExploreBody) -> dict[str, Any]:
    ds = dataset(core, body.source)
    if ds.global_only is not None:
        raise _no_rows(ds, "the dataset explorer")
    x = ds.column(body.x, "x")
    color = ds.column(body.color, "color") if body.color else None
    ms = masks(ds, body.cohorts)
    out: dict[str, Any] = {
        "chart": body.chart,
        "x": x.describe(),
        "color": color.describe() if color is not None else None,
    }
    cohorts = []
    if body.chart == "scatter":
        if not body.y:
            raise InputError("a scatter plot needs a field for y", field="y")
        y = ds.column(body.y, "y")
        out["y"] = y.describe()
        for c, m in zip(body.cohorts, ms, strict=True):
            shown = sample(ds, m, body.max_points)
            entry: dict[str, Any] = {
                "name": c.name,
                "n": int(m.sum()),
                "shown": int(shown.size),
                "rows": shown.tolist(),
                "x": x.display(shown),
                "y": y.display(shown),
            }
            if color is not None:
                entry["color"] = color.display(shown)
            cohorts.append(entry)
        out["cohorts"] = cohorts
        return out
    if color is not None:
        labels, codes = _cached(ds, _key("groups", color.id), lambda: _groups(color))
    else:
        labels, codes = ["rows"], np.zeros(ds.n_rows, dtype=np.int64)
    # each row's cell once (a bin or category, the last cell for a missing value), then one count per
    # cohort over (colour group, cell)
    if x.kind == CATEGORY:
        n_cells = len(x.categories or []) + 1
        out["bins"] = {"categories": [*(x.categories or []), MISSING_LABEL]}
        cells = np.where(x.values < 0, n_cells - 1, x.values)
    else:
        bin_edges = metrics.edges(x.values, body.bins)
        out["bins"] = {"edges": metrics.edges_json(bin_edges), "missing": True}
        n_cells = len(bin_edges)
        cells = _cells(ds, x.id, x.values, bin_edges)
    out["groups"] = labels
    for c, m in zip(body.cohorts, ms, strict=True):
        per_group = metrics.grouped_counts(codes[m], cells[m], len(labels), n_cells)
        cohorts.append({"name": c.name, "n": int(m.sum()), "counts": per_group})
    out["cohorts"] = cohorts
    return out


# ------------------------------------------------------------------------------------ aggregate importance
def _key(*parts: Any) -> str:
    return json.dumps(parts, sort_keys=True, default=str)


def _cached(ds: Dataset, key: str, compute: Any) -> Any:
    with ds.lock:
        if key in ds.cache:
            return ds.cache[key]
    value = compute()
    with ds.lock:
        if len(ds.cache) >= CACHE_ENTRIES:
            ds.cache.pop(next(iter(ds.cache)))
        ds.cache[key] = value
    return value


def _cells(
    ds: Dataset, column: str, values: npt.NDArray[np.float64], bin_edges: npt.NDArray[np.float64]
) -> Any:
    """Each row's bin of a column (``metrics.bin_index``), kept per data set, column and edges: a cohort
    change or a tab switch then counts the cohort's rows without binning a million values again."""
    key = _key("cells", column, bin_edges.tolist())
    return _cached(ds, key, lambda: metrics.bin_index(values, bin_edges).astype(np.int16))


def _shap_importance(ds: Dataset, m: npt.NDArray[np.bool_]) -> dict[str, Any]:
    rows, values = ds.shap.snapshot()
    used = np.zeros(0, dtype=bool) if values is None else m[rows]
    n_used = int(used.sum())
    status = ds.shap.status()
    entry: dict[str, Any] = {
        "n_used": n_used,
        "scope": "stored" if ds.kind == "local" else "sample",
        "complete": bool(status["complete"]),
        "shap": status,
        "output_space": ds.output_space,
        "fidelity": ds.fidelity,
    }
    if values is None or n_used == 0:
        entry.update(per_class=None, overall=None)
        entry["note"] = (
            "no SHAP values yet: the sample is being explained"
            if values is None
            else "no row of this cohort is in the SHAP sample yet"
        )
        return entry
    per_class = np.abs(values[used]).mean(axis=0)  # (K, M)
    entry.update(per_class=per_class.tolist(), overall=per_class.mean(axis=0).tolist())
    return entry


def _stored_shap(core: ScoringService, ds: Dataset, entry: dict[str, Any]) -> dict[str, Any]:
    """All rows of a data set: the SHAP importance stored at packaging over all evaluation rows when
    there is one (exact, where the sample is an estimate); else, while the sample has no row yet, the one
    over the training sample, said so."""
    ev = core.explainer.evaluation
    if ds.key == EVAL and ev is not None and "shap" in ev.globals:
        glob, where = ev.globals["shap"], f"over all {ev.globals['shap'].n_rows:,} evaluation rows"
    elif entry["per_class"] is None and core.explainer.global_explanation is not None:
        glob = core.explainer.global_explanation
        where = f"over {glob.n_rows:,} training rows, shown until this data set's sample has rows"
    else:
        return entry
    out = {**entry, **_global_entry(glob, "stored"), "complete": entry["complete"], "shap": entry["shap"]}
    out.update(fidelity=ds.fidelity, note=f"stored at packaging, {where}")
    return out


def _global_entry(glob: Any, scope: str) -> dict[str, Any]:
    per_class = np.asarray(glob.per_class, dtype=np.float64)
    fidelity = MimicInfo.model_validate(glob.info).fidelity if glob.kind == "mimic" else None
    return {
        "n_used": int(glob.n_rows),
        "scope": scope,
        "complete": True,
        "per_class": per_class.tolist(),
        "overall": per_class.mean(axis=0).tolist(),
        "classes": None if glob.classes is None else [str(_plain(c)) for c in glob.classes],
        "output_space": glob.output_space,
        "fidelity": fidelity,
        "info": glob.info,
    }


def _live_global(
    core: ScoringService, ds: Dataset, m: npt.NDArray[np.bool_], kind: str, cohort_key: str
) -> dict[str, Any]:
    def compute() -> dict[str, Any]:
        chosen = sample(ds, m, LIVE_ROWS)
        labels = None
        if kind == "pfi":
            if ds.truth is None:
                raise InputError("permutation importance needs labels; this data set has none", field="kind")
            if ds.classes is not None:
                chosen = chosen[ds.truth[chosen] >= 0]
                assert ds.class_values is not None
                labels = [ds.class_values[i] for i in ds.truth[chosen].tolist()]
            else:
                chosen = chosen[np.isfinite(ds.truth[chosen])]
                labels = ds.truth[chosen].tolist()
        if chosen.size == 0:
            raise InputError("this cohort has no rows (with labels) to compute it on", field="cohorts")
        glob = global_kinds.explain_global(core.explainer, ds.take(chosen), kind=kind, labels=labels)
        entry = _global_entry(glob, "computed")
        entry["note"] = f"computed live on {chosen.size:,} rows of this cohort" + (
            " (a random sample)" if chosen.size < int(m.sum()) else ""
        )
        return entry

    return dict(_cached(ds, _key("global", kind, cohort_key), compute))


def importance(core: ScoringService, body: ImportanceBody) -> dict[str, Any]:
    ds = dataset(core, body.source)
    kind = body.kind
    out: dict[str, Any] = {"kind": kind, "features": ds.features, "classes": ds.classes, "notes": ds.notes}
    if ds.global_only is not None:
        g = ds.global_only
        if kind != g.kind:
            raise InputError(f"this stored explanation is of kind {g.kind!r}", field="kind")
        per_class = g.per_class
        entry = {
            "name": body.cohorts[0].name,
            "n": g.n_rows,
            "n_used": g.n_rows,
            "scope": "stored",
            "complete": True,
            "per_class": per_class.tolist(),
            "overall": per_class.mean(axis=0).tolist(),
            "output_space": ds.output_space,
            "fidelity": MimicInfo.model_validate(g.info).fidelity
            if kind == "mimic"
            else ds.fidelity
            if kind == "shap"
            else None,
            "info": g.info,
            "note": "a stored global explanation: the same for every cohort",
        }
        if kind == "pfi":
            out["classes"] = None
        out.update(output_space=ds.output_space, cohorts=[entry])
        return out
    if kind != "shap" and not ds.has_rows:
        raise InputError(f"a stored local explanation has SHAP values only, not {kind}", field="kind")
    ms = masks(ds, body.cohorts)
    stored = core.explainer.evaluation.globals if core.explainer.evaluation is not None else {}
    cohorts = []
    for c, m in zip(body.cohorts, ms, strict=True):
        n = int(m.sum())
        if kind == "shap":
            entry = _shap_importance(ds, m)
            if not c.filters and ds.has_rows:
                entry = _stored_shap(core, ds, entry)
        elif not c.filters and ds.key == EVAL and kind in stored:
            entry = _global_entry(stored[kind], "stored")
            entry["note"] = f"stored at packaging, over all {stored[kind].n_rows:,} evaluation rows"
        else:
            if n == 0:
                entry = {"n_used": 0, "per_class": None, "overall": None, "note": "this cohort has no rows"}
            else:
                entry = _live_global(core, ds, m, kind, _key(ds.key, c.model_dump()))
        cohorts.append({"name": c.name, "n": n, **entry})
    out["cohorts"] = cohorts
    spaces = [e["output_space"] for e in cohorts if e.get("output_space")]
    out["output_space"] = spaces[0] if spaces else ds.output_space
    if kind == "pfi":
        out["classes"] = None
    return out


# ------------------------------------------------------------------------------------ dependence
def dependence(core: ScoringService, body: DependenceBody) -> dict[str, Any]:
    ds = dataset(core, body.source)
    if not ds.has_rows:
        raise _no_rows(ds, "a dependence plot")
    j = ds.feature_index(body.feature, "feature")
    k = ds.class_index(body.class_)
    color = ds.column(body.color, "color") if body.color else None
    m = mask(ds, body.cohort)
    rows, values = ds.shap.snapshot()
    if values is None:
        chosen, shap_vals = rows, np.zeros(0)
    else:
        used = m[rows]
        chosen, shap_vals = rows[used][: body.max_points], values[used][: body.max_points, k, j]
    x = ds.columns[body.feature]
    return {
        "feature": body.feature,
        "x": x.describe(),
        "class": ds.classes[k] if ds.classes is not None else None,
        "output_space": ds.output_space,
        "fidelity": ds.fidelity,
        "rows": chosen.tolist(),
        "x_values": x.display(chosen),
        "shap_values": finite_list(shap_vals),
        "color": color.describe() if color is not None else None,
        "color_values": color.display(chosen) if color is not None else None,
        "n_cohort": int(m.sum()),
        "shap": ds.shap.status(),
    }


# ------------------------------------------------------------------------------------ one row
def _cell(v: Any) -> Any:
    v = _plain(v)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return v


def row(core: ScoringService, body: RowBody) -> dict[str, Any]:
    ds = dataset(core, body.source)
    if ds.global_only is not None:
        raise _no_rows(ds, "a local explanation")
    if body.row >= ds.n_rows:
        raise InputError(f"expected a row index below {ds.n_rows}, got {body.row}", field="row")
    r = body.row
    out: dict[str, Any] = {"row": r, "classes": ds.classes}
    if ds.classes is not None:
        out["prediction"] = ds.classes[int(ds.pred[r])] if ds.pred[r] >= 0 else None
        out["probabilities"] = ds.proba[r].tolist() if ds.proba is not None else None
        out["label"] = ds.classes[int(ds.truth[r])] if ds.truth is not None and ds.truth[r] >= 0 else None
    else:
        out["prediction"] = _cell(float(ds.pred[r]))
        out["label"] = _cell(float(ds.truth[r])) if ds.truth is not None else None
    if ds.has_rows:
        record = ds.take([r])
        out["instance"] = {name: _cell(v) for name, v in record.iloc[0].items()}
        exp = core.explainer.explain_frame(record, error_estimate=True)
        values, base, outputs = exp.values[0], exp.base_values, exp.outputs[0]
        computed, scorer = "live", exp.scorer
        est = exp.error_estimate
        error = {"row": float(est.rows[0]), "values": est.values[0].tolist()}
    else:
        assert ds.stored is not None and ds.shap.values is not None
        out["instance"] = None
        values = ds.shap.values[r]
        base, outputs = ds.stored["base_values"], ds.stored["outputs"][r]
        computed, scorer, error = "stored", None, None
        if "error_values" in ds.stored:  # stored with its error estimate: shown as a live one is
            error = {
                "row": float(ds.stored["error_rows"][r]),
                "values": ds.stored["error_values"][r].tolist(),
            }
    out["explanation"] = {
        "features": ds.features,
        "values": values.tolist(),
        "base_values": base.tolist(),
        "outputs": outputs.tolist(),
        "additivity_error": float(np.max(np.abs(base + values.sum(axis=-1) - outputs))),
        "output_space": ds.output_space,
        "fidelity": ds.fidelity,
        "scorer": scorer,
        "computed": computed,
        "error": error,  # live or stored with one: the row's error estimate: per row, per (class, feature)
    }
    return out


# ------------------------------------------------------------------------------------ ICE
def _grid(ds: Dataset, feature: str, points: int) -> tuple[str, list[Any]]:
    col = ds.columns[feature]
    if col.kind == CATEGORY:
        return CATEGORY, list(col.categories or [])
    finite = col.values[np.isfinite(col.values)]
    if finite.size == 0:
        raise InputError(f"feature {feature!r} has no values to sweep", field="feature")
    return NUMBER, [float(v) for v in sweep(finite, points)]


SWEEP_PREFIX = 10_000  # values whose distinct ones decide most sweeps without sorting every row


def sweep(finite: npt.NDArray[np.float64], points: int) -> npt.NDArray[np.float64]:
    """The distinct values when there are at most ``points``, else ``points`` evenly spaced from the
    smallest to the largest: what ``np.unique`` of every value decides, without sorting a million rows
    (0.1 s) when the first values already hold more than ``points`` distinct ones, or all of them."""
    head = np.unique(finite[:SWEEP_PREFIX])
    if head.size <= points:
        at = np.minimum(np.searchsorted(head, finite), head.size - 1)
        if np.array_equal(head[at], finite):  # every value is one of the first values'
            return head
        unique = np.unique(finite)
        if unique.size <= points:
            return unique
    return np.linspace(finite.min(), finite.max(), points)


def _predict_grid(
    core: ScoringService, ds: Dataset, base: Any, feature: str, grid: list[Any]
) -> npt.NDArray[np.float64]:
    """Predictions of each base row with ``feature`` set to each grid value: (rows, G, K) probabilities
    for classifiers, (rows, G) predictions for regressors."""
    n, g = len(base), len(grid)
    frame = base.iloc[np.repeat(np.arange(n), g)].reset_index(drop=True)
    frame[feature] = np.array(grid * n, dtype=object if isinstance(grid[0], str) else np.float64)
    explainer = core.explainer
    if ds.classes is not None:
        return np.asarray(explainer.predict_proba_frame(frame), dtype=np.float64).reshape(n, g, -1)
    return np.asarray(explainer.predict_frame(frame), dtype=np.float64).reshape(n, g)


def ice(core: ScoringService, body: IceBody) -> dict[str, Any]:
    ds = dataset(core, body.source)
    if not ds.has_rows or ds.take_rows is None:
        raise _no_rows(ds, "ICE")
    ds.feature_index(body.feature, "feature")
    for i, r in enumerate(body.rows):
        if not 0 <= r < ds.n_rows:
            raise InputError(f"expected a row index below {ds.n_rows}, got {r}", field=f"rows.{i}")
    kind, grid = _grid(ds, body.feature, body.grid_points)
    curves: list[dict[str, Any]] = []
    if body.rows:
        values = _predict_grid(core, ds, ds.take(body.rows), body.feature, grid)
        curves += [
            {"name": f"row {r}", "row": r, "values": v.tolist()}
            for r, v in zip(body.rows, values, strict=True)
        ]
    if body.instances:
        edited = core.rows(body.instances)  # the schema's checks, as /predict applies them
        values = _predict_grid(core, ds, edited, body.feature, grid)
        curves += [
            {"name": f"session row {i + 1}", "row": None, "values": v.tolist()} for i, v in enumerate(values)
        ]
    m = mask(ds, body.cohort)
    pd_out = None
    if body.pd_rows:
        chosen = sample(ds, m, body.pd_rows)
        if chosen.size:
            avg = _predict_grid(core, ds, ds.take(chosen), body.feature, grid).mean(axis=0)
            pd_out = {"n_rows": int(chosen.size), "rows": chosen.tolist(), "values": avg.tolist()}
    return {
        "feature": body.feature,
        "kind": kind,
        "grid": grid,
        "target": "probability" if ds.classes is not None else "prediction",
        "classes": ds.classes,
        "curves": curves,
        "pd": pd_out,
        "n_cohort": int(m.sum()),
    }
