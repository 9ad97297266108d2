"""Model invariants of the vectorised core on hand-built networks with every event kind."""

from __future__ import annotations

import numpy as np
import pytest

from reesim.plan import compile_plan
from reesim.simulation import simulate
from tests.helpers import day, two_stage

ALL_EVENTS = [
    {
        "id": "ban",
        "kind": "export_ban",
        "exporter": "CN",
        "commodities": ["magnet"],
        "start": {"dist": "uniform", "low": day(60), "high": day(120)},
        "duration_days": {"dist": "lognormal", "median": 90, "p90": 200},
    },
    {
        "id": "quota",
        "kind": "export_quota",
        "exporter": "CN",
        "commodities": ["oxide"],
        "tonnes_per_year": 400.0,
        "start": day(30),
        "end": day(300),
    },
    {
        "id": "licence",
        "kind": "export_licensing",
        "exporter": "CN",
        "commodities": ["magnet"],
        "delay_days": {"dist": "triangular", "low": 20, "mode": 45, "high": 63},
        "approval_share": {"dist": "uniform", "low": 0.4, "high": 1.0},
        "start": day(200),
    },
    {
        "id": "cut",
        "kind": "capacity_change",
        "facilities": ["sep"],
        "factor": 0.55,
        "start": day(150),
        "duration_days": 80,
    },
    {
        "id": "fail",
        "kind": "random_outages",
        "stages": ["magnet"],
        "rate_per_year": 3.0,
        "repair_days": {"dist": "lognormal", "median": 12, "p90": 40},
        "start": day(0),
    },
    {
        "id": "shift",
        "kind": "sourcing_shift",
        "buyer": "eu_ev",
        "weights": {"jp_mag": 0.9},
        "start": day(100),
        "end": day(180),
    },
    {
        "id": "home-first",
        "kind": "domestic_priority",
        "region": "CN",
        "start": day(90),
        "probability": 0.5,
    },
    {
        "id": "release",
        "kind": "stockpile_release",
        "stockpile": "eu_store",
        "rate_per_year": 3_000.0,
        "start": day(0),
        "condition": {"sinks": ["eu_ev"], "below": 0.97},
    },
    {
        "id": "demand",
        "kind": "demand_change",
        "sectors": ["wind"],
        "factor": 1.4,
        "start": day(250),
        "end": day(400),
    },
]


@pytest.fixture(scope="module")
def disrupted():
    return simulate(two_stage(ALL_EVENTS), replicates=40, seed=11, record="all")


def test_no_events_stays_steady_and_never_short() -> None:
    res = simulate(two_stage([]), replicates=4, seed=5, record="all")
    ds = res.to_xarray()
    assert not res.metrics["any_shortage"].any()
    assert res.metrics["pre_shortage_weeks"].max() == 0
    holding = list(ds["holding"].values)
    stocked = [h for h in holding if not h.startswith("eu_store")]
    for name in ("inventory", "in_transit"):
        values = ds[name].sel(holding=stocked).values
        np.testing.assert_allclose(
            values, np.broadcast_to(values[:, :1], values.shape), rtol=1e-9, atol=1e-9
        )
    for name in ("production", "departures", "arrivals"):
        values = ds[name].values
        np.testing.assert_allclose(
            values, np.broadcast_to(values[:, :1], values.shape), rtol=1e-9, atol=1e-9
        )
    np.testing.assert_allclose(ds["served"].values, ds["demand"].values, rtol=1e-12)


def test_mass_balance_closes(disrupted) -> None:
    table = disrupted.check_mass_balance()
    assert (table["produced"] > 0).any()
    assert table["residual"].abs().max() < 1e-6


def test_mass_balance_detects_a_leak(disrupted) -> None:
    from reesim.results import MassBalanceError

    led = disrupted.ledger
    saved = led["produced"].copy()
    led["produced"][0, 0] += 1.0
    try:
        with pytest.raises(MassBalanceError, match="mass balance fails"):
            disrupted.check_mass_balance()
    finally:
        led["produced"][:] = saved


def test_nothing_negative_and_capacities_hold(disrupted) -> None:
    ds = disrupted.to_xarray()
    plan = disrupted.plan
    for name in ("inventory", "in_transit", "production", "departures", "arrivals", "served"):
        assert ds[name].values.min() >= -1e-9, name
    cap_dt = plan.params["fac_capacity"] * plan.dt
    assert (ds["production"].values <= cap_dt[None, None, :] * (1 + 1e-12)).all()


def test_banned_routes_carry_nothing(disrupted) -> None:
    ds = disrupted.to_xarray()
    plan = disrupted.plan
    from reesim.sampling import draw_samples

    smp = draw_samples(plan, disrupted.seed, np.arange(disrupted.replicates))
    ban = plan.event_ids.index("ban")
    routes = np.flatnonzero(plan.bans.match[0])
    assert len(routes) == 2  # cn_mag -> eu_ev and cn_mag -> us_wind
    dep = ds["departures"].values
    k = np.arange(plan.n_periods)
    carried = 0.0
    for r in range(disrupted.replicates):
        active = (k >= smp.ev_k0[r, ban]) & (k < smp.ev_k1[r, ban])
        assert active.any()
        assert np.all(dep[r][active][:, routes] == 0.0)
        carried += dep[r][~active][:, routes].sum()
    assert carried > 0


