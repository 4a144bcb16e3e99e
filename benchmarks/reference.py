"""Expensive reference SHAP values, computed in worker processes and cached in benchmarks/out/cache/.

A reference is ``shap.KernelExplainer(f, background).shap_values(row, nsamples=20000, l1_reg=False)``
(no feature selection: a reference must not zero features).  ``f`` is the SVC's ``predict_proba``,
evaluated by :class:`benchmarks.svc_replica.SVCProbaReplica` once the run has checked that it matches
``model.predict_proba`` to 1e-9 (else the model itself is used; same numbers, ~3-5x slower).

The cache is one ``.npz`` per set of settings (kind, nsamples, shap version, the fitted model's
parameters, the background and its weights), with one entry per explained row keyed by a hash of the
row, so that reruns are instant and changing the number of reference rows only computes the new rows.
Each row's sampling seed is derived from the row's hash, so a row's value does not depend on which
worker computed it or in which order.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from .common import OUT, log

CACHE = OUT / "cache"
VERSION = "reference-v1"


@dataclass
class RefSpec:
    name: str  # e.g. "full-455" or "kmeans10-seedA"
    background: np.ndarray  # (nb, M)
    weights: np.ndarray | None  # None: uniform
    nsamples: int
    seed_salt: str = ""


def model_fingerprint(model: Any) -> str:
    """Hash of what determines an SVC's predict_proba (probability=True calibrates with internal CV)."""
    h = hashlib.sha256()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        parts = [
            model.support_vectors_,
            model.dual_coef_,
            model.intercept_,
            model.probA_,
            model.probB_,
            np.array([model._gamma]),
        ]
    for p in parts:
        h.update(np.ascontiguousarray(p, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def _row_key(row: np.ndarray) -> str:
    return "r" + hashlib.sha256(np.ascontiguousarray(row, dtype=np.float64).tobytes()).hexdigest()[:20]


def _settings_key(spec: RefSpec, model_fp: str) -> str:
    import shap

    h = hashlib.sha256()
    h.update(
        f"{VERSION}|{spec.name}|{spec.nsamples}|l1_reg=False|shap={shap.__version__}|{model_fp}|{spec.seed_salt}".encode()
    )
    h.update(np.ascontiguousarray(spec.background, dtype=np.float64).tobytes())
    if spec.weights is not None:
        h.update(np.ascontiguousarray(spec.weights, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def _load(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        return {}
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def _save(path: Path, entries: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, **entries)
    tmp.replace(path)


def _worker(payload: bytes) -> tuple[str, dict[str, np.ndarray], float]:
    """One row in a fresh process with one BLAS thread: (row key, its entries: values (M, K) and expected
    value, seconds)."""
    import shap
    from threadpoolctl import threadpool_limits

    model, use_replica, background, weights, row, nsamples, seed, key = pickle.loads(payload)
    logging.getLogger("shap").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    with threadpool_limits(1):
        if use_replica:
            from .svc_replica import SVCProbaReplica

            fn = SVCProbaReplica(model).predict_proba
        else:
            fn = model.predict_proba
        if weights is None:
            data: Any = background
        else:
            from shap.utils._legacy import DenseData

            data = DenseData(
                background,
                [str(j) for j in range(background.shape[1])],
                None,
                np.asarray(weights, dtype=np.float64),
            )
        explainer = shap.KernelExplainer(fn, data)
        np.random.seed(seed)  # KernelExplainer samples coalitions with numpy's global generator
        t0 = time.perf_counter()
        values = explainer.shap_values(row[None, :], nsamples=nsamples, l1_reg=False, silent=True)
        seconds = time.perf_counter() - t0
    values = np.asarray(values)
    if values.ndim == 3 and values.shape[0] != 1:  # a list per class: (K, 1, M)
        values = np.transpose(values, (1, 2, 0))
    return (
        key,
        {key: values[0], "base_" + key: np.array([float(np.ravel(explainer.expected_value)[-1])])},
        seconds,
    )


def _mem_available_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("inf")


def _open(path: Path, rows: np.ndarray) -> tuple[dict[str, np.ndarray], list[str], list[int], dict[str, Any]]:
    """A cache file's entries, the rows' keys, the positions of the rows it lacks, and the info so far."""
    entries = _load(path)
    keys = [_row_key(r) for r in rows]
    missing = [i for i, k in enumerate(keys) if k not in entries]
    info: dict[str, Any] = {
        "cache": str(path.relative_to(OUT.parent.parent)),
        "cached_rows": len(rows) - len(missing),
        "computed_rows": len(missing),
    }
    return entries, keys, missing, info


def _row_seed(key: str, salt: str = "") -> int:
    """A row's sampling seed, from its hash: the same whichever worker computes it, in whatever order."""
    return int(hashlib.sha256((key + salt).encode()).hexdigest()[:8], 16)


def _compute(
    path: Path,
    entries: dict[str, np.ndarray],
    worker: Callable[[bytes], tuple[str, dict[str, np.ndarray], float]],
    payloads: list[bytes],
    n_workers: int,
    label: str,
) -> dict[str, Any]:
    """Runs ``worker`` on every payload in spawned processes, saving each row's entries as it arrives
    (a cached row survives an interrupted run), or in this process with ``n_workers=0``: timing info."""
    t_start = time.perf_counter()
    secs = []
    with ProcessPoolExecutor(max_workers=max(n_workers, 1), mp_context=get_context("spawn")) as pool:
        if n_workers == 0:  # in this process, one row after the other
            results: Any = (worker(payload) for payload in payloads)
        else:
            results = (fut.result() for fut in as_completed([pool.submit(worker, p) for p in payloads]))
        for done, (_, new, seconds) in enumerate(results, start=1):
            entries.update(new)
            _save(path, entries)
            secs.append(seconds)
            elapsed = time.perf_counter() - t_start
            eta = elapsed / done * (len(payloads) - done)
            log(
                f"  {label}: row {done}/{len(payloads)} done ({seconds:.1f} s in its worker); elapsed {elapsed:.0f} s, ETA {eta:.0f} s"
            )
    return {
        "seconds_per_row_in_worker": float(np.median(secs)),
        "wall_seconds": time.perf_counter() - t_start,
        "workers": n_workers,
    }


def reference_values(
    spec: RefSpec, model: Any, rows: np.ndarray, *, use_replica: bool, workers: int = 2, label: str = ""
) -> tuple[np.ndarray, dict[str, Any]]:
    """SHAP values (n, M, K) of ``rows`` per ``spec``: from the cache, computing missing rows in parallel."""
    fp = model_fingerprint(model)
    path = CACHE / f"{spec.name}-{_settings_key(spec, fp)}.npz"
    entries, keys, missing, info = _open(path, rows)
    if missing:
        # shap.KernelExplainer holds nsamples * nb synthetic rows: ~8 bytes * M * that, plus the outputs
        need_gb = 2.2 * spec.nsamples * len(spec.background) * rows.shape[1] * 8 / 2**30 + 0.5
        n_workers = int(max(1, min(workers, len(missing), _mem_available_gb() // max(need_gb, 1e-9))))
        log(
            f"{label}: computing {len(missing)} of {len(rows)} rows (nsamples={spec.nsamples}, background {len(spec.background)} rows) "
            f"in {n_workers} worker process(es), ~{need_gb:.1f} GB each; cached rows: {len(rows) - len(missing)}"
        )
        payloads = []
        for i in missing:
            seed = _row_seed(keys[i], spec.seed_salt)
            payloads.append(
                pickle.dumps(
                    (model, use_replica, spec.background, spec.weights, rows[i], spec.nsamples, seed, keys[i])
                )
            )
        info.update(_compute(path, entries, _worker, payloads, n_workers, label))
    else:
        log(f"{label}: all {len(rows)} rows from the cache ({info['cache']})")
    return np.stack([entries[k] for k in keys]), info


PERMUTATION_VERSION = "permutation-v1"
PATH_CHECK_TOL = 1e-9  # the walks' values against model.predict_proba on explicitly built hybrids


def _permutation_worker(payload: bytes) -> tuple[str, dict[str, np.ndarray], float]:
    """One row's permutation reference in a fresh process with one BLAS thread: (row key, its entries:
    values (M,), standard errors (M,) and the walks' largest difference to the model, seconds)."""
    from threadpoolctl import threadpool_limits

    from .permutation_reference import SvcPaths, check_paths, estimate

    model, background, weights, row, rounds, seed, key = pickle.loads(payload)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paths = SvcPaths(model, background, weights)
        check = check_paths(paths, row, seed=seed)
        t0 = time.perf_counter()
        est = estimate(paths, row, rounds, seed)
        seconds = time.perf_counter() - t0
    return key, {key: est.phi, "se_" + key: est.se, "check_" + key: np.array([check])}, seconds


def permutation_reference(
    model: Any,
    background: np.ndarray,
    rows: np.ndarray,
    *,
    rounds: int,
    weights: np.ndarray | None = None,
    seed_salt: str = "",
    workers: int = 2,
    label: str = "",
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Positive-class probability SHAP values of ``rows`` against ``background`` by antithetic permutation
    sampling (benchmarks/permutation_reference.py): (values (n, M), standard errors (n, M), info), from
    the cache, computing missing rows in ``workers`` processes (0: in this one).  Refuses walks more
    than ``PATH_CHECK_TOL`` off the model.  Another ``seed_salt`` draws other orders (a second, independent
    reference, cached apart)."""
    from .permutation_reference import PAIR_TOL

    h = hashlib.sha256()
    h.update(f"{PERMUTATION_VERSION}|{rounds}|{PAIR_TOL}|{model_fingerprint(model)}".encode())
    h.update(f"|{seed_salt}".encode() if seed_salt else b"")
    h.update(np.ascontiguousarray(background, dtype=np.float64).tobytes())
    if weights is not None:
        h.update(np.ascontiguousarray(weights, dtype=np.float64).tobytes())
    path = CACHE / f"permutation-{len(background)}-{h.hexdigest()[:16]}.npz"
    entries, keys, missing, info = _open(path, rows)
    info["rounds"] = rounds
    if missing:
        n_workers = min(workers, len(missing))
        log(
            f"{label}: computing {len(missing)} of {len(rows)} rows ({rounds} antithetic rounds against "
            f"{len(background)} rows) in {n_workers} worker process(es)"
        )
        payloads = [
            pickle.dumps(
                (
                    model,
                    background,
                    weights,
                    rows[i],
                    rounds,
                    _row_seed(keys[i], "permutation" + seed_salt),
                    keys[i],
                )
            )
            for i in missing
        ]
        info.update(_compute(path, entries, _permutation_worker, payloads, n_workers, label))
    else:
        log(f"{label}: all {len(rows)} rows from the cache ({info['cache']})")
    info["path_check"] = max(float(entries["check_" + k][0]) for k in keys)
    if info["path_check"] > PATH_CHECK_TOL:
        raise RuntimeError(f"the walks are {info['path_check']:.1e} off model.predict_proba")
    return np.stack([entries[k] for k in keys]), np.stack([entries["se_" + k] for k in keys]), info
