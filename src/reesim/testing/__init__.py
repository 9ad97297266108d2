"""Tools for testing models built with reesim in your own CI.

* :func:`networks` and :func:`scenarios`: hypothesis strategies that build
  valid random networks and scenarios, with knobs for size and event kinds.
"""

from reesim.testing.strategies import EVENT_KINDS, PERIODS, networks, scenarios

__all__ = ["EVENT_KINDS", "PERIODS", "networks", "scenarios"]
