"""Thread pools of the numeric libraries (BLAS, OpenMP) in a process that serves or explains.

``threadpoolctl`` limits the pools of the libraries loaded *when it is called*.  A model brings its own
when it is loaded: scipy's OpenBLAS, the OpenMP runtime of scikit-learn, LightGBM or XGBoost.  A limit
set before the model was loaded leaves those at their default (one thread per core), and two workers
on two cores then run four threads.  :func:`loaded_with_threads` sets the limit, runs the loader, and
sets it again on everything loaded meanwhile.  :func:`limit_threads` also sets ``OMP_NUM_THREADS`` and
``OPENBLAS_NUM_THREADS``, which a library reads when it is loaded, for the ones loaded later still (a
surrogate model fitted on first use).  Limits last for the life of the process.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_LIMITS: list[Any] = []  # kept: a limit is undone when its object is collected
_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_threads(n: int) -> None:
    """At most ``n`` threads in the BLAS and OpenMP pools of every library loaded so far (0: no limit)."""
    if n <= 0:
        return
    from threadpoolctl import threadpool_limits

    for name in _ENV:
        os.environ[name] = str(n)
    _LIMITS.append(threadpool_limits(n))


def loaded_with_threads(n: int, load: Callable[[], T]) -> T:
    """``load()`` with at most ``n`` threads per pool, before it (its own numeric work) and after it (the
    libraries it loaded)."""
    limit_threads(n)
    out = load()
    limit_threads(n)
    return out


def thread_counts() -> dict[str, int]:
    """Threads of each loaded pool, by library file (for tests and diagnostics)."""
    from threadpoolctl import threadpool_info

    return {f"{i['internal_api']}:{i['filepath']}": int(i["num_threads"]) for i in threadpool_info()}


__all__ = ["limit_threads", "loaded_with_threads", "thread_counts"]
