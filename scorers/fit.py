"""``fit``: the packaging-time decisions, in order, then the one assembly path and the checks.

1. read the training rows and infer the raw schema; wrap the model in its runtime and probe it;
2. decide where to mask (scorers.choose) and which scorer kind explains it in which space;
3. summarise the background (the kind's default size and method unless the caller says);
4. choose the fastest faithful coalition runtime (scorers.runtimes.coalitions);
5. assemble the explainer (scorers.assemble);
6. measure the served explanations against the full data and tune the background (scorers.fidelity);
7. run the fit-time checks (scorers.checks).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import fidelity, runtimes
from .assemble import assemble
from .background import Background, summarize
from .checks import run_checks
from .choose import choose_masking, choose_scorer
from .errors import InputError, UnknownFeatureError
from .fidelity import FidelityOptions
from .global_explanations import mimic
from .input_schema import CATEGORY, Schema, infer_features
from .kinds import REGISTRY, FitOptions
from .manifest import (
    BackgroundSection,
    CounterfactualsSection,
    Manifest,
    MaskingSection,
    ModelSection,
    ScorerSection,
)
from .masking import IDENTITY, Masking
from .packaging_options import PackagingOptions
from .probe import check_training_rows, probe_features
from .runtime_packages import model_packages
from .runtimes import CLASSIFIER, ModelRuntime, coalitions
from .scoring_explainer import ScoringExplainer
from .tables import read_table

Progress = Callable[[str], None]


def fit(
    model: Any,
    background: pd.DataFrame | np.ndarray | str | Path,
    *,
    scorer: str = "auto",
    output_space: str | None = None,
    background_size: int | str | None = None,
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
    task: str | None = None,
    seed: int = 0,
    max_error: float | None = None,
    latency_budget_ms: float | None = None,
    calibrate: bool = True,
    holdout: pd.DataFrame | np.ndarray | str | Path | None = None,
    immutable: Sequence[str] = (),
    progress: Progress | None = None,
) -> ScoringExplainer:
    """Fit a scoring explainer for ``model`` against training rows ``background`` (raw schema).

    ``background_size``: rows of the background (``"all"``: every training row); by default the
    kind's own size, calibrated to the full data (scorers.fidelity); ``summary``: ``kmeans``, ``sample``,
    ``all`` (served as they are) or ``calibrated`` (the default with no size given).  ``max_error``: grow the
    background until the stated error (relative MAE against the full-data values) meets it.
    ``latency_budget_ms``: the most accurate background whose explain time per row fits.
    ``classes`` names a classifier's classes, by position in the model's own order (its ``classes_``,
    or its probability columns): the names replace the labels everywhere, predictions included.
    ``task`` ('classifier' / 'regressor') tells what a black box (an object with predict) is.
    ``holdout``: rows no fit may see (the evaluation rows, raw schema, without labels); the stated error
    is also measured on some of them (``manifest.fidelity.holdout``).  ``immutable``: features no
    counterfactual may change (``manifest.counterfactuals``).  The keywords are those of
    ``PackagingOptions`` (scorers/packaging_options.py); ``package`` takes one.
    """
    options = PackagingOptions(
        scorer=scorer,
        output_space=output_space,
        background_size=background_size,
        summary=summary,
        n_coalitions=n_coalitions,
        max_exact_features=max_exact_features,
        eval_size=eval_size,
        onnx=onnx,
        onnx_tolerance=onnx_tolerance,
        anchor=anchor,
        target=target,
        feature_names=feature_names,
        classes=classes,
        task=task,
        seed=seed,
        max_error=max_error,
        latency_budget_ms=latency_budget_ms,
        calibrate=calibrate,
        holdout=holdout,
        immutable=immutable,
    )
    return package(model, background, options, progress)


def package(
    model: Any,
    background: pd.DataFrame | np.ndarray | str | Path,
    options: PackagingOptions,
    progress: Progress | None = None,
) -> ScoringExplainer:
    """``fit`` with its choices in one ``PackagingOptions``: the decisions below, in order."""
    say = progress or (lambda _msg: None)
    kind_options = FitOptions(
        n_coalitions=options.n_coalitions,
        max_exact_features=options.max_exact_features,
        anchor=options.anchor,
        seed=options.seed,
        tolerance=options.onnx_tolerance,
    )
    frame = _training_rows(background, options.feature_names, options.target)
    features = infer_features(frame)
    schema = Schema(features)
    counterfactual_settings = _counterfactuals(schema, options.immutable)  # refused before any work
    frame = schema.validate_frame(frame.astype({f.name: object for f in features if f.dtype == CATEGORY}))

    say(f"model: wrapping and probing {len(features)} raw features")
    runtime, schema, labels = _runtime(model, frame, features, options)

    say("masking: checking whether preprocessing is column-wise")
    masking, mode_reason = choose_masking(runtime, schema, frame)
    head = runtime.encoder(masking.mode)[1]
    choice = choose_scorer(options.scorer, options.output_space, head, runtime.task, masking, kind_options)
    if choice.fallback:
        say(f"note: {choice.fallback}")
    n_classes = len(runtime.classes) if runtime.task == CLASSIFIER else 1

    kind = REGISTRY[choice.kind]
    size, method = _background_plan(kind, masking, head, len(frame), options)
    say(f"background: summarising {len(frame)} rows to {min(size, len(frame))} ({method})")
    encoded_all = masking.encode(frame)
    bg = summarize(
        frame, encoded_all, size, method, snap_centroids=_snap(masking, encoded_all), seed=options.seed
    )

    say("runtime: building the model function and checking ONNX")
    coalition = coalitions.choose(
        runtime,
        head,
        masking,
        choice.space,
        n_classes,
        bg.encoded,
        use_onnx=options.onnx,
        tol=options.onnx_tolerance,
        evaluates_coalitions=kind.evaluates_coalitions,
        scorer=choice.kind,
    )
    manifest = Manifest(
        model=_model_section(model, runtime, labels, coalition),
        features=schema.features,
        masking=MaskingSection(
            mode=masking.mode,  # type: ignore[arg-type]
            reason=mode_reason,
            column_group=masking.column_group.tolist(),
            encoded_names=masking.encoded_names,
        ),
        scorer=ScorerSection(
            kind=choice.kind, exact=kind.exact, requested=options.scorer, fallback=choice.fallback
        ),
        output_space=choice.space,  # type: ignore[arg-type]
        expected_values=[],
        background=BackgroundSection(size=len(bg.weights), method=bg.method, source_rows=bg.source_rows),
        timings=coalition.timings,
        counterfactuals=counterfactual_settings,
    )
    sample = _check_rows(frame, options.eval_size, options.seed)

    def build(
        background: Background,
        n_coalitions: int | None = None,
        kind: str | None = None,
        estimator: str | None = None,
    ) -> ScoringExplainer:
        section = BackgroundSection(
            size=len(background.weights), method=background.method, source_rows=background.source_rows
        )
        update: dict[str, Any] = {"background": section}
        if kind is not None:  # another black-box kind measured against the chosen one (fidelity.estimator)
            update["scorer"] = manifest.scorer.model_copy(
                update={"kind": kind, "exact": REGISTRY[kind].exact}
            )
        return assemble(
            runtime,
            schema,
            masking,
            background,
            manifest.model_copy(deep=True, update=update),
            coalition.fn,
            options=kind_options
            if n_coalitions is None and estimator is None
            else dataclasses.replace(
                kind_options,
                n_coalitions=kind_options.n_coalitions if n_coalitions is None else n_coalitions,
                anchor_estimator=estimator,
            ),
            sample=sample,
            onnx_head=coalition.onnx_head,
        )

    explainer, stated = fidelity.tune(
        build(bg),
        frame,
        encoded_all,
        build,
        FidelityOptions(
            max_error=options.max_error,
            latency_budget_ms=options.latency_budget_ms,
            calibrate=options.calibrating and kind.calibrates(size),
            # the background and the design are the caller's when they give either
            split_evaluations=fidelity.SPLIT_EVALUATIONS
            if options.calibrating and options.background_size is None and options.n_coalitions is None
            else None,
            size_budget=fidelity.SIZE_BUDGET
            if options.calibrating and options.background_size is None
            else None,
            seed=options.seed,
        ),
        say,
        holdout=None if options.holdout is None else read_table(options.holdout, list(schema.names)),
        reference_fn=coalition.reference,
    )
    explainer.manifest.fidelity = stated
    kernel = explainer.manifest.scorer.kernel_params()
    if kernel is not None and kernel.anchor is not None:
        say(f"kernel: anchored on the exact scorer '{kernel.anchor}'")
    say(f"checks: explaining {len(sample)} rows for the global explanation and additivity")
    run_checks(explainer, sample, say)
    return explainer


def _runtime(
    model: Any, frame: pd.DataFrame, features: list[Any], options: PackagingOptions
) -> tuple[ModelRuntime, Schema, list[Any] | None]:
    """The model in its runtime, probed on the rows; its classes' names when they differ from its labels."""
    schema = Schema(features)
    runtime = runtimes.wrap(model, schema, task=options.task)
    check_training_rows(runtime, frame)
    probe_features(runtime, frame, features)
    schema = Schema(features)
    runtime.schema = schema
    learn_classes = getattr(runtime, "learn_classes", None)
    if learn_classes is not None:
        learn_classes(frame)
    labels = runtimes.name_classes(runtime, options.classes) if options.classes is not None else None
    if labels is not None and [_jsonable(c) for c in labels] == [_jsonable(c) for c in runtime.classes]:
        labels = None  # the names are the labels
    return runtime, schema, labels


