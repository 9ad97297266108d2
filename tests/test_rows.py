"""The core's row building blocks against plain scalar references."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from reesim.engine.output import SeriesRecorder, sum_columns
from reesim.engine.rows import RowMin, RowSum, TransitRing, as_index


@st.composite
def grouped_rows(draw: st.DrawFn) -> tuple[np.ndarray, int, np.ndarray]:
    n_groups = draw(st.integers(1, 12))
    n_rows = draw(st.integers(0, 40))
    kind = draw(st.sampled_from(["random", "sorted", "skewed"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "skewed":  # one large group among small ones, as suppliers are
        index = np.where(rng.random(n_rows) < 0.6, 0, rng.integers(0, n_groups, n_rows))
    else:
        index = rng.integers(0, n_groups, n_rows)
    if kind == "sorted":
        index = np.sort(index)
    n_rep = draw(st.integers(1, 9))
    values = rng.random((n_rows, n_rep)) * 10.0 ** rng.uniform(-12, 12, (n_rows, n_rep))
    return index, n_groups, values


@given(grouped_rows())
@settings(max_examples=200)
def test_row_sum_adds_rows_in_order_like_a_scalar_loop(case: tuple) -> None:
    index, n_groups, values = case
    expected = np.zeros((n_groups, values.shape[1]))
    for x, group in enumerate(index):  # the other engines' order: route by route
        expected[group] += values[x]
    got = RowSum(index, n_groups)(values)
    assert got.shape == expected.shape
    assert np.array_equal(got, expected)  # to the last bit, not approximately


@given(grouped_rows())
@settings(max_examples=100)
def test_row_min_takes_each_groups_least_row(case: tuple) -> None:
    index, n_groups, values = case
    present = np.unique(index)
    expected = np.full((n_groups, values.shape[1]), np.inf)
    for x, group in enumerate(index):
        expected[group] = np.minimum(expected[group], values[x])
    got = RowMin(present.searchsorted(index), len(present))(values)
    assert np.array_equal(got, expected[present])


def test_row_sum_of_one_replicate_equals_its_column_in_a_wide_array() -> None:
    rng = np.random.default_rng(3)
    index = rng.integers(0, 5, 30)
    values = rng.random((30, 64)) * 10.0 ** rng.uniform(-9, 9, (30, 64))
    summed = RowSum(index, 5)
    wide = summed(values)
    for r in (0, 17, 63):
        assert np.array_equal(summed(values[:, r : r + 1])[:, 0], wide[:, r])


def test_as_index_gives_a_slice_only_for_consecutive_rows() -> None:
    assert as_index(np.array([3, 4, 5])) == slice(3, 6)
    assert isinstance(as_index(np.array([3, 5])), np.ndarray)
    assert isinstance(as_index(np.array([], dtype=np.int64)), np.ndarray)


@st.composite
def transit_runs(draw: st.DrawFn) -> dict:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_routes, n_rep = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    max_lead = draw(st.integers(1, 5))
    lead = rng.integers(1, max_lead + 1, (n_routes, n_rep))
    same = rng.random(n_routes) < 0.5  # some routes share one lead over replicates
    lead[same] = lead[same, :1]
    varying = rng.random(n_routes) < 0.4
    max_delay = draw(st.integers(0, 4))
    n_periods = draw(st.integers(1, 30))
    # Licence delays switch on and off at random periods (only on varying routes).
    delay = np.zeros((n_periods, n_routes, n_rep), dtype=np.int64)
    if max_delay:
        for k0 in rng.integers(0, n_periods, 3):
            k1 = int(k0) + int(rng.integers(1, 8))
            delay[k0:k1] = rng.integers(1, max_delay + 1, (n_routes, n_rep))
    delay[:, ~varying] = 0
    return {
        "lead": lead,
        "varying": varying,
        "length": max_lead + max_delay + 1,
        "delay": delay,
        "flow": rng.random((n_routes, n_rep)),
        "ships": rng.random((n_periods, n_routes, n_rep))
        * (rng.random(n_periods) < 0.8)[:, None, None],
    }


@given(transit_runs())
@settings(max_examples=200)
def test_transit_ring_lands_what_a_plain_scatter_ring_lands(run: dict) -> None:
    lead, length, delay = run["lead"], run["length"], run["delay"]
    n_periods = len(run["ships"])
    # Reference: a ring indexed by landing period, filled by a scatter every period.
    ref = np.zeros((length, *lead.shape))
    transit0 = lead + delay[0]
    for j in range(length):
        ref[j] = np.where(j < transit0, run["flow"], 0.0)
    ring = TransitRing(lead, length, run["varying"])
    ring.start(run["flow"], transit0)
    rows_c = ring.rows_c

    def in_transit() -> np.ndarray:  # slot by slot, in slot order
        total = np.zeros(lead.shape)
        for part in ref:
            total = total + part
        return total

    assert np.array_equal(ring.by_route(0), in_transit())
    for k in range(n_periods):
        slot = k % length
        expected = ref[slot].copy()
        ref[slot] = 0.0
        assert np.array_equal(ring.arrivals(slot), expected), k
        transit = lead + delay[k]
        at = (slot + transit) % length
        for e in range(lead.shape[0]):
            for r in range(lead.shape[1]):
                ref[at[e, r], e, r] += run["ships"][k, e, r]
        ring.depart(slot, run["ships"][k], transit[rows_c] if len(rows_c) else None)
    assert np.array_equal(ring.by_route(n_periods), in_transit())


def test_world_network_numbers_do_not_depend_on_the_chunk_size() -> None:
    # The world network has suppliers with dozens of routes (summed by accumulate) and
    # per-replicate lead times; the 2025 licensing replay adds licence delays (routes
    # whose transit time changes during the run).
    from pathlib import Path

    from reesim import load_scenario, simulate

    sc = load_scenario(Path(__file__).parents[1] / "scenarios" / "replay-2025-licensing.toml")
    whole = simulate(sc, replicates=6, seed=3, record="all", chunk_size=6)
    for chunk in (1, 4):
        parts = simulate(sc, replicates=6, seed=3, record="all", chunk_size=chunk)
        for name, values in whole.series.items():
            np.testing.assert_array_equal(parts.series[name], values, err_msg=name)
        for name, values in whole.ledger.items():
            np.testing.assert_array_equal(parts.ledger[name], values, err_msg=name)


@given(
    n_rep=st.integers(1, 40),
    n_periods=st.integers(1, 30),
    widths=st.lists(st.integers(1, 9), min_size=2, max_size=2),
    block_lines=st.integers(1, 20),
    flows=st.booleans(),
)
@settings(max_examples=60)
def test_series_recorder_stores_every_period_as_direct_writes_would(
    n_rep: int, n_periods: int, widths: list[int], block_lines: int, flows: bool
) -> None:
    """Periods reach [R, N, X] series unchanged, whatever the block and the period count."""
    n_sinks, n_routes = widths
    rng = np.random.default_rng(n_rep * 1000 + n_periods)

    def series(width: int) -> np.ndarray:
        return np.full((n_rep, n_periods, width), np.nan)

    out = SimpleNamespace(
        demand=series(n_sinks),
        served=series(n_sinks),
        production=None,
        departures=series(n_routes) if flows else None,
        arrivals=series(n_routes) if flows else None,
        inventory=None,
        in_transit=None,
    )
    rec = SeriesRecorder(out, lines=block_lines)  # type: ignore[arg-type]
    assert rec.names == ({"demand", "served"} | ({"departures", "arrivals"} if flows else set()))
    want = rng.random((n_periods, n_sinks, n_rep))
    ship = rng.random((n_periods, n_routes, n_rep))
    for k in range(n_periods):
        rec.put(k, demand=want[k], served=want[k] / 2, departures=ship[k], arrivals=ship[k] + 1)
    rec.flush()
    assert np.array_equal(out.demand, want.transpose(2, 0, 1))
    assert np.array_equal(out.served, want.transpose(2, 0, 1) / 2)
    if flows:
        assert np.array_equal(out.departures, ship.transpose(2, 0, 1))
        assert np.array_equal(out.arrivals, ship.transpose(2, 0, 1) + 1)


@given(grouped_rows())
@settings(max_examples=100)
def test_sum_columns_adds_columns_in_order_like_a_scalar_loop(case: tuple) -> None:
    index, n_groups, values = case
    by_column = np.ascontiguousarray(values.T)  # [R, X]: a column per row of the case
    expected = np.zeros((by_column.shape[0], n_groups))
    for x, group in enumerate(index):
        expected[:, group] += by_column[:, x]
    got = sum_columns(by_column, index, n_groups)
    assert got.shape == expected.shape
    assert np.array_equal(got, expected)
