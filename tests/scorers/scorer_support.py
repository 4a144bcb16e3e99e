"""Helpers of the scorer tests (no tests here): a brute-force Shapley oracle, small data sets and models,
and the table of cases the test modules share.

This is a plain module that the test modules import; it is not a conftest.py, because ``conftest`` is an
ambiguous module name once tests/service/conftest.py is loaded as well.

The oracle is deliberately independent of ``scorers/``: it builds hybrid RAW rows (as a DataFrame), asks
the model itself for its output in the explained space, and applies the Shapley formula over every
coalition with itertools.  Nothing here imports ``scorers.shapley``, ``scorers.spaces`` or the masking.
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

# --------------------------------------------------------------------------------------------------
# the model's own output in an explained space (a re-statement of the definitions, not scorers.spaces)
# --------------------------------------------------------------------------------------------------
_CLIP = 1e-12  # the documented clipping of probabilities before taking logs


def _final_estimator(model: Any) -> Any:
    steps = getattr(model, "steps", None)
    return steps[-1][1] if steps else model


def _is_margin_model(model: Any) -> bool:
    """decision_function of these is exactly the log-odds behind predict_proba."""
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    est = _final_estimator(model)
    return isinstance(est, (LogisticRegression, GradientBoostingClassifier, HistGradientBoostingClassifier))


def model_output(model: Any, x: Any, space: str) -> np.ndarray:
    """(n, K) output of ``model`` on ``x`` (whatever the model takes) in ``space``."""
    from sklearn.base import is_classifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not is_classifier(model):
            assert space == "raw", space
            return np.asarray(model.predict(x), dtype=np.float64).reshape(len(x), 1)
        if space == "probability":
            return np.asarray(model.predict_proba(x), dtype=np.float64)
        if space == "raw" or (space == "log_odds" and _is_margin_model(model)):
            d = np.asarray(model.decision_function(x), dtype=np.float64)
            if d.ndim == 1:
                return np.column_stack([-d, d])
            return d - d.mean(axis=1, keepdims=True) if space == "log_odds" else d
        assert space == "log_odds", space
        p = np.clip(np.asarray(model.predict_proba(x), dtype=np.float64), _CLIP, 1 - _CLIP)
        if p.shape[1] == 2:
            m = np.log(p[:, 1]) - np.log(p[:, 0])
            return np.column_stack([-m, m])
        logp = np.log(p)
        return logp - logp.mean(axis=1, keepdims=True)


def frame_model(model: Any, space: str, *, as_array: bool) -> Callable[[pd.DataFrame], np.ndarray]:
    """f(raw DataFrame) -> (n, K): feed the model a float array (fitted on arrays) or the frame itself."""
    if as_array:
        return lambda frame: model_output(model, frame.to_numpy(dtype=np.float64), space)
    return lambda frame: model_output(model, frame, space)


# --------------------------------------------------------------------------------------------------
# the oracle
# --------------------------------------------------------------------------------------------------
def shapley_weight(m: int, s: int) -> float:
    return math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m)


def coalition_values(
    f: Callable[[pd.DataFrame], np.ndarray], background: pd.DataFrame, weights: np.ndarray, rows: pd.DataFrame
) -> tuple[dict[frozenset[int], np.ndarray], np.ndarray]:
    """v(S) = sum_b w_b f(x_S, b_notS) for every coalition S and every row: ({S: (n, K)}, f(rows)).

    Hybrids are RAW rows: column j takes the row's value when j is in S, else the background row's.
    All rows, coalitions and background rows go to the model in one call.
    """
    cols = list(background.columns)
    m, nb, n = len(cols), len(background), len(rows)
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    coalitions = [frozenset(c) for r in range(m + 1) for c in itertools.combinations(range(m), r)]
    n_coal = len(coalitions)
    data = {}
    for j, name in enumerate(cols):
        in_s = np.array([j in s for s in coalitions])  # (C,)
        xv = rows[name].to_numpy()  # (n,)
        bv = background[name].to_numpy()  # (nb,)
        take_x = np.broadcast_to(in_s[None, :, None], (n, n_coal, nb))
        col = np.where(take_x, xv[:, None, None], bv[None, None, :]).reshape(-1)
        data[name] = pd.Series(col, dtype=background[name].dtype)  # keep the raw column's dtype
    hybrids = pd.DataFrame(data, columns=cols)
    out = f(hybrids)
    k = out.shape[1]
    v = np.einsum("ncbk,b->nck", out.reshape(n, n_coal, nb, k), w)
    return {s: v[:, i] for i, s in enumerate(coalitions)}, f(rows)


def shapley_oracle(
    f: Callable[[pd.DataFrame], np.ndarray], background: pd.DataFrame, weights: np.ndarray, rows: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Brute-force interventional Shapley values: (phi (n, K, M), base (K,), f(rows) (n, K)).

    phi_j = sum over S not containing j of |S|!(M-|S|-1)!/M! (v(S+j) - v(S)).
    """
    m = background.shape[1]
    v, fx = coalition_values(f, background, weights, rows)
    n, k = fx.shape
    phi = np.zeros((n, k, m))
    for j in range(m):
        others = [i for i in range(m) if i != j]
        for r in range(m):
            wt = shapley_weight(m, r)
            for s in itertools.combinations(others, r):
                s0 = frozenset(s)
                phi[:, :, j] += wt * (v[s0 | {j}] - v[s0])
    return phi, v[frozenset()][0], fx


