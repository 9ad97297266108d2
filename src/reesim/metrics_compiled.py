"""Compiled (numba) row work of :func:`reesim.metrics.shortage_metrics`.

:func:`reesim.metrics.shortage_metrics` with ``compiled=True`` (what
``engine="numba"`` runs) evaluates its (replicate, sink) rows here instead
of in NumPy blocks; everything around the rows (which rows, their order, the
metrics made from the per-row results, the flags) stays shared in
:mod:`reesim.metrics`, so the two paths cannot drift apart.

The results are the NumPy path's to the last bit. Counts, first and last
periods and the longest run are integers, and the peak is a maximum, exact in
any order. The four sums (demand, unmet and shortfall at or after the start,
unmet before it) are where the order matters: NumPy sums each zero-padded
row of a contiguous block with pairwise summation, and ``np.add.reduce``
returns ``0.0 + pairwise(row)``. :func:`_row_sum` repeats that summation
(NumPy's ``pairwise_sum``: eight accumulators up to 128 values, halves cut at
a multiple of 8 above; :func:`_pairwise_plan`), and each row is laid out as NumPy lays it out,
zeros outside the periods a sum counts, so the same numbers are added in the
same order; the sums of gaps skip those zeros (:func:`_sparse_sum`), which
changes no addition but the ones of zero. No fast-math: the compiler may not
reorder or fuse the additions.

Every compiled function lives in this file: numba's on-disk cache notices a
change of a function's own file, not of the files its callees live in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from numpy.typing import NDArray

from reesim.parallel import spread

if TYPE_CHECKING:
    from reesim.metrics import _Rows

__all__ = ["falls", "fill_rows", "group_sum", "pairwise_sum"]

FloatArray = NDArray[np.float64]

# Compiled once and cached on disk; they release the GIL and divide as NumPy
# does (x / 0 is inf or nan, no ZeroDivisionError).
_jit = njit(cache=True, nogil=True, error_model="numpy")

#: Block size below which NumPy's pairwise summation adds with eight accumulators.
_PW_BLOCKSIZE = 128


#: The unsigned index type of the summation loops: numba checks a signed index
#: for wrap-around (a negative index counts from the end) on every access, which
#: more than doubles the time of a sum; an unsigned one needs no check.
_U = np.uint64


def _pairwise_plan(n: int) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """The order in which NumPy's ``pairwise_sum`` adds ``n`` values, as a program.

    NumPy sums up to 128 values in one *leaf* (:func:`_leaf`); above that it
    sums two halves, cut at a multiple of 8, and adds them. The tree depends
    only on ``n``, the same for every row, so it is laid out once here (in
    Python, by NumPy's own recursion) and run by :func:`_row_sum` for each row.

    Returns
    -------
    leaf_lo, leaf_n : numpy.ndarray
        [L] int64 first index and length of each leaf, left to right.
    program : numpy.ndarray
        int64 postfix program: ``j >= 0`` pushes the sum of leaf ``j``, ``-1``
        pops the right and the left sum and pushes left + right.
    """
    leaves: list[tuple[int, int]] = []
    program: list[int] = []

    def split(lo: int, m: int) -> None:
        if m <= _PW_BLOCKSIZE:
            program.append(len(leaves))
            leaves.append((lo, m))
            return
        m2 = m // 2
        m2 -= m2 % 8
        split(lo, m2)
        split(lo + m2, m - m2)
        program.append(-1)

    split(0, n)
    leaf_lo = np.array([lo for lo, _ in leaves], dtype=np.int64)
    leaf_n = np.array([m for _, m in leaves], dtype=np.int64)
    return leaf_lo, leaf_n, np.array(program, dtype=np.int64)


@_jit
def _leaf(a, lo, n):
    """NumPy's ``pairwise_sum`` of ``a[lo : lo + n]`` for n <= 128: the same additions."""
    b = a[lo : lo + n]
    if n < 8:
        # NumPy starts from -0.0 (keeps the sign of a zero sum); the caller's
        # 0.0 + ... makes that moot, but the order of additions is the point.
        res = -0.0
        for i in range(n):
            res += b[i]
        return res
    # Eight accumulators over every eighth value, then a fixed tree, then the rest.
    r0 = b[0]
    r1 = b[1]
    r2 = b[2]
    r3 = b[3]
    r4 = b[4]
    r5 = b[5]
    r6 = b[6]
    r7 = b[7]
    end = n - n % 8
    u = _U(8)
    while u < _U(end):
        r0 += b[u]
        r1 += b[u + _U(1)]
        r2 += b[u + _U(2)]
        r3 += b[u + _U(3)]
        r4 += b[u + _U(4)]
        r5 += b[u + _U(5)]
        r6 += b[u + _U(6)]
        r7 += b[u + _U(7)]
        u += _U(8)
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for j in range(end, n):
        res += b[j]
    return res


@_jit
def _row_sum(a, leaf_lo, leaf_n, program, value):
    """``np.add.reduce`` of ``a`` [n]: 0.0 (the identity) + NumPy's pairwise sum.

    ``leaf_lo, leaf_n, program`` come from :func:`_pairwise_plan` for ``n``;
    ``value`` is float64 scratch at least as long as ``program``.
    """
    nv = 0
    for j in range(program.shape[0]):
        op = program[j]
        if op >= 0:
            value[nv] = _leaf(a, leaf_lo[op], leaf_n[op])
            nv += 1
        else:  # both halves done: left + right
            nv -= 1
            value[nv - 1] = value[nv - 1] + value[nv]
    return 0.0 + value[0]


@_jit
def _sparse_sum(pos, x, a, b, leaf_lo, leaf_n, program, value, acc):
    """:func:`_row_sum` of a row that is zero but for ``x[a:b]`` at ``pos[a:b]`` (ascending).

    Zeros are the identity of every addition in the sum (they can only turn
    a zero's sign, which the closing ``0.0 +`` sets anyway), so leaving them
    out adds the other values into the same accumulators in the same order:
    the same number to the last bit, in time of the nonzero values only.
    ``acc`` is float64 scratch of 8.
    """
    i = a
    nv = 0
    for j in range(program.shape[0]):
        op = program[j]
        if op < 0:  # both halves done: left + right
            nv -= 1
            value[nv - 1] = value[nv - 1] + value[nv]
            continue
        lo = leaf_lo[op]
        n = leaf_n[op]
        hi = lo + n
        if n < 8:
            res = -0.0
        else:  # value lo + 8q + m goes to accumulator m; the last n % 8 values after the tree
            end = hi - n % 8
            for m in range(8):
                acc[m] = 0.0
            while i < b and pos[i] < end:
                acc[(pos[i] - lo) & 7] += x[i]
                i += 1
            res = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
        while i < b and pos[i] < hi:
            res += x[i]
            i += 1
        value[nv] = res
        nv += 1
    return 0.0 + value[0]


@_jit
def _fill_rows(demand, served, rows_r, rows_s, within, limit, leaf_lo, leaf_n, program,
               lo, hi, first, last, count, longest, pre_count, any_short, demand_sum,
               unmet_sum, pre_unmet_sum, shortfall_sum, peak):  # fmt: skip
    """Per-row results of rows ``lo:hi`` of ``rows_r, rows_s`` with starts ``within``.

    See :func:`fill_rows`. The scratch rows are this call's own, so calls on
    disjoint ranges can run in threads at once.
    """
    n_per = demand.shape[1]
    # The demand row as NumPy sums it (zeros before the start), and the periods with a
    # nonzero gap (most are served in full): their gaps, and shortfalls from the start on.
    # The three sums of gaps and shortfalls run over those alone (_sparse_sum).
    dem = np.empty(n_per)
    pos = np.empty(n_per, dtype=np.int64)
    gap = np.empty(n_per)
    fall = np.empty(n_per)
    value = np.empty(program.shape[0])
    acc = np.empty(8)
    for i in range(lo, hi):
        r = rows_r[i]
        s = rows_s[i]
        k = within[i]
        pre = 0
        m = 0
        for t in range(k):
            d = demand[r, t, s]
            v = served[r, t, s]
            # gap = np.maximum(d - v, 0.0): NaN stays NaN, as in NumPy.
            g = d - v
            g = 0.0 if g < 0.0 else g
            dem[t] = 0.0
            if g != 0.0:  # (NaN too)
                pos[m] = t
                gap[m] = g
                m += 1
            # As short_periods: demand > 0 and served < limit * demand.
            pre += (d > 0.0) & (v < d * limit)
        before = m
        n_short = 0
        run = 0
        top = 0
        head = 0
        tail = 0
        # np.maximum.reduce over the padded row: the zeros before the start and
        # every shortfall are >= +0.0 (a gap is never below +0.0 where demand
        # is positive), so 0.0 is a neutral start, and a zero gap's shortfall
        # (0.0) never raises it; NaN wins.
        high = 0.0
        nan = False
        for t in range(k, n_per):
            d = demand[r, t, s]
            v = served[r, t, s]
            g = d - v
            g = 0.0 if g < 0.0 else g
            positive = d > 0.0
            dem[t] = d
            if g != 0.0:
                # shortfall = gap / demand, mended to 0 where demand is not positive
                f = g / d if positive else 0.0
                pos[m] = t
                gap[m] = g
                fall[m] = f
                m += 1
                high = f if f > high else high
                nan |= f != f
            if positive and v < d * limit:
                if n_short == 0:
                    head = t
                tail = t
                n_short += 1
                run += 1
                top = max(top, run)
            else:
                run = 0
        pre_count[i] = float(pre)
        if n_short > 0:
            any_short[i] = True
            first[i] = head
            last[i] = tail
            count[i] = n_short
            longest[i] = top
        demand_sum[i] = _row_sum(dem, leaf_lo, leaf_n, program, value)
        pre_unmet_sum[i] = _sparse_sum(pos, gap, 0, before, leaf_lo, leaf_n, program, value, acc)
        unmet_sum[i] = _sparse_sum(pos, gap, before, m, leaf_lo, leaf_n, program, value, acc)
        shortfall_sum[i] = _sparse_sum(pos, fall, before, m, leaf_lo, leaf_n, program, value, acc)
        peak[i] = np.nan if nan else high


@_jit
def _falls(demand, served, out, lo, hi):
    """Set ``out[r, s]`` for replicates ``lo:hi`` where served < demand in some period.

    NaN compares False: a period with NaN demand or served is not a fall.
    ``demand`` and ``served`` are C-contiguous (several sinks: a replicate's
    [N, S] block is read as one row).
    """
    n_per = demand.shape[1]
    n_sink = demand.shape[2]
    if n_sink == 1:
        # One sink: stop at its first shortfall.
        for r in range(lo, hi):
            for t in range(n_per):
                if served[r, t, 0] < demand[r, t, 0]:
                    out[r, 0] = True
                    break
        return
    # Several sinks: compare without a branch, a step of ``periods`` whole periods
    # (at least 32 values) at a time into ``acc``, whose value k belongs to sink
    # k % S. A loop over the S sinks of one period is too short for vector
    # instructions when S is small, and a branch per value mispredicts where
    # falls are common.
    periods = max(1, 32 // n_sink)
    width = periods * n_sink
    steps = n_per // periods
    n = n_per * n_sink
    acc = np.empty(width, dtype=np.bool_)
    for r in range(lo, hi):
        d = demand[r].reshape(n)
        v = served[r].reshape(n)
        acc[:] = False
        for q in range(steps):
            dq = d[q * width : (q + 1) * width]
            vq = v[q * width : (q + 1) * width]
            for k in range(width):
                acc[k] |= vq[k] < dq[k]
        done = steps * width
        for k in range(n - done):
            acc[k] |= v[done + k] < d[done + k]
        row = out[r]
        for k in range(width):
            row[k % n_sink] |= acc[k]


@_jit
def _group_sum(flat, ptr, sinks, out, lo, hi):
    """Rows ``lo:hi`` of ``out`` [n, G]: group g sums ``flat`` [n, S] over ``sinks[ptr[g]:ptr[g+1]]``.

    From 0.0, sink by sink in the order given, as :func:`reesim.simulation._group_sum`.
    Rows go eight at a time: eight independent sums keep the adder busy where one
    row's sum would wait on each addition.
    """
    acc = np.empty(8)
    for i0 in range(lo, hi, 8):
        m = min(8, hi - i0)
        for g in range(out.shape[1]):
            for k in range(m):
                acc[k] = 0.0
            for j in range(ptr[g], ptr[g + 1]):
                s = sinks[j]
                for k in range(m):
                    acc[k] += flat[i0 + k, s]
            for k in range(m):
                out[i0 + k, g] = acc[k]


#: Work worth a thread of its own: rows x periods of :func:`_fill_rows`, and
#: values compared by :func:`_falls`. Starting and joining a thread costs
#: 0.15-0.2 ms; two threads gain from about twice these amounts of work, which
#: take 0.5-0.7 ms on one core (measured on a 2-core machine).
_FILL_SPLIT = 100_000
_FALLS_SPLIT = 1_000_000
_GROUP_SPLIT = 1_000_000


def fill_rows(
    rows: _Rows,
    demand: FloatArray,
    served: FloatArray,
    rows_r: NDArray[np.intp],
    rows_s: NDArray[np.intp],
    within: NDArray[np.int64],
    limit: float,
) -> None:
    """Fill the per-row results of ``rows`` as :func:`reesim.metrics._block` does.

    Parameters
    ----------
    rows
        Per-row results to fill (``first``, ``last``, ``count``, ``longest``:
        periods; ``pre_count``: periods as float; ``*_sum``: tonnes, or
        shares for ``shortfall_sum``; ``peak``: share; ``any``).
    demand, served
        [R, N, S] tonnes per period.
    rows_r, rows_s
        [m] replicate and sink of each row.
    within
        [m] start period of each row, clipped to 0..N (N: every period before it).
    limit
        Served share below which a period is short (threshold - 1e-9).
    """
    if demand.shape[1] == 0 or rows_r.size == 0:
        return
    leaf_lo, leaf_n, program = _pairwise_plan(demand.shape[1])
    args = (
        demand,
        served,
        np.ascontiguousarray(rows_r, dtype=np.int64),
        np.ascontiguousarray(rows_s, dtype=np.int64),
        np.ascontiguousarray(within, dtype=np.int64),
        float(limit),
        leaf_lo,
        leaf_n,
        program,
    )
    results = (
        rows.first,
        rows.last,
        rows.count,
        rows.longest,
        rows.pre_count,
        rows.any,
        rows.demand_sum,
        rows.unmet_sum,
        rows.pre_unmet_sum,
        rows.shortfall_sum,
        rows.peak,
    )
    spread(
        rows_r.size,
        rows_r.size * demand.shape[1] // _FILL_SPLIT,
        lambda lo, hi: _fill_rows(*args, lo, hi, *results),
    )


def falls(demand: FloatArray, served: FloatArray) -> NDArray[np.bool_]:
    """[R, S] mask of the (replicate, sink) pairs served less than demand in some period.

    Parameters
    ----------
    demand, served
        [R, N, S] tonnes per period.

    Returns
    -------
    numpy.ndarray
        [R, S] bool, as :func:`reesim.metrics._falls`.
    """
    out = np.zeros((demand.shape[0], demand.shape[2]), dtype=bool)
    if out.size and demand.shape[1]:
        demand = np.ascontiguousarray(demand)
        served = np.ascontiguousarray(served)
        spread(
            out.shape[0],
            demand.size // _FALLS_SPLIT,
            lambda lo, hi: _falls(demand, served, out, lo, hi),
        )
    return out


def group_sum(series: FloatArray, matrix: NDArray[np.float64]) -> FloatArray:
    """Sink series summed into groups, as :func:`reesim.simulation._group_sum` sums them.

    Parameters
    ----------
    series
        [R, N, S] tonnes per period.
    matrix
        [S, G] 0/1: sink s belongs to group g.

    Returns
    -------
    numpy.ndarray
        [R, N, G] tonnes per period, the same doubles as the NumPy sum.
    """
    flat = np.ascontiguousarray(series).reshape(-1, series.shape[2])
    members = [np.flatnonzero(matrix[:, g]) for g in range(matrix.shape[1])]
    ptr = np.cumsum([0, *(m.size for m in members)]).astype(np.int64)
    sinks = np.concatenate([np.zeros(0, dtype=np.int64), *members]).astype(np.int64)
    out = np.empty((flat.shape[0], matrix.shape[1]))
    spread(
        out.shape[0],
        flat.size // _GROUP_SPLIT,
        lambda lo, hi: _group_sum(flat, ptr, sinks, out, lo, hi),
    )
    return out.reshape(*series.shape[:2], matrix.shape[1])


def pairwise_sum(values: FloatArray) -> float:
    """``np.add.reduce`` of a 1-D float64 array, by the compiled pairwise summation.

    Parameters
    ----------
    values
        [n] any float64 values.

    Returns
    -------
    float
        The sum, equal to ``np.add.reduce(values)`` to the last bit.
    """
    a = np.ascontiguousarray(values, dtype=np.float64)
    if a.size == 0:
        return 0.0
    leaf_lo, leaf_n, program = _pairwise_plan(a.size)
    return float(_row_sum(a, leaf_lo, leaf_n, program, np.empty(program.size)))
