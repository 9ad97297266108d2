"""Testing your own scenarios in CI: a test file to copy into your project.

Copy this file into your test folder (e.g. ``tests/test_my_scenarios.py``),
point MY_SCENARIOS at your TOML files, and run ``pytest``. It checks three
things with the tools of :mod:`reesim.testing`:

1. every scenario you ship keeps the model's invariants (mass balance,
   nothing negative, capacities, bans and quotas respected) —
   ``assert_invariants``;
2. the fast vectorised core and the SimPy reference engine give the same
   series and metrics on it — ``assert_engines_agree``;
3. a property of your own holds on hundreds of random valid scenarios that
   hypothesis builds for you — the ``scenarios`` and ``networks`` strategies,
   with knobs for size and event kinds.

Run it directly with ``python examples/05_testing_in_your_ci.py`` (it calls
pytest on itself). REESIM_EXAMPLE_REPLICATES sets the replicates per run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import reesim
from reesim.testing import assert_engines_agree, assert_invariants, networks, scenarios

# Your scenarios: built-in names or paths to TOML files.
MY_SCENARIOS = ["default"]
REPLICATES = min(int(os.environ.get("REESIM_EXAMPLE_REPLICATES", "40")), 40)

# Engines take milliseconds per replicate, far over hypothesis' default deadline.
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(scenario: reesim.Scenario, replicates: int, seed: int = 1) -> reesim.Results:
    # Modelling warnings (e.g. a stock override) are for people, not for tests.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", reesim.ReesimWarning)
        return reesim.simulate(scenario, replicates=replicates, seed=seed, record="all")


@pytest.mark.parametrize("name", MY_SCENARIOS)
def test_my_scenario_keeps_the_invariants(name: str) -> None:
    assert_invariants(run(reesim.load_scenario(name), REPLICATES))


@pytest.mark.parametrize("name", MY_SCENARIOS)
def test_both_engines_agree_on_my_scenario(name: str) -> None:
    # The SimPy engine runs one replicate at a time: a few replicates suffice.
    assert_engines_agree(reesim.load_scenario(name), seed=2, replicates=2)


@PROPERTY
@given(networks(max_facilities=6, max_sinks=3))
def test_an_undisturbed_network_is_never_short(sc: reesim.Scenario) -> None:
    """Generated networks carry slack over their steady flows: with no event, no shortage."""
    res = run(sc, replicates=1)
    assert not res.metrics["any_shortage"].any()
    assert res.metrics["pre_shortage_weeks"].max() == 0


@PROPERTY
@given(scenarios(event_kinds=("export_ban", "export_quota", "stockpile_release"), max_events=4))
def test_served_never_exceeds_demand_under_trade_measures(sc: reesim.Scenario) -> None:
    """A property of your own: here, sinks are never served more than they want."""
    res = run(sc, replicates=2)
    assert np.all(res.series["served"] <= res.series["demand"] * (1 + 1e-12))
    assert_invariants(res)


if __name__ == "__main__":
    # pytest in a fresh interpreter, so it can rewrite this file's asserts.
    cmd = [sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider"]
    sys.exit(subprocess.run(cmd, check=False).returncode)
