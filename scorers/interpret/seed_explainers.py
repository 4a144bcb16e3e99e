"""The seed's explainers on the engine: ``TabularExplainer``, ``MimicExplainer`` and ``PFIExplainer``.

Constructor arguments are interpret-community's: ``model, initialization_examples, features=, classes=,
transformations=`` (and Mimic's ``explainable_model, explainable_model_args, augment_data,
max_num_of_augmentations``; PFI's ``model, metric=, features=, classes=``).  ``transformations`` puts the
model behind its fitted transformations (``scorers.transformations``) so that explanations are over the
raw columns; ``explain_local(x, engineered=True)`` gives the engineered ones where the scorer is exact per
column (linear, tree).  ``classes`` names the model's classes in its output order.

- ``TabularExplainer`` is ``scorers.fit(model, rows, scorer="auto")``: the exact scorer that applies, else
  KernelSHAP.  Further keyword arguments go to ``scorers.fit`` (``scorer=``, ``output_space=``, ...).
- ``MimicExplainer`` trains a global surrogate (``scorers.global_explanations.mimic``) and reports its fidelity.
- ``PFIExplainer`` computes permutation importance (``scorers.global_explanations.pfi``); it has no local explanations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import runtimes
from ..errors import InputError, UnsupportedOperationError
from ..explanation_objects import GlobalExplanation
from ..fit import fit
from ..global_explanations import fit_mimic, permutation_importance, resolve
from ..global_explanations.mimic import Mimic
from ..global_explanations.pfi import DEFAULT_REPEATS
from ..input_schema import CATEGORY, Schema, infer_features
from ..probe import probe_features
from ..runtimes import CLASSIFIER, ModelRuntime
from ..scoring_explainer import ScoringExplainer
from ..tables import read_table
from ..transformations import compose, is_fitted
from .seed_explanations import LocalExplanation

if TYPE_CHECKING:
    from ..counterfactuals import Counterfactuals

# interpret-community's PFI metric names -> scikit-learn scorer names (same sign convention: an error
# metric's importance is the increase of the error)
PFI_METRIC_ALIASES = {
    "mean_absolute_error": "neg_mean_absolute_error",
    "mean_squared_error": "neg_mean_squared_error",
    "mean_squared_log_error": "neg_mean_squared_log_error",
    "median_absolute_error": "neg_median_absolute_error",
    "r2_score": "r2",
    "explained_variance_score": "explained_variance",
    "average_precision_score": "average_precision",
    "f1_score": "f1",
    "precision_score": "precision",
    "recall_score": "recall",
}


def rows_frame(examples: Any, features: Sequence[Any] | None) -> pd.DataFrame:
    """Examples (DataFrame, array, CSV/Parquet path) as a DataFrame named by the raw features."""
    if isinstance(examples, pd.DataFrame):
        frame = read_table(examples)
        if features is not None and [str(f) for f in features] != list(frame.columns):
            raise InputError(
                f"features= names {[str(f) for f in features][:8]}... but the DataFrame's columns are "
                f"{list(frame.columns)[:8]}...; pass the same names in the same order, or leave features out",
                field="features",
            )
        return frame
    if isinstance(examples, str | Path):
        return read_table(examples)
    arr = np.asarray(examples)
    if arr.ndim != 2:
        raise InputError(f"expected a 2-D table of rows, got an array of shape {arr.shape}", field="examples")
    names = [str(f) for f in features] if features is not None else None
    if names is not None and len(names) != arr.shape[1]:
        raise InputError(f"{len(names)} feature names for {arr.shape[1]} columns", field="features")
    return read_table(arr, names)


def check_fitted(model: Any) -> None:
    from sklearn.base import BaseEstimator

    if isinstance(model, BaseEstimator) and not is_fitted(model):
        raise InputError(
            f"{type(model).__name__} is not fitted; fit it before explaining it (the seed's raw-feature "
            "snippets build clf but never call clf.fit(x_train, y_train))",
            field="model",
        )


def class_names(classes: Sequence[Any] | None, model_classes: list[Any] | None) -> list[Any] | None:
    """The display names of the model's classes: ``classes=`` (checked), else the model's own."""
    if classes is None:
        return model_classes
    names = list(classes.tolist() if hasattr(classes, "tolist") else classes)
    if model_classes is None:
        raise InputError(
            "classes= names the classes of a classifier; this model is a regressor", field="classes"
        )
    if len(names) != len(model_classes):
        raise InputError(
            f"{len(names)} class names for a model with {len(model_classes)} classes {model_classes}",
            field="classes",
        )
    return names


def wrap_model(model: Any, frame: pd.DataFrame) -> tuple[ModelRuntime, Schema, pd.DataFrame]:
    """The model's runtime over the raw rows, the probed schema and the validated rows, in the model's own
    labels (the explainers apply display names themselves)."""
    features = infer_features(frame)
    schema = Schema(features)
    frame = schema.validate_frame(frame.astype({f.name: object for f in features if f.dtype == CATEGORY}))
    runtime = runtimes.wrap(model, schema)
    probe_features(runtime, frame, features)
    runtime.schema = Schema(features)
    learn_classes = getattr(runtime, "learn_classes", None)
    if learn_classes is not None:
        learn_classes(frame)
    return runtime, runtime.schema, frame


def validate(schema: Schema, examples: Any) -> pd.DataFrame:
    if isinstance(examples, pd.DataFrame | np.ndarray):
        return schema.validate_frame(examples)
    return schema.rows_to_frame(examples)


def _named(obj: Any, classes: list[Any] | None) -> Any:
    return (
        dataclasses.replace(obj, classes=classes) if classes is not None and obj.classes is not None else obj
    )


class TabularExplainer:
    """SHAP values of the model, by the best scorer that applies (``scorers.fit(..., scorer="auto")``)."""

    def __init__(
        self,
        model: Any,
        initialization_examples: Any,
        *,
        features: Sequence[Any] | None = None,
        classes: Sequence[Any] | None = None,
        transformations: Any = None,
        **fit_options: Any,
    ) -> None:
        check_fitted(model)
        frame = rows_frame(initialization_examples, features)
        self.model = model
        self.transformations = transformations
        self.initialization_examples = frame
        self.fit_options = fit_options
        full = compose(model, transformations, frame)
        self.explainer: ScoringExplainer = fit(full, frame, classes=classes, **fit_options)
        self.classes = class_names(classes, self.explainer.classes)

    @property
    def features(self) -> list[str]:
        return self.explainer.features

    @property
    def expected_values(self) -> list[float] | float:
        base = np.asarray(self.explainer.expected_values, dtype=np.float64)
        return base.tolist() if self.explainer.classes is not None else float(base[0])

    @property
    def scorer(self) -> str:
        return self.explainer.scorer.name

    def explain_local(
        self, evaluation_examples: Any, *, engineered: bool = False, interactions: bool = False
    ) -> LocalExplanation:
        """With ``interactions=True`` (raw features only) the explanation also carries the pairwise
        interaction values (``local_interaction_values``; the engine's ``explainer.interactions``)."""
        if interactions and engineered:
            raise UnsupportedOperationError("interaction values are given for raw features only")
        exp = self.explainer.explain(evaluation_examples, engineered=engineered)
        inter = self.explainer.interactions(evaluation_examples) if interactions else None
        return LocalExplanation(_named(exp, self.classes), engineered=engineered, interactions=inter)

    def counterfactuals(
        self, evaluation_examples: Any, target: Any, *, count: int = 1, constraints: Any = None
    ) -> Counterfactuals:
        """The engine's ``explainer.counterfactuals``: per row, up to ``count`` diverse counterfactuals
        reaching ``target`` within ``constraints`` (``scorers.counterfactuals``)."""
        return self.explainer.counterfactuals(
            evaluation_examples, target, count=count, constraints=constraints
        )

    def explain_global(
        self, evaluation_examples: Any = None, *, engineered: bool = False
    ) -> GlobalExplanation:
        """Mean |SHAP| per feature over the rows (default: the training sample explained at fit)."""
        if engineered:
            if evaluation_examples is None:
                evaluation_examples = self.explainer.sample
            exp = self.explainer.explain(evaluation_examples, engineered=True)
            glob = GlobalExplanation(
                np.abs(exp.values).mean(axis=0), exp.features, exp.classes, exp.output_space, len(exp.values)
            )
        else:
            glob = self.explainer.explain_global(evaluation_examples)
        return _named(glob, self.classes)


class MimicExplainer:
    """A global surrogate (an explainable model trained on the model's outputs) and its fidelity."""

    def __init__(
        self,
        model: Any,
        initialization_examples: Any,
        explainable_model: Any,
        explainable_model_args: dict[str, Any] | None = None,
        *,
        augment_data: bool = True,
        max_num_of_augmentations: int = 10,
        features: Sequence[Any] | None = None,
        classes: Sequence[Any] | None = None,
        transformations: Any = None,
        seed: int = 0,
    ) -> None:
        check_fitted(model)
        frame = rows_frame(initialization_examples, features)
        self.model = model
        self.transformations = transformations
        self.explainable_model = resolve(explainable_model, explainable_model_args)
        full = compose(model, transformations, frame)
        self.runtime, self.schema, self.initialization_examples = wrap_model(full, frame)
        model_classes = list(self.runtime.classes) if self.runtime.task == CLASSIFIER else None
        self.classes = class_names(classes, model_classes)
        self.surrogate: Mimic = fit_mimic(
            self.runtime,
            self.initialization_examples,
            self.explainable_model,
            schema=self.schema,
            classes=self.classes,
            augment_data=augment_data,
            max_num_of_augmentations=max_num_of_augmentations,
            seed=seed,
        )

    @property
    def features(self) -> list[str]:
        return self.schema.names

    @property
    def fidelity(self) -> dict[str, Any]:
        """The surrogate's fidelity to the model on held-out initialization rows: metric, value, rows."""
        return self.surrogate.fidelity

    def explain_local(self, evaluation_examples: Any) -> LocalExplanation:
        return LocalExplanation(self.surrogate.explain(validate(self.schema, evaluation_examples)))

    def explain_global(self, evaluation_examples: Any = None) -> GlobalExplanation:
        """Mean |SHAP| of the surrogate over the rows (default: the initialization examples)."""
        rows = self.initialization_examples if evaluation_examples is None else evaluation_examples
        return self.surrogate.explain_global(validate(self.schema, rows))


class PFIExplainer:
    """Permutation feature importance: the drop of a metric when one feature is shuffled.

    ``metric``: a scikit-learn scorer name (or one of interpret-community's names, translated);
    default accuracy for classifiers and ``neg_mean_absolute_error`` for regressors.
    """

    def __init__(
        self,
        model: Any,
        *,
        metric: str | None = None,
        features: Sequence[Any] | None = None,
        classes: Sequence[Any] | None = None,
        transformations: Any = None,
        n_repeats: int = DEFAULT_REPEATS,
        random_state: int = 0,
    ) -> None:
        check_fitted(model)
        self.model = model
        self.metric = PFI_METRIC_ALIASES.get(metric, metric) if metric is not None else None
        self.features = [str(f) for f in features] if features is not None else None
        self.classes = list(classes) if classes is not None else None
        self.transformations = transformations
        self.n_repeats = n_repeats
        self.random_state = random_state

    def explain_global(self, evaluation_examples: Any, true_labels: Any = None) -> GlobalExplanation:
        if true_labels is None:
            raise InputError(
                "PFIExplainer.explain_global needs the rows' true labels: explain_global(x, true_labels=y)",
                field="true_labels",
            )
        frame = rows_frame(evaluation_examples, self.features)
        full = compose(self.model, self.transformations, frame)
        runtime, _, frame = wrap_model(full, frame)
        model_classes = list(runtime.classes) if runtime.task == CLASSIFIER else None
        return permutation_importance(
            runtime,
            frame,
            true_labels,
            features=list(frame.columns),
            classes=class_names(self.classes, model_classes),
            metric=self.metric,
            n_repeats=self.n_repeats,
            random_state=self.random_state,
        )

    def explain_local(self, *args: Any, **kwargs: Any) -> Any:
        raise UnsupportedOperationError(
            "PFIExplainer has no local explanations: permutation importance measures the whole model's "
            "dependence on a feature over many rows, not one prediction. Use TabularExplainer (SHAP) or "
            "MimicExplainer (surrogate SHAP) for local explanations."
        )