def oracle_for(explainer: Any, model: Any, rows: pd.DataFrame, *, as_array: bool) -> tuple[np.ndarray, ...]:
    """The oracle against the explainer's own packaged background (raw rows and weights)."""
    f = frame_model(model, explainer.output_space, as_array=as_array)
    bg = explainer.background
    return shapley_oracle(f, bg.raw, np.asarray(bg.weights), rows)


# --------------------------------------------------------------------------------------------------
# small data sets and models (generated once per session, never mutated by the tests)
# --------------------------------------------------------------------------------------------------
def _frame(x: np.ndarray, prefix: str = "x") -> pd.DataFrame:
    return pd.DataFrame(x, columns=[f"{prefix}{j}" for j in range(x.shape[1])])


@functools.cache
def dataset(name: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Raw rows and labels: binary / multiclass / regression (5 features), wide12 / wide30 (binary)."""
    from sklearn.datasets import make_classification, make_regression

    if name == "binary":
        x, y = make_classification(
            n_samples=200, n_features=5, n_informative=4, n_redundant=0, random_state=0
        )
    elif name == "multiclass":
        x, y = make_classification(
            n_samples=240, n_features=5, n_informative=4, n_redundant=0, n_classes=3, random_state=1
        )
    elif name == "regression":
        x, y = make_regression(n_samples=200, n_features=5, n_informative=5, noise=0.5, random_state=2)
        y = y / np.std(y)  # an O(1) target
    elif name == "wide12":
        x, y = make_classification(
            n_samples=300, n_features=12, n_informative=6, n_redundant=2, random_state=0
        )
    elif name == "wide30":
        x, y = make_classification(n_samples=200, n_features=30, n_informative=8, random_state=3)
    else:
        raise KeyError(name)
    return _frame(x, "f" if name.startswith("wide") else "x"), y


@functools.cache
def loan() -> tuple[Any, pd.DataFrame]:
    """The examples' ColumnTransformer pipeline (logistic head) and 300 of its raw rows, NaNs included."""
    from scorers.examples import loan_pipeline

    pipe, x, _ = loan_pipeline()
    return pipe, x.iloc[:300].reset_index(drop=True)


def _estimator(kind: str) -> Any:
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor, RandomForestClassifier
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC, SVR

    return {
        "logistic": lambda: LogisticRegression(max_iter=1000),
        "ridge": lambda: Ridge(),
        "forest": lambda: RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0),
        "gb_regressor": lambda: GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=0),
        "gb_classifier": lambda: GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0),
        "mlp": lambda: MLPClassifier(hidden_layer_sizes=(16,), max_iter=800, random_state=0),
        "svc_proba": lambda: SVC(probability=True, random_state=0),
        "svc": lambda: SVC(),
        "svr": lambda: SVR(),
        "kernel_ridge": lambda: KernelRidge(kernel="rbf", gamma=0.2),
    }[kind]()


@dataclass(frozen=True)
class Case:
    """A model, its data, how to fit the explainer, and what fit is expected to choose."""

    model: str  # an _estimator kind, or "loan" for the examples' pipeline
    data: str  # a dataset name, or "loan"
    scorer: str  # expected scorer
    space: str  # expected output space
    fit_kwargs: tuple[tuple[str, Any], ...] = ()

    @property
    def as_array(self) -> bool:
        """Models fitted on plain arrays are fed arrays; the pipeline takes the raw DataFrame."""
        return not self.model.startswith("loan")