def test_quota_caps_matching_flows(disrupted) -> None:
    ds = disrupted.to_xarray()
    plan = disrupted.plan
    q = plan.quotas.match[0]
    assert q.sum() == 1  # sep -> jp_mag (oxide leaving China)
    dep = ds["departures"].values[:, :, q].sum(axis=2)
    k = np.arange(plan.n_periods)
    active = (k >= plan.period_of_day(30)) & (k < plan.period_of_day(300))
    assert dep[:, active].max() <= 400.0 * plan.dt * (1 + 1e-12)
    assert dep[:, ~active].max() > 400.0 * plan.dt


def test_disruption_causes_shortage_in_the_west(disrupted) -> None:
    m = disrupted.metrics
    assert m.xs("eu_ev", level="sink")["any_shortage"].mean() > 0.2
    assert not m.xs("cn_use", level="sink")["any_shortage"].all()


@pytest.mark.parametrize("chunk", [1, 7, 40])
def test_chunking_does_not_change_numbers(disrupted, chunk: int) -> None:
    other = simulate(two_stage(ALL_EVENTS), replicates=40, seed=11, record="all", chunk_size=chunk)
    for name, values in disrupted.series.items():
        np.testing.assert_array_equal(other.series[name], values, err_msg=name)
    np.testing.assert_array_equal(other.metrics.to_numpy(float), disrupted.metrics.to_numpy(float))


def test_default_chunks_are_even(monkeypatch) -> None:
    """The default chunk is evened out: no short last chunk of a few replicates."""
    import reesim.simulation as simulation
    from reesim.engine.vector import run_vector

    sizes: list[int] = []

    def counting(plan, smp, record, **kw):  # type: ignore[no-untyped-def]
        sizes.append(smp.n)
        return run_vector(plan, smp, record, **kw)

    monkeypatch.setattr(simulation, "get_engine", lambda engine: counting)
    monkeypatch.setattr(simulation, "default_chunk_size", lambda *a: 960)
    res = simulate(two_stage([]), replicates=1000, seed=3, record="none")
    assert sizes == [500, 500] and res.chunk_size == 500
    sizes.clear()
    res = simulate(two_stage([]), replicates=1000, seed=3, record="none", chunk_size=960)
    assert sizes == [960, 40] and res.chunk_size == 960  # an explicit chunk is kept


def test_series_written_into_the_results_equal_the_engines_own_arrays(disrupted) -> None:
    """simulate() lets the engine write recorded series straight into the results."""
    from reesim.engine.output import RECORDABLE
    from reesim.engine.vector import run_vector
    from reesim.sampling import draw_samples

    plan = compile_plan(two_stage(ALL_EVENTS))
    idx = np.arange(13, 29)
    own = run_vector(plan, draw_samples(plan, 11, idx), frozenset(RECORDABLE))
    assert set(disrupted.series) == {"demand", "served", "production", "departures",
                                     "arrivals", "inventory", "in_transit"}  # fmt: skip
    for name, values in disrupted.series.items():
        np.testing.assert_array_equal(getattr(own, name), values[idx], err_msg=name)


@pytest.mark.parametrize("engine", ["vector", "des", "numba"])
def test_engines_write_every_value_of_the_series_they_are_given(engine: str) -> None:
    """simulate() hands chunks a reused scratch buffer for unkept sink series, unzeroed."""
    from reesim.engine import get_engine
    from reesim.engine.output import RECORDABLE, series_widths
    from reesim.sampling import draw_samples

    if engine == "numba":
        pytest.importorskip("numba")
    plan = compile_plan(two_stage(ALL_EVENTS))
    smp = draw_samples(plan, 5, np.arange(6))
    width = series_widths(plan)
    given = {name: np.full((6, plan.n_periods, w), np.nan) for name, w in width.items()}
    get_engine(engine)(plan, smp, frozenset(RECORDABLE), series=given)
    for name, values in given.items():
        assert not np.isnan(values).any(), f"{engine} left values of {name} unwritten"


def test_unkept_sink_series_reuse_one_buffer_with_the_same_numbers() -> None:
    kept = simulate(two_stage(ALL_EVENTS), replicates=30, seed=4, record="sinks", chunk_size=7)
    reused = simulate(two_stage(ALL_EVENTS), replicates=30, seed=4, record="none", chunk_size=7)
    np.testing.assert_array_equal(reused.metrics.to_numpy(float), kept.metrics.to_numpy(float))


