"""The vectorised core: every replicate of a chunk advances one period at a time.

All work inside a period is whole-array NumPy; the only Python loops are
over periods and over the few distinct priority classes. Arrays are [X, R],
a row per holding, route or facility and a column per replicate, so that
moving values between routes and holdings copies whole contiguous rows
(:mod:`reesim.engine.rows`). Each step works on the rows it concerns: buyer
holdings (facility inputs and sinks) when ordering, supplier holdings when
allocating. Shipments in transit live in a ring indexed by arrival period.
The order of work inside a period is the model's (docs/model.md, "One
period"):

1. state (events) -> 2. receive -> 3. produce -> 4. consume -> 5. order ->
6. allocate and ship -> 7. record.

Values that change only with events (capacities, route rules, shares) are
derived once per change of the period state's ``version`` and reused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reesim.engine.output import ChunkOutput, SeriesRecorder, new_output, sum_columns
from reesim.engine.rows import (
    RowMin,
    RowSum,
    TransitRing,
    as_index,
    few_enough_to_patch,
    transposed,
    with_columns,
)
from reesim.engine.state import PeriodState, StateBuilder
from reesim.engine.vector_alloc import allocate, priority_classes
from reesim.engine.vector_start import steady_start
from reesim.plan import Plan
from reesim.sampling import Samples

__all__ = ["run_vector"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]


def _positions(holdings: NDArray[np.int64], n_h: int) -> NDArray[np.int64]:
    """Position of every holding within ``holdings`` (-1 where absent)."""
    pos = np.full(n_h, -1, dtype=np.int64)
    pos[holdings] = np.arange(len(holdings))
    return pos


def _same(old: NDArray[Any], new: NDArray[Any]) -> bool:
    """Whether ``new`` holds what ``old`` held (the same array, or equal values)."""
    return old is new or bool(np.array_equal(old, new))


def _most_routes_first(
    holdings: NDArray[np.int64], route_h: NDArray[np.int64]
) -> NDArray[np.int64]:
    """``holdings`` ordered by how many routes ``route_h`` [E] names them, most first."""
    counts = np.bincount(route_h, minlength=int(holdings.max(initial=-1)) + 1)[holdings]
    return np.asarray(holdings[np.argsort(-counts, kind="stable")], dtype=np.int64)


class _Core:
    """State arrays and precomputed index structures of one chunk."""

    def __init__(self, plan: Plan, smp: Samples) -> None:
        self.plan, self.smp = plan, smp
        n_rep, n_h = smp.n, plan.n_holdings
        self.n_rep = n_rep
        self.states = StateBuilder(plan, smp)
        p = smp.params
        self.in_amount = transposed(p["in_amount"])  # [I, R]
        self.co_amount = transposed(p["co_amount"])  # [C, R]
        self.cap_periods = transposed(p["fac_output_cap_weeks"] * 7.0 / plan.period_days)
        self.route_cap_dt = transposed(p["route_capacity"] * plan.dt)  # [E, R]
        self.route_cap_bounded = bool(np.isfinite(self.route_cap_dt).any())
        self.lead = transposed(smp.route_lead.astype(np.float64))
        self.lead_int = transposed(smp.route_lead)

        # Buyer holdings (inputs and sinks: where routes deliver and orders start) and
        # supplier holdings (where routes leave from); most steps touch only one set.
        # Each set is ordered by its number of routes, most first: the groups a RowSum
        # adds at each rank are then a leading block of rows, added in place.
        buyers = np.unique(np.concatenate([plan.in_h, plan.sink_h])).astype(np.int64)
        self.buy_h = _most_routes_first(buyers, plan.route_dst_h)
        at_buyer = _positions(self.buy_h, n_h)
        self.in_b = as_index(at_buyer[plan.in_h])
        self.sink_b = as_index(at_buyer[plan.sink_h])
        self.dst_b = at_buyer[plan.route_dst_h]
        self.sup_h = _most_routes_first(np.unique(plan.route_src_h), plan.route_src_h)
        self.src_s = _positions(self.sup_h, n_h)[plan.route_src_h]
        self.buy_rows = as_index(self.buy_h)
        self.sup_rows = as_index(self.sup_h)
        self.sink_h = as_index(plan.sink_h)
        self.in_h = as_index(plan.in_h)
        self.out_h = as_index(plan.fac_out_h)
        self.by_dst = RowSum(self.dst_b, len(self.buy_h))
        self.by_src = RowSum(self.src_s, len(self.sup_h))
        # Cover in periods of every buyer holding.
        self.cover = np.zeros((len(self.buy_h), n_rep))
        self.cover[self.in_b] = transposed(p["in_cover_weeks"]) * 7.0 / plan.period_days
        self.cover[self.sink_b] = transposed(p["sink_cover_weeks"]) * 7.0 / plan.period_days

        # Facilities with inputs, and the scarcest input of each.
        self.fac_with_inputs, in_group = np.unique(plan.in_fac, return_inverse=True)
        self.scarcest = RowMin(in_group, len(self.fac_with_inputs))
        self.in_limits = bool((self.in_amount > 0).all())
        self.in_divisor = np.where(self.in_amount > 0, self.in_amount, 1.0)
        self.producer = ~plan.fac_is_stockpile[:, None]
        self.from_sp = plan.route_from_stockpile[:, None]
        self.has_push = bool(plan.route_from_stockpile.any())
        self.src_fac = plan.route_src_fac
        self.n_release = len(plan.releases.event)

        max_delay = int(smp.licence_delay.max()) if smp.licence_delay.size else 0
        max_lead = int(smp.route_lead.max()) if smp.route_lead.size else 1
        self.any_licence = bool(len(plan.licences.event))
        # Routes a licence can delay: their transit time can change during the run.
        delayed = np.zeros(plan.n_routes, dtype=bool)
        if self.any_licence:
            delayed = np.asarray(plan.licences.match.any(axis=0), dtype=bool)
        self.ring = TransitRing(self.lead_int, max_lead + max_delay + 1, delayed)

        # Sums over quota routes and release-condition sinks.
        q_row, q_route = np.nonzero(plan.quotas.match)
        self.quota_routes = q_route
        self.quota_sum = RowSum(q_row, len(plan.quotas.event))
        self.quota_match = plan.quotas.match[:, :, None]
        c_row, c_sink = np.nonzero(plan.release_cond)
        self.cond_sinks = c_sink
        self.cond_sum = RowSum(c_row, len(plan.releases.event))

        self.inv = np.zeros((n_h, n_rep))
        self.pipe = np.zeros((len(self.buy_h), n_rep))  # inbound in transit, buyer holdings
        # Activity and sales summed over periods, for the mass ledger.
        self.total_act = np.zeros((plan.n_facilities, n_rep))
        self.total_served = np.zeros((plan.n_sinks, n_rep))
        # Whether each sink got less than its demand in some period (the metrics' rows).
        self.falls = np.zeros((plan.n_sinks, n_rep), dtype=bool)
        self._version = -1
        self._transit_delay: NDArray[np.int64] | None = None
        self._transit = self.lead_int
        self._open_key: tuple[Any, ...] = ()
        self._shares_key: tuple[Any, ...] = ()
        self._klass: FloatArray | None = None
        self._capacity: FloatArray | None = None
        self._alive: BoolArray | None = None
        # Set by pull_shares (the steady start calls it before any period).
        self._share = self.cover_elt = self.cover

    # ------------------------------------------------------- event-driven values
    def derive(self, st: PeriodState) -> None:
        """Values that change only with the event-driven state (kept until it changes)."""
        if st.version == self._version:
            return
        self._version = st.version
        plan = self.plan
        # A new state keeps the arrays an event did not change (the state builder
        # patches only what moved): what derives from an array it kept still holds.
        if st.capacity_dt is not self._capacity:
            self._capacity = cap = st.capacity_dt
            self.cap_prod = np.where(self.producer, cap, 0.0)
            self.cap_level = self.cap_periods * cap
            # Capacity-based use per period of every input (MODEL section 5, ordering).
            self.usage = np.zeros_like(self.cover)
            self.usage[self.in_b] = cap[plan.in_fac] * self.in_amount
            supplier_has_cap = cap[self.src_fac] > 0
            # Routes whose supplier lacks capacity in some replicate: only their openness
            # depends on the supplier's stock, period by period.
            self.stock_rows = np.flatnonzero(~supplier_has_cap.all(axis=1))
            self.stock_cap_ok = supplier_has_cap[self.stock_rows]
            self.stock_src_h = plan.route_src_h[self.stock_rows]
        if st.alive is not self._alive:
            self._alive = st.alive
            self.route_alive = st.alive[self.src_fac]
        # Classes change only under priority events; a new state of the same classes
        # (another event moved) keeps them: comparing is cheaper than rebuilding.
        if self._klass is None or not _same(self._klass, st.klass):
            self.class_parts = priority_classes(st.klass, self.states.levels, self.src_s)
            self._klass = st.klass

    def delayed_transit(self, st: PeriodState) -> NDArray[np.int64] | None:
        """Whole periods from departure to arrival of the routes a licence can delay."""
        if not self.any_licence:
            return None
        if self._transit_delay is not st.delay_int:
            rows = self.ring.rows_c
            self._transit = self.lead_int[rows] + st.delay_int[rows]
            self._transit_delay = st.delay_int
        return self._transit

    def route_open(self, st: PeriodState) -> BoolArray:
        """MODEL section 5 step 1: not banned, weight > 0, supplier alive and able to ship."""
        key = (self._version, st.weight, st.releasing)
        old = self._open_key
        if not (old and key[0] == old[0] and key[1] is old[1] and key[2] is old[2]):
            fixed = ~st.banned & (st.weight > 0) & self.route_alive
            if self.has_push:
                fixed &= ~self.from_sp | st.releasing[self.src_fac]
            self._open_fixed = fixed
            self._open_key = key
        fixed = self._open_fixed
        if not self.stock_rows.size:
            return fixed
        open_ = fixed.copy()
        rows = self.stock_rows
        open_[rows] &= self.stock_cap_ok | (self.inv[self.stock_src_h] > 0)
        return open_

    def pull_shares(self, st: PeriodState, open_: BoolArray) -> FloatArray:
        """Each pull route's share of its buyer's order [E, R].

        Also sets ``cover_elt``, each buyer's cover plus its expected lead time
        in periods [B, R]. Both are kept while route openness, weights and
        licence delays are unchanged, and recomputed only for the replicates
        whose openness or delays moved when those are few (each replicate's
        values depend on its own column only).
        """
        key = self._shares_key
        if key and key[1] is st.weight:
            moved = np.zeros(self.n_rep, dtype=bool)
            if key[0] is not open_:
                moved |= (key[0] != open_).any(axis=0)
            if key[2] is not st.delay:
                moved |= (key[2] != st.delay).any(axis=0)
            cols = np.flatnonzero(moved)
            if not cols.size:
                self._shares_key = (open_, st.weight, st.delay)
                return self._share
            if few_enough_to_patch(cols.size, self.n_rep):
                share, cover_elt = self._shares(st, open_, cols)
                self._share = with_columns(self._share, cols, share)
                self.cover_elt = with_columns(self.cover_elt, cols, cover_elt)
                self._shares_key = (open_, st.weight, st.delay)
                return self._share
        self._share, self.cover_elt = self._shares(st, open_, slice(None))
        self._shares_key = (open_, st.weight, st.delay)
        return self._share

    def _shares(
        self, st: PeriodState, open_: BoolArray, cols: IntArray | slice
    ) -> tuple[FloatArray, FloatArray]:
        """Shares [E, C] and cover plus expected lead time [B, C] of the columns ``cols``."""
        weight, is_open = st.weight[:, cols], open_[:, cols]
        # Stockpile routes push; only pull routes share a buyer's order.
        w = np.where(is_open & ~self.from_sp, weight, 0.0) if self.has_push else weight * is_open
        total = self.by_dst(w)
        elt_num = self.by_dst(w * (self.lead[:, cols] + st.delay[:, cols]))
        safe = np.where(total > 0, total, 1.0)
        share = w / safe[self.dst_b]
        return share, self.cover[:, cols] + np.where(total > 0, elt_num / safe, 0.0)

    def close_ledger(self, out: ChunkOutput) -> None:
        """Turn summed activity and sales into the ledger's tonnes per holding."""
        plan = self.plan
        act = self.total_act.T
        hold = out._hold
        hold["produced"][:, plan.fac_out_h] = np.where(plan.fac_is_stockpile, 0.0, act)
        hold["produced"][:, plan.co_h] = act[:, plan.co_fac] * self.smp.params["co_amount"]
        hold["consumed"][:, plan.in_h] = act[:, plan.in_fac] * self.smp.params["in_amount"]
        hold["served"][:, plan.sink_h] = self.total_served.T
        made_by = act[:, plan.by_fac] * self.smp.params["by_amount"]
        hold["byproduct"] += sum_columns(made_by, plan.by_commodity, len(plan.commodity_ids))

    # ----------------------------------------------------------------- one period
    def step(
        self, k: int, st: PeriodState, rec: SeriesRecorder, prev_fill: FloatArray
    ) -> FloatArray:
        plan = self.plan
        inv = self.inv
        self.derive(st)
        open_ = self.route_open(st)

        # 2. Receive.
        slot = k % self.ring.length
        arriving = self.ring.arrivals(slot)
        received = self.by_dst(arriving)
        inv[self.buy_rows] += received
        self.pipe -= received

        # 3. Produce: capacity, scarcest input, room under the output cap.
        limit = self.cap_prod.copy()
        if len(plan.in_h):
            ratio = inv[self.in_h] / self.in_divisor
            if not self.in_limits:  # an input of amount 0 never limits
                ratio = np.where(self.in_amount > 0, ratio, np.inf)
            scarcest = self.scarcest(ratio)
            fwi = self.fac_with_inputs
            limit[fwi] = np.minimum(limit[fwi], scarcest)
        room = np.maximum(0.0, self.cap_level - inv[self.out_h])
        act = np.minimum(limit, room)
        if len(plan.in_h):
            used = act[plan.in_fac] * self.in_amount
            inv[self.in_h] = np.maximum(0.0, inv[self.in_h] - used)
        inv[self.out_h] += act
        if len(plan.co_h):
            inv[plan.co_h] += act[plan.co_fac] * self.co_amount
        self.total_act += act

        # 4. Consume: serve demand from stock; the rest is lost.
        want = st.want
        served = np.minimum(inv[self.sink_h], want)
        inv[self.sink_h] -= served
        self.total_served += served
        self.falls |= served < want  # (NaN compares False, as in falls_short)

        # 5. Order: top the inventory position up to usage x (cover + expected lead time).
        share = self.pull_shares(st, open_)
        usage = self.usage
        usage[self.sink_b] = want
        order = usage * self.cover_elt
        order -= inv[self.buy_rows]
        order -= self.pipe
        np.maximum(0.0, order, out=order)
        request = order[self.dst_b]
        request *= share
        licence_cap = st.approval * usage[self.dst_b] * share if st.any_licensed else None
        if self.n_release:
            request, licence_cap = self._push(st, open_, request, licence_cap)

        # 6. Allocate and ship: clip, serve by priority class, pro rata within a class.
        if self.route_cap_bounded:
            np.minimum(request, self.route_cap_dt, out=request)
        if licence_cap is not None:
            request = np.where(st.licensed, np.minimum(request, licence_cap), request)
        remaining, ship = self._allocate(request)
        if len(plan.quotas.event):
            remaining, ship = self._quotas(st, remaining, ship)
        # The supplier keeps exactly what allocation left: subtracting the shipped sum
        # instead could leave a rounding residue (1e-15 t) that reads as stock on hand.
        inv[self.sup_rows] = remaining
        self.ring.depart(slot, ship, self.delayed_transit(st))
        self.pipe += self.by_dst(ship)

        # 7. Record.
        self._record(k, rec, want, act, served, ship, arriving)

        fill = prev_fill
        if self.n_release:
            num = self.cond_sum(served[self.cond_sinks])
            den = self.cond_sum(want[self.cond_sinks])
            fill = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
        return fill

    def _push(
        self,
        st: PeriodState,
        open_: BoolArray,
        request: FloatArray,
        licence_cap: FloatArray | None,
    ) -> tuple[FloatArray, FloatArray | None]:
        """Stockpile releases push along their open routes, split by weight.

        Returns the requests with the pushes in place, and the licence caps
        (None when no route is under a licence).
        """
        plan = self.plan
        push_w = np.where(open_ & self.from_sp, st.weight, 0.0)
        push_total = self.by_src(push_w)
        stock = np.where(self.producer, 0.0, np.minimum(self.inv[self.out_h], st.release_rate_dt))
        push_h = np.zeros_like(self.inv)
        push_h[self.out_h] = stock
        safe = np.where(push_total > 0, push_total, 1.0)
        push = push_h[plan.route_src_h] * push_w / safe[self.src_s]
        request = np.where(self.from_sp, push, request)
        if licence_cap is None:
            return request, None
        return request, np.where(self.from_sp, st.approval * push, licence_cap)

    def _allocate(self, request: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Serve ``request`` [E, R] (may be overwritten) from supplier stock by class."""
        remaining = self.inv[self.sup_rows]
        if isinstance(self.sup_rows, slice):
            remaining = remaining.copy()  # written in place, not through to inv
        return allocate(self.class_parts, request, remaining, self.by_src, self.src_s)

    def _quotas(
        self, st: PeriodState, remaining: FloatArray, ship: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Scale shipments down to active quotas; what a quota holds back stays put."""
        total = self.quota_sum(ship[self.quota_routes])
        # min(1, Q dt / total) without dividing by a vanishing total.
        limit = np.maximum(total, st.quota_dt)
        factor = np.where(
            st.quota_active & (total > 0),
            st.quota_dt / np.where(limit > 0, limit, 1.0),
            1.0,
        )
        allocated = ship
        ship = ship * np.where(self.quota_match, factor[:, None, :], 1.0).min(axis=0)
        remaining = remaining + self.by_src(allocated - ship)
        return remaining, ship

    def _record(
        self,
        k: int,
        rec: SeriesRecorder,
        want: FloatArray,
        act: FloatArray,
        served: FloatArray,
        ship: FloatArray,
        arriving: FloatArray,
    ) -> None:
        pipe = self.inv  # a stand-in: the pipe is read only when inventory is recorded
        if "inventory" in rec.names:
            pipe = np.zeros_like(self.inv)
            pipe[self.buy_rows] = self.pipe
        rec.put(
            k,
            demand=want,
            served=served,
            production=act,
            departures=ship,
            arrivals=arriving,
            inventory=self.inv,
            in_transit=pipe,
        )


def run_vector(
    plan: Plan,
    smp: Samples,
    record: frozenset[str],
    *,
    series: Mapping[str, FloatArray] | None = None,
) -> ChunkOutput:
    """Run one chunk of replicates through every period.

    Parameters
    ----------
    plan
        The compiled scenario.
    smp
        The chunk's sampled values (:func:`reesim.sampling.draw_samples`).
    record
        Series to keep: any of ``sinks``, ``production``, ``flows``, ``inventory``.
    series
        Arrays to write series into instead of fresh ones, by name
        (:meth:`reesim.engine.output.ChunkOutput.empty`); every value is written.

    Returns
    -------
    ChunkOutput
        Sink series (always, for the metrics), the requested series, and the
        mass ledger per replicate and commodity.
    """
    core = _Core(plan, smp)
    prev_fill = np.ones((core.n_release, smp.n))
    st = core.states.at(0, prev_fill)
    warnings = steady_start(core, st)
    out = new_output(plan, smp, record, core.inv.T, core.ring.by_route(0).T, warnings, series)
    rec = SeriesRecorder(out)
    for k in range(plan.n_periods):
        if k > 0:
            st = core.states.at(k, prev_fill)
        prev_fill = core.step(k, st, rec, prev_fill)
    rec.flush()
    core.close_ledger(out)
    out.finish(core.inv.T, core.ring.by_route(plan.n_periods).T)
    out.falls = np.ascontiguousarray(core.falls.T)
    return out
