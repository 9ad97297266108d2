"""Documented cases outside the assembly-tree class where monotonicity fails.

These are properties of the model, not bugs: they are kept so that a change
that alters them is noticed and documented.
"""

from __future__ import annotations

import warnings

import numpy as np

from reesim.errors import ReesimWarning
from reesim.scenario import Scenario
from reesim.simulation import simulate
from tests.helpers import START, day


def _shared_supplier(plant_a_capacity: float) -> Scenario:
    """One separator feeds two magnet plants; the separator loses 70% for 40 weeks."""
    return Scenario.model_validate(
        {
            "time": {"start": START, "end": day(7 * 60)},
            "commodities": [{"id": "oxide"}, {"id": "magnet"}],
            "facilities": [
                {"id": "sep", "region": "CN", "capacity": 1000.0, "output": "oxide"},
                {
                    "id": "a",
                    "region": "EU",
                    "capacity": plant_a_capacity,
                    "output": "magnet",
                    "inputs": {"oxide": 0.5},
                    "cover_weeks": 8,
                },
                {
                    "id": "b",
                    "region": "US",
                    "capacity": 1000.0,
                    "output": "magnet",
                    "inputs": {"oxide": 0.5},
                    "cover_weeks": 8,
                },
            ],
            "sinks": [
                {
                    "id": "sa",
                    "region": "EU",
                    "commodity": "magnet",
                    "demand": 800.0,
                    "cover_weeks": 2,
                },
                {
                    "id": "sb",
                    "region": "US",
                    "commodity": "magnet",
                    "demand": 800.0,
                    "cover_weeks": 2,
                },
            ],
            "routes": [
                {"supplier": "sep", "buyer": "a", "commodity": "oxide", "lead_time_days": 14},
                {"supplier": "sep", "buyer": "b", "commodity": "oxide", "lead_time_days": 14},
                {"supplier": "a", "buyer": "sa", "commodity": "magnet", "lead_time_days": 7},
                {"supplier": "b", "buyer": "sb", "commodity": "magnet", "lead_time_days": 7},
            ],
            "events": [
                {
                    "id": "cut",
                    "kind": "capacity_change",
                    "facilities": ["sep"],
                    "factor": 0.3,
                    "start": day(70),
                    "duration_days": 280,
                }
            ],
        }
    )


def _unmet(sc: Scenario) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReesimWarning)
        res = simulate(sc, replicates=1, seed=1, record="sinks")
    return (res.series["demand"] - res.series["served"]).sum(axis=(0, 1))


def test_bigger_plant_takes_a_shared_suppliers_feed() -> None:
    """Usage is capacity-based, so a bigger plant A orders more of the scarce oxide
    and the pro-rata allocation gives it more: A's buyers are spared and B's
    buyers lose more than before, although B changed nothing."""
    small, big = _unmet(_shared_supplier(1000.0)), _unmet(_shared_supplier(3000.0))
    assert small[0] > 0 and big[0] == 0  # plant A's buyers
    assert big[1] > small[1] * 1.2  # plant B's buyers are worse off
