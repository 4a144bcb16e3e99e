"""Mimic (global surrogate) explanations: a glassbox model trained on the model's outputs, explained exactly.

Training: the surrogate learns the model's output on the initialization rows: the probabilities for a
classifier (one regressor for the positive class of a binary model, one per class otherwise), the
prediction for a regressor.  A seeded 20% of the rows is held out first (at least 2), and the surrogate's
**fidelity** to the model is measured on them: R^2 of the surrogate's output against the model's (averaged
over the classes' probabilities) and, for classifiers, the agreement of the two argmax classes.

Augmentation (``augment_data``, interpret-community's rule for how many times): when the training rows are
fewer than the columns, ``min(M // n - 1, max_num_of_augmentations)`` extra copies of them are appended,
each with every column permuted independently (a sample of the product of the marginals), and the model
labels them.  interpret-community permutes whole columns instead (``shuffle(x.T).T`` moves one
feature's values into another feature's column), which mixes units and cannot work with categories.

Explanations: the surrogate's SHAP values over the raw features, from the engine (``scorers.fit`` with
the explainable model's exact scorer, against the training rows as background), in the model's output
space (``probability`` for classifiers, ``raw`` for regressors); a binary classifier's negative class is
the mirror of the positive one.  The global explanation is their mean |value| per class.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import InputError, UnsupportedModelError
from ..explanation_objects import Explanation, FloatArray, GlobalExplanation
from ..input_schema import CATEGORY, Schema
from ..manifest import MimicInfo
from ..runtimes.base import CLASSIFIER
from .pfi import Predictor
from .surrogates import ExplainableModel, build

if TYPE_CHECKING:
    from ..scoring_explainer import ScoringExplainer

HOLDOUT = 0.2
MIN_ROWS = 5


def n_augmentations(n_rows: int, n_features: int, max_num: int) -> int:
    """interpret-community's count: enough copies to bring the rows up to about the columns."""
    return max(0, min(n_features // max(n_rows, 1) - 1, int(max_num)))


def augment(frame: pd.DataFrame, times: int, seed: int) -> pd.DataFrame:
    """``frame`` and ``times`` copies of it, each column permuted independently (seeded)."""
    if times <= 0:
        return frame
    rng = np.random.default_rng(seed)
    n = len(frame)
    copies = [
        pd.DataFrame({c: frame[c].to_numpy()[rng.permutation(n)] for c in frame.columns})
        for _ in range(times)
    ]
    out = pd.concat([frame, *copies], ignore_index=True)
    return out.astype(frame.dtypes.to_dict())


def teacher(predictor: Predictor, frame: pd.DataFrame) -> FloatArray:
    """The model's outputs the surrogate learns: (n, K) probabilities, or (n, 1) predictions."""
    if predictor.task == CLASSIFIER:
        return np.asarray(predictor.predict_proba(frame), dtype=np.float64)
    return np.asarray(predictor.predict(frame), dtype=np.float64).reshape(len(frame), 1)


def _targets(outputs: FloatArray, task: str) -> list[int]:
    """Which output columns get a surrogate: the positive class of a binary model, else every column."""
    if task == CLASSIFIER and outputs.shape[1] == 2:
        return [1]
    return list(range(outputs.shape[1]))


@dataclass
class Mimic:
    """A fitted surrogate: one engine explainer per surrogate output, and its fidelity to the model."""

    surrogate: str
    explainers: list[ScoringExplainer]
    models: list[Any]  # the fitted surrogates, one per explainer
    task: str
    n_outputs: int
    features: list[str]
    classes: list[Any] | None
    fidelity: dict[str, Any]
    augmentations: int
    training_rows: int
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def output_space(self) -> str:
        return "probability" if self.task == CLASSIFIER else "raw"

    def predict(self, frame: pd.DataFrame) -> FloatArray:
        """The surrogate's (n, K) output, in the model's output layout."""
        cols = [e.predict_frame(e.validate(frame)).astype(np.float64) for e in self.explainers]
        return self._layout(np.column_stack(cols))

    def _layout(self, per_surrogate: FloatArray) -> FloatArray:
        if self.task == CLASSIFIER and self.n_outputs == 2:
            return np.column_stack([1.0 - per_surrogate[:, 0], per_surrogate[:, 0]])
        return per_surrogate

    def explain(self, frame: pd.DataFrame) -> Explanation:
        """The surrogate's SHAP values of rows (n, K, M), additive in the model's output layout."""
        parts = [e.explain(frame) for e in self.explainers]
        values = np.concatenate([p.values for p in parts], axis=1)  # (n, S, M)
        base = np.concatenate([p.base_values for p in parts])
        outputs = np.concatenate([p.outputs for p in parts], axis=1)
        if self.task == CLASSIFIER and self.n_outputs == 2:
            values = np.concatenate([-values, values], axis=1)
            base = np.array([1.0 - base[0], base[0]])
            outputs = np.column_stack([1.0 - outputs[:, 0], outputs[:, 0]])
        return Explanation(
            values=values,
            base_values=base,
            outputs=outputs,
            features=self.features,
            classes=self.classes,
            output_space=self.output_space,
            scorer=f"mimic:{self.surrogate}",
        )

    def explain_global(self, frame: pd.DataFrame) -> GlobalExplanation:
        exp = self.explain(frame)
        return GlobalExplanation(
            np.abs(exp.values).mean(axis=0),
            self.features,
            self.classes,
            self.output_space,
            len(frame),
            kind="mimic",
            info=MimicInfo(
                surrogate=self.surrogate,
                fidelity=self.fidelity,
                augmentations=self.augmentations,
                training_rows=self.training_rows,
                **self.info,
            ).model_dump(exclude_none=True),
        )


def _fidelity(truth: FloatArray, approx: FloatArray, task: str) -> dict[str, Any]:
    from sklearn.metrics import r2_score

    cols = _targets(truth, task)
    out: dict[str, Any] = {
        "metric": "r2",
        "value": float(r2_score(truth[:, cols], approx[:, cols], multioutput="uniform_average")),
        "rows": int(len(truth)),
    }
    if task == CLASSIFIER:
        out["agreement"] = float(np.mean(np.argmax(truth, axis=1) == np.argmax(approx, axis=1)))
    return out


PackageFn = Callable[..., "ScoringExplainer"]
_PACKAGE: list[PackageFn] = []


def use_packaging(fit: PackageFn) -> None:
    """Give the mimic the engine's packaging function (``scorers.fit`` calls this once, on import).

    Passed in rather than imported: the facade reaches the global kinds (``explain_global``) and packaging
    builds the facade, so an import of ``scorers.fit`` here would close an import cycle.
    """
    _PACKAGE[:] = [fit]


def _explain_surrogate(model: Any, rows: pd.DataFrame, kind: str, seed: int) -> ScoringExplainer:
    """The engine's explainer of one fitted surrogate: its exact scorer, else the automatic choice."""
    if not _PACKAGE:
        raise RuntimeError("scorers.fit was not imported: import scorers before fitting a mimic")
    fit = _PACKAGE[0]
    try:
        return fit(model, rows, scorer=kind, eval_size=20, seed=seed)
    except UnsupportedModelError:
        return fit(model, rows, scorer="auto", eval_size=20, seed=seed)


def fit_mimic(
    predictor: Predictor,
    frame: pd.DataFrame,
    explainable_model: ExplainableModel,
    *,
    schema: Schema,
    classes: list[Any] | None,
    augment_data: bool = True,
    max_num_of_augmentations: int = 10,
    seed: int = 0,
) -> Mimic:
    """Train the surrogate on validated raw rows ``frame`` (initialization examples) and measure it."""
    n, m = frame.shape
    if n < MIN_ROWS:
        raise InputError(
            f"a mimic explainer needs at least {MIN_ROWS} initialization rows (got {n}): a share is held "
            "out to measure the surrogate's fidelity",
            field="initialization_examples",
        )
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_hold = max(2, round(HOLDOUT * n))
    held = frame.iloc[np.sort(order[:n_hold])].reset_index(drop=True)
    train = frame.iloc[np.sort(order[n_hold:])].reset_index(drop=True)
    times = n_augmentations(len(train), m, max_num_of_augmentations) if augment_data else 0
    rows = augment(train, times, seed)
    outputs = teacher(predictor, rows)
    fit_frame = rows.astype({f.name: object for f in schema.features if f.dtype == CATEGORY})
    explainers, models = [], []
    for k in _targets(outputs, predictor.task):
        surrogate = build(explainable_model, schema, len(rows), seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # LightGBM and scikit-learn chatter about feature names
            surrogate.fit(fit_frame, outputs[:, k])
        models.append(surrogate)
        explainers.append(_explain_surrogate(surrogate, train, explainable_model.scorer, seed))
    mimic = Mimic(
        surrogate=type(explainable_model).__name__,
        explainers=explainers,
        models=models,
        task=predictor.task,
        n_outputs=outputs.shape[1],
        features=list(frame.columns),
        classes=classes,
        fidelity={},
        augmentations=times,
        training_rows=len(rows),
        info={"scorer": explainers[0].manifest.scorer.kind},
    )
    mimic.fidelity = _fidelity(teacher(predictor, held), mimic.predict(held), predictor.task)
    return mimic