def _background_plan(
    kind: Any, masking: Masking, head: Any, n_rows: int, options: PackagingOptions
) -> tuple[int, str]:
    """The background's size and summary method: the kind's, unless the caller says."""
    size, default_method = kind.default_background(masking.n_players, head, len(masking.column_group))
    # "calibrated": the kind's summary, then weights fitted to the full data (the default when neither
    # a size nor a summary is given); any other summary is served as it is
    method = default_method if options.summary in (None, "calibrated") else options.summary
    asked = options.background_size
    if asked == "all":
        return n_rows, "all"
    if asked is not None:
        if isinstance(asked, str | bool) or asked < 1:
            raise InputError(
                f"expected a positive number of rows or 'all', got {asked!r}", field="background_size"
            )
        size = asked
    return size, method


def _snap(masking: Masking, encoded_all: np.ndarray) -> bool:
    """k-means centroids snap to real rows when the model sees the raw numbers and none is missing."""
    if encoded_all.dtype == object:
        return False
    return masking.mode == IDENTITY and not np.isnan(encoded_all.astype(np.float64)).any()


def _model_section(
    model: Any, runtime: ModelRuntime, labels: list[Any] | None, coalition: Any
) -> ModelSection:
    return ModelSection(
        task=runtime.task,  # type: ignore[arg-type]
        classes=[_jsonable(c) for c in runtime.classes] if runtime.task == CLASSIFIER else None,
        labels=[_jsonable(c) for c in labels] if labels is not None else None,
        prediction_runtime=runtime.name,
        coalition_runtime=coalition.name,
        onnx_export=coalition.onnx,
        fast_path=coalition.fast_path,
        type="onnx" if runtime.format == "onnx" else type(getattr(runtime, "model", model)).__name__,
        packages=["onnxruntime"]
        if runtime.format == "onnx"
        else model_packages(getattr(runtime, "model", model)),
    )