@pytest.mark.parametrize("seed", [2, 9])
def test_state_patched_column_by_column_equals_state_recomputed(seed: int) -> None:
    """Periods where few replicates' events move patch their columns, bit for bit."""
    from reesim.engine.state import StateBuilder
    from reesim.sampling import draw_samples

    plan = compile_plan(two_stage(ALL_EVENTS))
    smp = draw_samples(plan, seed, np.arange(64))
    patched, full = StateBuilder(plan, smp), StateBuilder(plan, smp)
    full._patch = lambda old, k, rows, down: full._compute_static(k, down)  # type: ignore[method-assign]
    calls = []
    original = patched._patch
    patched._patch = lambda *a: calls.append(a[1]) or original(*a)  # type: ignore[method-assign]
    fill = np.ones((len(plan.releases.event), 64))
    for k in range(plan.n_periods):
        a, b = patched.at(k, fill), full.at(k, fill)
        for name, value in vars(b).items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(getattr(a, name), value, err_msg=f"{name} at {k}")
        assert a.any_licensed == b.any_licensed
    assert len(calls) > 10  # the patch path ran


def test_shares_patched_column_by_column_equal_shares_recomputed(monkeypatch) -> None:
    """Periods where few replicates' routes open or close patch their shares, bit for bit."""
    from reesim.engine import vector
    from reesim.engine.output import RECORDABLE
    from reesim.sampling import draw_samples

    # A ban and a licence with sampled dates (a sourcing shift would change weights in
    # every period, which recomputes every column).
    events = [e for e in ALL_EVENTS if e["kind"] in ("export_ban", "export_licensing")]
    plan = compile_plan(two_stage(events))
    smp = draw_samples(plan, 3, np.arange(64))
    patched_calls = []
    shares = vector._Core._shares

    def counting(self, st, open_, cols):  # type: ignore[no-untyped-def]
        if not isinstance(cols, slice):
            patched_calls.append(len(cols))
        return shares(self, st, open_, cols)

    monkeypatch.setattr(vector._Core, "_shares", counting)
    patched = vector.run_vector(plan, smp, frozenset(RECORDABLE))
    assert len(patched_calls) > 5  # the patch path ran
    pull = vector._Core.pull_shares

    def always_whole(self, st, open_):  # type: ignore[no-untyped-def]
        self._shares_key = ()  # forget the last shares: every change recomputes all columns
        return pull(self, st, open_)

    monkeypatch.setattr(vector._Core, "pull_shares", always_whole)
    whole = vector.run_vector(plan, smp, frozenset(RECORDABLE))
    for name in ("demand", "served", "production", "departures", "arrivals", "inventory"):
        np.testing.assert_array_equal(getattr(patched, name), getattr(whole, name), err_msg=name)


def test_series_to_fill_must_have_the_chunks_shape() -> None:
    from reesim.engine.vector import run_vector
    from reesim.sampling import draw_samples

    plan = compile_plan(two_stage([]))
    smp = draw_samples(plan, 1, np.arange(3))
    wrong = {"demand": np.zeros((2, plan.n_periods, plan.n_sinks))}
    with pytest.raises(ValueError, match=r"series\['demand'\] must be float64 of shape"):
        run_vector(plan, smp, frozenset(), series=wrong)


def test_prefix_of_replicates_is_stable(disrupted) -> None:
    fewer = simulate(two_stage(ALL_EVENTS), replicates=9, seed=11, record="sinks")
    np.testing.assert_array_equal(fewer.series["served"], disrupted.series["served"][:9])


def test_seed_changes_numbers(disrupted) -> None:
    other = simulate(two_stage(ALL_EVENTS), replicates=40, seed=12, record="sinks")
    assert not np.array_equal(other.series["served"], disrupted.series["served"])


def test_recording_does_not_change_metrics(disrupted) -> None:
    bare = simulate(two_stage(ALL_EVENTS), replicates=40, seed=11, record="none")
    assert bare.series == {}
    np.testing.assert_array_equal(bare.metrics.to_numpy(float), disrupted.metrics.to_numpy(float))


def test_plan_indexes_every_holding() -> None:
    plan = compile_plan(two_stage(ALL_EVENTS))
    labels = {plan.holding_label(h) for h in range(plan.n_holdings)}
    assert "sep:ore" in labels and "sep:oxide" in labels and "eu_store:magnet" in labels
    assert not any(label.endswith(":lace") for label in labels)  # by-products are not stocked


@pytest.mark.parametrize("by", ["sector", "region", "commodity"])
def test_group_metrics_are_metrics_of_the_summed_series(disrupted, by: str) -> None:
    from reesim.metrics import shortage_metrics
    from reesim.simulation import _group_matrix, _group_sum

    plan = disrupted.plan
    labels, matrix = _group_matrix(plan, by)
    assert (matrix.sum(axis=0) == 1).any() or by == "commodity"  # singletons are reused
    expected = shortage_metrics(
        _group_sum(disrupted.series["demand"], matrix),
        _group_sum(disrupted.series["served"], matrix),
        disrupted.start,
        plan.threshold,
        plan.period_days,
    )
    got = disrupted.metrics_by[by][1]
    for name, values in expected.items():
        np.testing.assert_array_equal(np.asarray(got[name]), np.asarray(values), err_msg=name)
