"""Transformations in front of a model: the ``transformations=`` argument of the seed's explainers.

A model trained on engineered features is explained over the raw columns by putting its fitted
transformations in front of it: ``Pipeline([("transformations", pre), ("model", model)])``.  The engine
then measures that the transformations are column-wise (``scorers.preprocess``) and masks raw columns as
groups of engineered ones, so raw-feature values are the sums of the engineered ones that come from the
same raw column (the seed's rule), and the engineered values stay available
(``explain(..., engineered=True)``, linear and tree scorers).

``transformations`` is a fitted transformer (a ``ColumnTransformer``, or any fitted object with
``transform``), or a list of ``(columns, transformer)`` tuples in the sklearn-pandas ``DataFrameMapper``
style whose transformers are already fitted.  The tuple list becomes a ``ColumnTransformer`` of
``FrozenEstimator``\\ s: fitting it records the columns and never refits the user's transformers.

``DataFrameMapper`` is a stand-in for sklearn-pandas' class of that name for notebooks that used it:
sklearn-pandas 2.2.0 installs beside scikit-learn 1.9 but does not import (it needs
``sklearn.utils.tosequence``, which scikit-learn removed).  Like the original, it fits the transformers
of its tuple list in place, so the same list can be passed as ``transformations=`` afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputError
from .preprocess import dense

Columns = str | list[str]


def is_fitted(estimator: Any) -> bool:
    """scikit-learn's rule (fitted attributes or ``__sklearn_is_fitted__``); passthrough counts as fitted."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    if estimator is None or isinstance(estimator, str):
        return True
    if isinstance(estimator, list):
        return all(is_fitted(e) for e in estimator)
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    except TypeError:  # not an estimator: an object with transform is taken as it is
        return hasattr(estimator, "transform")
    return True


def _tuples(transformations: Sequence[Any]) -> list[tuple[Columns, Any, dict[str, Any]]]:
    out = []
    for i, item in enumerate(transformations):
        if not isinstance(item, tuple) or len(item) not in (2, 3):
            raise InputError(
                f"expected a (columns, transformer) or (columns, transformer, options) tuple, got {item!r}",
                field=f"transformations[{i}]",
            )
        columns, transformer = item[0], item[1]
        options = dict(item[2]) if len(item) == 3 else {}
        unknown = sorted(set(options) - {"alias"})
        if unknown:
            raise InputError(
                f"unsupported DataFrameMapper option(s) {unknown}; only 'alias' is supported",
                field=f"transformations[{i}]",
            )
        if not isinstance(columns, str):
            columns = [str(c) for c in columns]
        out.append((columns, transformer, options))
    return out


def _name(columns: Columns, options: dict[str, Any], seen: set[str]) -> str:
    base = str(options.get("alias") or (columns if isinstance(columns, str) else "_".join(columns)))
    name, i = base, 1
    while name in seen:
        i += 1
        name = f"{base}_{i}"
    seen.add(name)
    return name


def _frozen(transformer: Any) -> Any:
    from sklearn.frozen import FrozenEstimator
    from sklearn.pipeline import make_pipeline

    if transformer is None or transformer == "passthrough":
        return "passthrough"
    if isinstance(transformer, list):
        return make_pipeline(*[FrozenEstimator(t) for t in transformer])
    return FrozenEstimator(transformer)


def from_tuples(transformations: Sequence[Any], frame: pd.DataFrame) -> Any:
    """A fitted ``ColumnTransformer`` of already-fitted ``(columns, transformer)`` tuples, not refitted."""
    from sklearn.compose import ColumnTransformer

    items = _tuples(transformations)
    for i, (_, transformer, _) in enumerate(items):
        if not is_fitted(transformer):
            raise InputError(
                f"{type(transformer).__name__} is not fitted; fit it (or the pipeline that holds it) "
                "before explaining",
                field=f"transformations[{i}]",
            )
    missing = [c for cols, _, _ in items for c in ([cols] if isinstance(cols, str) else cols)]
    missing = [c for c in missing if c not in frame.columns]
    if missing:
        raise InputError(
            f"column(s) {missing[:5]} of the transformations are not in the data; columns: "
            f"{list(frame.columns)[:20]}",
            field="transformations",
        )
    seen: set[str] = set()
    ct = ColumnTransformer(
        [(_name(cols, opts, seen), _frozen(tr), cols) for cols, tr, opts in items],
        remainder="drop",
        sparse_threshold=0.0,
        verbose_feature_names_out=False,
    )
    ct.fit(frame)
    try:
        ct.get_feature_names_out()
    except ValueError:  # the same output name from two tuples: prefix each with its tuple's name
        ct.set_params(verbose_feature_names_out=True)
    return ct


