"""Shortage metrics on hand-made series with known answers."""

from __future__ import annotations

import numpy as np

from reesim.metrics import quantiles, short_periods, shortage_metrics, summarise


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
