"""Tools for testing models built with reesim in your own CI.

* :func:`networks` and :func:`scenarios`: hypothesis strategies that build
  valid random networks and scenarios, with knobs for size and event kinds.
* :func:`assert_invariants`: the model's invariants on one run (mass balance,
  nothing negative, capacities, bans and quotas respected).
* :func:`assert_engines_agree`: the vectorised core and the SimPy reference
  engine give the same series, ledgers and metrics on a scenario.

See ``examples/05_testing_in_your_ci.py`` for a test file to copy.
"""

from reesim.testing.checks import (
    assert_engines_agree,
    assert_invariants,
    capacity_per_period,
    series_mismatch,
)
from reesim.testing.strategies import EVENT_KINDS, PERIODS, networks, scenarios

__all__ = [
    "EVENT_KINDS",
    "PERIODS",
    "assert_engines_agree",
    "assert_invariants",
    "capacity_per_period",
    "networks",
    "scenarios",
    "series_mismatch",
]
