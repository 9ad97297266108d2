"""Model invariants of the vectorised core on hypothesis-generated networks.

Engine equality is tested in test_differential.py; here the core is held to
MODEL section 7 on its own: steady start, mass balance and the other checks of
:func:`reesim.testing.assert_invariants`, and monotonicity on assembly trees.
"""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reesim.errors import ReesimWarning
from reesim.scenario import Scenario
from reesim.simulation import simulate
from reesim.testing.checks import assert_invariants
from reesim.testing.strategies import networks, scenarios

_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _run(sc: Scenario, replicates: int = 2, record: str = "all", seed: int = 4):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReesimWarning)
        return simulate(sc, replicates=replicates, seed=seed, record=record)


def _flat(values: np.ndarray) -> bool:
    scale = max(1.0, float(np.abs(values).max()))
    return bool(np.allclose(values, values[:, :1], rtol=1e-9, atol=1e-9 * scale))


@_SETTINGS
@given(networks(growth=False, overrides=False, coproduct_surplus=False))
def test_no_event_network_stays_steady_and_is_never_short(sc: Scenario) -> None:
    res = _run(sc)
    assert not res.metrics["any_shortage"].any()
    assert res.metrics["pre_shortage_weeks"].max() == 0
    ds = res.to_xarray()
    np.testing.assert_allclose(ds["served"].values, ds["demand"].values, rtol=1e-12)
    for name in ("production", "departures", "arrivals", "inventory", "in_transit"):
        assert _flat(ds[name].values), name


@_SETTINGS
@given(scenarios(max_events=6))
def test_invariants_hold_under_every_event_kind(sc: Scenario) -> None:
    assert_invariants(_run(sc, replicates=3))


def _with(sc: Scenario, **changes: object) -> Scenario:
    data = sc.model_dump(mode="python")
    data.update(changes)
    return Scenario.model_validate(data)


def _total_unmet(sc: Scenario) -> float:
    res = _run(sc, replicates=1, record="sinks")
    return float((res.series["demand"] - res.series["served"]).sum())


def _ban(sc: Scenario, start_period: int, length: int) -> dict[str, object]:
    days = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}[sc.time.period]
    start = sc.time.start
    exporter = sc.facilities[0].region
    import datetime as dt

    return {
        "id": "ban",
        "kind": "export_ban",
        "exporter": exporter,
        "start": start + dt.timedelta(days=start_period * days),
        "duration_days": length * days,
    }


@_SETTINGS
@given(
    networks(assembly_tree=True, stockpiles=False, growth=False, horizon=(20, 60)),
    st.integers(1, 10),
    st.integers(1, 15),
    st.integers(1, 10),
)
def test_longer_ban_never_lowers_unmet_on_trees(
    sc: Scenario, t0: int, length: int, extra: int
) -> None:
    short = _total_unmet(_with(sc, events=[_ban(sc, t0, length)]))
    longer = _total_unmet(_with(sc, events=[_ban(sc, t0, length + extra)]))
    event("ban causes unmet demand" if longer > 0 else "ban harmless")
    assert longer >= short - 1e-9 * max(1.0, short)


@_SETTINGS
@given(
    networks(assembly_tree=True, stockpiles=False, growth=False, horizon=(20, 60)),
    st.integers(1, 10),
    st.integers(2, 20),
    st.floats(1.05, 3.0),
)
def test_more_capacity_never_raises_unmet_on_trees(
    sc: Scenario, t0: int, length: int, factor: float
) -> None:
    banned = _with(sc, events=[_ban(sc, t0, length)])
    facilities = [
        {**f.model_dump(mode="python"), "capacity": float(f.capacity) * factor}  # type: ignore[arg-type]
        for f in sc.facilities
    ]
    bigger = _with(sc, facilities=facilities, events=[_ban(sc, t0, length)])
    assert _total_unmet(bigger) <= _total_unmet(banned) + 1e-9 * max(1.0, _total_unmet(banned))


@_SETTINGS
@given(
    networks(assembly_tree=True, stockpiles=False, growth=False, horizon=(20, 60)),
    st.integers(1, 10),
    st.integers(2, 20),
    st.floats(0.0, 5.0),
)
def test_more_sink_stock_never_raises_unmet_on_trees(
    sc: Scenario, t0: int, length: int, weeks: float
) -> None:
    def stocked(extra_weeks: float) -> Scenario:
        sinks = [
            {
                **s.model_dump(mode="python"),
                "initial_stock": float(s.demand) * (1 + weeks + extra_weeks) / 52.0,
            }  # type: ignore[arg-type]
            for s in sc.sinks
        ]
        return _with(sc, sinks=sinks, events=[_ban(sc, t0, length)])

    less, more = _total_unmet(stocked(0.0)), _total_unmet(stocked(2.0))
    assert more <= less + 1e-9 * max(1.0, less)
