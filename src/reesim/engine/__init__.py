"""Engines: turn a plan and a chunk's samples into series.

``vector`` is the vectorised NumPy core; ``des`` is the SimPy discrete-event
reference. Both fill a :class:`~reesim.engine.output.ChunkOutput`.
"""

from __future__ import annotations

from collections.abc import Callable

from reesim.engine.output import ChunkOutput
from reesim.errors import ReesimError, did_you_mean
from reesim.plan import Plan
from reesim.sampling import Samples

__all__ = ["ENGINES", "EngineFn", "get_engine"]

EngineFn = Callable[[Plan, Samples, frozenset[str]], ChunkOutput]

#: Engine names accepted by ``simulate(engine=...)`` and ``reesim run --engine``.
ENGINES = ("vector", "des")


def get_engine(name: str) -> EngineFn:
    """Return the chunk runner of engine ``name`` (imported on first use)."""
    if name == "vector":
        from reesim.engine.vector import run_vector

        return run_vector
    if name == "des":
        from reesim.engine.des import run_des

        return run_des
    raise ReesimError(
        f"engine must be one of {list(ENGINES)} (got {name!r}){did_you_mean(name, ENGINES)}"
    )
