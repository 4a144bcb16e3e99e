"""The kernel_machine scorer's fused numba loop (``scorers.kinds._rbf_pairs_kernel``, decision 51) against
its numpy path (the reference, 1e-12 relative) and the brute-force oracle (tests/scorers/scorer_support.py):
pruned pairs (the screen, the bounds, the sort when the small bounds sum past the tolerance), passive
players, one-hot groups, a classifier and a regressor, rows whose pairs underflow, per-background splits,
and more pairs than one block of lanes (each row's values are its own in a batch).  Also: the manifest
records the loop, a load compiles it before any request, and without numba a load is refused while
packaging serves the numpy path.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scorer_support import dataset, model_output, shapley_oracle

import scorers
from scorers import runtime_packages
from scorers.kinds import _rbf_pairs_kernel, kernel_machine
from scorers.kinds.kernel_machine import PAIR_KERNEL, PRUNE_TOL, _Plan
from scorers.runtime_packages import MissingPackageError

TOL = 1e-10  # against the oracle: PRUNE_TOL for the pairs pruned, and again for the passive tail
SAME = 1e-12  # fused against numpy, relative to the largest value


@functools.cache
def _svc() -> tuple[Any, pd.DataFrame, Any]:
    """An SVC whose gamma makes some pairs negligible (pruned) and others not."""
    from sklearn.svm import SVC

    x, y = dataset("binary")
    model = SVC(gamma=2.0, C=10.0).fit(x, y)
    return model, x, scorers.fit(model, x, background_size=15, summary="kmeans", eval_size=5)


@functools.cache
def _svr_small_scale() -> tuple[Any, pd.DataFrame, Any]:
    """A regressor with eight of twelve features far below 1/sqrt(gamma): passive players."""
    from sklearn.svm import SVR

    x, _ = dataset("wide12")
    x = x * np.array([1.0] * 4 + [0.002, 0.001, 0.0005, 0.0015, 0.001, 0.0003, 0.001, 0.0008])
    y = np.sin(x.to_numpy()[:, 0]) + x.to_numpy()[:, 1] * x.to_numpy()[:, 2] + 300.0 * x.to_numpy()[:, 5]
    model = SVR(gamma=0.3, C=10.0).fit(x, y)
    return model, x, scorers.fit(model, x, background_size=6, summary="kmeans", eval_size=5)


@functools.cache
def _one_hot() -> tuple[Any, pd.DataFrame, Any]:
    """The examples' ColumnTransformer (scaled numbers, one-hot categories) with an RBF SVC head: each
    categorical column is one player of several encoded columns (grouped masking)."""
    from sklearn.base import clone
    from sklearn.svm import SVC

    from scorers.examples import loan_pipeline

    pipe, x, y = loan_pipeline()
    model = clone(pipe).set_params(classifier=SVC(gamma=0.5, C=10.0)).fit(x, y)
    explainer = scorers.fit(model, x.iloc[:300], background_size=8, summary="kmeans", eval_size=5)
    assert explainer.masking.mode == "grouped"
    return model, x.iloc[300:].reset_index(drop=True), explainer


def _rows(x: pd.DataFrame, background: pd.DataFrame) -> pd.DataFrame:
    near = background.iloc[[0]].copy()
    near.iloc[0, 1] += 0.3  # shares every other value with a background row: a_k == c_k there
    far = x.iloc[[0]] + 6.0  # far from every support vector: factors underflow, pairs pruned
    return pd.concat([x.iloc[[3, 7]], near, far], ignore_index=True)


def _cases() -> dict[str, tuple[Any, pd.DataFrame, Any, pd.DataFrame]]:
    out = {}
    for name, fitted in (("svc", _svc), ("svr passive", _svr_small_scale)):
        model, x, explainer = fitted()
        out[name] = (model, x, explainer, _rows(x, explainer.background.raw))
    model, x, explainer = _one_hot()
    out["one-hot"] = (model, x, explainer, x.iloc[:4])
    return out


def _numpy_path(explainer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explainer.scorer, "kernel_", None)


def _assert_same(fast: np.ndarray, ref: np.ndarray) -> None:
    np.testing.assert_allclose(fast, ref, rtol=0, atol=SAME * np.max(np.abs(ref)))


@pytest.mark.parametrize("name", ["svc", "svr passive", "one-hot"])
def test_the_fused_loop_equals_the_numpy_path_and_the_oracle(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    model, _, explainer, rows = _cases()[name]
    assert explainer.scorer.kernel_ is _rbf_pairs_kernel
    enc = explainer.masking.encode(explainer.validate(rows))
    fast, split_fast = explainer.scorer._values(enc), explainer.scorer.background_split(enc[:1])
    explained = explainer.explain(rows)
    with monkeypatch.context() as patch:
        _numpy_path(explainer, patch)
        ref, split_ref = explainer.scorer._values(enc), explainer.scorer.background_split(enc[:1])
    _assert_same(fast, ref)
    _assert_same(split_fast, split_ref)
    bg = explainer.background
    phi, _, _ = shapley_oracle(lambda f: model_output(model, f, "raw"), bg.raw, np.asarray(bg.weights), rows)
    np.testing.assert_allclose(explained.values, phi, rtol=0, atol=TOL)
    assert np.max(np.abs(phi)) > 1e3 * TOL
    np.testing.assert_allclose(
        explained.values.sum(axis=-1) + explained.base_values, explained.outputs, atol=1e-6
    )


def test_the_cases_cover_pruned_pairs_passive_players_and_underflow() -> None:
    """What the test above relies on: some pairs pruned (fewer for the far row, whose factors underflow),
    more pairs than one block of lanes, and passive players in the small-scale regressor."""
    _, _, explainer, rows = _cases()["svc"]
    enc = explainer.masking.encode(explainer.validate(rows))
    kept = [len(_fused_kept(explainer, enc[r : r + 1])[0]) for r in (0, 3)]
    n_pairs = explainer.scorer.log_c_.shape[0] * explainer.scorer.log_c_.shape[1]
    assert kept[1] < kept[0] < n_pairs and kept[0] > 2 * _rbf_pairs_kernel.LANES
    _, _, small, rows = _cases()["svr passive"]
    pairs, bound_sum, spread = _fused_kept(small, small.masking.encode(small.validate(rows.iloc[:1])))
    plan = _Plan.of(spread, bound_sum + PRUNE_TOL)
    assert len(plan.passive) >= 4 and len(plan.active) >= 1 and plan.degree >= 1


def _fused_kept(explainer: Any, row: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    sc = explainer.scorer
    _, log_scale = sc._scales(explainer.background.weights)
    screen_c, log_c, _, _ = sc.pair_major_
    threshold = np.log(PRUNE_TOL / (2 * log_scale.shape[0]))
    log_a = np.ascontiguousarray(sc._log_factors(row)[0])
    return _rbf_pairs_kernel.kept(log_a, log_scale, sc.screen_, screen_c, log_c, threshold, PRUNE_TOL / 2)


@pytest.mark.parametrize("tol", [PRUNE_TOL, 1e-3])
def test_the_kept_pairs_are_the_numpy_paths(monkeypatch: pytest.MonkeyPatch, tol: float) -> None:
    """The same pairs, bounds and spreads as ``_kept``: at the default tolerance and at a loose one, where
    the small bounds sum past it and only the smallest go (the sort)."""
    monkeypatch.setattr(kernel_machine, "PRUNE_TOL", tol)
    _, x, explainer, rows = _cases()["svc"]
    sc = explainer.scorer
    enc = explainer.masking.encode(explainer.validate(rows))
    _, log_scale = sc._scales(explainer.background.weights)
    screen_c, log_c, _, _ = sc.pair_major_
    sorted_any = False
    for r in range(len(enc)):
        log_a = np.ascontiguousarray(sc._log_factors(enc[r : r + 1])[0])
        threshold = np.log(tol / (2 * log_scale.shape[0]))
        pairs, bound_sum, spread = _rbf_pairs_kernel.kept(
            log_a, log_scale, sc.screen_, screen_c, log_c, threshold, tol / 2
        )
        want, want_c, want_a, want_sum = sc._kept(np.ascontiguousarray(log_a.T), log_scale)
        np.testing.assert_array_equal(pairs, want)
        np.testing.assert_allclose(bound_sum + tol, want_sum, rtol=1e-12)
        np.testing.assert_array_equal(spread, _Plan.spread(want_a - want_c))
        kept_bounds = np.exp(log_scale[want] + np.maximum(want_a, want_c).sum(axis=0))
        sorted_any |= bool(np.any(kept_bounds < tol / 2))  # kept under tol / 2: the sort ran
    assert sorted_any


def test_row_n_plus_one_differs_from_the_first_n() -> None:
    """N equal rows and a different one in one call: each row's values are the ones it gets alone."""
    _, x, explainer, _ = _cases()["svc"]
    rows = pd.concat([x.iloc[[5]]] * 4 + [x.iloc[[9]]], ignore_index=True)
    together = explainer.explain(rows).values
    for i in range(len(rows)):
        np.testing.assert_array_equal(together[i], explainer.explain(rows.iloc[[i]]).values[0])
    assert np.max(np.abs(together[4] - together[0])) > 1e-3


