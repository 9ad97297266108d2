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

__all__ = [
    "FLAGS",
    "METRICS",
    "falls_short",
    "quantiles",
    "short_periods",
    "shortage_metrics",
    "summarise",
]

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
#: Elements of a block of rows evaluated together: its scratch arrays stay in the L2 cache.
_BLOCK_ELEMENTS = 1 << 15


def short_periods(demand: FloatArray, served: FloatArray, threshold: float) -> NDArray[np.bool_]:
    """Boolean mask of short periods: demand > 0 and served < (threshold - 1e-9) * demand."""
    return (demand > 0) & (served < (threshold - _TOL) * demand)


class _Rows:
    """Per-row results of :func:`_row_metrics` and the scratch arrays its blocks reuse.

    ``first``/``last`` are the first and last short period at or after the start,
    ``count``/``longest``/``pre_count`` are numbers of short periods, and the
    ``*_sum`` arrays hold the row sums of zero-padded series. Rows are evaluated in
    blocks of ``block`` rows so that no scratch array leaves the cache; ``block`` 0
    leaves the scratch arrays empty (the compiled kernel keeps its own).
    """

    def __init__(self, n_rows: int, n_per: int, block: int) -> None:
        self.first = np.zeros(n_rows, dtype=np.int64)
        self.last = np.zeros(n_rows, dtype=np.int64)
        self.count = np.zeros(n_rows, dtype=np.int64)
        self.longest = np.zeros(n_rows, dtype=np.int64)
        self.pre_count = np.zeros(n_rows, dtype=np.float64)
        self.demand_sum = np.empty(n_rows)
        self.unmet_sum = np.empty(n_rows)
        self.pre_unmet_sum = np.empty(n_rows)
        self.shortfall_sum = np.empty(n_rows)
        self.peak = np.empty(n_rows)
        self.any = np.zeros(n_rows, dtype=bool)
        width = n_per + 1
        # Short flags of a block laid out row after row, each row followed by one
        # False, plus a leading False: runs of short periods never cross rows.
        self.padded = np.zeros(block * width + 1, dtype=bool)
        self.edges = np.empty(block * width, dtype=bool)
        self.positive = np.empty((block, n_per), dtype=bool)
        self.after = np.empty((block, n_per))
        self.before = np.empty((block, n_per))


def _runs(rows: _Rows, lo: int, k0: NDArray[np.int64], n_per: int) -> None:
    """Counts, first/last period and longest run of the short flags in ``rows.padded``.

    Every run of short periods [a, b) is cut at the start k0 of its row: the part
    before counts towards ``pre_count``, the part at or after towards the rest.
    """
    n = k0.size
    width = n_per + 1
    flat = rows.padded[: n * width + 1]
    edges = np.not_equal(flat[1:], flat[:-1], out=rows.edges[: n * width])
    pos = np.flatnonzero(edges)
    if pos.size == 0:
        return
    row = pos[0::2] // width
    a = pos[0::2] - row * width
    b = pos[1::2] - row * width
    k = k0[row]
    pre = np.minimum(b, k) - a
    np.maximum(pre, 0, out=pre)
    rows.pre_count[lo : lo + n] = np.bincount(row, weights=pre, minlength=n)
    a = np.maximum(a, k)
    keep = b > a
    if not keep.all():
        row, a, b = row[keep], a[keep], b[keep]
    if row.size == 0:
        return
    length = b - a
    # Runs come sorted by row, then by period: each row's runs are one group.
    new = np.empty(row.size, dtype=bool)
    new[0] = True
    np.not_equal(row[1:], row[:-1], out=new[1:])
    heads = np.flatnonzero(new)
    tails = np.append(heads[1:], row.size) - 1
    at = lo + row[heads]
    rows.any[at] = True
    rows.first[at] = a[heads]
    rows.last[at] = b[tails] - 1
    rows.count[at] = np.add.reduceat(length, heads)
    rows.longest[at] = np.maximum.reduceat(length, heads)


