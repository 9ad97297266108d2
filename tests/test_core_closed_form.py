"""Exact single-chain cases (MODEL section 7, "closed form"), held by every engine."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from reesim.engine import ENGINES
from reesim.simulation import simulate
from tests.helpers import chain, day


def _available(engine: str) -> bool:
    if engine != "numba":
        return True
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


ENGINE_PARAMS = [pytest.param(e, id=e) for e in ENGINES if _available(e)]


def _short_periods(res) -> np.ndarray:  # type: ignore[no-untyped-def]
    ds = res.to_xarray()
    served = ds["served"].isel(replicate=0, sink=0).values
    demand = ds["demand"].isel(replicate=0, sink=0).values
    return np.flatnonzero(served < (res.plan.threshold - 1e-9) * demand)


@settings(max_examples=40, deadline=None)
@given(
    cover=st.floats(0.2, 9.0).filter(lambda c: abs(c - round(c)) > 1e-3),
    lead=st.integers(1, 6),
    t0=st.integers(1, 12),
    length=st.integers(1, 15),
    theta=st.sampled_from([0.5, 0.9, 0.99, 1.0]),
)
@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_ban_closed_form(
    engine: str, cover: float, lead: int, t0: int, length: int, theta: float
) -> None:
    # At cover - theta a whole number of periods, the last period's stock is exactly the
    # threshold: a tie the closed form leaves open (e.g. 1.9 - 0.9 is 0.999...98 in floats).
    assume(abs((cover - theta) - round(cover - theta)) > 1e-6)
    ban = {
        "id": "ban",
        "kind": "export_ban",
        "exporter": "CN",
        "start": day(7 * t0),
        "end": day(7 * (t0 + length)),
    }
    sc = chain(cover_weeks=cover, lead_days=7 * lead, events=[ban], threshold=theta, weeks=60)
    res = simulate(sc, replicates=1, seed=3, record="sinks", engine=engine)
    short = _short_periods(res)
    # On hand at the end of any steady period is S = d * cover (in periods).
    slack = math.floor(cover - theta)
    expected_count = max(0, length - slack - 1)
    assert len(short) == expected_count
    if expected_count:
        assert short[0] == t0 + lead + slack + 1
        assert np.all(np.diff(short) == 1)
        m = res.metrics.iloc[0]
        assert m["time_to_shortage_weeks"] == lead + slack + 1
        assert m["shortage_duration_weeks"] == expected_count
        assert m["longest_episode_weeks"] == expected_count
    else:
        assert res.metrics.iloc[0]["censored"]


@settings(max_examples=30, deadline=None)
@given(
    cover=st.floats(0.2, 9.0).filter(lambda c: abs(c - round(c)) > 1e-3),
    lead=st.integers(1, 5),
    t0=st.integers(1, 10),
    delay=st.integers(1, 14),
)
@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_licence_closed_form(engine: str, cover: float, lead: int, t0: int, delay: int) -> None:
    assume(abs((cover - 0.99) - round(cover - 0.99)) > 1e-6)  # a tie, as in the ban case
    lic = {
        "id": "licence",
        "kind": "export_licensing",
        "exporter": "CN",
        "delay_days": 7 * delay,
        "approval_share": 1.0,
        "start": day(7 * t0),
    }
    sc = chain(cover_weeks=cover, lead_days=7 * lead, events=[lic], weeks=50)
    res = simulate(sc, replicates=1, seed=3, record="sinks", engine=engine)
    short = _short_periods(res)
    slack = math.floor(cover - 0.99)
    assert len(short) == max(0, delay - slack - 1)


def test_no_event_chain_is_never_short_and_flat() -> None:
    res = simulate(chain(weeks=30), replicates=3, seed=1, record="all")
    ds = res.to_xarray()
    assert not res.metrics["any_shortage"].any()
    inv = ds["inventory"].values
    np.testing.assert_allclose(inv, np.broadcast_to(inv[:, :1, :], inv.shape), rtol=1e-12)
    dep = ds["departures"].values
    np.testing.assert_allclose(dep, 5_200.0 * 7 / 365.25, rtol=1e-12)
