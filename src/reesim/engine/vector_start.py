"""The steady start of the vectorised core (MODEL section 4).

Before period 0 every replicate is put in a steady state: flows that meet
today's demand through the network at today's shares, a pipeline full of
them, buyers holding their cover, producers holding their output cap. The
arrays are the core's [X, R] (see :mod:`reesim.engine.vector`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from reesim.engine.rows import RowSum, transposed
from reesim.engine.state import PeriodState

if TYPE_CHECKING:
    from reesim.engine.vector import _Core

__all__ = ["steady_start"]


def steady_start(core: _Core, st: PeriodState) -> list[str]:
    """Set the chunk's stocks and pipeline for period 0; return warnings about deficits.

    Parameters
    ----------
    core
        The chunk's core, with zero stocks.
    st
        The state of period 0.

    Returns
    -------
    list of str
        One message per facility that cannot meet its steady demand at the
        start (the deficit then shows as pre-disruption shortage).
    """
    plan, p = core.plan, core.smp.params
    core.derive(st)
    sp_h = plan.fac_out_h[plan.fac_is_stockpile]
    override = transposed(p["hold_init"])
    known = ~np.isnan(override)
    core.inv[sp_h] = np.nan_to_num(override[sp_h])
    core.inv = np.where(known, override, core.inv)
    open_ = core.route_open(st)
    share = core.pull_shares(st, open_)

    # Fixed point of demand flowing upstream: what each route carries when every
    # facility makes what its buyers take (within capacity) and orders its inputs.
    by_src = RowSum(plan.route_src_h, plan.n_holdings)
    need = np.zeros_like(core.inv)
    need[plan.sink_h] = st.want
    cap_dt = core.cap_prod
    for _ in range(max(50, 4 * (plan.n_facilities + plan.n_sinks))):
        flow = need[plan.route_dst_h] * share
        take = by_src(flow)
        act = np.minimum(take[plan.fac_out_h], cap_dt)
        new_need = need.copy()
        new_need[plan.in_h] = act[plan.in_fac] * core.in_amount
        if np.array_equal(new_need, need):
            break
        need = new_need
    warnings = []
    deficit = take[plan.fac_out_h] - cap_dt
    for f in np.flatnonzero((deficit > 1e-9 * np.maximum(cap_dt, 1e-300)).any(axis=1)):
        worst = float(deficit[f].max() / plan.dt)
        warnings.append(
            f"facility '{plan.facility_ids[f]}' cannot meet its steady demand at the start: "
            f"short by up to {worst:,.0f} t/yr (reported as pre-disruption shortage)"
        )

    transit = core.lead + st.delay
    core.ring.start(flow, transit)
    core.pipe = core.by_dst(flow * transit)
    usage = core.usage
    usage[core.sink_b] = st.want
    buyer_stock = np.maximum(0.0, usage * core.cover_elt - core.pipe)
    out_stock = np.maximum(0.0, core.cap_level - take[plan.fac_out_h])
    inv = np.zeros_like(core.inv)
    inv[core.buy_rows] = buyer_stock
    inv[core.out_h] = np.where(core.producer, out_stock, inv[core.out_h])
    inv[sp_h] = core.inv[sp_h]
    core.inv = np.where(known, override, inv)
    return warnings
