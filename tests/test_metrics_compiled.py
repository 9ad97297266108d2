"""The compiled shortage metrics (``compiled=True``) equal the NumPy ones to the last bit.

Every output of :func:`reesim.metrics.shortage_metrics`, metrics and flags, must
be the same array (NaN where NaN, the same sign of every zero) on random series
that reach every branch of the row work: one to ~300 periods (pairwise sums
below 8, up to 128 and split above, lengths off a multiple of 8), zero and
negative demand, served above, at, just below and exactly at the threshold,
starts before the horizon, inside it, at its end and missing, one sink and
several, rows in one NumPy block and in several. The module is skipped when
numba is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("numba")

import reesim.metrics_compiled as mc  # noqa: E402
from reesim.metrics import shortage_metrics  # noqa: E402
from reesim.simulation import simulate  # noqa: E402
from tests.helpers import CN_MAGNET_BAN, chain, day, two_stage  # noqa: E402

PERIODS = st.one_of(
    st.integers(1, 9),
    st.integers(8, 130),
    st.integers(129, 300),
    st.sampled_from([1, 7, 8, 9, 16, 127, 128, 129, 136, 255, 256, 257, 300]),
)
STARTS = ("random", "shared", "before", "at_end", "missing", "mixed")


def assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    """Same keys, dtypes and values; NaN where NaN and the same sign of every zero."""
    assert a.keys() == b.keys()
    for name in a:
        x, y = np.asarray(a[name]), np.asarray(b[name])
        assert x.dtype == y.dtype, name
        assert np.array_equal(x, y, equal_nan=True), name
        if x.dtype.kind == "f":
            assert np.array_equal(np.signbit(x), np.signbit(y)), name


def series(
    rng: np.random.Generator, n_rep: int, n_per: int, n_sink: int, threshold: float, calm: float
) -> tuple[np.ndarray, np.ndarray]:
    """Demand and served [R, N, S] mixing every case the row work distinguishes."""
    shape = (n_rep, n_per, n_sink)
    # Magnitudes over 18 decades: a sum in any other order than NumPy's differs.
    demand = rng.random(shape) * 10.0 ** rng.integers(-6, 12, shape)
    kind = rng.random(shape)
    demand[kind < 0.08] = 0.0
    demand[(kind >= 0.08) & (kind < 0.12)] *= -1.0
    demand[(kind >= 0.12) & (kind < 0.13)] = -0.0
    served = demand * rng.random(shape) * 1.4
    how = rng.integers(0, 6, shape)
    limit = threshold - 1e-9
    served[how == 0] = demand[how == 0]  # served in full
    tie = limit * demand
    served[how == 1] = tie[how == 1]  # exactly at the threshold: not short
    served[how == 2] = np.nextafter(tie, -np.inf)[how == 2]  # just below it: short
    served[how == 3] = demand[how == 3] * 1.5  # more than demand
    # Some sinks of some replicates never fall short: the rows left out.
    full = rng.random((n_rep, 1, n_sink)) < calm
    served = np.where(full, np.maximum(served, demand), served)
    return demand, served


def starts(rng: np.random.Generator, n_rep: int, n_per: int, how: str) -> np.ndarray:
    """[R] disruption starts (NaN: the event is missing) of one of the kinds in STARTS."""
    if how == "shared":
        return np.full(n_rep, float(rng.integers(0, n_per + 1)))
    if how == "before":
        return -rng.integers(1, 5, n_rep).astype(np.float64)
    if how == "at_end":
        return np.full(n_rep, float(n_per))
    if how == "missing":
        return np.full(n_rep, np.nan)
    start = rng.integers(-3, n_per + 4, n_rep).astype(np.float64)
    if how == "mixed":
        start[rng.random(n_rep) < 0.3] = np.nan
    return start


@given(
    n_per=PERIODS,
    n_rep=st.integers(1, 40),
    n_sink=st.integers(1, 4),
    threshold=st.sampled_from([1.0, 0.99, 0.9, 0.5]),
    calm=st.sampled_from([0.0, 0.0, 0.5, 0.95]),
    start_kind=st.sampled_from(STARTS),
    seed=st.integers(0, 2**32 - 1),
)
def test_compiled_metrics_equal_numpy(
    n_per: int,
    n_rep: int,
    n_sink: int,
    threshold: float,
    calm: float,
    start_kind: str,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    demand, served = series(rng, n_rep, n_per, n_sink, threshold, calm)
    start = starts(rng, n_rep, n_per, start_kind)
    expected = shortage_metrics(demand, served, start, threshold, 7.0)
    got = shortage_metrics(demand, served, start, threshold, 7.0, compiled=True)
    assert_same(expected, got)


@given(n_per=PERIODS, seed=st.integers(0, 2**32 - 1))
def test_compiled_metrics_equal_numpy_on_views(n_per: int, seed: int) -> None:
    """Non-contiguous series (a slice of a longer run's sinks) give the same numbers."""
    rng = np.random.default_rng(seed)
    demand, served = series(rng, 12, n_per, 5, 0.99, 0.0)
    start = starts(rng, 12, n_per, "mixed")
    d, s = demand[::2, :, 1:4], served[::2, :, 1:4]
    assert_same(
        shortage_metrics(d, s, start[::2], 0.99, 1.0),
        shortage_metrics(d, s, start[::2], 0.99, 1.0, compiled=True),
    )


def test_every_block_of_numpy_rows() -> None:
    """Many rows of 300 periods: NumPy evaluates them in several blocks with their own
    start ranges; the compiled rows match every block."""
    rng = np.random.default_rng(5)
    demand, served = series(rng, 300, 300, 2, 0.99, 0.1)
    start = starts(rng, 300, 300, "mixed")
    assert_same(
        shortage_metrics(demand, served, start, 0.99, 1.0),
        shortage_metrics(demand, served, start, 0.99, 1.0, compiled=True),
    )


@pytest.mark.parametrize("n_sink", [1, 3])
def test_compiled_falls(n_sink: int) -> None:
    rng = np.random.default_rng(2)
    demand, served = series(rng, 30, 20, n_sink, 0.99, 0.5)
    served[0, 3, 0] = np.nan  # NaN compares False in both
    served[1] = demand[1]  # served in full, not less: no fall
    expected = np.asarray((served < demand).any(axis=1))
    assert not expected[1].any()
    assert np.array_equal(mc.falls(demand, served), expected)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf / inf in unmet_pct
def test_non_finite_series() -> None:
    """Infinite demand and NaN served (NaN shortfalls, NaN and infinite sums) give the
    same arrays too: NaN in the peak wherever NumPy has it."""
    rng = np.random.default_rng(4)
    demand, served = series(rng, 20, 150, 2, 0.99, 0.0)
    demand[rng.random(demand.shape) < 0.01] = np.inf
    served[rng.random(served.shape) < 0.01] = np.nan
    served[rng.random(served.shape) < 0.01] = -np.inf
    start = starts(rng, 20, 150, "mixed")
    expected = shortage_metrics(demand, served, start, 0.99, 1.0)
    assert np.isnan(expected["peak_shortfall"]).any()
    assert_same(expected, shortage_metrics(demand, served, start, 0.99, 1.0, compiled=True))


def test_pairwise_sum_equals_numpy_reduce() -> None:
    """NumPy's add.reduce to the last bit for n = 0..2000 and some long rows, on values
    over 24 decades where a plain running sum does differ."""
    rng = np.random.default_rng(11)
    running_differs = 0
    for n in [*range(2001), 4099, 8192, 8193, 100_003]:
        x = rng.standard_normal(n) * 10.0 ** rng.integers(-12, 13, n)
        expected = np.add.reduce(x)
        got = mc.pairwise_sum(x)
        assert np.float64(got).view(np.int64) == expected.view(np.int64), n
        if n % 97 == 1:  # a sum of negative zeros: the identity 0.0 makes it +0.0
            zeros = np.full(n, -0.0)
            assert np.signbit(mc.pairwise_sum(zeros)) == np.signbit(np.add.reduce(zeros))
        if n <= 2000:
            running = 0.0
            for v in x:
                running += float(v)
            running_differs += running != expected
    assert running_differs > 500  # the data tell the summation orders apart


def test_pairwise_sum_of_a_block_row() -> None:
    """Row sums of a [n, N] block (how _block sums) are the 1-D pairwise sums."""
    rng = np.random.default_rng(12)
    for n_per in (5, 100, 365, 1000):
        x = rng.standard_normal((7, n_per)) * 10.0 ** rng.integers(-12, 13, (7, n_per))
        sums = np.add.reduce(x, axis=1)
        assert [mc.pairwise_sum(row) for row in x] == list(sums)


CN_BAN = [CN_MAGNET_BAN]
SEP_CUT = {
    "id": "cut",
    "kind": "capacity_change",
    "facilities": ["sep"],
    "factor": 0.05,
    "start": {"dist": "uniform", "low": day(40), "high": day(200)},
    "duration_days": {"dist": "lognormal", "median": 80, "p90": 200},
}


@pytest.mark.filterwarnings("ignore:.*never ships:reesim.errors.ReesimWarning")
@pytest.mark.parametrize("name", ["two_stage", "chain"])
def test_numba_run_metrics_equal_vector_run(name: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """engine="numba" evaluates metrics with the compiled kernel, and they equal the
    vector engine's to the last bit (its series are the same doubles)."""
    if name == "two_stage":
        scenario = two_stage([*CN_BAN, SEP_CUT])  # its idle stockpile warns
    else:
        scenario = chain(events=CN_BAN, cover_weeks=2.0, weeks=52)
    calls = []
    fill_rows = mc.fill_rows

    def counted(*args, **kw):  # type: ignore[no-untyped-def]
        calls.append(1)
        return fill_rows(*args, **kw)

    monkeypatch.setattr(mc, "fill_rows", counted)
    fast = simulate(scenario, replicates=200, seed=3, engine="numba", record="sinks")
    assert calls  # the numba run took the compiled path
    n_calls = len(calls)
    slow = simulate(scenario, replicates=200, seed=3, engine="vector", record="sinks")
    assert len(calls) == n_calls  # the vector run did not
    for name in ("demand", "served"):
        assert np.array_equal(fast.series[name], slow.series[name])
    assert fast.metrics_by.keys() == slow.metrics_by.keys()
    shortages = 0
    for by, (_, values) in fast.metrics_by.items():
        assert_same(slow.metrics_by[by][1], values)
        shortages += int(np.asarray(values["any_shortage"]).sum())
    assert shortages > 0  # the event does make sinks short


def split_rows(n_sink: int) -> tuple[np.ndarray, ...]:
    """Series and sorted rows of 301 replicates x 260 periods, as shortage_metrics makes them."""
    rng = np.random.default_rng(21)
    demand, served = series(rng, 301, 260, n_sink, 0.99, 0.1)
    start = starts(rng, 301, 260, "shared")  # one start: rows stay in replicate order
    falls = mc.falls(demand, served)
    rows_r, rows_s = np.divmod(np.flatnonzero(falls), n_sink)
    within = np.clip(np.nan_to_num(start).astype(np.int64)[rows_r], 0, 260)
    return demand, served, start, rows_r, rows_s, within


def test_rows_split_inside_a_replicate() -> None:
    """Rows filled in two ranges, cut between two sinks of one replicate, equal the
    rows filled in one range: each range starts from its own scratch rows."""
    from reesim.metrics import _Rows

    demand, served, _, rows_r, rows_s, within = split_rows(3)
    m = rows_r.size
    cut = m // 2
    while rows_r[cut - 1] != rows_r[cut]:
        cut += 1
    leaf_lo, leaf_n, program = mc._pairwise_plan(260)
    args = (demand, served, rows_r, rows_s, within, 0.99 - 1e-9, leaf_lo, leaf_n, program)
    whole, parts = _Rows(m, 260, 0), _Rows(m, 260, 0)
    fields = ("first", "last", "count", "longest", "pre_count", "any", "demand_sum")
    fields += ("unmet_sum", "pre_unmet_sum", "shortfall_sum", "peak")
    mc._fill_rows(*args, 0, m, *(getattr(whole, f) for f in fields))
    for lo, hi in ((cut, m), (0, cut)):
        mc._fill_rows(*args, lo, hi, *(getattr(parts, f) for f in fields))
    for f in fields:
        assert np.array_equal(getattr(whole, f), getattr(parts, f), equal_nan=True), f
    assert whole.any.all() and whole.count.sum() > 0  # every row falls short somewhere


@pytest.fixture
def set_threads():  # type: ignore[no-untyped-def]
    """numba.set_num_threads for one test; the thread count is restored afterwards."""
    import numba

    before = numba.get_num_threads()
    yield numba.set_num_threads
    numba.set_num_threads(before)


@pytest.mark.parametrize("n_sink", [1, 3])
def test_thread_count_does_not_change_results(set_threads, monkeypatch, n_sink: int) -> None:  # type: ignore[no-untyped-def]
    """Rows and replicates enough to be split over two threads give the same arrays
    with one thread and with two, and the NumPy ones."""
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has one thread here")
    demand, served, start, _, _, _ = split_rows(n_sink)
    # Little work per thread, so that every call here is split.
    monkeypatch.setattr(mc, "_FILL_SPLIT", 1000)
    monkeypatch.setattr(mc, "_FALLS_SPLIT", 1000)
    ranges: list[tuple[int, int]] = []
    fill, falls = mc._fill_rows, mc._falls

    def fill_spy(*args):  # type: ignore[no-untyped-def]
        ranges.append(args[9:11])  # lo, hi
        return fill(*args)

    def falls_spy(*args):  # type: ignore[no-untyped-def]
        ranges.append(args[3:5])
        return falls(*args)

    monkeypatch.setattr(mc, "_fill_rows", fill_spy)
    monkeypatch.setattr(mc, "_falls", falls_spy)
    results = {}
    for n in (1, 2):
        set_threads(n)
        ranges.clear()
        results[n] = shortage_metrics(demand, served, start, 0.99, 1.0, compiled=True)
        results[n]["falls"] = mc.falls(demand, served)
        # Falls twice (in shortage_metrics and here) and the rows once, each in n ranges.
        assert len(ranges) == 3 * n
        if n == 2:
            (a, b), (c, d) = sorted(ranges[-2:])  # falls: two ranges that meet
            assert (a, d) == (0, 301) and 0 < b == c < 301
    assert_same(results[1], results[2])
    expected = shortage_metrics(demand, served, start, 0.99, 1.0)
    expected["falls"] = (served < demand).any(axis=1)
    assert_same(expected, results[2])


@pytest.mark.parametrize("n_sink", [2, 5, 7, 16, 33, 42])
@pytest.mark.parametrize("n_per", [1, 3, 6, 104])
def test_compiled_falls_several_sinks(n_sink: int, n_per: int) -> None:
    """The branch-free compare of several sinks: NaN is no fall, a tie is none, the
    least step below demand is one, in every period position (whole steps of
    periods and the periods after them) and every sink."""
    rng = np.random.default_rng(n_sink * 1000 + n_per)
    n_rep = 4 * n_per * n_sink
    demand = rng.random((n_rep, n_per, n_sink)) + 1.0
    served = demand.copy()  # ties everywhere: no fall
    nan = rng.random(demand.shape) < 0.2
    served[nan] = np.nan
    demand[rng.random(demand.shape) < 0.1] = np.nan
    # Replicate r falls in one (period, sink) only, at position r of the flat [N, S]
    # block, in the first quarter; other replicates also get NaN-only series.
    for r in range(n_per * n_sink):
        t, j = divmod(r, n_sink)
        demand[r, t, j] = 2.0
        served[r, t, j] = np.nextafter(2.0, 0.0)
    served[-3:] = np.nan
    expected = np.asarray((served < demand).any(axis=1))
    assert expected[: n_per * n_sink].sum() == n_per * n_sink
    assert not expected[-3:].any()
    assert np.array_equal(mc.falls(demand, served), expected)
    # A non-contiguous view is compared as its values, too.
    assert np.array_equal(mc.falls(demand[::2], served[::2]), expected[::2])


@given(
    n_rep=st.integers(1, 30),
    n_per=st.integers(1, 40),
    n_sink=st.integers(1, 9),
    n_group=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_compiled_group_sum_equals_numpy(
    n_rep: int, n_per: int, n_sink: int, n_group: int, seed: int
) -> None:
    """Sink series summed into groups: the same doubles as the NumPy sum, in views too."""
    from reesim.simulation import _group_sum

    rng = np.random.default_rng(seed)
    series = rng.random((n_rep, n_per, n_sink)) * 10.0 ** rng.integers(-6, 12, (1, 1, n_sink))
    series[rng.random(series.shape) < 0.05] = np.nan
    matrix = (rng.random((n_sink, n_group)) < 0.6).astype(np.float64)  # a group may be empty
    for x in (series, series[::2]):
        assert mc.group_sum(x, matrix).tobytes() == _group_sum(x, matrix).tobytes()
