"""Shortage metrics per sink and replicate, and their summaries across replicates.

Definitions (docs/metrics.md has the long form). A period is *short* when
demand > 0 and served < (theta - 1e-9) * demand. The disruption *start* is
the period of the reference event in each replicate. Durations are in weeks.

=========================  ==========================================================
time_to_shortage_weeks     first short period at or after the start, minus the start
                           (+inf when none: ``censored``)
shortage_duration_weeks    short periods at or after the start x period length
longest_episode_weeks      longest run of consecutive short periods (after the start)
time_to_recover_weeks      last short period + 1 - start (0 if never short; +inf and
                           ``unrecovered`` when the last period is short)
unmet_t, unmet_pct         unmet demand at or after the start, t and % of demand
peak_shortfall             max of 1 - served / demand at or after the start
resilience_loss_weeks      sum of (1 - served / demand) x period length (weeks of full demand)
pre_shortage_weeks         short periods before the start x period length
pre_unmet_t                unmet demand before the start, t
=========================  ==========================================================

When the reference event does not happen in a replicate, every metric after
the start is NaN (flag ``event_missing``), and the whole horizon counts as
before the start.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["FLAGS", "METRICS", "quantiles", "short_periods", "shortage_metrics", "summarise"]

FloatArray = NDArray[np.float64]

#: Metric columns, in display order, with their units.
METRICS = {
    "time_to_shortage_weeks": "weeks",
    "shortage_duration_weeks": "weeks",
    "longest_episode_weeks": "weeks",
    "time_to_recover_weeks": "weeks",
    "unmet_t": "t",
    "unmet_pct": "%",
    "peak_shortfall": "share",
    "resilience_loss_weeks": "weeks",
    "pre_shortage_weeks": "weeks",
    "pre_unmet_t": "t",
}
#: Boolean flag columns.
FLAGS = ("any_shortage", "censored", "unrecovered", "event_missing")

_TOL = 1e-9


def short_periods(demand: FloatArray, served: FloatArray, threshold: float) -> NDArray[np.bool_]:
    """Boolean mask of short periods: demand > 0 and served < (threshold - 1e-9) * demand."""
    return (demand > 0) & (served < (threshold - _TOL) * demand)


def _longest_run(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Longest run of True along the last axis of an [M, N] mask."""
    if mask.shape[-1] == 0:
        return np.zeros(mask.shape[:-1], dtype=np.int64)
    count = np.cumsum(mask, axis=-1)
    reset = np.maximum.accumulate(np.where(mask, 0, count), axis=-1)
    return (count - reset).max(axis=-1)


def _row_metrics(
    demand: FloatArray, served: FloatArray, k0: NDArray[np.int64], threshold: float, weeks: float
) -> dict[str, FloatArray]:
    """Metrics of [M, N] rows (one per replicate and sink) with start period ``k0`` [M]."""
    n_per = demand.shape[1]
    after = np.arange(n_per)[None, :] >= k0[:, None]
    short = short_periods(demand, served, threshold)
    short_after = short & after
    gap = np.maximum(demand - served, 0.0)
    has_demand = demand > 0
    shortfall = np.divide(gap, demand, out=np.zeros_like(gap), where=has_demand)
    shortfall_after = np.where(after, shortfall, 0.0)
    any_short = short_after.any(axis=1)
    first = np.argmax(short_after, axis=1)
    last = n_per - 1 - np.argmax(short_after[:, ::-1], axis=1)
    k0f = k0.astype(np.float64)
    unrecovered = any_short & (last == n_per - 1)
    ttr = np.where(any_short, (last + 1 - k0f) * weeks, 0.0)
    demand_after = np.where(after, demand, 0.0).sum(axis=1)
    unmet = np.where(after, gap, 0.0).sum(axis=1)
    return {
        "time_to_shortage_weeks": np.where(any_short, (first - k0f) * weeks, np.inf),
        "shortage_duration_weeks": short_after.sum(axis=1) * weeks,
        "longest_episode_weeks": _longest_run(short_after) * weeks,
        "time_to_recover_weeks": np.where(unrecovered, np.inf, ttr),
        "unmet_t": unmet,
        "unmet_pct": np.divide(
            100.0 * unmet, demand_after, out=np.zeros_like(unmet), where=demand_after > 0
        ),
        "peak_shortfall": shortfall_after.max(axis=1) if n_per else np.zeros(len(k0)),
        "resilience_loss_weeks": shortfall_after.sum(axis=1) * weeks,
        "pre_shortage_weeks": (short & ~after).sum(axis=1) * weeks,
        "pre_unmet_t": np.where(after, 0.0, gap).sum(axis=1),
        "any_shortage": any_short,
        "unrecovered": unrecovered,
    }


