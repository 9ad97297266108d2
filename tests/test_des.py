"""The SimPy reference engine on its own: closed forms, period order, events, records."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import simpy

import reesim
from reesim.engine import get_engine
from reesim.engine.des import Replicate, run_des
from reesim.engine.des_nodes import CONSUME, EVENTS, ORDER, PRODUCE, RECEIVE, RECORD, SHIP
from reesim.engine.output import RECORDABLE
from reesim.errors import ReesimWarning
from reesim.plan import compile_plan
from reesim.sampling import draw_samples
from reesim.scenario import Scenario
from tests.helpers import START, chain, day, two_stage

ALL = frozenset(RECORDABLE)


def des(sc: Scenario, replicates: int = 1, seed: int = 3, **kw: object) -> reesim.Results:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReesimWarning)
        return reesim.simulate(sc, replicates=replicates, seed=seed, engine="des", **kw)  # type: ignore[arg-type]


def short_periods(res: reesim.Results) -> np.ndarray:
    served, demand = res.series["served"][0, :, 0], res.series["demand"][0, :, 0]
    return np.flatnonzero(served < (res.plan.threshold - 1e-9) * demand)


def test_engine_is_registered_and_runs_through_simulate() -> None:
    assert get_engine("des") is run_des
    res = des(chain(weeks=12), replicates=2, record="all")
    assert res.engine == "des"
    assert res.series["served"].shape == (2, 12, 1)
    assert set(res.series) == {
        "demand",
        "served",
        "production",
        "departures",
        "arrivals",
        "inventory",
        "in_transit",
    }


def test_no_event_chain_stays_steady() -> None:
    res = des(chain(weeks=25), replicates=2, record="all")
    assert not res.metrics["any_shortage"].any()
    for name in ("inventory", "in_transit", "production", "departures", "arrivals"):
        v = res.series[name]
        np.testing.assert_allclose(v, np.broadcast_to(v[:, :1], v.shape), rtol=1e-12, err_msg=name)
    np.testing.assert_allclose(res.series["departures"], 5_200.0 * 7 / 365.25, rtol=1e-12)


def test_shipments_land_after_lead_time_plus_licence_delay() -> None:
    lic = {
        "id": "licence",
        "kind": "export_licensing",
        "exporter": "CN",
        "delay_days": 21,
        "approval_share": 0.8,
        "start": day(35),
        "end": day(70),
    }
    res = des(chain(lead_days=14, events=[lic], weeks=25), record=["flows"])
    dep, arr = res.series["departures"][0, :, 0], res.series["arrivals"][0, :, 0]
    expected = np.zeros(25)
    for k in range(25):
        lands = k + 2 + (3 if 5 <= k < 10 else 0)  # L = 2 weeks, D = 3 weeks in weeks 5-9
        if lands < 25:
            expected[lands] += dep[k]
    np.testing.assert_allclose(arr[2:], expected[2:], rtol=1e-12)
    assert dep[5:10].sum() > 0
    assert arr[7:10].sum() == 0.0  # nothing sent in weeks 5-7 lands before week 10


def test_ban_carries_nothing_and_in_transit_arrives() -> None:
    ban = {"id": "ban", "kind": "export_ban", "exporter": "CN", "start": day(28), "end": day(84)}
    res = des(chain(lead_days=21, events=[ban], weeks=20), record=["flows"])
    dep, arr = res.series["departures"][0, :, 0], res.series["arrivals"][0, :, 0]
    assert np.all(dep[4:12] == 0.0)
    assert np.all(arr[4:7] > 0)  # sent in weeks 1-3, before the ban
    assert np.all(arr[7:15] == 0.0)


def test_quota_caps_shipments_and_holds_back_stock() -> None:
    quota = {
        "id": "q",
        "kind": "export_quota",
        "exporter": "CN",
        "tonnes_per_year": 2_000.0,
        "start": day(21),
        "end": day(91),
    }
    res = des(chain(events=[quota], weeks=20), record="all")
    dep = res.series["departures"][0, :, 0]
    cap = 2_000.0 * 7 / 365.25
    assert np.all(dep[3:13] <= cap * (1 + 1e-12))
    assert dep[3] == pytest.approx(cap, rel=1e-12)
    res.check_mass_balance()


def test_stockpile_release_pushes_rate_or_stock() -> None:
    release = {
        "id": "rel",
        "kind": "stockpile_release",
        "stockpile": "eu_store",
        "rate_per_year": 50_000.0,
        "start": day(70),
    }
    res = des(two_stage([release], weeks=30), record="all")
    plan = res.plan
    e = plan.route_ids.index("eu_store->eu_ev:magnet")
    dep = res.series["departures"][0, :, e]
    assert np.all(dep[:10] == 0.0)
    # 1,900 t pushed at 50,000 t/yr: full weekly rate until the stock runs out.
    rate = 50_000.0 * 7 / 365.25
    assert dep[10] == pytest.approx(rate, rel=1e-12)
    assert dep.sum() == pytest.approx(1_900.0, rel=1e-9)
    res.check_mass_balance()


def test_every_event_kind_keeps_the_ledger_closed() -> None:
    from tests.test_core_invariants import ALL_EVENTS

    res = des(two_stage(ALL_EVENTS), replicates=6, seed=11, record="all")
    res.check_mass_balance()
    for name, v in res.series.items():
        assert (v >= -1e-9).all(), name


def test_results_do_not_depend_on_chunking() -> None:
    from tests.test_core_invariants import ALL_EVENTS

    sc = two_stage(ALL_EVENTS, weeks=40)
    one = des(sc, replicates=4, seed=5, record="all", chunk_size=1)
    four = des(sc, replicates=4, seed=5, record="all", chunk_size=4)
    for name in one.series:
        np.testing.assert_array_equal(one.series[name], four.series[name], err_msg=name)


def _replicate(sc: Scenario) -> Replicate:
    plan = compile_plan(sc)
    smp = draw_samples(plan, 0, np.arange(1))
    from reesim.engine.output import ChunkOutput

    zeros = np.zeros((1, plan.n_periods, 1))
    out = ChunkOutput(
        plan=plan,
        replicates=smp.replicates,
        recorded=frozenset(),
        demand=zeros,
        served=zeros.copy(),
    )
    return Replicate(plan, smp, 0, out)


def test_sub_steps_run_in_model_order_within_a_period() -> None:
    rep = _replicate(chain(weeks=3))
    seen: list[tuple[float, int]] = []

    def watcher(step: int):  # type: ignore[no-untyped-def]
        for k in range(2):
            yield rep.at(k, step)
            seen.append((rep.env.now, step))

    # Started in reverse order: the scheduler, not the start order, decides.
    for step in (RECORD, SHIP, ORDER, CONSUME, PRODUCE, RECEIVE, EVENTS):
        rep.process(watcher(step))
    rep.env.run(until=2)
    assert seen == sorted(seen)
    assert [s for _, s in seen[:7]] == [EVENTS, RECEIVE, PRODUCE, CONSUME, ORDER, SHIP, RECORD]


def test_waiting_on_an_earlier_sub_step_is_an_error() -> None:
    rep = _replicate(chain(weeks=3))

    def late():  # type: ignore[no-untyped-def]
        yield rep.at(1, ORDER)
        yield rep.at(1, RECEIVE)

    rep.process(late())
    with pytest.raises(RuntimeError, match="asked for period 1, receive, while period 1, order"):
        rep.env.run(until=3)


def mine_plant_sink(initial_ore: float | None = None) -> Scenario:
    plant: dict[str, object] = {
        "id": "plant",
        "region": "JP",
        "capacity": 9_000.0,
        "output": "magnet",
        "inputs": {"ore": 0.4},
        "cover_weeks": 2.5,
    }
    if initial_ore is not None:
        plant["initial_stock"] = {"ore": initial_ore}
    return Scenario.model_validate(
        {
            "time": {"start": START, "end": day(7 * 8), "period": "week"},
            "commodities": [{"id": "ore"}, {"id": "magnet"}],
            "facilities": [
                {"id": "mine", "region": "AU", "capacity": 4_000.0, "output": "ore"},
                plant,
            ],
            "sinks": [{"id": "buyer", "region": "EU", "commodity": "magnet", "demand": 6_100.0}],
            "routes": [
                {"supplier": "mine", "buyer": "plant", "commodity": "ore", "lead_time_days": 14},
                {"supplier": "plant", "buyer": "buyer", "commodity": "magnet", "lead_time_days": 7},
            ],
        }
    )


def test_receive_comes_before_produce() -> None:
    """With no ore on hand, the plant still produces from the ore that lands in period 0."""
    res = des(mine_plant_sink(initial_ore=0.0), record="all")
    landed = res.series["arrivals"][0, 0, 0]
    assert landed > 0
    assert res.series["production"][0, 0, 1] == pytest.approx(landed / 0.4, rel=1e-12)


def test_policy_processes_change_state_only_within_their_interval() -> None:
    cut = {
        "id": "cut",
        "kind": "capacity_change",
        "facilities": ["plant"],
        "factor": 0.0,
        "start": day(21),
        "end": day(42),
    }
    res = des(chain(events=[cut], weeks=10, supplier_capacity=20_000.0), record="all")
    prod = res.series["production"][0, :, 0]
    assert np.all(prod[3:6] == 0.0)
    assert prod[2] > 0 and prod[6] > 0


def test_simpy_environment_per_replicate_uses_periods_as_time() -> None:
    rep = _replicate(chain(weeks=4))
    assert isinstance(rep.env, simpy.Environment)
    rep.run()
    assert rep.env.now == 4
    assert rep.plan.start == START
