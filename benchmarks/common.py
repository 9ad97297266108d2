"""Helpers shared by the sections of the benchmark suite (:mod:`run_all`).

Timing with medians, the engines the suite compares (the vectorised core and
the optional numba kernel, the latter at numba's default thread count and at
one thread), and the chunk size ``simulate()`` would pick.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

_T0 = time.perf_counter()

#: Engine variants timed by the kernel section: (key, engine, threads; None = numba's default).
#: The ceiling op is single-threaded, so the compiled kernel is also timed at one thread.
VARIANTS: tuple[tuple[str, str, int | None], ...] = (
    ("vector", "vector", None),
    ("numba", "numba", None),
    ("numba_1thread", "numba", 1),
)


def log(msg: str) -> None:
    """One progress line on stderr, with the seconds since the suite started."""
    print(f"[{time.perf_counter() - _T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def median_time(fn: Callable[[], Any], repeats: int = 7, min_batch_s: float = 0.05) -> float:
    """Median seconds per call of ``fn``, timed in batches long enough to read the clock."""
    fn()
    number, t = 1, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        t = time.perf_counter() - t0
        if t >= min_batch_s or number >= 1 << 20:
            break
        number *= 4
    samples = [t / number]
    for _ in range(repeats - 1):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - t0) / number)
    return float(np.median(samples))


def med(xs: list[float]) -> float:
    return float(np.median(xs))


def ratio_of(num: list[float], den: list[float]) -> float:
    """Median of the per-round ratios ``num[i] / den[i]`` (both timed in round ``i``)."""
    return float(np.median(np.asarray(num) / np.asarray(den)))


#: Why the compiled kernel is left out of this run, if it is (see :func:`disable_numba`).
_numba_off: list[str] = []


def have_numba() -> bool:
    return not _numba_off and importlib.util.find_spec("numba") is not None


def numba_off_reason() -> str | None:
    if _numba_off:
        return _numba_off[0]
    return None if have_numba() else "numba is not installed (pip install -e '.[fast]')"


def disable_numba(reason: str) -> None:
    """Leave the compiled kernel out of every section (it failed to start)."""
    _numba_off.append(reason)


def engines() -> list[str]:
    """Engines compared in this run: the core, and the compiled kernel when numba is installed."""
    return ["vector", "numba"] if have_numba() else ["vector"]


def variants() -> list[tuple[str, str, int | None]]:
    return [v for v in VARIANTS if v[1] in engines()]


def chunk_runner(engine: str) -> Callable[..., Any]:
    """The engine's own entry point: ``fn(plan, samples, record)`` for one chunk."""
    if engine == "vector":
        from reesim.engine.vector import run_vector

        return run_vector
    from reesim.engine.compiled import run_numba

    return run_numba


def default_threads() -> int:
    import numba

    return int(numba.get_num_threads())


@contextlib.contextmanager
def numba_threads(n: int | None) -> Iterator[None]:
    """Run the block with numba's thread count set to ``n`` (None: leave it)."""
    if n is None:
        yield
        return
    import numba

    old = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(old)


def default_chunk_size(plan: Any, engine: str = "vector") -> int:
    """The chunk ``simulate(record="none", engine=engine)`` picks."""
    from reesim.simulation import default_chunk_size as pick

    return int(pick(plan, frozenset(), engine))


def free_stem(folder: Path, stem: str) -> str:
    """``stem``, or ``stem-2``, ``stem-3``, ...: earlier results are never overwritten."""
    candidate, n = stem, 1
    while (folder / f"{candidate}.json").exists() or (folder / f"{candidate}.md").exists():
        n += 1
        candidate = f"{stem}-{n}"
    return candidate


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
