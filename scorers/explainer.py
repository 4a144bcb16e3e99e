"""The scoring explainer: fit once at packaging time, explain fast at serving time.

``fit(model, background, ...)`` decides where to mask (identity, grouped by raw column, or raw), which
scorer applies and in which output space, summarises the background, picks the fastest faithful
runtime for coalition evaluation, fits the scorer, and runs the fit-time checks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import spaces
from .anchor import anchor_plan
from .background import Background, summarize
from .base import AUTO_ORDER, REGISTRY, FitContext, Scorer
from .design import ExactScorer
from .errors import InputError, UnsupportedModelError
from .explanation import Explanation, GlobalExplanation
from .fastpaths import fast_output_fn
from .masking import GROUPED, IDENTITY, RAW, Game, Masking
from .model import CLASSIFIER, NativeModel, OnnxModel, _quiet, estimator_output, raw_frame, time_call
from .onnx_export import OnnxExport, export_head, onnx_output_fn
from .preprocess import dense, detect_groups
from .schema import CATEGORY, Feature, Schema, infer_features

Progress = Callable[[str], None]

_UNSEEN = "__shapserve_unseen_category__"


def read_table(
    data: pd.DataFrame | np.ndarray | str | Path, feature_names: Sequence[str] | None = None
) -> pd.DataFrame:
    """Training rows as a DataFrame: a DataFrame, an array (with names), or a CSV / Parquet path."""
    if isinstance(data, (str, Path)):
        path = Path(data)
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path)
        raise InputError(f"expected a .csv or .parquet file, got '{path.name}'", field="data")
    if isinstance(data, pd.DataFrame):
        data = data.reset_index(drop=True)
        data.columns = [str(c) for c in data.columns]
        return data
    arr = np.asarray(data)
    names = list(feature_names) if feature_names is not None else [f"x{j}" for j in range(arr.shape[1])]
    return pd.DataFrame(arr, columns=names)


@dataclass
class FitReport:
    """What fit decided and measured; it goes into the manifest as it is."""

    scorer: str = ""
    requested_scorer: str = "auto"
    output_space: str = ""
    fallback: str | None = None
    mode: str = ""
    mode_reason: str = ""
    coalition_runtime: str = ""
    prediction_runtime: str = ""
    onnx: dict[str, Any] = field(default_factory=dict)
    fast_path: dict[str, Any] = field(default_factory=dict)
    background: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)


def _default_background_size(scorer: str, n_players: int) -> tuple[int, str]:
    if scorer == "linear":
        return 1000, "sample"  # only the mean matters: use many rows
    if scorer == "tree":
        return 100, "sample"
    if scorer == "kernel_machine":
        return 50, "kmeans"
    if scorer == "exact":
        return int(max(8, min(50, 2**17 // 2**n_players))), "kmeans"
    return 20, "kmeans"


class ScoringExplainer:
    """A fitted scoring explainer.  Build it with :func:`fit` or :func:`scorers.load`."""

    def __init__(
        self,
        model: NativeModel | OnnxModel,
        schema: Schema,
        masking: Masking,
        scorer: Scorer,
        background: Background,
        report: FitReport,
        global_explanation: GlobalExplanation | None = None,
        sample: pd.DataFrame | None = None,
        onnx_head: bytes | None = None,
        manifest: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.schema = schema
        self.masking = masking
        self.scorer = scorer
        self.background = background
        self.report = report
        self.global_explanation = global_explanation
        self.sample = sample
        self.onnx_head = onnx_head
        self.manifest = manifest  # set when loaded from an artifact

    # -- facts ------------------------------------------------------------------------------------------
    @property
    def features(self) -> list[str]:
        return self.schema.names

    @property
    def task(self) -> str:
        return self.model.task

    @property
    def classes(self) -> list[Any] | None:
        return list(self.model.classes) if self.task == CLASSIFIER else None

    @property
    def output_space(self) -> str:
        return self.report.output_space

    @property
    def expected_values(self) -> np.ndarray:
        return self.scorer.base_values

    # -- serving --------------------------------------------------------------------------------------
    def validate(self, rows: Any) -> pd.DataFrame:
        """Rows (DataFrame, array, or JSON-like list) checked against the schema; raises InputError."""
        if isinstance(rows, (pd.DataFrame, np.ndarray)):
            return self.schema.validate_frame(rows)
        return self.schema.rows_to_frame(rows)

    def predict(self, rows: Any) -> np.ndarray:
        return self.model.predict(self.validate(rows))

    def predict_proba(self, rows: Any) -> np.ndarray:
        if self.task != CLASSIFIER:
            raise UnsupportedModelError("a regressor has no class probabilities")
        return self.model.predict_proba(self.validate(rows))

    def explain(self, rows: Any, *, engineered: bool = False) -> Explanation:
        """Local explanation of validated rows (see :class:`Explanation` for shapes)."""
        frame = (
            rows
            if isinstance(rows, pd.DataFrame) and getattr(rows, "_shapserve_valid", False)
            else self.validate(rows)
        )
        return self.explain_frame(frame, engineered=engineered)

    def explain_frame(self, frame: pd.DataFrame, *, engineered: bool = False) -> Explanation:
        x = self.masking.encode(frame)
        names = self.features
        if engineered:
            result = self.scorer.engineered_values(x)
            if result is None:
                raise UnsupportedModelError(
                    f"the {self.scorer.name} scorer explains raw features only; engineered explanations "
                    "come from the linear and tree scorers"
                )
            values, outputs = result
            names = self.masking.encoded_names
        else:
            values, outputs = self.scorer.shap_values(x)
        return Explanation(
            values=values,
            base_values=np.asarray(self.expected_values, dtype=np.float64),
            outputs=outputs,
            features=names,
            classes=self.classes,
            output_space=self.output_space,
            scorer=self.scorer.name,
        )

    def explain_global(self, rows: Any | None = None) -> GlobalExplanation:
        """Mean |SHAP| per feature over rows (default: the stored global explanation)."""
        if rows is None and self.global_explanation is not None:
            return self.global_explanation
        if rows is None:
            raise InputError("no stored global explanation; pass rows to explain", field="rows")
        exp = self.explain(rows)
        return GlobalExplanation(
            np.abs(exp.values).mean(axis=0), self.features, self.classes, self.output_space, len(exp.values)
        )

    def save(self, directory: str | Path) -> Path:
        from .artifact import save

        return save(self, directory)


# --------------------------------------------------------------------------------------------------
# fitting
# --------------------------------------------------------------------------------------------------
def _wrap_model(model: Any, schema: Schema, classes: Sequence[Any] | None) -> NativeModel | OnnxModel:
    if isinstance(model, (bytes, bytearray)):
        return OnnxModel(bytes(model), schema, list(classes) if classes is not None else None)
    if isinstance(model, (str, Path)) and str(model).endswith(".onnx"):
        return OnnxModel(Path(model).read_bytes(), schema, list(classes) if classes is not None else None)
    if type(model).__name__ == "ModelProto":
        return OnnxModel(model.SerializeToString(), schema, list(classes) if classes is not None else None)
    return NativeModel(model, schema)


def _probe_features(model: NativeModel | OnnxModel, frame: pd.DataFrame, features: list[Feature]) -> None:
    """Find out, by asking the model, which features it can impute and whether it takes unseen categories."""
    rows = frame.iloc[:2].copy()

    def works(test: pd.DataFrame) -> bool:
        try:
            out = model.predict_proba(test) if model.task == CLASSIFIER else model.predict(test)
            return bool(np.all(np.isfinite(np.asarray(out, dtype=np.float64))))
        except Exception:  # noqa: BLE001 - a refusal is the answer we are looking for
            return False

    for feat in features:
        if not feat.nullable:
            test = rows.copy()
            test[feat.name] = np.nan if feat.dtype != CATEGORY else None
            if feat.dtype == CATEGORY:
                test[feat.name] = test[feat.name].astype(object)
            feat.nullable = works(test)
        if feat.dtype == CATEGORY:
            test = rows.copy()
            test[feat.name] = _UNSEEN
            feat.unseen = "accepted" if works(test) else "rejected"


def encoder_for(
    model: NativeModel | OnnxModel, mode: str
) -> tuple[Callable[[pd.DataFrame], np.ndarray], Any]:
    """(encode raw rows for masking, head estimator or None) for a masking mode."""
    if mode == RAW:
        return (lambda f: f.to_numpy(dtype=object)), (None if isinstance(model, OnnxModel) else model.model)
    if mode == IDENTITY:
        return (lambda f: np.ascontiguousarray(f.to_numpy(dtype=np.float64))), (
            None if isinstance(model, OnnxModel) else model.model
        )
    assert isinstance(model, NativeModel)
    pre, head = model.model[:-1], model.model[-1]
    # A preprocessor fitted on a DataFrame spends most of a one-row call checking the frame (~0.5 ms
    # against ~0.1 ms for the same numbers as an array).  For all-numeric rows the array path is used
    # once it has given bit-identical output to the frame path on the first rows encoded (the
    # background at fit time, the warm-up row after loading); a preprocessor that selects columns by
    # name refuses arrays and keeps the frame path.
    by_array: list[bool] = [] if model.wants_frame and model.schema.numeric_only else [False]

    def transform(f: pd.DataFrame) -> np.ndarray:
        if by_array and by_array[0]:
            return dense(_quiet(pre.transform, f.to_numpy(dtype=np.float64)))
        out = dense(pre.transform(model.model_input(f)))
        if not by_array:
            try:
                alt = dense(_quiet(pre.transform, f.to_numpy(dtype=np.float64)))
                by_array.append(alt.shape == out.shape and bool(np.array_equal(alt, out, equal_nan=True)))
            except Exception:  # noqa: BLE001 - a refusal means: keep the frame path
                by_array.append(False)
        return out

    return transform, head


def _masking(model: NativeModel | OnnxModel, schema: Schema, frame: pd.DataFrame) -> tuple[Masking, Any, str]:
    """Decide where to mask: (masking, head estimator or None, reason)."""
    names = schema.names
    singles = np.arange(len(names))

    def build(
        mode: str, reason: str, groups: np.ndarray = singles, enc_names: list[str] = names
    ) -> tuple[Masking, Any, str]:
        encode, head = encoder_for(model, mode)
        return Masking(mode, names, groups.astype(np.int64), enc_names, encode), head, reason

    if isinstance(model, OnnxModel):
        if model.sig.single_input is not None:
            return build(IDENTITY, "ONNX graph with one input tensor")
        return build(RAW, "ONNX graph with one input per column")
    steps = getattr(model.model, "steps", None)
    if steps is not None and len(steps) > 1:
        transform, _ = encoder_for(model, GROUPED)
        try:
            out_names = [str(n) for n in model.model[:-1].get_feature_names_out()]
        except Exception:  # noqa: BLE001 - names are a nicety
            out_names = None
        owner, reason = detect_groups(transform, frame, out_names)
        if owner is not None:
            enc_names = out_names or [f"{names[g]}[{c}]" for c, g in enumerate(owner)]
            return build(GROUPED, "column-wise preprocessing", owner, enc_names)
        return build(
            RAW, f"preprocessing is not column-wise ({reason}); the pipeline is a black box over raw columns"
        )
    if schema.numeric_only:
        return build(IDENTITY, "numeric columns")
    return build(RAW, "non-numeric columns")


def _choose(
    scorer: str,
    output_space: str | None,
    head: Any,
    task: str,
    mode: str,
    masking: Masking,
    params: dict[str, Any],
) -> tuple[str, str, str | None]:
    """(scorer name, space, fallback note)."""
    if output_space is not None and output_space not in spaces.SPACES:
        raise InputError(
            f"unknown output space '{output_space}'; expected one of {list(spaces.SPACES)}",
            field="output_space",
        )
    if scorer == "auto":
        for name in AUTO_ORDER:
            avail = REGISTRY[name].native_spaces(head, task, mode, masking, **params)
            if avail and (output_space is None or output_space in avail):
                return name, output_space or avail[0], None
        raise UnsupportedModelError(f"no scorer explains this model in the '{output_space}' space")
    if scorer not in REGISTRY:
        raise InputError(
            f"unknown scorer '{scorer}'; expected auto or one of {sorted(REGISTRY)}", field="scorer"
        )
    avail = REGISTRY[scorer].native_spaces(head, task, mode, masking, **params)
    if avail and (output_space is None or output_space in avail):
        return scorer, output_space or avail[0], None
    if not avail:
        if scorer in ("exact",) and masking.n_players > params.get("max_features", 12):
            raise UnsupportedModelError(
                f"the exact scorer enumerates 2^M coalitions and is capped at {params.get('max_features', 12)} "
                f"features; this model has {masking.n_players} (raise max_features or use kernel)"
            )
        raise UnsupportedModelError(
            f"the {scorer} scorer does not apply to {type(head).__name__} in {mode} mode"
        )
    fallback = "exact" if masking.n_players <= params.get("max_features", 12) else "kernel"
    if output_space not in REGISTRY[fallback].native_spaces(head, task, mode, masking, **params):
        raise UnsupportedModelError(f"no scorer explains this model in the '{output_space}' space")
    return (
        fallback,
        output_space,
        (
            f"the {scorer} scorer is exact only in {avail}; '{output_space}' was asked for, so the {fallback} scorer explains it"
        ),
    )


def fit(
    model: Any,
    background: pd.DataFrame | np.ndarray | str | Path,
    *,
    scorer: str = "auto",
    output_space: str | None = None,
    background_size: int | None = None,
    summary: str | None = None,
    n_coalitions: int | None = None,
    max_exact_features: int = 12,
    eval_size: int = 200,
    onnx: bool = True,
    onnx_tolerance: float = 1e-10,
    anchor: bool = True,
    target: str | None = None,
    feature_names: Sequence[str] | None = None,
    classes: Sequence[Any] | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> ScoringExplainer:
    """Fit a scoring explainer for ``model`` against training rows ``background`` (raw schema)."""
    say = progress or (lambda _msg: None)
    report = FitReport(requested_scorer=scorer)
    frame = read_table(background, feature_names)
    if target is not None:
        if target not in frame.columns:
            raise InputError(
                f"target column '{target}' is not in the data; columns: {list(frame.columns)}", field="target"
            )
        frame = frame.drop(columns=[target])
    if len(frame) < 2:
        raise InputError("expected at least 2 training rows", field="background")
    features = infer_features(frame)
    schema = Schema(features)
    frame = schema.validate_frame(frame.astype({f.name: object for f in features if f.dtype == CATEGORY}))
    say(f"model: wrapping and probing {len(features)} raw features")
    wrapped = _wrap_model(model, schema, classes)
    _probe_features(wrapped, frame, features)
    schema = Schema(features)
    if isinstance(wrapped, OnnxModel) and wrapped.task == CLASSIFIER and not wrapped.classes:
        probs = wrapped.predict_proba(frame.iloc[:1])
        labels = pd.unique(pd.Series(wrapped.predict(frame)))
        wrapped.classes = (
            sorted(labels.tolist()) if len(labels) == probs.shape[1] else list(range(probs.shape[1]))
        )
    wrapped.schema = schema

    say("masking: checking whether preprocessing is column-wise")
    masking, head, report.mode_reason = _masking(wrapped, schema, frame)
    report.mode = masking.mode
    params = {"max_features": max_exact_features}
    name, space, report.fallback = _choose(
        scorer, output_space, head, wrapped.task, masking.mode, masking, params
    )
    report.scorer, report.output_space = name, space
    if report.fallback:
        say(f"note: {report.fallback}")
    encoded_all = masking.encode(frame)
    n_classes = len(wrapped.classes) if wrapped.task == CLASSIFIER else 1

    size, default_method = _default_background_size(name, masking.n_players)
    size = background_size or size
    method = summary or default_method
    say(f"background: summarising {len(frame)} rows to {min(size, len(frame))} ({method})")
    snap = (
        masking.mode == IDENTITY and not np.isnan(encoded_all.astype(np.float64)).any()
        if encoded_all.dtype != object
        else False
    )
    bg = summarize(frame, encoded_all, size, method, snap_centroids=snap, seed=seed)
    report.background = {"size": int(len(bg.weights)), "method": bg.method, "source_rows": bg.source_rows}

    say("runtime: building the model function and checking ONNX")
    fn, onnx_head = _model_function(
        wrapped, head, masking, space, n_classes, bg, onnx, onnx_tolerance, report
    )
    report.prediction_runtime = wrapped.runtime
    game = Game(masking, fn, bg.encoded, bg.weights)
    ctx = FitContext(masking, game, head, space, wrapped.task, n_classes, masking.mode)
    kwargs: dict[str, Any] = {}
    if name == "kernel":
        kwargs = {"n_coalitions": n_coalitions, "seed": seed}
        plan = (
            anchor_plan(head, wrapped.task, space, masking.mode, n_classes, report.coalition_runtime, fn)
            if anchor
            else None
        )
        if plan is not None and plan.space in REGISTRY[plan.scorer].native_spaces(
            head, wrapped.task, masking.mode, masking, **params
        ):
            ctx.anchor = plan
            kwargs["anchor"] = plan.key
            say(f"kernel: anchored on the exact {plan.scorer} scorer in the {plan.space} space")
    elif name == "exact":
        kwargs = {"max_features": max_exact_features}
    fitted = REGISTRY[name](**kwargs).fit(ctx)

    rng = np.random.default_rng(seed)
    sample = frame.iloc[np.sort(rng.permutation(len(frame))[: min(eval_size, len(frame))])].reset_index(
        drop=True
    )
    explainer = ScoringExplainer(
        wrapped, schema, masking, fitted, bg, report, sample=sample, onnx_head=onnx_head
    )
    say(f"checks: explaining {len(sample)} rows for the global explanation and additivity")
    _fit_checks(explainer, sample, say)
    return explainer


def _model_function(
    wrapped: NativeModel | OnnxModel,
    head: Any,
    masking: Masking,
    space: str,
    n_classes: int,
    bg: Background,
    use_onnx: bool,
    tol: float,
    report: FitReport,
) -> tuple[Callable[[Any], np.ndarray], bytes | None]:
    """The model output in ``space`` on encoded hybrids: native or ONNX, whichever is faster and faithful."""
    if isinstance(wrapped, OnnxModel):
        report.coalition_runtime = "onnxruntime"
        report.onnx = {"exported": False, "reason": "the model is an ONNX graph"}
        return wrapped.output_fn(space, masking.mode, wrapped.schema), None
    if masking.mode == RAW:
        schema = wrapped.schema

        def native_raw(h: np.ndarray) -> np.ndarray:
            return estimator_output(wrapped.model, space, wrapped.task, n_classes)(
                wrapped.model_input(raw_frame(h, schema))
            )

        report.coalition_runtime = "sklearn"
        report.onnx = {"exported": False, "reason": "raw masking evaluates the whole pipeline"}
        return native_raw, None
    native = estimator_output(head, space, wrapped.task, n_classes)
    report.coalition_runtime = "sklearn"
    if not use_onnx:
        report.onnx = {"exported": False, "reason": "disabled"}
        return native, None
    if not REGISTRY[report.scorer].evaluates_coalitions:
        report.onnx = {
            "exported": False,
            "reason": f"the {report.scorer} scorer reads the model's parameters",
        }
        return native, None
    probe = _probe_hybrids(bg.encoded.astype(np.float64), masking)
    export: OnnxExport = export_head(head, probe.shape[1], wrapped.task, space, native, probe, tol)
    report.onnx = {
        "exported": export.model_bytes is not None,
        "dtype": export.dtype,
        "max_abs_diff": export.max_abs_diff,
        "reason": export.reason,
    }
    # candidates: the native model, the ONNX export, a model-specific fast path; the fastest faithful one wins
    candidates: dict[str, Callable[[Any], np.ndarray]] = {"sklearn": native}
    if export.model_bytes is not None:
        candidates["onnxruntime"] = onnx_output_fn(export.model_bytes, wrapped.task, space)
    fast = fast_output_fn(head, space)
    if fast is not None:
        diff = float(np.max(np.abs(fast[1](probe) - native(probe))))
        report.fast_path = {"name": fast[0], "max_abs_diff": diff, "used": False}
        if diff <= tol:
            candidates[fast[0]] = fast[1]
    times = {name: time_call(fn, probe) for name, fn in candidates.items()}
    report.timings.update({"probe_rows": len(probe), **{f"{k}_s": v for k, v in times.items()}})
    best = min(times, key=lambda k: times[k])
    report.coalition_runtime = best
    if fast is not None and best == fast[0]:
        report.fast_path["used"] = True
    return candidates[best], export.model_bytes


def _probe_hybrids(bg: np.ndarray, masking: Masking, n: int = 4000, seed: int = 0) -> np.ndarray:
    """Realistic hybrids of background rows, for parity and timing of the model function."""
    rng = np.random.default_rng(seed)
    a = bg[rng.integers(0, len(bg), n)]
    b = bg[rng.integers(0, len(bg), n)]
    masks = rng.random((n, masking.n_players)) < 0.5
    return np.where(masks[:, masking.column_group], a, b)


def _fit_checks(explainer: ScoringExplainer, sample: pd.DataFrame, say: Progress) -> None:
    report = explainer.report
    t0 = time.perf_counter()
    exp = explainer.explain_frame(sample)
    batch_s = time.perf_counter() - t0
    report.checks["additivity_max_abs_error"] = exp.additivity_error()
    report.checks["additivity_rows"] = len(sample)
    per_class = np.abs(exp.values).mean(axis=0)
    explainer.global_explanation = GlobalExplanation(
        per_class, explainer.features, explainer.classes, explainer.output_space, len(sample)
    )
    # single-row latency, the serving case
    one = sample.iloc[:1]
    explainer.explain_frame(one)
    singles = [
        time_call(explainer.explain_frame, sample.iloc[i : i + 1], repeat=1)
        for i in range(min(5, len(sample)))
    ]
    report.checks["explain_ms_per_row_single"] = 1000 * float(np.median(singles))
    report.checks["explain_ms_per_row_batch"] = 1000 * batch_s / len(sample)
    m = explainer.masking.n_players
    if m <= 10 and explainer.scorer.name != "exact":
        say("checks: comparing against full enumeration on 5 rows")
        ref = ExactScorer(max_features=m).fit(explainer.scorer._check_fitted())
        x = explainer.masking.encode(sample.iloc[:5])
        diff = np.max(np.abs(ref.shap_values(x)[0] - explainer.scorer.shap_values(x)[0]))
        report.checks["max_abs_diff_vs_enumeration"] = float(diff)
    elif explainer.scorer.name == "exact":
        report.checks["max_abs_diff_vs_enumeration"] = 0.0
    if (
        not math.isfinite(report.checks["additivity_max_abs_error"])
        or report.checks["additivity_max_abs_error"] > 1e-6
    ):
        raise UnsupportedModelError(
            f"explanations are not additive on the training rows (max error "
            f"{report.checks['additivity_max_abs_error']:.3g}); refusing to package them"
        )
