"""The compiled kernel (``engine="numba"``) equals the vectorised core and keeps its invariants.

Both engines run on one sampled table with every series recorded; every
series, the mass ledger and the shortage metrics must agree within
``1e-9 * max(|a|, |b|) + 1e-12 * max|series|`` (period counts and flags
exactly). The generated cases follow the hypothesis profile (tests/conftest.py).
The whole module is skipped when numba is not installed.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

numba = pytest.importorskip("numba")

from reesim.engine import get_engine  # noqa: E402
from reesim.engine.compiled import growth_table, run_numba  # noqa: E402
from reesim.engine.compiled_kernel import LANES  # noqa: E402
from reesim.engine.output import RECORDABLE, ChunkOutput  # noqa: E402
from reesim.engine.vector import run_vector  # noqa: E402
from reesim.errors import ReesimError, ReesimWarning  # noqa: E402
from reesim.metrics import falls_short, shortage_metrics  # noqa: E402
from reesim.plan import Plan, compile_plan  # noqa: E402
from reesim.sampling import Samples, draw_samples  # noqa: E402
from reesim.scenario import Scenario  # noqa: E402
from reesim.scenario.load import load_scenario  # noqa: E402
from reesim.simulation import simulate  # noqa: E402
from reesim.testing import scenarios  # noqa: E402
from reesim.testing.checks import (  # noqa: E402
    assert_invariants,
    ledger_mismatch,
    run_scale,
    series_mismatch,
)
from reesim.testing.strategies import networks  # noqa: E402
from tests.helpers import START, day, rich_scenarios  # noqa: E402

SERIES = ("demand", "served", "production", "departures", "arrivals", "inventory", "in_transit")
#: Metrics that count periods or flag a state: equal exactly. The others are tonnes and shares.
COUNTED = (
    "time_to_shortage_weeks",
    "shortage_duration_weeks",
    "longest_episode_weeks",
    "time_to_recover_weeks",
    "pre_shortage_weeks",
)
ALL = frozenset(RECORDABLE)


def run_both(
    sc: Scenario, seed: int, replicates: int
) -> tuple[Plan, Samples, ChunkOutput, ChunkOutput]:
    """The vectorised core and the compiled kernel on one sampled table, every series kept."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReesimWarning)
        plan = compile_plan(sc)
        smp = draw_samples(plan, seed, np.arange(replicates))
        return plan, smp, run_vector(plan, smp, ALL), run_numba(plan, smp, ALL)


def _start(plan: Plan, smp: Samples) -> np.ndarray:
    v = plan.reference_event
    if v < 0:
        return np.zeros(smp.n)
    return np.where(smp.ev_happens[:, v], smp.ev_k0[:, v], np.nan).astype(np.float64)


def disagreements(plan: Plan, smp: Samples, a: ChunkOutput, b: ChunkOutput) -> list[str]:
    """Every way two chunk outputs differ beyond the engine tolerance (empty: they agree)."""
    out = []
    scale = run_scale([getattr(o, name) for o in (a, b) for name in SERIES])
    for name in SERIES:
        msg = series_mismatch(plan, name, getattr(a, name), getattr(b, name), scale)
        if msg:
            out.append(msg)
    out += ledger_mismatch(plan, a.ledger, b.ledger)
    start = _start(plan, smp)
    ma = shortage_metrics(a.demand, a.served, start, plan.threshold, plan.period_days)
    mb = shortage_metrics(b.demand, b.served, start, plan.threshold, plan.period_days)
    for name, x in ma.items():
        x, y = np.asarray(x), np.asarray(mb[name])
        if x.dtype == bool or name in COUNTED:
            same = (x == y) | (np.isnan(x) & np.isnan(y)) if x.dtype != bool else x == y
        else:
            size = np.nanmax(np.where(np.isfinite(x), np.abs(x), 0.0), initial=0.0)
            same = np.isclose(x, y, rtol=1e-9, atol=1e-12 * size, equal_nan=True)
        if not np.all(same):
            r, s = (int(i) for i in np.argwhere(~same)[0])
            out.append(f"metric {name} of sink {plan.sink_ids[s]!r}, replicate {r}")
    if a.warnings != b.warnings:
        out.append(f"warnings: {a.warnings} vs {b.warnings}")
    return out


