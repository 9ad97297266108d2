"""Shortage metrics on hand-made series with known answers, and against their definitions."""

from __future__ import annotations

from unittest import mock

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from reesim import metrics
from reesim.metrics import FLAGS, METRICS, quantiles, short_periods, shortage_metrics, summarise


def _series(served_share: list[float], demand: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    share = np.asarray(served_share, dtype=float)
    d = np.full((1, share.size, 1), demand)
    return d, d * share[None, :, None]


def test_metrics_of_one_episode_weekly() -> None:
    demand, served = _series([1, 1, 0.98, 1, 1, 0.5, 0.2, 0.95, 1, 1])
    m = shortage_metrics(demand, served, np.array([4.0]), 0.99, 7.0)
    assert m["time_to_shortage_weeks"][0, 0] == 1.0
    assert m["shortage_duration_weeks"][0, 0] == 3.0
    assert m["longest_episode_weeks"][0, 0] == 3.0
    assert m["time_to_recover_weeks"][0, 0] == 4.0  # last short period 7, +1, -4
    np.testing.assert_allclose(m["unmet_t"][0, 0], 5 + 8 + 0.5)
    np.testing.assert_allclose(m["unmet_pct"][0, 0], 100 * 13.5 / 60)
    np.testing.assert_allclose(m["peak_shortfall"][0, 0], 0.8)
    np.testing.assert_allclose(m["resilience_loss_weeks"][0, 0], 0.5 + 0.8 + 0.05)
    assert m["pre_shortage_weeks"][0, 0] == 1.0  # period 2 is short and before the start
    np.testing.assert_allclose(m["pre_unmet_t"][0, 0], 0.2)
    assert m["any_shortage"][0, 0] and not m["censored"][0, 0]


def test_longest_episode_with_two_runs_and_daily_periods() -> None:
    demand, served = _series([0, 0, 1, 0, 0, 0, 1, 0])
    m = shortage_metrics(demand, served, np.array([0.0]), 0.99, 1.0)
    np.testing.assert_allclose(m["longest_episode_weeks"][0, 0], 3 / 7)
    np.testing.assert_allclose(m["shortage_duration_weeks"][0, 0], 6 / 7)


def test_unrecovered_and_censored_and_missing() -> None:
    d = np.full((3, 5, 1), 4.0)
    s = d.copy()
    s[0, 3:, 0] = 0.0  # short to the end
    start = np.array([1.0, 1.0, np.nan])
    m = shortage_metrics(d, s, start, 0.99, 7.0)
    assert np.isinf(m["time_to_recover_weeks"][0, 0]) and m["unrecovered"][0, 0]
    assert np.isinf(m["time_to_shortage_weeks"][1, 0]) and m["censored"][1, 0]
    assert m["time_to_recover_weeks"][1, 0] == 0.0
    assert np.isnan(m["time_to_shortage_weeks"][2, 0]) and m["event_missing"][2, 0]


def test_zero_demand_is_never_short() -> None:
    d = np.zeros((1, 3, 1))
    assert not short_periods(d, d, 0.99).any()


def test_threshold_tolerance() -> None:
    d = np.full((1, 1, 1), 100.0)
    assert not short_periods(d, d * 0.99, 0.99).any()
    assert short_periods(d, d * 0.9899, 0.99).all()


def test_quantiles_keep_infinity() -> None:
    v = np.array([1.0, 2.0, np.inf, np.inf, np.nan])
    q = quantiles(v, (0.0, 0.25, 0.5, 1.0))
    np.testing.assert_allclose(q[:2], [1.0, 1.75])
    assert np.isinf(q[2]) and np.isinf(q[3])
    s = summarise(v)
    assert s["mean"] == 1.5


def reference_metrics(
    demand: np.ndarray, served: np.ndarray, start: np.ndarray, threshold: float, period_days: float
) -> dict[str, np.ndarray]:
    """The definitions of docs/metrics.md, one (replicate, sink) series at a time.

    The sums add whole rows with zeros outside the periods they count, as the
    implementation does, so both give the same bits (np.sum adds pairwise; a sum
    of the periods after the start alone can differ in the last bit).
    """
    n_rep, n_per, n_sink = demand.shape
    weeks = period_days / 7.0
    limit = threshold - 1e-9
    out = {name: np.zeros((n_rep, n_sink)) for name in METRICS}
    out.update({flag: np.zeros((n_rep, n_sink), dtype=bool) for flag in FLAGS})
    for r in range(n_rep):
        missing = bool(np.isnan(start[r]))
        k0 = n_per if missing else int(start[r])
        after = np.arange(n_per) >= k0
        for j in range(n_sink):
            d, s = demand[r, :, j].copy(), served[r, :, j].copy()
            short = [bool(d[t] > 0 and s[t] < limit * d[t]) for t in range(n_per)]
            short_after = [t for t in range(n_per) if short[t] and after[t]]
            longest = run = 0
            for t in range(n_per):
                run = run + 1 if short[t] and after[t] else 0
                longest = max(longest, run)
            gap = np.maximum(d - s, 0.0)
            shortfall = np.array([gap[t] / d[t] if d[t] > 0 else 0.0 for t in range(n_per)])
            unmet = np.where(after, gap, 0.0).sum()
            demand_after = np.where(after, d, 0.0).sum()
            m = {
                "pre_shortage_weeks": sum(short[t] and not after[t] for t in range(n_per)) * weeks,
                "pre_unmet_t": np.where(after, 0.0, gap).sum(),
            }
            if missing:
                m.update({name: np.nan for name in METRICS if not name.startswith("pre_")})
                m["event_missing"] = True
            else:
                recovered = not short_after or short_after[-1] < n_per - 1
                m.update(
                    {
                        "time_to_shortage_weeks": (
                            (short_after[0] - k0) * weeks if short_after else np.inf
                        ),
                        "shortage_duration_weeks": len(short_after) * weeks,
                        "longest_episode_weeks": longest * weeks,
                        "time_to_recover_weeks": (
                            (short_after[-1] + 1 - k0) * weeks if short_after else 0.0
                        )
                        if recovered
                        else np.inf,
                        "unmet_t": unmet,
                        "unmet_pct": 100.0 * unmet / demand_after if demand_after > 0 else 0.0,
                        "peak_shortfall": max(shortfall[after], default=0.0),
                        "resilience_loss_weeks": np.where(after, shortfall, 0.0).sum() * weeks,
                        "any_shortage": bool(short_after),
                        "censored": not short_after,
                        "unrecovered": not recovered,
                    }
                )
            for name, value in m.items():
                out[name][r, j] = value
    return out


@st.composite
def metric_inputs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Series with zeros, served shares on both sides of the threshold, and any starts."""
    n_rep = draw(st.integers(1, 5))
    n_per = draw(st.integers(0, 300))  # > 128 periods: pairwise summation splits the rows
    n_sink = draw(st.integers(1, 3))
    threshold = draw(st.sampled_from([0.99, 1.0, 0.5]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (n_rep, n_per, n_sink)
    demand = rng.choice([0.0, 1.0, 10.0, 3e5], shape) * rng.uniform(0.5, 2.0, shape)
    limit = threshold - 1e-9
    shares = [1.0, 0.0, 0.5, limit, np.nextafter(limit, 0.0), threshold, 0.9999999999]
    weights = np.array(draw(st.lists(st.integers(0, 4), min_size=7, max_size=7)), float) + 1e-3
    share = rng.choice(shares, shape, p=weights / weights.sum())
    share[rng.random(shape) < 0.1] = rng.random()
    served = demand * share
    if draw(st.booleans()):  # whole sinks served in full
        served[:, :, 0] = demand[:, :, 0]
    if draw(st.booleans()):  # rounding noise below zero where there is no demand
        served[demand == 0] = -1e-12
    start_kind = st.sampled_from(["missing", "zero", "end", "inside"])
    starts = []
    for kind in draw(st.lists(start_kind, min_size=n_rep, max_size=n_rep)):
        inside = float(rng.integers(0, n_per)) if n_per else 0.0
        starts.append({"missing": np.nan, "zero": 0.0, "end": float(n_per)}.get(kind, inside))
    period_days = draw(st.sampled_from([1.0, 7.0, 30.4375]))
    return demand, served, np.array(starts), threshold, period_days


@given(metric_inputs(), st.sampled_from([1 << 15, 200, 1]))
def test_metrics_equal_the_reference_definitions(
    inputs: tuple[np.ndarray, np.ndarray, np.ndarray, float, float], block: int
) -> None:
    """Bit for bit, whatever the block size the rows are evaluated in."""
    with mock.patch.object(metrics, "_BLOCK_ELEMENTS", block):
        got = shortage_metrics(*inputs)
    expected = reference_metrics(*inputs)
    assert sorted(got) == sorted(expected)
    for name, values in expected.items():
        np.testing.assert_array_equal(got[name], values, err_msg=name, strict=True)