def test_the_manifest_records_the_loop_and_its_package() -> None:
    _, _, explainer, _ = _cases()["svc"]
    assert explainer.manifest.scorer.params["pair_kernel"] == {"name": PAIR_KERNEL, "reason": ""}
    reason = runtime_packages.needed(explainer.manifest)["numba"]
    assert reason == f"its kernel_machine scorer's pair loop is {PAIR_KERNEL}"


_FIRST_REQUEST = """
import sys
import pandas as pd
import scorers
from scorers.kinds import _rbf_pairs_kernel as k

def compiled():
    return [len(k.kept.signatures), len(k.values.signatures)]

explainer = scorers.load(sys.argv[1])
at_load = compiled()
explainer.explain(pd.read_json(sys.argv[2], orient="split"))
print(at_load, compiled())
"""


def test_a_load_compiles_everything_the_first_request_runs(tmp_path: Path) -> None:
    """In a fresh process (numba's compiled loops are per process): the load compiles both loops, and a
    request's rows run them without compiling again."""
    _, x, explainer, rows = _cases()["svc"]
    out = explainer.save(tmp_path / "svc")
    rows_file = tmp_path / "rows.json"
    rows.to_json(rows_file, orient="split")
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_REQUEST, str(out), str(rows_file)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        check=True,
    )
    at_load, after = done.stdout.strip().splitlines()[-1].split("] [")
    assert at_load.strip("[]") == after.strip("[]") == "1, 1", done.stdout