_FAST = (("background_size", 12), ("eval_size", 20))
CASES: dict[str, Case] = {
    "linear-logistic-binary": Case("logistic", "binary", "linear", "log_odds", _FAST),
    "linear-logistic-binary-raw": Case(
        "logistic", "binary", "linear", "raw", _FAST + (("output_space", "raw"),)
    ),
    "linear-logistic-multiclass": Case("logistic", "multiclass", "linear", "log_odds", _FAST),
    "linear-ridge": Case("ridge", "regression", "linear", "raw", _FAST),
    "linear-ridge-weighted-background": Case(
        "ridge", "regression", "linear", "raw", _FAST + (("summary", "kmeans"),)
    ),
    "tree-forest": Case("forest", "binary", "tree", "probability", _FAST),
    "tree-forest-weighted-background": Case(
        "forest", "binary", "tree", "probability", _FAST + (("summary", "kmeans"),)
    ),
    "tree-gb-regressor": Case("gb_regressor", "regression", "tree", "raw", _FAST),
    "tree-gb-classifier": Case("gb_classifier", "binary", "tree", "log_odds", _FAST),
    "exact-mlp": Case("mlp", "binary", "exact", "probability", _FAST),
    "exact-mlp-log-odds": Case("mlp", "binary", "exact", "log_odds", _FAST + (("output_space", "log_odds"),)),
    "exact-svc-probability": Case(
        "svc_proba", "binary", "exact", "probability", _FAST + (("scorer", "exact"),)
    ),
    "exact-logistic-multiclass-probability": Case(
        "logistic", "multiclass", "exact", "probability", _FAST + (("output_space", "probability"),)
    ),
    "kernel-mlp-wide": Case(
        "mlp", "wide12", "kernel", "probability", (("scorer", "kernel"), ("eval_size", 20))
    ),
    "kernel_machine-svc": Case("svc", "binary", "kernel_machine", "raw", _FAST),
    "kernel_machine-svr": Case("svr", "regression", "kernel_machine", "raw", _FAST),
    "kernel_machine-kernel-ridge": Case("kernel_ridge", "regression", "kernel_machine", "raw", _FAST),
    "pipeline-linear": Case(
        "loan", "loan", "linear", "log_odds", (("background_size", 10), ("eval_size", 20))
    ),
    "pipeline-tree": Case(
        "loan_tree", "loan", "tree", "log_odds", (("background_size", 10), ("eval_size", 20))
    ),
    "pipeline-exact": Case(
        "loan",
        "loan",
        "exact",
        "probability",
        (("scorer", "exact"), ("background_size", 10), ("eval_size", 20)),
    ),
}


@functools.cache
def loan_tree_pipeline() -> Any:
    """The same preprocessing with a small gradient-boosted head, fitted on the 300 rows."""
    from sklearn.base import clone
    from sklearn.ensemble import GradientBoostingClassifier

    from scorers.examples import loan_data

    pipe, rows = loan()
    _, y = loan_data()
    head = GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0)
    return clone(pipe).set_params(classifier=head).fit(rows, y.iloc[:300])


@functools.cache
def fitted_model(model: str, data: str) -> Any:
    if model == "loan":
        return loan()[0]
    if model == "loan_tree":
        return loan_tree_pipeline()
    x, y = dataset(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _estimator(model).fit(x.to_numpy(), y)


def case_frame(case: Case) -> pd.DataFrame:
    return loan()[1] if case.data == "loan" else dataset(case.data)[0]


@functools.cache
def fitted_explainer(name: str) -> Any:
    """The explainer of a case, fitted once per session (tests only read it)."""
    import scorers

    case = CASES[name]
    return scorers.fit(fitted_model(case.model, case.data), case_frame(case), **dict(case.fit_kwargs))


def held_out_rows(name: str, n: int = 8) -> pd.DataFrame:
    """Rows to explain: from the end of the data (the pipeline's background is its first 300 rows)."""
    case = CASES[name]
    if case.data == "loan":
        from scorers.examples import loan_data

        x, _ = loan_data()
        rest = x.iloc[300:].reset_index(drop=True)
        # one row with a missing value in each nullable column, then ordinary rows
        picks = [
            int(np.flatnonzero(rest[c].isna().to_numpy())[0]) for c in ("income", "years_employed", "housing")
        ]
        picks += [i for i in range(n) if i not in picks]
        return rest.iloc[picks[:n]].reset_index(drop=True)
    x = dataset(case.data)[0]
    return x.iloc[-n:].reset_index(drop=True)
