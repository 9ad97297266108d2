"""Periods the compiled kernel copies instead of computing change nothing, to the last bit.

``run_replicates`` copies a period that must repeat the one before it (no
event acts, the same demand, and the last ``ring_len`` periods each left the
state as they found it). Every array the kernel writes must be byte for byte
what it writes with copying switched off (``flags[COPY]``), on scenarios
without demand growth (where periods do repeat) under every event kind,
with sampled lead times, licence delays and several groups of lanes. The
module is skipped when numba is not installed.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

pytest.importorskip("numba")

from reesim.engine import compiled  # noqa: E402
from reesim.engine import compiled_kernel as kernel  # noqa: E402
from reesim.engine.output import RECORDABLE, new_output  # noqa: E402
from reesim.errors import ReesimWarning  # noqa: E402
from reesim.plan import Plan, compile_plan  # noqa: E402
from reesim.sampling import Samples, draw_samples  # noqa: E402
from reesim.scenario import EVENT_KINDS, Scenario  # noqa: E402
from reesim.testing.strategies import scenarios  # noqa: E402
from tests.helpers import CN_MAGNET_BAN, chain, day, two_stage  # noqa: E402

#: What the kernel writes: the series and the per-replicate results.
WRITTEN = (
    "want",
    "served",
    "production",
    "departures",
    "arrivals",
    "inventory",
    "in_transit",
    "hold_res",
    "route_res",
    "fac_res",
    "total_served",
    "falls",
)


def kernel_run(plan: Plan, smp: Samples, copy: bool) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every array the kernel writes, every series recorded, and the periods it copied."""
    n = smp.n
    out = new_output(
        plan,
        smp,
        frozenset(RECORDABLE),
        np.zeros((n, plan.n_holdings)),
        np.zeros((n, plan.n_routes)),
        [],
        None,
    )
    args = compiled.kernel_args(plan, smp, frozenset(RECORDABLE), out)
    args["flags"][kernel.COPY] = copy
    kernel.run_replicates(0, n, **args)
    return {name: args[name] for name in WRITTEN}, args["copied"]


def copies_change_nothing(sc: Scenario, seed: int, replicates: int) -> np.ndarray:
    """Assert byte-equal outputs with and without copying; the periods copied [R]."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReesimWarning)
        plan = compile_plan(sc)
        smp = draw_samples(plan, seed, np.arange(replicates))
        fast, copied = kernel_run(plan, smp, copy=True)
        slow, none = kernel_run(plan, smp, copy=False)
    assert not none.any()
    for name in WRITTEN:
        assert fast[name].tobytes() == slow[name].tobytes(), name
    return copied


@settings(max_examples=40)
@given(
    scenarios(
        event_kinds=EVENT_KINDS,
        max_events=3,
        max_sinks=4,
        growth=False,
        overrides=True,
        distributions=True,
        horizon=(30, 80),
    ),
    st.integers(0, 2**31 - 1),
    st.sampled_from([3, 40, 97]),  # one group of lanes, part of one, several
)
def test_copied_periods_change_nothing(sc: Scenario, seed: int, replicates: int) -> None:
    copied = copies_change_nothing(sc, seed, replicates)
    event("periods copied" if copied.any() else "no period copied")


OUTAGE = {
    "id": "cut",
    "kind": "capacity_change",
    "facilities": ["plant"],
    "factor": 0.0,
    "start": day(150),
    "duration_days": 60,
}
#: A cut late in the run, below demand: the last periods ship changing amounts, so the
#: ring ends with several different values in transit and the order of their closing
#: sum (slot by slot) shows whether the ring is back in place after copies.
LATE_CUT = {
    "id": "late",
    "kind": "capacity_change",
    "facilities": ["plant"],
    "factor": {"dist": "uniform", "low": 0.3, "high": 0.7},
    "start": {"dist": "uniform", "low": day(330), "high": day(400)},
    "duration_days": 200,
}
LICENCE = {
    "id": "licence",
    "kind": "export_licensing",
    "exporter": "CN",
    "commodities": ["magnet"],
    "start": day(100),
    "duration_days": 120,
    "approval_share": 0.6,
    "delay_days": {"dist": "uniform", "low": 20, "high": 60},
}


@pytest.mark.parametrize(
    ("build", "share"),
    [
        (lambda: chain(events=[OUTAGE], weeks=80), 0.5),
        (lambda: chain(events=[LICENCE], weeks=80, lead_days=30.0), 0.25),
        (
            lambda: chain(
                events=[LATE_CUT],
                weeks=60,
                lead_days=35.0,
                supplier_capacity=6_000.0,
                supplier_cap_weeks=0.5,
            ),
            0.25,
        ),
        # Its by-product piles up every period, so no period repeats the last.
        (lambda: two_stage([CN_MAGNET_BAN]), 0.0),
    ],
    ids=["chain-outage", "chain-licence", "chain-late-cut", "two-stage-ban"],
)
@pytest.mark.filterwarnings("ignore:.*never ships:reesim.errors.ReesimWarning")
def test_steady_stretches_are_copied(build: Callable[[], Scenario], share: float) -> None:
    """Flat demand: the periods before and after an event that repeat are copied."""
    sc = build()
    copied = copies_change_nothing(sc, 3, 70)
    if share:
        assert copied.min() > 0
    assert copied.mean() >= share * compile_plan(sc).n_periods


def test_growing_demand_is_never_copied() -> None:
    """The built-in scenarios' demand grows every period: no period repeats."""
    from reesim.scenario.load import load_scenario

    assert not copies_change_nothing(load_scenario("default"), 1, 40).any()