def as_transformer(transformations: Any, frame: pd.DataFrame) -> Any:
    """The fitted transformer that ``transformations=`` stands for (see the module docstring)."""
    if isinstance(transformations, list | tuple):
        return from_tuples(list(transformations), frame)
    if not hasattr(transformations, "transform"):
        raise InputError(
            "expected a fitted ColumnTransformer (or transformer) or a list of (columns, transformer) "
            f"tuples, got {type(transformations).__name__}",
            field="transformations",
        )
    if not is_fitted(transformations):
        raise InputError(
            f"{type(transformations).__name__} is not fitted; fit it (or the pipeline that holds it) "
            "before explaining",
            field="transformations",
        )
    return transformations


def compose(model: Any, transformations: Any, frame: pd.DataFrame) -> Any:
    """``model`` behind its transformations, as one scikit-learn Pipeline over the raw columns."""
    from sklearn.pipeline import Pipeline

    if transformations is None:
        return model
    pre = as_transformer(transformations, frame)
    steps = list(model.steps) if isinstance(model, Pipeline) else [("model", model)]
    names = {name for name, _ in steps}
    first = "transformations" if "transformations" not in names else "transformations_"
    return Pipeline([(first, pre), *steps])


# --------------------------------------------------------------------------------------------------
# the sklearn-pandas stand-in
# --------------------------------------------------------------------------------------------------
def _fit_one(transformer: Any, x: Any, y: Any) -> None:
    if transformer is None or transformer == "passthrough":
        return
    if isinstance(transformer, list):
        for step in transformer:
            _fit_one(step, x, y)
            x = step.transform(x)
        return
    try:
        transformer.fit(x, y)
    except TypeError:  # a transformer whose fit takes no y
        transformer.fit(x)


def _transform_one(transformer: Any, x: Any) -> np.ndarray:
    if transformer is None or transformer == "passthrough":
        out = np.asarray(x)
    elif isinstance(transformer, list):
        for step in transformer:
            x = step.transform(x)
        out = x
    else:
        out = transformer.transform(x)
    arr = out if isinstance(out, np.ndarray) and out.dtype == object else dense(out)
    return arr.reshape(len(arr), -1)


class DataFrameMapper:
    """sklearn-pandas' ``DataFrameMapper(features)``: each ``(columns, transformer[, options])`` tuple maps
    its columns (a list selects a 2-D frame, a string one 1-D column); the outputs are concatenated in
    order and other columns are dropped (``default=False``).

    ``fit`` fits the given transformer objects in place, as sklearn-pandas does, so the tuple list is
    fitted afterwards and can be passed as ``transformations=``.  Transformers see DataFrame columns
    (sklearn-pandas' ``input_df=True``), so they keep the column names.  Other options of sklearn-pandas
    are refused.
    """

    def __init__(
        self, features: Sequence[Any], default: bool = False, sparse: bool = False, df_out: bool = False
    ) -> None:
        if default is not False or sparse or df_out:
            raise InputError(
                "only DataFrameMapper(features) with default=False, sparse=False, df_out=False is supported",
                field="DataFrameMapper",
            )
        self.features = features
        self.default = default
        self.sparse = sparse
        self.df_out = df_out

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {
            "features": self.features,
            "default": self.default,
            "sparse": self.sparse,
            "df_out": self.df_out,
        }

    def set_params(self, **params: Any) -> DataFrameMapper:
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return all(is_fitted(tr) for _, tr, _ in _tuples(self.features))

    def fit(self, x: pd.DataFrame, y: Any = None) -> DataFrameMapper:
        for columns, transformer, _ in _tuples(self.features):
            _fit_one(transformer, x[columns], y)
        return self

    def transform(self, x: pd.DataFrame) -> np.ndarray:
        return np.hstack([_transform_one(tr, x[cols]) for cols, tr, _ in _tuples(self.features)])

    def fit_transform(self, x: pd.DataFrame, y: Any = None) -> np.ndarray:
        return self.fit(x, y).transform(x)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names: list[str] = []
        for cols, tr, _ in _tuples(self.features):
            if tr is None or tr == "passthrough":
                names += [cols] if isinstance(cols, str) else list(cols)
            else:  # raises where a transformer has no names: callers fall back on positions
                names += [str(n) for n in (tr[-1] if isinstance(tr, list) else tr).get_feature_names_out()]
        return np.asarray(names, dtype=object)
