"""reesim: Monte Carlo stress tests of the rare-earth magnet supply chain.

Load a scenario, simulate thousands of replicates, read shortage metrics::

    import reesim
    sc = reesim.load_scenario("default")
    res = reesim.simulate(sc, replicates=5000, seed=7)
    res.summary()
"""

from importlib.metadata import PackageNotFoundError, version

from reesim.errors import ReesimError, ReesimWarning, ScenarioError
from reesim.results import MassBalanceError, Results
from reesim.scenario.load import list_builtin, load_scenario
from reesim.scenario.model import Scenario
from reesim.simulate import simulate

try:
    __version__ = version("reesim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

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
