"""Group metrics skip summing replicates whose grouped sinks never fall short."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from reesim.metrics import falls_short, shortage_metrics
from reesim.simulation import _group_falls, _group_series, _group_sum


@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.floats(0.0, 1.0))
@settings(max_examples=100, deadline=None)
def test_skipped_replicates_have_the_metrics_of_their_sums(
    seed: int, n_rep: int, short_share: float
) -> None:
    rng = np.random.default_rng(seed)
    n_per, n_sink = 20, 5
    demand = rng.random((n_rep, n_per, n_sink)) * 10.0
    demand[rng.random(demand.shape) < 0.1] = 0.0  # periods without demand
    served = demand.copy()
    dips = (rng.random((n_rep, 1, n_sink)) < short_share) & (rng.random(demand.shape) < 0.3)
    served = np.where(dips, served * rng.random(demand.shape), served)
    matrix = np.zeros((n_sink, 2))
    matrix[[0, 1, 2], 0] = 1.0
    matrix[[3, 4], 1] = 1.0
    start = np.where(rng.random(n_rep) < 0.2, np.nan, rng.integers(0, n_per, n_rep))
    falls = (served < demand).any(axis=1)

    d, s, rows = _group_series(SimpleNamespace(demand=demand, served=served), matrix, falls)
    assert np.array_equal(rows, np.flatnonzero(falls.any(axis=1)))
    # The falls of the summed rows alone are the falls of all of them.
    group_falls = _group_falls(d, s, rows, compiled=False)
    assert np.array_equal(group_falls, falls_short(d, s))
    got = shortage_metrics(d, s, start, 0.95, 7.0, falls=group_falls)
    full = shortage_metrics(
        _group_sum(demand, matrix), _group_sum(served, matrix), start, 0.95, 7.0
    )
    for name, values in full.items():
        np.testing.assert_array_equal(got[name], values, err_msg=name)
