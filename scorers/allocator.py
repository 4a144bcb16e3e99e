"""The C allocator of a process that serves or explains: freed memory kept for the next row.

glibc's ``malloc`` hands a large freed block back to the kernel (``munmap`` above its mmap threshold,
a heap trim above its trim threshold), and the next row's same-sized numpy temporaries then fault every
page in again.  Explaining one row of the seed's SVC allocates and frees some megabytes of them: in a
fresh worker that was 3,655 page faults per row, half the explanation's CPU time as system time
(docs/performance.md, "the 1-row request path").  :func:`keep_freed_memory` raises both thresholds
once per process, so up to ``n_bytes`` of freed memory stays in the process for the next row.  Other C
libraries (musl, macOS) have no ``mallopt``: nothing changes there.
"""

from __future__ import annotations

import ctypes

KEEP_BYTES = 64 << 20  # freed memory a process keeps: above a 1-row explanation's temporaries
_MMAP_MAX = 32 << 20  # glibc refuses a larger mmap threshold on 64-bit (HEAP_MAX_SIZE / 2)
_M_TRIM_THRESHOLD = -1  # <malloc.h>
_M_MMAP_THRESHOLD = -3


def keep_freed_memory(n_bytes: int = KEEP_BYTES) -> bool:
    """Keep up to ``n_bytes`` of freed memory in this process (glibc; 0: the allocator's defaults).
    Blocks up to ``min(n_bytes, 32 MiB)`` come from the heap instead of ``mmap``, and the heap is trimmed
    only beyond ``n_bytes`` free at its top.  True when the allocator took both settings."""
    if n_bytes <= 0:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):  # not glibc
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mmap_ok = mallopt(_M_MMAP_THRESHOLD, min(n_bytes, _MMAP_MAX))
    trim_ok = mallopt(_M_TRIM_THRESHOLD, min(n_bytes, 2**31 - 1))
    return bool(mmap_ok and trim_ok)


__all__ = ["KEEP_BYTES", "keep_freed_memory"]
