"""The ``permutation`` scorer serving the MLP chain path: what packaging records, the pairs it serves,
the explanation against the brute-force oracle (unbiased, additive, its error bars covering), the
same values as hybrid rows with the same orders, a saved artifact loaded bit for bit, and an
environment without numba (packaging falls back to hybrid rows; a load of a chain-path artifact is
refused, naming the package)."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scorer_support import dataset, fitted_model, loan, oracle_for
from sklearn.base import clone
from sklearn.neural_network import MLPClassifier

import scorers
from scorers import runtime_packages
from scorers.kinds.permutation import PAIR_CAP, PermutationScorer, chain_pairs, evaluations
from scorers.runtime_packages import MissingPackageError

OPTIONS = {"scorer": "permutation", "eval_size": 5}


@functools.cache
def _served() -> tuple[scorers.ScoringExplainer, pd.DataFrame, np.ndarray]:
    model = fitted_model("mlp", "binary")
    frame = dataset("binary")[0]
    explainer = scorers.fit(model, frame.iloc[:150], **OPTIONS)
    rows = frame.iloc[-4:].reset_index(drop=True)
    return explainer, rows, oracle_for(explainer, model, rows, as_array=True)[0]


def test_packaging_records_the_chain_path_and_serves_more_pairs() -> None:
    explainer, _, _ = _served()
    params = explainer.manifest.scorer.params
    chain = params["chain"]
    assert chain["name"] == "numba-chain-mlp" and chain["reason"] == "" and chain["max_abs_diff"] <= 1e-10
    m, nb = explainer.masking.n_players, len(explainer.background.weights)
    today = max(1, evaluations(m) // (2 * (m - 1) * nb))
    assert (
        params["pairs"]
        == chain_pairs(today, chain["speedup"])
        == min(PAIR_CAP, int(today * chain["speedup"]))
    )
    assert params["pairs"] > today  # 5 features, 16 units: a hybrid row 230 flops, a prefix 65
    from cli.report import packaging_report

    assert packaging_report(explainer)["runtimes"]["chain"] == "numba-chain-mlp"
    needed = runtime_packages.needed(explainer.manifest)
    assert needed["numba"].endswith("chain path is numba-chain-mlp")
    # the Bento takes the extra's lock, pinned to the numba and llvmlite this environment runs
    import llvmlite
    import numba

    from cli.bento import bento_requirements

    text = bento_requirements(needed)
    assert "# requirements-numba.lock" in text
    assert f"numba=={numba.__version__}\n" in text and f"llvmlite=={llvmlite.__version__}\n" in text


def test_the_served_explanation_is_additive_unbiased_and_its_error_bars_cover() -> None:
    explainer, rows, truth = _served()
    x = explainer.masking.encode(rows)
    served = explainer.scorer
    ctx = served._check_fitted()
    pairs, chain = served.params["pairs"], served.params["chain"]
    runs = [PermutationScorer(pairs=pairs, seed=s, chain=chain).fit(ctx) for s in range(16)]
    out = [r.shap_values_with_se(x) for r in runs]
    values = np.stack([o[0] for o in out])
    for phi, fx, _ in out:
        np.testing.assert_allclose(phi.sum(axis=-1), fx - served.base_values, rtol=0, atol=1e-6)
    one = float(np.mean(np.abs(values - truth)))
    assert one > 1e-6  # sampled
    assert float(np.mean(np.abs(values.mean(axis=0) - truth))) < 0.4 * one  # 16 draws: ~0.25x
    se = np.stack([o[2] for o in out])
    assert float(np.mean(np.abs(values - truth) <= 2 * se)) >= 0.9
    # the chain path's values are the hybrid rows' with the same orders (one model call per row)
    hybrids = PermutationScorer(pairs=pairs, seed=3).fit(ctx)
    assert hybrids.path_ is None and runs[3].path_ is not None
    np.testing.assert_array_equal(hybrids.orders_, runs[3].orders_)
    np.testing.assert_allclose(out[3][0], hybrids.shap_values(x)[0], rtol=0, atol=1e-10)


def test_a_one_hot_pipeline_is_served_by_its_head_along_the_chains() -> None:
    pipe, frame = loan()
    from scorers.examples import loan_data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp = clone(pipe).set_params(classifier=MLPClassifier((8,), max_iter=300, random_state=0))
        mlp.fit(frame, loan_data()[1].iloc[:300])
    explainer = scorers.fit(mlp, frame.iloc[:120], **OPTIONS)
    assert (
        explainer.masking.mode == "grouped"
        and len(explainer.masking.column_group) > explainer.masking.n_players
    )
    assert explainer.manifest.scorer.params["chain"]["name"] == "numba-chain-mlp"
    served = explainer.scorer
    x = explainer.masking.encode(frame.iloc[-3:].reset_index(drop=True))
    hybrids = PermutationScorer(pairs=served.params["pairs"], seed=served.params["seed"]).fit(
        served._check_fitted()
    )
    np.testing.assert_allclose(served.shap_values(x)[0], hybrids.shap_values(x)[0], rtol=0, atol=1e-10)


def test_a_knn_is_served_by_its_chain_path_with_more_pairs(tmp_path: Path) -> None:
    from sklearn.neighbors import KNeighborsRegressor

    rng = np.random.default_rng(7)
    x = rng.normal(size=(160, 6))
    y = x[:, 0] * x[:, 1] + np.sin(3 * x[:, 2]) + (x[:, 3] > 0)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(6)])
    knn = KNeighborsRegressor(5).fit(frame.iloc[:120], y[:120])
    explainer = scorers.fit(knn, frame.iloc[:120], **OPTIONS)
    params = explainer.manifest.scorer.params
    chain = params["chain"]
    assert chain["name"] == "numba-chain-knn" and chain["max_abs_diff"] <= 1e-10
    nb = len(explainer.background.weights)
    today = max(1, evaluations(6) // (2 * 5 * nb))
    assert params["pairs"] == chain_pairs(today, chain["speedup"]) > today
    assert runtime_packages.needed(explainer.manifest)["numba"].endswith("chain path is numba-chain-knn")
    served = explainer.scorer
    rows = frame.iloc[120:126].reset_index(drop=True)  # rows the model never saw
    xe = explainer.masking.encode(rows)
    hybrids = PermutationScorer(pairs=params["pairs"], seed=params["seed"]).fit(served._check_fitted())
    assert hybrids.path_ is None and served.path_ is not None
    phi, fx = served.shap_values(xe)
    np.testing.assert_allclose(phi, hybrids.shap_values(xe)[0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(phi.sum(axis=-1), fx - served.base_values, rtol=0, atol=1e-6)
    np.testing.assert_allclose(fx[:, 0], knn.predict(rows), rtol=0, atol=1e-12)
    loaded = scorers.load(explainer.save(tmp_path / "knn"))
    assert loaded.manifest.scorer.params == params
    np.testing.assert_array_equal(
        np.asarray(loaded.explain(rows).values), np.asarray(explainer.explain(rows).values)
    )


def test_a_saved_chain_path_loads_bit_for_bit(tmp_path: Path) -> None:
    explainer, rows, _ = _served()
    out = explainer.save(tmp_path / "mlp")
    loaded = scorers.load(out)
    assert loaded.scorer.path_ is not None and loaded.scorer.params == explainer.scorer.params
    np.testing.assert_array_equal(loaded.scorer.orders_, explainer.scorer.orders_)
    np.testing.assert_array_equal(
        np.asarray(loaded.explain(rows).values), np.asarray(explainer.explain(rows).values)
    )


_FIRST_REQUEST = """
import sys
import pandas as pd
import scorers
from scorers.chains import _estimates_kernel, _mlp_kernel

