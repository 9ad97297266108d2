"""The vectorised core: every replicate of a chunk advances one period at a time.

All work inside a period is whole-array NumPy over (replicates x holdings),
(replicates x facilities) or (replicates x routes); the only Python loop is
over periods (plus a loop over the few distinct priority classes). Shipments
in transit live in a ring buffer indexed by arrival period. The order of work
inside a period is the model's (docs/model.md, "One period"):

1. state (events) -> 2. receive -> 3. produce -> 4. consume -> 5. order ->
6. allocate and ship -> 7. record.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from reesim.engine.output import ChunkOutput, new_output, sum_columns
from reesim.engine.state import GroupSum, PeriodState, StateBuilder
from reesim.plan import Plan
from reesim.sampling import Samples

__all__ = ["run_vector"]

FloatArray = NDArray[np.float64]


class _Core:
    """State arrays and precomputed index structures of one chunk."""

    def __init__(self, plan: Plan, smp: Samples) -> None:
        self.plan, self.smp = plan, smp
        n_rep, n_h = smp.n, plan.n_holdings
        self.states = StateBuilder(plan, smp)
        p = smp.params
        self.in_amount = p["in_amount"]
        self.co_amount = p["co_amount"]
        self.by_amount = p["by_amount"]
        self.cap_periods = p["fac_output_cap_weeks"] * 7.0 / plan.period_days
        self.route_cap_dt = p["route_capacity"] * plan.dt
        self.lead = smp.route_lead.astype(np.float64)
        self.by_dst = GroupSum(n_rep, plan.route_dst_h, n_h)
        self.by_src = GroupSum(n_rep, plan.route_src_h, n_h)
        # Cover in periods for every buyer holding (inputs and sinks).
        self.cover = np.zeros((n_rep, n_h))
        self.cover[:, plan.in_h] = p["in_cover_weeks"] * 7.0 / plan.period_days
        self.cover[:, plan.sink_h] = p["sink_cover_weeks"] * 7.0 / plan.period_days
        self.is_buyer = np.zeros(n_h, dtype=bool)
        self.is_buyer[plan.in_h] = True
        self.is_buyer[plan.sink_h] = True
        # Facilities with inputs, and where each one's inputs start (inputs are
        # stored grouped by facility, so a reduceat gives the scarcest input).
        self.fac_with_inputs, starts = np.unique(plan.in_fac, return_index=True)
        self.in_starts = starts
        self.producer = ~plan.fac_is_stockpile
        self.from_sp = plan.route_from_stockpile
        self.src_fac = plan.route_src_fac
        max_delay = int(smp.licence_delay.max()) if smp.licence_delay.size else 0
        max_lead = int(smp.route_lead.max()) if smp.route_lead.size else 1
        self.ring_len = max_lead + max_delay + 1
        self.ring = np.zeros((self.ring_len, n_rep, plan.n_routes))
        self.rep_route = np.arange(n_rep)[:, None] * plan.n_routes + np.arange(plan.n_routes)
        self.inv = np.zeros((n_rep, n_h))
        self.pipe = np.zeros((n_rep, n_h))
        self.n_release = len(plan.releases.event)
        self.in_divisor = np.where(self.in_amount > 0, self.in_amount, 1.0)
        # Sums over quota routes and release-condition sinks, row by row in a fixed
        # order (a BLAS product's order, and so its last bits, depends on the chunk).
        q_row, q_route = np.nonzero(plan.quotas.match)
        self.quota_routes = q_route
        self.quota_sum = GroupSum(n_rep, q_row, len(plan.quotas.event))
        c_row, c_sink = np.nonzero(plan.release_cond)
        self.cond_sinks = c_sink
        self.cond_sum = GroupSum(n_rep, c_row, len(plan.releases.event))
        self.lead_int = smp.route_lead
        self.has_push = bool(self.from_sp.any())
        self.any_licence = bool(len(plan.licences.event))
        # Totals for the mass ledger: activity and sales are summed per period and
        # turned into tonnes per holding once, at the end.
        self.total_act = np.zeros((n_rep, plan.n_facilities))
        self.total_served = np.zeros((n_rep, plan.n_sinks))
        # Caches of values that change only with events (see usage, pull_shares).
        self._usage_cap: FloatArray | None = None
        self._usage = np.zeros((n_rep, n_h))
        self._shares_key: tuple[NDArray[np.bool_], FloatArray, FloatArray] | None = None
        self._shares: tuple[FloatArray, FloatArray] = (self._usage, self._usage)

    # ------------------------------------------------------------------ helpers
    def usage(self, st: PeriodState) -> FloatArray:
        """Capacity-based use per period of every buyer holding, t.

        The input part changes only with capacities, so it is kept until the
        capacity array changes; the sink part is the period's demand.
        """
        plan = self.plan
        if self._usage_cap is not st.capacity_dt:
            self._usage = np.zeros_like(self.inv)
            self._usage[:, plan.in_h] = st.capacity_dt[:, plan.in_fac] * self.in_amount
            self._usage_cap = st.capacity_dt
        use = self._usage.copy()
        use[:, plan.sink_h] = st.want
        return use

    def route_open(self, st: PeriodState) -> NDArray[np.bool_]:
        """MODEL section 5 step 1: not banned, weight > 0, supplier alive and able to ship."""
        plan = self.plan
        supplier_can = (st.capacity_dt[:, self.src_fac] > 0) | (self.inv[:, plan.route_src_h] > 0)
        open_ = ~st.banned & (st.weight > 0) & st.alive[:, self.src_fac] & supplier_can
        return open_ & (~self.from_sp | st.releasing[:, self.src_fac])

    def pull_shares(
        self, st: PeriodState, open_: NDArray[np.bool_]
    ) -> tuple[FloatArray, FloatArray]:
        """Each pull route's share of its buyer's order, and the buyer's expected lead time.

        Reused while route openness, weights and licence delays are unchanged.
        """
        key = self._shares_key
        if (
            key is not None
            and key[1] is st.weight
            and key[2] is st.delay
            and np.array_equal(key[0], open_)
        ):
            return self._shares
        plan = self.plan
        w = np.where(open_ & ~self.from_sp, st.weight, 0.0) if self.has_push else st.weight * open_
        total = self.by_dst(w)
        elt_num = self.by_dst(w * (self.lead + st.delay))
        safe = np.where(total > 0, total, 1.0)
        share = w / safe[:, plan.route_dst_h]
        elt = np.where(total > 0, elt_num / safe, 0.0)
        self._shares_key = (open_, st.weight, st.delay)
        self._shares = (share, elt)
        return share, elt

    # ------------------------------------------------------------- steady state
    def initialise(self, st: PeriodState) -> list[str]:
        """MODEL section 4: steady flows, pipeline, and stocks in period 0."""
        plan, p = self.plan, self.smp.params
        sp_h = plan.fac_out_h[plan.fac_is_stockpile]
        override = p["hold_init"]
        known = ~np.isnan(override)
        self.inv[:, sp_h] = np.nan_to_num(override[:, sp_h])
        self.inv = np.where(known, override, self.inv)
        open_ = self.route_open(st)
        share, elt = self.pull_shares(st, open_)

        need = np.zeros_like(self.inv)
        need[:, plan.sink_h] = st.want
        cap_dt = np.where(self.producer, st.capacity_dt, 0.0)
        for _ in range(max(50, 4 * (plan.n_facilities + plan.n_sinks))):
            flow = need[:, plan.route_dst_h] * share
            take = self.by_src(flow)
            act = np.minimum(take[:, plan.fac_out_h], cap_dt)
            new_need = need.copy()
            new_need[:, plan.in_h] = act[:, plan.in_fac] * self.in_amount
            if np.array_equal(new_need, need):
                break
            need = new_need
        warnings = []
        deficit = take[:, plan.fac_out_h] - cap_dt
        for f in np.flatnonzero((deficit > 1e-9 * np.maximum(cap_dt, 1e-300)).any(axis=0)):
            worst = float(deficit[:, f].max() / plan.dt)
            warnings.append(
                f"facility '{plan.facility_ids[f]}' cannot meet its steady demand at the start: "
                f"short by up to {worst:,.0f} t/yr (reported as pre-disruption shortage)"
            )

        transit = self.lead + st.delay
        for j in range(self.ring_len):
            self.ring[j] = np.where(j < transit, flow, 0.0)
        self.pipe = self.by_dst(flow * transit)
        target = self.usage(st) * (self.cover + elt)
        buyer_stock = np.maximum(0.0, target - self.pipe)
        cap_level = self.cap_periods * st.capacity_dt
        out_stock = np.maximum(0.0, cap_level - take[:, plan.fac_out_h])
        inv = np.where(self.is_buyer[None, :], buyer_stock, 0.0)
        inv[:, plan.fac_out_h] = np.where(self.producer, out_stock, inv[:, plan.fac_out_h])
        inv[:, sp_h] = self.inv[:, sp_h]
        self.inv = np.where(known, override, inv)
        return warnings

    def close_ledger(self, out: ChunkOutput) -> None:
        """Turn summed activity and sales into the ledger's tonnes per holding."""
        plan, act = self.plan, self.total_act
        hold = out._hold
        hold["produced"][:, plan.fac_out_h] = np.where(plan.fac_is_stockpile, 0.0, act)
        hold["produced"][:, plan.co_h] = act[:, plan.co_fac] * self.co_amount
        hold["consumed"][:, plan.in_h] = act[:, plan.in_fac] * self.in_amount
        hold["served"][:, plan.sink_h] = self.total_served
        made_by = act[:, plan.by_fac] * self.by_amount
        hold["byproduct"] += sum_columns(made_by, plan.by_commodity, len(plan.commodity_ids))

    # ----------------------------------------------------------------- one period
    def step(self, k: int, st: PeriodState, out: ChunkOutput, prev_fill: FloatArray) -> FloatArray:
        plan = self.plan
        inv = self.inv
        open_ = self.route_open(st)

        # 2. Receive.
        slot = k % self.ring_len
        arriving = self.ring[slot].copy()
        self.ring[slot] = 0.0
        received = self.by_dst(arriving)
        inv += received
        self.pipe -= received

        # 3. Produce: capacity, scarcest input, room under the output cap.
        cap_dt = np.where(self.producer, st.capacity_dt, 0.0)
        limit = cap_dt.copy()
        if len(plan.in_h):
            # An input of amount 0 never limits (decided per replicate).
            ratio = np.where(self.in_amount > 0, inv[:, plan.in_h] / self.in_divisor, np.inf)
            scarcest = np.minimum.reduceat(ratio, self.in_starts, axis=1)
            limit[:, self.fac_with_inputs] = np.minimum(limit[:, self.fac_with_inputs], scarcest)
        room = np.maximum(0.0, self.cap_periods * st.capacity_dt - inv[:, plan.fac_out_h])
        act = np.minimum(limit, room)
        used = act[:, plan.in_fac] * self.in_amount
        inv[:, plan.in_h] = np.maximum(0.0, inv[:, plan.in_h] - used)
        inv[:, plan.fac_out_h] += act
        if len(plan.co_h):
            inv[:, plan.co_h] += act[:, plan.co_fac] * self.co_amount
        self.total_act += act

        # 4. Consume: serve demand from stock; the rest is lost.
        served = np.minimum(inv[:, plan.sink_h], st.want)
        inv[:, plan.sink_h] -= served
        self.total_served += served

        # 5. Order: top the inventory position up to usage x (cover + expected lead time).
        share, elt = self.pull_shares(st, open_)
        usage = self.usage(st)
        target = usage * (self.cover + elt)
        order = np.where(self.is_buyer, np.maximum(0.0, target - inv - self.pipe), 0.0)
        request = order[:, plan.route_dst_h] * share
        licence_cap = st.approval * usage[:, plan.route_dst_h] * share
        if self.n_release:
            push_w = np.where(open_ & self.from_sp, st.weight, 0.0)
            push_total = self.by_src(push_w)
            push_amt = np.minimum(inv[:, plan.fac_out_h], st.release_rate_dt)
            push_h = np.zeros_like(inv)
            push_h[:, plan.fac_out_h] = np.where(plan.fac_is_stockpile, push_amt, 0.0)
            safe = np.where(push_total > 0, push_total, 1.0)
            push = push_h[:, plan.route_src_h] * push_w / safe[:, plan.route_src_h]
            request = np.where(self.from_sp, push, request)
            licence_cap = np.where(self.from_sp, st.approval * push, licence_cap)

        # 6. Allocate and ship: clip, serve by priority class, pro rata within a class.
        request = np.minimum(request, self.route_cap_dt)
        request = np.where(st.licensed, np.minimum(request, licence_cap), request)
        remaining = inv.copy()
        ship = np.zeros_like(request)
        levels = self.states.levels
        for level in levels:
            in_class = request if len(levels) == 1 else np.where(st.klass == level, request, 0.0)
            asked = self.by_src(in_class)
            if not asked.any():
                continue
            frac = np.where(
                asked > 0, np.minimum(1.0, remaining / np.where(asked > 0, asked, 1.0)), 0.0
            )
            ship += in_class * frac[:, plan.route_src_h]
            remaining = np.maximum(0.0, remaining - np.minimum(asked, remaining))
        quotas = plan.quotas
        if len(quotas.event):
            total = self.quota_sum(ship[:, self.quota_routes])
            # min(1, Q dt / total) without dividing by a vanishing total.
            limit = np.maximum(total, st.quota_dt)
            factor = np.where(
                st.quota_active & (total > 0),
                st.quota_dt / np.where(limit > 0, limit, 1.0),
                1.0,
            )
            allocated = ship
            ship = ship * np.where(quotas.match[None, :, :], factor[:, :, None], 1.0).min(axis=1)
            remaining += self.by_src(allocated - ship)  # what a quota holds back stays
        # The supplier keeps exactly what allocation left: subtracting the shipped sum
        # instead could leave a rounding residue (1e-15 t) that reads as stock on hand.
        self.inv = inv = remaining
        transit = self.lead_int + st.delay.astype(np.int64) if self.any_licence else self.lead_int
        arrive = (k + transit) % self.ring_len
        flat = self.ring.reshape(-1)
        flat[arrive * ship.size + self.rep_route] += ship
        self.pipe += self.by_dst(ship)

        # 7. Record.
        out.record(k, st, act, served, ship, arriving, inv, self.pipe)

        fill = prev_fill
        if self.n_release:
            num = self.cond_sum(served[:, self.cond_sinks])
            den = self.cond_sum(st.want[:, self.cond_sinks])
            fill = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
        return fill


def run_vector(plan: Plan, smp: Samples, record: frozenset[str]) -> ChunkOutput:
    """Run one chunk of replicates through every period.

    Parameters
    ----------
    plan
        The compiled scenario.
    smp
        The chunk's sampled values (:func:`reesim.sampling.draw_samples`).
    record
        Series to keep: any of ``sinks``, ``production``, ``flows``, ``inventory``.

    Returns
    -------
    ChunkOutput
        Sink series (always, for the metrics), the requested series, and the
        mass ledger per replicate and commodity.
    """
    core = _Core(plan, smp)
    prev_fill = np.ones((smp.n, core.n_release))
    st = core.states.at(0, prev_fill)
    warnings = core.initialise(st)
    out = new_output(plan, smp, record, core.inv, core.ring.sum(axis=0), warnings)
    for k in range(plan.n_periods):
        if k > 0:
            st = core.states.at(k, prev_fill)
        prev_fill = core.step(k, st, out, prev_fill)
    core.close_ledger(out)
    out.finish(core.inv, core.ring.sum(axis=0))
    return out
