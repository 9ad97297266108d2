"""Splitting work over numba's threads: one contiguous range of indices per thread.

The compiled engine and the compiled metrics both run functions that release
the GIL over independent indices (replicates, or (replicate, sink) rows);
:func:`spread` gives each thread one range of them. numba is imported only
when a split is asked for, so this module costs nothing to import.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["spread"]


def spread(n: int, parts: int, run: Callable[[int, int], None], align: int = 1) -> None:
    """Run ``run(lo, hi)`` over ``0:n`` in contiguous ranges, one per thread.

    Parameters
    ----------
    n
        Number of indices.
    parts
        How many threads the work is worth; numba's thread count
        (:func:`numba.get_num_threads`) caps it, and below 2 the caller's
        thread runs everything.
    run
        Does the work of ``lo:hi``; it must release the GIL for the ranges to
        run at once, and compute each index the same way whatever range holds
        it, so that results do not depend on the thread count.
    align
        Every range but the last starts and ends on a multiple of this (the
        compiled engine's lane groups, so that only the last range has a
        partial group).
    """
    import numba

    units = -(-n // align)
    n_threads = max(1, min(int(numba.get_num_threads()), parts, units))
    if n_threads == 1:
        run(0, n)
        return
    bounds = np.minimum(np.linspace(0, units, n_threads + 1).astype(np.int64) * align, n)
    # The caller's thread takes the first range instead of waiting idle.
    with ThreadPoolExecutor(n_threads - 1) as pool:
        jobs = [
            pool.submit(run, int(lo), int(hi))
            for lo, hi in zip(bounds[1:-1], bounds[2:], strict=True)
        ]
        run(0, int(bounds[1]))
        for job in jobs:
            job.result()