def compiled():
    kernels = [_estimates_kernel.estimates, *_mlp_kernel._COMPILED.values()]
    return [len(k.signatures) for k in kernels]

explainer = scorers.load(sys.argv[1])
at_load = compiled()
explainer.explain(pd.read_json(sys.argv[2], orient="split"))
print(at_load, compiled())
"""


def test_a_load_compiles_everything_the_first_request_runs(tmp_path: Path) -> None:
    """In a fresh process (numba's compiled kernels are per process): the load compiles the chain path and
    the estimates pass, and a request's row (read-only once encoded) runs them without compiling again."""
    explainer, rows, _ = _served()
    out = explainer.save(tmp_path / "mlp")
    rows_file = tmp_path / "rows.json"
    rows.to_json(rows_file, orient="split")
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_REQUEST, str(out), str(rows_file)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    at_load, after = done.stdout.strip().splitlines()[-1].split("] [")
    assert at_load.strip("[]") == after.strip("[]"), done.stdout
    assert all(int(n) >= 1 for n in after.strip("[]").split(", ")), done.stdout


def _without_numba(monkeypatch: pytest.MonkeyPatch) -> None:
    """numba absent, as Python documents it (``sys.modules[name] = None``), and the kernels with it."""
    kernels = ("_mlp_kernel", "_knn_kernel", "_estimates_kernel")
    for name in ("numba", "llvmlite", *(f"scorers.chains.{k}" for k in kernels)):
        monkeypatch.setitem(sys.modules, name, None)


def test_without_numba_a_load_is_refused_and_packaging_serves_hybrid_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    explainer, rows, _ = _served()
    out = explainer.save(tmp_path / "mlp")
    _without_numba(monkeypatch)
    with pytest.raises(MissingPackageError) as err:
        scorers.load(out)
    message = str(err.value)
    assert "chain path is numba-chain-mlp" in message and "numba, llvmlite are not installed" in message
    assert "requirements-numba.lock" in message
    plain = scorers.fit(fitted_model("mlp", "binary"), dataset("binary")[0].iloc[:150], **OPTIONS)
    chain = plain.manifest.scorer.params["chain"]
    assert chain["name"] is None and "needs numba, which is not installed" in chain["reason"]
    assert plain.scorer.path_ is None and "numba" not in runtime_packages.needed(plain.manifest)
    m, nb = plain.masking.n_players, len(plain.background.weights)
    assert plain.manifest.scorer.params["pairs"] == max(1, evaluations(m) // (2 * (m - 1) * nb))
    assert np.asarray(plain.explain(rows).values).shape == (4, 2, 5)
