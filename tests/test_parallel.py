"""reesim.parallel.spread: contiguous ranges, one per thread, on lane-group boundaries."""

from __future__ import annotations

import threading

import pytest

from reesim.parallel import spread

numba = pytest.importorskip("numba")


@pytest.mark.parametrize(("n", "parts", "align"), [(1000, 2, 64), (130, 5, 32), (7, 3, 1)])
def test_ranges_cover_every_index_once_and_start_on_the_alignment(n, parts, align) -> None:  # type: ignore[no-untyped-def]
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has one thread here")
    before = numba.get_num_threads()
    numba.set_num_threads(2)
    try:
        ranges: list[tuple[int, int]] = []
        threads: set[int] = set()
        lock = threading.Lock()

        def run(lo: int, hi: int) -> None:
            with lock:
                ranges.append((lo, hi))
                threads.add(threading.get_ident())

        spread(n, parts, run, align=align)
    finally:
        numba.set_num_threads(before)
    ranges.sort()
    assert len(ranges) == 2 and len(threads) == 2
    assert ranges[0][0] == 0 and ranges[-1][1] == n
    assert ranges[0][1] == ranges[1][0] and ranges[0][1] % align == 0


def test_too_little_work_runs_in_the_callers_thread() -> None:
    ranges: list[tuple[int, int]] = []
    spread(100, 1, lambda lo, hi: ranges.append((lo, hi)), align=32)
    spread(20, 4, lambda lo, hi: ranges.append((lo, hi)), align=32)  # less than one group
    assert ranges == [(0, 100), (0, 20)]
