"""reesim: Monte Carlo stress tests of the rare-earth magnet supply chain.

Load a scenario, simulate thousands of replicates, read shortage metrics::

    import reesim
    sc = reesim.load_scenario("default")
    res = reesim.simulate(sc, replicates=5000, seed=7)
    res.summary()

The names below are loaded on first use, so that ``import reesim`` (and the
``reesim`` command's ``--help``) does not pay for NumPy and pydantic.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from reesim.errors import ReesimError, ReesimWarning, ScenarioError

if TYPE_CHECKING:
    from reesim.results import MassBalanceError, Results
    from reesim.scenario.load import list_builtin, load_scenario
    from reesim.scenario.model import Scenario
    from reesim.simulation import simulate

__version__: str  # read from the installed package's metadata on first use

__all__ = [
    "MassBalanceError",
    "ReesimError",
    "ReesimWarning",
    "Results",
    "Scenario",
    "ScenarioError",
    "__version__",
    "list_builtin",
    "load_scenario",
    "simulate",
]

_LAZY = {
    "MassBalanceError": "reesim.results",
    "Results": "reesim.results",
    "list_builtin": "reesim.scenario.load",
    "load_scenario": "reesim.scenario.load",
    "Scenario": "reesim.scenario.model",
    "simulate": "reesim.simulation",
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("reesim")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()["__version__"] = value = _version()
        return value
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'reesim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