def _without_numba(monkeypatch: pytest.MonkeyPatch) -> None:
    """numba absent, as Python documents it (``sys.modules[name] = None``), and the loop's module with it."""
    for name in ("numba", "llvmlite", "scorers.kinds._rbf_pairs_kernel"):
        monkeypatch.setitem(sys.modules, name, None)


def test_without_numba_a_load_is_refused_and_packaging_serves_the_numpy_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, x, explainer, rows = _cases()["svc"]
    out = explainer.save(tmp_path / "svc")
    _without_numba(monkeypatch)
    with pytest.raises(MissingPackageError) as err:
        scorers.load(out)
    message = str(err.value)
    assert f"pair loop is {PAIR_KERNEL}" in message and "numba, llvmlite are not installed" in message
    plain = scorers.fit(model, x, background_size=15, summary="kmeans", eval_size=5)
    record = plain.manifest.scorer.params["pair_kernel"]
    assert record["name"] is None and "needs numba, which is not installed" in record["reason"]
    assert plain.scorer.kernel_ is None and "numba" not in runtime_packages.needed(plain.manifest)
    _assert_same(plain.explain(rows).values, explainer.explain(rows).values)


_NO_CACHE_PLACE = """
import sys
import numpy as np
import pandas as pd
import scorers
from scorers.kinds import _rbf_pairs_kernel as k

explainer = scorers.load(sys.argv[1])
rows = pd.DataFrame(np.load(sys.argv[2]), columns=sys.argv[4].split(","))  # the rows bit for bit
np.save(sys.argv[3], np.asarray(explainer.explain(rows).values))
print(type(k.kept._cache).__name__, type(k.values._cache).__name__)
"""


def test_without_a_writable_cache_place_the_loops_compile_and_serve(tmp_path: Path) -> None:
    """A read-only filesystem without NUMBA_CACHE_DIR: numba has no place for its disk cache and raises on
    ``cache=True`` when the module is imported; the loops are compiled without the cache and serve the same
    values.  (Simulated by restricting numba's cache locators to the IPython one, which declines outside
    IPython: the test runs as root, for whom no directory is read-only.)"""
    _, _, explainer, rows = _cases()["svc"]
    out = explainer.save(tmp_path / "svc")
    np.save(tmp_path / "rows.npy", rows.to_numpy(dtype=np.float64))
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(root), "NUMBA_CACHE_LOCATOR_CLASSES": "IPythonCacheLocator"}
    env.pop("NUMBA_CACHE_DIR", None)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _NO_CACHE_PLACE,
            str(out),
            str(tmp_path / "rows.npy"),
            str(tmp_path / "v.npy"),
            ",".join(rows.columns),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "NullCache NullCache", done.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "v.npy"), np.asarray(explainer.explain(rows).values))