def _block(
    rows: _Rows,
    lo: int,
    demand: FloatArray,
    served: FloatArray,
    k0: NDArray[np.int64],
    limit: float,
) -> None:
    """Evaluate one block of [n, N] rows into ``rows`` at ``lo``; ``k0`` [n] is sorted."""
    n, n_per = demand.shape
    width = n_per + 1
    at = slice(lo, lo + n)
    short = rows.padded[1 : n * width + 1].reshape(n, width)[:, :n_per]
    positive = np.greater(demand, 0.0, out=rows.positive[:n])
    all_positive = bool(positive.all())
    after = rows.after[:n]
    # short = (demand > 0) & (served < limit * demand), as in short_periods
    np.multiply(demand, limit, out=after)
    np.less(served, after, out=short)
    if not all_positive:
        np.logical_and(short, positive, out=short)
    _runs(rows, lo, k0, n_per)

    # Each sum runs over whole rows holding zeros outside the periods it counts, in
    # the layout of np.where(after, x, 0).sum(axis=1): pairwise summation then adds
    # the same numbers in the same order, and the sums equal that definition to the
    # last bit (a sum over the periods after the start alone would not).
    # Periods before k_lo are before the start in every row and periods from k_hi
    # on after it; only [k_lo, k_hi) needs a mask, and sorted starts keep it narrow.
    k_lo, k_hi = int(k0[0]), int(k0[-1])
    early = np.arange(k_lo, k_hi) < k0[:, None] if k_hi > k_lo else None
    tail = after[:, k_lo:]
    after[:, :k_lo] = 0.0
    np.copyto(tail, demand[:, k_lo:])
    if early is not None:
        np.copyto(after[:, k_lo:k_hi], 0.0, where=early)
    np.add.reduce(after, axis=1, out=rows.demand_sum[at])
    np.subtract(demand[:, k_lo:], served[:, k_lo:], out=tail)
    np.maximum(tail, 0.0, out=tail)  # gap = max(demand - served, 0), unmasked for now
    if k_hi > 0:
        before = rows.before[:n]
        head = before[:, :k_lo]
        np.subtract(demand[:, :k_lo], served[:, :k_lo], out=head)
        np.maximum(head, 0.0, out=head)
        before[:, k_hi:] = 0.0
        if early is not None:
            middle = before[:, k_lo:k_hi]
            np.copyto(middle, after[:, k_lo:k_hi])
            np.copyto(middle, 0.0, where=~early)
            np.copyto(after[:, k_lo:k_hi], 0.0, where=early)
        np.add.reduce(before, axis=1, out=rows.pre_unmet_sum[at])
    else:
        rows.pre_unmet_sum[at] = 0.0
    np.add.reduce(after, axis=1, out=rows.unmet_sum[at])
    # shortfall = gap / demand where demand > 0, else 0; the zeros before the start
    # stay zeros (0 / demand), and 0 / 0 is mended with the rest of demand <= 0.
    np.divide(tail, demand[:, k_lo:], out=tail)
    if not all_positive:
        np.copyto(tail, 0.0, where=~positive[:, k_lo:])
    np.add.reduce(after, axis=1, out=rows.shortfall_sum[at])
    np.maximum.reduce(after, axis=1, out=rows.peak[at])


def _row_metrics(
    demand: FloatArray,
    served: FloatArray,
    rows_r: NDArray[np.intp],
    rows_s: NDArray[np.intp],
    k0: NDArray[np.int64],
    threshold: float,
    weeks: float,
    compiled: bool = False,
) -> dict[str, NDArray[np.float64] | NDArray[np.bool_]]:
    """Metrics of the (replicate, sink) rows ``rows_r, rows_s`` of [R, N, S] series.

    ``k0`` [R] is the start period of each replicate (N when the event is missing);
    the rows come sorted by it. ``compiled`` evaluates the rows with
    :func:`reesim.metrics_compiled.fill_rows` (same numbers to the last bit).
    """
    n_per = demand.shape[1]
    m = rows_r.size
    starts = k0[rows_r]
    # A start outside the horizon puts every period before (or after) it.
    within = np.clip(starts, 0, n_per)
    limit = threshold - _TOL
    if compiled:
        from reesim.metrics_compiled import fill_rows

        rows = _Rows(m, n_per, 0)  # the kernel keeps its own scratch row
        fill_rows(rows, demand, served, rows_r, rows_s, within, limit)
    else:
        rows = _numpy_rows(demand, served, rows_r, rows_s, within, limit)
    return _from_rows(rows, starts, n_per, weeks)


