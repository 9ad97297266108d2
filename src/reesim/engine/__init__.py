"""Engines: turn a plan and a chunk's samples into series.

``vector`` is the vectorised NumPy core; ``des`` is the SimPy discrete-event
reference; ``numba`` is the optional compiled kernel (``pip install
'reesim[fast]'``). All fill a :class:`~reesim.engine.output.ChunkOutput`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from reesim.engine.output import ChunkOutput
from reesim.errors import ReesimError, did_you_mean
from reesim.plan import Plan
from reesim.sampling import Samples

__all__ = ["ENGINES", "EngineFn", "get_engine"]

FloatArray = NDArray[np.float64]


class EngineFn(Protocol):
    """A chunk runner: ``run(plan, samples, record, *, series=None) -> ChunkOutput``."""

    def __call__(
        self,
        plan: Plan,
        smp: Samples,
        record: frozenset[str],
        *,
        series: Mapping[str, FloatArray] | None = None,
    ) -> ChunkOutput: ...


#: Engine names accepted by ``simulate(engine=...)`` and ``reesim run --engine``.
ENGINES = ("vector", "des", "numba")


def get_engine(name: str) -> EngineFn:
    """Return the chunk runner of engine ``name`` (imported on first use)."""
    if name == "vector":
        from reesim.engine.vector import run_vector

        return run_vector
    if name == "des":
        from reesim.engine.des import run_des

        return run_des
    if name == "numba":
        try:
            import numba  # noqa: F401
        except ImportError:
            raise ReesimError("engine 'numba' needs numba: pip install 'reesim[fast]'") from None
        from reesim.engine.compiled import run_numba

        return run_numba
    raise ReesimError(
        f"engine must be one of {list(ENGINES)} (got {name!r}){did_you_mean(name, ENGINES)}"
    )