def shortage_metrics(
    demand: FloatArray,
    served: FloatArray,
    start: FloatArray,
    threshold: float,
    period_days: float,
) -> dict[str, NDArray[np.float64] | NDArray[np.bool_]]:
    """Compute every metric for each replicate and sink (or group of sinks).

    Parameters
    ----------
    demand, served
        [R, N, S] tonnes per period.
    start
        [R] period of the disruption start; NaN where the reference event
        does not happen.
    threshold
        Served share below which a period is short (0 < theta <= 1).
    period_days
        Length of one period in days (metrics are reported in weeks).

    Returns
    -------
    dict
        Metric name -> [R, S] array, plus the boolean flags of :data:`FLAGS`.
    """
    n_rep, n_per, n_sink = demand.shape
    weeks = period_days / 7.0
    missing = np.isnan(start)
    k0 = np.where(missing, n_per, np.nan_to_num(start)).astype(np.int64)  # missing: all "before"
    # Most (replicate, sink) pairs never fall short of full demand: their metrics are
    # known without a pass over periods, so only the others are evaluated row by row.
    falls = (served < demand).any(axis=1)
    out: dict[str, NDArray[np.float64] | NDArray[np.bool_]] = {
        name: np.zeros((n_rep, n_sink)) for name in METRICS
    }
    out["time_to_shortage_weeks"] = np.full((n_rep, n_sink), np.inf)
    out["any_shortage"] = np.zeros((n_rep, n_sink), dtype=bool)
    out["unrecovered"] = np.zeros((n_rep, n_sink), dtype=bool)
    rows_r, rows_s = np.nonzero(falls)
    if rows_r.size:
        rows = _row_metrics(
            demand[rows_r, :, rows_s], served[rows_r, :, rows_s], k0[rows_r], threshold, weeks
        )
        for name, values in rows.items():
            out[name][rows_r, rows_s] = values
    for name in METRICS:
        if not name.startswith("pre_"):
            values = np.asarray(out[name], dtype=np.float64)
            out[name] = np.where(missing[:, None], np.nan, values)
    any_short = np.asarray(out["any_shortage"], dtype=bool)
    out["any_shortage"] = any_short & ~missing[:, None]
    out["censored"] = ~any_short & ~missing[:, None]
    out["unrecovered"] = np.asarray(out["unrecovered"], dtype=bool) & ~missing[:, None]
    out["event_missing"] = np.repeat(missing[:, None], n_sink, axis=1)
    return out


def quantiles(values: FloatArray, qs: tuple[float, ...] = (0.05, 0.5, 0.95)) -> FloatArray:
    """Linear-interpolation quantiles of non-NaN values, with +inf kept.

    NumPy interpolates between a finite value and +inf into nan; here any
    quantile that touches a +inf order statistic is +inf.
    """
    known = np.sort(values[~np.isnan(values)])
    if known.size == 0:
        return np.full(len(qs), np.nan)
    pos = (known.size - 1) * np.asarray(qs)
    lo = np.floor(pos).astype(np.int64)
    hi = np.ceil(pos).astype(np.int64)
    a, b = known[lo], known[hi]
    with np.errstate(invalid="ignore"):
        out = a + (b - a) * (pos - lo)
    return np.where(np.isinf(a) | np.isinf(b), np.where(np.isinf(a), a, b), out)


def summarise(values: FloatArray) -> dict[str, float]:
    """Mean over finite values; P5, P50, P95 over non-NaN values (+inf kept)."""
    finite = values[np.isfinite(values)]
    q = quantiles(values)
    return {
        "mean": float(finite.mean()) if finite.size else np.nan,
        "p5": float(q[0]),
        "p50": float(q[1]),
        "p95": float(q[2]),
    }
