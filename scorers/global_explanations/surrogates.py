"""The explainable (glassbox) models a mimic explainer trains on the model's outputs: the seed's
``LGBMExplainableModel``, ``LinearExplainableModel``, ``SGDExplainableModel`` and
``DecisionTreeExplainableModel``.

Each is a regressor over a numeric encoding of the raw rows (categories one-hot encoded; for the
linear ones, numbers median-imputed and standardised, which SGD needs to converge), built as one
scikit-learn Pipeline over the raw columns.  The encoding is column-wise, so the engine explains the
surrogate over the raw features with its exact scorer for the regressor: ``tree`` for the tree models,
``linear`` for the linear ones (``scorer``).  Where that scorer does not apply (a LightGBM model before
the tree scorer reads LightGBM), ``scorers.fit``'s automatic choice explains it and the explanation's
``info["scorer"]`` says which.  Constructor arguments (the seed's ``explainable_model_args``) go to the
regressor.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..errors import InputError
from ..input_schema import CATEGORY, Schema

SMALL_DATA_ROWS = 50  # interpret-community's threshold below which LightGBM may use one-row leaves


class ExplainableModel:
    """Base class: ``regressor(n_rows, seed)`` is the unfitted scikit-learn regressor."""

    name: ClassVar[str] = ""
    scorer: ClassVar[str] = ""
    scaled: ClassVar[bool] = False  # numbers imputed and standardised before the regressor

    def __init__(self, **params: Any) -> None:
        self.params = params

    def regressor(self, n_rows: int, seed: int) -> Any:
        raise NotImplementedError

    @classmethod
    def explainable_model_type(cls) -> str:
        """interpret-community's name for the family: tree or linear."""
        return f"{'tree' if cls.scorer == 'tree' else 'linear'}_explainable_model_type"


class LGBMExplainableModel(ExplainableModel):
    """A LightGBM gradient-boosted regressor (``lightgbm.LGBMRegressor``)."""

    name = "lgbm"
    scorer = "tree"

    def regressor(self, n_rows: int, seed: int) -> Any:
        try:
            from lightgbm import LGBMRegressor
        except ImportError:  # an image built for a model without LightGBM (scorers/runtime_packages.py)
            raise InputError(
                "the lgbm surrogate needs the lightgbm package, which this environment lacks (install "
                "requirements-lightgbm.lock); choose another surrogate: tree, linear or sgd",
                field="surrogate",
            ) from None
        params: dict[str, Any] = {"random_state": seed, "n_jobs": 1, "verbose": -1}
        if n_rows < SMALL_DATA_ROWS:
            params["min_child_samples"] = 1  # else small data gives a constant model
        return LGBMRegressor(**{**params, **self.params})


class DecisionTreeExplainableModel(ExplainableModel):
    """A scikit-learn ``DecisionTreeRegressor``."""

    name = "tree"
    scorer = "tree"

    def regressor(self, n_rows: int, seed: int) -> Any:
        from sklearn.tree import DecisionTreeRegressor

        return DecisionTreeRegressor(**{"random_state": seed, **self.params})


class LinearExplainableModel(ExplainableModel):
    """A least-squares ``LinearRegression``."""

    name = "linear"
    scorer = "linear"
    scaled = True

    def regressor(self, n_rows: int, seed: int) -> Any:
        from sklearn.linear_model import LinearRegression

        return LinearRegression(**self.params)


class SGDExplainableModel(ExplainableModel):
    """A linear model fitted by stochastic gradient descent (``SGDRegressor``)."""

    name = "sgd"
    scorer = "linear"
    scaled = True

    def regressor(self, n_rows: int, seed: int) -> Any:
        from sklearn.linear_model import SGDRegressor

        return SGDRegressor(**{"random_state": seed, **self.params})


SURROGATES: dict[str, type[ExplainableModel]] = {
    cls.name: cls
    for cls in (
        LGBMExplainableModel,
        LinearExplainableModel,
        SGDExplainableModel,
        DecisionTreeExplainableModel,
    )
}
DEFAULT_SURROGATE = "lgbm"


def resolve(explainable_model: Any, args: dict[str, Any] | None = None) -> ExplainableModel:
    """An explainable model from a class (the seed passes ``LGBMExplainableModel``), an instance, or a
    name (``lgbm``, ``linear``, ``sgd``, ``tree``, or a class name)."""
    args = dict(args or {})
    if isinstance(explainable_model, ExplainableModel):
        return (
            explainable_model if not args else type(explainable_model)(**{**explainable_model.params, **args})
        )
    if isinstance(explainable_model, type) and issubclass(explainable_model, ExplainableModel):
        return explainable_model(**args)
    if isinstance(explainable_model, str):
        by_class = {cls.__name__: cls for cls in SURROGATES.values()}
        cls = SURROGATES.get(explainable_model) or by_class.get(explainable_model)
        if cls is not None:
            return cls(**args)
    raise InputError(
        f"unknown explainable model {explainable_model!r}; expected one of {sorted(SURROGATES)} or "
        f"{[c.__name__ for c in SURROGATES.values()]}",
        field="surrogate",
    )


def build(model: ExplainableModel, schema: Schema, n_rows: int, seed: int) -> Any:
    """The unfitted surrogate over raw rows: the regressor, behind a column-wise encoder when needed."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    reg = model.regressor(n_rows, seed)
    numbers = [f.name for f in schema.features if f.dtype != CATEGORY]
    categories = [f.name for f in schema.features if f.dtype == CATEGORY]
    if not categories and not model.scaled:
        return reg  # trees take numbers (and NaN) as they are
    parts: list[tuple[str, Any, list[str]]] = []
    if numbers:
        numeric = (
            make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
            if model.scaled
            else "passthrough"
        )
        parts.append(("numbers", numeric, numbers))
    if categories:
        onehot = make_pipeline(
            SimpleImputer(strategy="constant", fill_value="missing"),
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        )
        parts.append(("categories", onehot, categories))
    encoder = ColumnTransformer(
        parts, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=False
    )
    return Pipeline([("encode", encoder), ("surrogate", reg)])