def _check_rows(frame: pd.DataFrame, eval_size: int, seed: int) -> pd.DataFrame:
    """The seeded rows of the fit-time checks (stored with the artifact as its sample)."""
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.permutation(len(frame))[: min(eval_size, len(frame))])
    return frame.iloc[picked].reset_index(drop=True)


def _counterfactuals(schema: Schema, immutable: Sequence[str]) -> CounterfactualsSection | None:
    """The manifest's counterfactual settings; an unknown feature is an ``InputError`` naming it."""
    if isinstance(immutable, str):
        raise InputError("expected a list of feature names, not a string", field="immutable")
    unknown = [n for n in immutable if n not in schema.names]
    if unknown:
        raise UnknownFeatureError(
            f"unknown feature '{unknown[0]}'; expected features: {schema.names}", field="immutable"
        )
    return CounterfactualsSection(immutable=list(dict.fromkeys(immutable))) if immutable else None


def _training_rows(
    data: pd.DataFrame | np.ndarray | str | Path, feature_names: Sequence[str] | None, target: str | None
) -> pd.DataFrame:
    frame = read_table(data, feature_names)
    if target is not None:
        if target not in frame.columns:
            raise InputError(
                f"target column '{target}' is not in the data; columns: {list(frame.columns)}", field="target"
            )
        frame = frame.drop(columns=[target])
    if len(frame) < 2:
        raise InputError("expected at least 2 training rows", field="background")
    return frame


def _jsonable(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


mimic.use_packaging(fit)