def check_agree(sc: Scenario, seed: int, replicates: int) -> None:
    plan, smp, a, b = run_both(sc, seed, replicates)
    problems = disagreements(plan, smp, a, b)
    assert not problems, "vector and numba disagree:\n  " + "\n  ".join(problems)
    # The kernel notes while running which sinks fall short; that is falls_short of its series.
    assert b.falls is not None
    assert np.array_equal(b.falls, falls_short(b.demand, b.served))


# ------------------------------------------------------------------ properties
@given(
    rich_scenarios(),
    st.integers(0, 2**31 - 1),
)
def test_numba_equals_vector_on_generated_scenarios(sc: Scenario, seed: int) -> None:
    for kind in sorted({e.kind for e in sc.events}):
        event(f"event kind {kind}")
    check_agree(sc, seed, replicates=3)


def _fewer() -> int:
    return max(20, settings().max_examples // 10)


@settings(max_examples=_fewer())
@given(
    scenarios(
        coproduct_surplus=True,
        event_kinds=("random_outages", "capacity_change", "export_quota", "commissioning"),
        min_events=2,
        max_events=5,
        period="day",
        horizon=(30, 90),
    ),
    st.integers(0, 2**16),
)
def test_numba_equals_vector_on_daily_periods(sc: Scenario, seed: int) -> None:
    check_agree(sc, seed, replicates=2)


@settings(max_examples=_fewer())
@given(rich_scenarios(), st.integers(0, 2**31 - 1))
def test_numba_equals_vector_over_several_groups_of_lanes(sc: Scenario, seed: int) -> None:
    """Enough replicates for two groups of lanes, the last one partly filled, so that
    lanes of one group differ in lead times, event dates and outages."""
    check_agree(sc, seed, replicates=LANES + 9)


@settings(max_examples=_fewer())
@given(scenarios(max_events=6))
def test_numba_keeps_the_invariants_under_every_event_kind(sc: Scenario) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReesimWarning)
        res = simulate(sc, replicates=3, seed=4, engine="numba", record="all")
    assert_invariants(res)


@settings(max_examples=_fewer())
@given(networks(growth=False, overrides=False, coproduct_surplus=False))
def test_numba_keeps_a_network_without_events_steady(sc: Scenario) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReesimWarning)
        res = simulate(sc, replicates=2, seed=4, engine="numba", record="all")
    assert not res.metrics["any_shortage"].any()
    served, demand = res.series["served"], res.series["demand"]
    np.testing.assert_allclose(served, demand, rtol=1e-12)
    for name in ("production", "inventory", "in_transit"):
        values = res.series[name]
        scale = max(1.0, float(np.abs(values).max()))
        first = np.broadcast_to(values[:, :1], values.shape)
        np.testing.assert_allclose(values, first, rtol=1e-9, atol=1e-9 * scale, err_msg=name)


@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_growth_factors_equal_the_cores_power(period: str) -> None:
    """Demand growth comes from NumPy's power, period by period as the core takes it,
    including the exponents NumPy computes without ``pow`` (k dt = 0.5, 1, 2)."""
    sc = load_scenario("default").model_copy(deep=True)
    sc.time.period = period  # type: ignore[assignment]
    sc.time.end = sc.time.start.replace(year=sc.time.start.year + 3)
    plan = compile_plan(sc)
    smp = draw_samples(plan, 1, np.arange(5))
    rng = np.random.default_rng(0)
    smp.params["sink_growth_pct"] = rng.uniform(-4.0, 9.0, smp.params["sink_growth_pct"].shape)
    which, power = growth_table(plan, smp)
    growth = 1.0 + smp.params["sink_growth_pct"] / 100.0
    for k in range(plan.n_periods):
        core = growth ** (k * plan.dt)
        np.testing.assert_array_equal(power[k][which], core, err_msg=f"period {k}")


# ------------------------------------------------------------ fixed scenarios
@pytest.mark.parametrize("name", ["default", "world-2024"])
def test_builtin_scenarios_agree(name: str) -> None:
    check_agree(load_scenario(name), seed=2024, replicates=6)


@pytest.mark.parametrize("name", ["default", "world-2024"])
def test_builtin_scenarios_agree_to_the_last_bit(name: str) -> None:
    """Both engines sum in the same order, so on the built-in scenarios every value is
    the same double, over more than one group of lanes."""
    plan, smp, a, b = run_both(load_scenario(name), seed=11, replicates=2 * LANES + 5)
    for series in SERIES:
        x, y = getattr(a, series), getattr(b, series)
        assert x is not None and y is not None
        differ = np.argwhere(x != y)
        assert differ.size == 0, (
            f"{series} differs first at [replicate, period, column] {differ[0]}"
        )
    for name_, values in a.ledger.items():
        np.testing.assert_array_equal(b.ledger[name_], values, err_msg=name_)


