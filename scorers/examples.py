"""Built-in examples: the seed's model and a mixed-type pipeline on generated data.

Nothing is downloaded: the breast cancer data ships with scikit-learn, and the loan data is generated.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd


def breast_cancer_svc() -> tuple[Any, pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """The seed's model: ``SVC(gamma=0.001, C=100., probability=True)`` on an 80/20 split
    (``random_state=0`` added so that the demo's probabilities are reproducible).

    scikit-learn 1.9 deprecates ``probability=True`` (removal in 1.11).  We keep the seed's model as it
    is and silence that one FutureWarning here; the artifact stores the fitted model, so packaged models
    keep working.  When 1.11 lands, the replacement the deprecation names,
    ``CalibratedClassifierCV(SVC(...), ensemble=False)``, is explained by the same scorers (the kernel
    scorer for probabilities; the SVC inside for margins).
    """
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split
    from sklearn.svm import SVC

    data = load_breast_cancer()
    x = pd.DataFrame(data.data, columns=[str(n) for n in data.feature_names])
    y = pd.Series(np.asarray(data.target_names)[data.target], name="diagnosis")
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*probability.*deprecated.*", category=FutureWarning)
        # random_state only seeds the internal cross-validation of Platt scaling; without it
        # predict_proba (not the decision function) differs from one training run to the next
        model = SVC(gamma=0.001, C=100.0, probability=True, random_state=0).fit(
            x_train.to_numpy(), y_train.to_numpy()
        )
    return model, x_train.reset_index(drop=True), x_test.reset_index(drop=True), y_train, y_test


def loan_data(n: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Generated mixed-type rows: numbers, categorical strings and missing values."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 75, n).astype(float)
    income = np.round(rng.lognormal(10.5, 0.5, n), 2)
    debt_ratio = np.clip(rng.normal(0.35, 0.15, n), 0, 1.5)
    years_employed = np.clip(rng.exponential(6, n), 0, 45).round(1)
    housing = rng.choice(["rent", "own", "mortgage"], n, p=[0.45, 0.2, 0.35])
    purpose = rng.choice(["car", "education", "home", "business", "other"], n)
    region = rng.choice(["north", "south", "east", "west"], n)
    score = (
        -2.0
        + 0.8 * (income > 40000)
        - 3.0 * debt_ratio
        + 0.05 * years_employed
        + 0.6 * (housing == "own")
        + 0.3 * (housing == "mortgage")
        - 0.5 * (purpose == "business")
        + 0.02 * (age - 40)
        + rng.normal(0, 0.5, n)
    )
    y = pd.Series(np.where(score > -1.2, "approved", "denied"), name="decision")
    frame = pd.DataFrame(
        {
            "age": age,
            "income": income,
            "debt_ratio": debt_ratio,
            "years_employed": years_employed,
            "housing": housing.astype(object),
            "purpose": purpose.astype(object),
            "region": region.astype(object),
        }
    )
    # missing values where the pipeline imputes
    frame.loc[rng.random(n) < 0.05, "income"] = np.nan
    frame.loc[rng.random(n) < 0.05, "years_employed"] = np.nan
    frame.loc[rng.random(n) < 0.03, "housing"] = np.nan
    return frame, y


def loan_pipeline(model: str = "logistic") -> tuple[Any, pd.DataFrame, pd.Series]:
    """The seed's ColumnTransformer (median-impute + scale; constant-impute + one-hot) and a classifier."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    x, y = loan_data()
    numeric = ["age", "income", "debt_ratio", "years_employed"]
    categorical = ["housing", "purpose", "region"]
    numeric_transformer = Pipeline(
        [("imputer", SimpleImputer(strategy="median")), ("scaler", StandardScaler())]
    )
    categorical_transformer = Pipeline(
        [
            ("imputer", SimpleImputer(strategy="constant", fill_value="missing")),
            ("onehot", OneHotEncoder(handle_unknown="ignore")),
        ]
    )
    pre = ColumnTransformer(
        [("num", numeric_transformer, numeric), ("cat", categorical_transformer, categorical)]
    )
    est = (
        LogisticRegression(max_iter=1000)
        if model == "logistic"
        else GradientBoostingClassifier(random_state=0)
    )
    pipe = Pipeline([("preprocessor", pre), ("classifier", est)]).fit(x, y)
    return pipe, x, y