def _numpy_rows(
    demand: FloatArray,
    served: FloatArray,
    rows_r: NDArray[np.intp],
    rows_s: NDArray[np.intp],
    within: NDArray[np.int64],
    limit: float,
) -> _Rows:
    """Per-row results of the rows ``rows_r, rows_s``, block by block in NumPy."""
    n_rep, n_per, n_sink = demand.shape
    m = rows_r.size
    block = max(1, min(m, _BLOCK_ELEMENTS // max(n_per, 1)))
    rows = _Rows(m, n_per, block)
    # One sink and every replicate in order: blocks are plain views of the series.
    whole = n_sink == 1 and m == n_rep and bool((rows_r[1:] > rows_r[:-1]).all())
    with np.errstate(invalid="ignore", divide="ignore"):
        for lo in range(0, m, block):
            hi = min(lo + block, m)
            if whole:
                d, s = demand[lo:hi, :, 0], served[lo:hi, :, 0]
            elif n_sink == 1:
                r = rows_r[lo:hi]
                d, s = demand[:, :, 0].take(r, axis=0), served[:, :, 0].take(r, axis=0)
            else:
                r, j = rows_r[lo:hi], rows_s[lo:hi]
                d, s = demand[r, :, j], served[r, :, j]
            _block(rows, lo, d, s, within[lo:hi], limit)
    return rows


def _from_rows(
    rows: _Rows, starts: NDArray[np.int64], n_per: int, weeks: float
) -> dict[str, NDArray[np.float64] | NDArray[np.bool_]]:
    """Metrics of the rows from their per-row results; ``starts`` [m] unclipped."""
    k0f = starts.astype(np.float64)
    any_short = rows.any
    unrecovered = any_short & (rows.last == n_per - 1)
    ttr = np.where(any_short, (rows.last + 1 - k0f) * weeks, 0.0)
    unmet = rows.unmet_sum
    demand_after = rows.demand_sum
    return {
        "time_to_shortage_weeks": np.where(any_short, (rows.first - k0f) * weeks, np.inf),
        "shortage_duration_weeks": rows.count * weeks,
        "longest_episode_weeks": rows.longest * weeks,
        "time_to_recover_weeks": np.where(unrecovered, np.inf, ttr),
        "unmet_t": unmet,
        "unmet_pct": np.divide(
            100.0 * unmet, demand_after, out=np.zeros_like(unmet), where=demand_after > 0
        ),
        "peak_shortfall": rows.peak,
        "resilience_loss_weeks": rows.shortfall_sum * weeks,
        "pre_shortage_weeks": rows.pre_count * weeks,
        "pre_unmet_t": rows.pre_unmet_sum,
        "any_shortage": any_short,
        "unrecovered": unrecovered,
    }


def _falls(demand: FloatArray, served: FloatArray) -> NDArray[np.bool_]:
    """[R, S] mask of the (replicate, sink) pairs served less than demand in some period."""
    n_rep, n_per, n_sink = demand.shape
    falls = np.zeros((n_rep, n_sink), dtype=bool)
    block = max(1, min(n_rep, 2 * _BLOCK_ELEMENTS // max(n_per * n_sink, 1)))
    below = np.empty((block, n_per, n_sink), dtype=bool)
    for lo in range(0, n_rep, block):
        hi = min(lo + block, n_rep)
        part = np.less(served[lo:hi], demand[lo:hi], out=below[: hi - lo])
        # Most blocks of a mild scenario have no such pair: one flat check skips them.
        if part.any():
            np.logical_or.reduce(part, axis=1, out=falls[lo:hi])
    return falls


def falls_short(
    demand: FloatArray, served: FloatArray, compiled: bool = False
) -> NDArray[np.bool_]:
    """[R, S] mask of the (replicate, sink) pairs served less than demand in some period.

    Parameters
    ----------
    demand, served
        [R, N, S] tonnes per period.
    compiled
        Use the numba kernel of :mod:`reesim.metrics_compiled` (the same mask).
    """
    if compiled:
        from reesim.metrics_compiled import falls as compiled_falls

        return compiled_falls(demand, served)
    return _falls(demand, served)


def shortage_metrics(
    demand: FloatArray,
    served: FloatArray,
    start: FloatArray,
    threshold: float,
    period_days: float,
    compiled: bool = False,
    falls: NDArray[np.bool_] | None = None,
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
    compiled
        Evaluate the rows with the numba kernel of :mod:`reesim.metrics_compiled`
        (needs numba) instead of NumPy: the same numbers to the last bit, about
        twice as fast where many rows fall short (docs/compiled.md).
    falls
        :func:`falls_short` of these series, when the caller has it already.

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
    if falls is None:
        falls = falls_short(demand, served, compiled)
    out: dict[str, NDArray[np.float64] | NDArray[np.bool_]] = {
        name: np.zeros((n_rep, n_sink)) for name in METRICS
    }
    out["time_to_shortage_weeks"] = np.full((n_rep, n_sink), np.inf)
    out["any_shortage"] = np.zeros((n_rep, n_sink), dtype=bool)
    out["unrecovered"] = np.zeros((n_rep, n_sink), dtype=bool)
    pairs = np.flatnonzero(falls)  # flat indices into [R, S]
    if pairs.size:
        rows_r, rows_s = np.divmod(pairs, n_sink)
        # Rows sorted by start: a block of rows then shares one start, or a narrow range.
        order = np.argsort(k0[rows_r], kind="stable")
        pairs, rows_r, rows_s = pairs[order], rows_r[order], rows_s[order]
        rows = _row_metrics(demand, served, rows_r, rows_s, k0, threshold, weeks, compiled)
        for name, values in rows.items():
            out[name].reshape(-1)[pairs] = values
    if missing.any():
        for name in METRICS:
            if not name.startswith("pre_"):
                out[name][missing] = np.nan
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