def test_exhausted_supplier_ends_with_exactly_nothing() -> None:
    """A plant whose capacity drops to 0 ships its last stock and keeps exactly 0 t, as
    the core does (a rounding residue would read as stock on hand and keep its routes
    open)."""
    routes = [
        {"supplier": s, "buyer": b, "commodity": "magnet", "lead_time_days": 14, "weight": w}
        for b in ("eu", "jp")
        for s, w in (("a", 0.6), ("b", 0.4))
    ]
    plant = {"capacity": 9000.0, "output": "magnet", "output_cap_weeks": 3.0}
    sink = {"commodity": "magnet", "cover_weeks": 4.0}
    sc = Scenario.model_validate(
        {
            "time": {"start": START, "end": day(7 * 20), "period": "week"},
            "commodities": [{"id": "magnet"}],
            "facilities": [
                {"id": "a", "region": "CN", **plant},
                {"id": "b", "region": "US", **plant},
            ],
            "sinks": [
                {"id": "eu", "region": "EU", "demand": 2007.0, **sink},
                {"id": "jp", "region": "JP", "demand": 1500.0, **sink},
            ],
            "routes": routes,
            "events": [
                {
                    "id": "halt",
                    "kind": "capacity_change",
                    "facilities": ["a"],
                    "factor": 0.0,
                    "start": day(35),
                }  # fmt: skip
            ],
        }
    )
    plan, smp, a, b = run_both(sc, seed=0, replicates=1)
    assert b.inventory is not None and b.departures is not None
    h = int(plan.fac_out_h[0])
    assert b.inventory[0, 16, h] == 0.0
    assert b.departures[0, 17:, [0, 2]].sum() == 0.0
    assert disagreements(plan, smp, a, b) == []


# ------------------------------------------------------------ the public entry points
def test_simulate_with_numba_gives_the_vector_results() -> None:
    sc = load_scenario("default")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReesimWarning)
        fast = simulate(sc, replicates=40, seed=3, engine="numba", record="all")
        ref = simulate(sc, replicates=40, seed=3, engine="vector", record="all")
    assert fast.engine == "numba"
    summary_fast, summary_ref = fast.summary(), ref.summary()
    assert summary_fast["unit"].tolist() == summary_ref["unit"].tolist()
    numbers = ["mean", "p5", "p50", "p95", "p_any"]
    np.testing.assert_allclose(summary_fast[numbers], summary_ref[numbers], rtol=1e-9)
    for name, values in ref.series.items():
        np.testing.assert_allclose(fast.series[name], values, rtol=1e-9, atol=1e-9, err_msg=name)
    fast.check_mass_balance()


def test_cli_runs_the_numba_engine(capsys: pytest.CaptureFixture[str]) -> None:
    from reesim.cli import main

    tables = {}
    for engine in ("numba", "vector"):
        code = main(["run", "--replicates", "30", "--seed", "5", "--quiet", "--engine", engine])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert f"30 replicates, seed 5, {engine} engine" in out
        tables[engine] = [line for line in out.splitlines() if "engine" not in line]
    assert tables["numba"] == tables["vector"]


def test_results_do_not_depend_on_chunks_or_threads() -> None:
    sc = load_scenario("default")
    runs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReesimWarning)
        for chunk, threads in ((80, 1), (80, 2), (7, 2), (13, 1)):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            try:
                runs.append(
                    simulate(
                        sc, replicates=50, seed=11, engine="numba", chunk_size=chunk, record="all"
                    )
                )
            finally:
                numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    first = runs[0]
    for other in runs[1:]:
        for name, values in first.series.items():
            np.testing.assert_array_equal(other.series[name], values, err_msg=name)
        for name, values in first.ledger.items():
            # Only the order in which the in-transit ring is summed depends on the chunk.
            np.testing.assert_allclose(other.ledger[name], values, rtol=1e-13, err_msg=name)
        pd.testing.assert_frame_equal(other.metrics, first.metrics)


def test_missing_numba_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba now raises ImportError
    with pytest.raises(
        ReesimError, match=r"engine 'numba' needs numba: pip install 'reesim\[fast\]'"
    ):
        get_engine("numba")
