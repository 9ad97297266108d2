"""The numba kernel behind ``engine="numba"``: scalar loops, several replicates side by side.

:mod:`reesim.engine.compiled` lays the plan and the samples out in plain
arrays grouped by what they index, with named rows (the constants below; see
:func:`reesim.engine.compiled.kernel_args`), runs :func:`run_replicates` and
reads the results. The arithmetic follows the vectorised core
(:mod:`reesim.engine.vector`, :mod:`reesim.engine.state`) operation by
operation and in the same order — sums over routes in route order starting
from 0, products of event factors in event order — so both give the same
numbers, usually to the last bit. Values the core computes with ``np.power``
(demand growth, s-curve ramps) come precomputed, because NumPy's vectorised
power and the C library's ``pow`` differ in the last bit.

Every compiled function lives in this one file: numba's on-disk cache is
invalidated by a change of the file that holds a function, not of the files
its callees live in. That is why the file is longer than the others.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["run_replicates", "lanes_for"]

# Named rows of the kernel's arrays (see :func:`reesim.engine.compiled.kernel_args`).
SRC_H, DST_H, SRC_FAC, FROM_SP, PRIO = 0, 1, 2, 3, 4  # routes
OUT_H, IS_SP = 0, 1  # facs
FAC, HOLD = 0, 1  # inputs, coproducts; com (facility, event); rel (facility, event, cond)
CAPACITY, CAP_PERIODS = 0, 1  # fac_par
W0, ROUTE_CAP_DT, LEAD = 0, 1, 2  # route_par
KIND, EVENT, QUOTA = 0, 1, 2  # rules (kind, event, quota index); also com, rel, shifts
BAN, LICENCE, PRIORITY, QUOTA_RULE = 0, 1, 2, 3  # kinds of rule
ROUTE, HAS_COND = 0, 2  # shifts (route, event); rel
LENGTH, DELTA = 0, 1  # shift_par
REC_PROD, REC_FLOWS, REC_INV, ANY_LICENCE, FIXED_CLASSES, COPY = 0, 1, 2, 3, 4, 5  # flags
START, END = 0, 1  # hold_res, route_res
TOTAL_ACT, DEFICIT, CAP0 = 0, 1, 2  # fac_res

#: Helpers: compiled once and cached on disk; they release the GIL, divide as NumPy does
#: (x / 0 is inf or nan, never an exception), and allocate nothing, so they need no
#: reference counting (``_nrt=False``: smaller code, faster to compile and to run).
_helper = njit(  # type: ignore[call-overload]
    cache=True, nogil=True, error_model="numpy", _nrt=False
)


@_helper
def _capacity_and_rules(k, routes, capacity, dt, k0, k1, value, share, rules, rule_ptr,
                        rule_routes, cc, cc_ptr, cc_facs, com, com_failed, com_factor,
                        out_fac, out_start, out_end, cap_dt, alive, factor, down, banned,
                        delay, licensed, approval, klass, quota_on):  # fmt: skip
    """Step 1, the part that changes only with events: capacities and route rules."""
    # Capacities: nameplate x commissioning share x capacity factors, 0 while down.
    n_fac = cap_dt.shape[0]
    for f in range(n_fac):
        cap_dt[f] = capacity[f]
        alive[f] = True
        factor[f] = 1.0
        down[f] = False
    for j in range(com.shape[1]):
        f = com[FAC, j]
        cap_dt[f] = cap_dt[f] * com_factor[k, j]
        alive[f] = k >= k0[com[EVENT, j]] and not com_failed[j]
    for j in range(cc.shape[0]):
        v = cc[j]
        if k >= k0[v] and k < k1[v]:
            for i in range(cc_ptr[j], cc_ptr[j + 1]):
                factor[cc_facs[i]] = factor[cc_facs[i]] * value[v]
    for p in range(out_fac.shape[0]):
        for m in range(out_start.shape[1]):
            if k >= out_start[p, m] and k < out_end[p, m]:
                down[out_fac[p]] = True
    for f in range(n_fac):
        c = cap_dt[f]
        if cc.shape[0] > 0:
            c = c * factor[f]
        if down[f]:
            c = c * 0.0
        cap_dt[f] = c * dt

    # Route rules: bans, licences (largest delay, smallest share), domestic priority, quotas.
    for e in range(routes.shape[1]):
        banned[e] = False
        licensed[e] = False
        delay[e] = 0.0
        approval[e] = 1.0
        klass[e] = routes[PRIO, e]
    for j in range(rules.shape[1]):
        v = rules[EVENT, j]
        on = k >= k0[v] and k < k1[v]
        kind = rules[KIND, j]
        if kind == QUOTA_RULE:
            quota_on[rules[QUOTA, j]] = on
        elif on:
            for i in range(rule_ptr[j], rule_ptr[j + 1]):
                e = rule_routes[i]
                if kind == BAN:
                    banned[e] = True
                elif kind == PRIORITY:
                    klass[e] = 0  # class 0, the first served
                else:
                    licensed[e] = True
                    delay[e] = max(delay[e], value[v])
                    approval[e] = min(approval[e], share[v])


@_helper
def _weights(k, k0, shifts, shift_par, w0, weight):
    """Route weights: each (shift, route) row moves its share of the way, summed per route."""
    for e in range(weight.shape[0]):
        weight[e] = 0.0
    for j in range(shifts.shape[1]):
        frac = float(k - k0[shifts[EVENT, j]] + 1) / shift_par[LENGTH, j]
        frac = min(max(frac, 0.0), 1.0)
        weight[shifts[ROUTE, j]] += frac * shift_par[DELTA, j]
    for e in range(weight.shape[0]):
        weight[e] = w0[e] + weight[e]


@_helper
def _releases(k, k0, k1, value, rel, rel_below, fill, rate_dt, releasing):
    """Releases: by date, and (with a condition) while last period's fill rate was low."""
    for f in range(rate_dt.shape[0]):
        rate_dt[f] = 0.0
        releasing[f] = False
    for j in range(rel.shape[1]):
        v = rel[EVENT, j]
        holds = k >= k0[v] and k < k1[v]
        if rel[HAS_COND, j]:
            holds = holds and fill[j] < rel_below[j] - 1e-9
        if holds:
            f = rel[FAC, j]
            rate_dt[f] += value[v]
            releasing[f] = True


@_helper
def _open_routes(routes, cap_dt, alive, banned, weight, releasing, inv, open_):
    """Open: not banned, weight > 0, supplier alive with capacity or stock; releasing."""
    for e in range(open_.shape[0]):
        f = routes[SRC_FAC, e]
        can = (cap_dt[f] > 0) | (inv[routes[SRC_H, e]] > 0)
        push_ok = (routes[FROM_SP, e] == 0) | releasing[f]
        open_[e] = (not banned[e]) & (weight[e] > 0) & alive[f] & can & push_ok


@_helper
def _openable(routes, cap_dt, alive, banned, weight, releasing, ln, gate):
    """What openness of each route depends on besides stock, for lane ``ln`` of ``gate``.

    0: closed (banned, no weight, supplier not alive, or a stockpile not
    releasing); 2: open (the supplier has capacity); 1: open while the
    supplier holds stock (:func:`_open_routes`, one test per period).
    """
    for e in range(gate.shape[0]):
        f = routes[SRC_FAC, e]
        ok = (not banned[e]) & (weight[e] > 0) & alive[f]
        ok = ok & ((routes[FROM_SP, e] == 0) | releasing[f])
        gate[e, ln] = 0 if not ok else (2 if cap_dt[f] > 0 else 1)


@_helper
def _pull_shares(routes, lead, delay, weight, open_, share, elt, total, num):
    """Each pull route's share of its buyer's order, and each buyer's expected lead time."""
    for h in range(total.shape[0]):
        total[h] = 0.0
        num[h] = 0.0
    for e in range(share.shape[0]):
        w = weight[e] if open_[e] and not routes[FROM_SP, e] else 0.0
        share[e] = w
        total[routes[DST_H, e]] += w
        num[routes[DST_H, e]] += w * (lead[e] + delay[e])
    for e in range(share.shape[0]):
        t = total[routes[DST_H, e]]
        share[e] = share[e] / (t if t > 0 else 1.0)
    for h in range(total.shape[0]):
        t = total[h]
        elt[h] = num[h] / t if t > 0 else 0.0


@_helper
def _usage(inputs, sink_h, in_amount, cap_dt, want, usage):
    """Capacity-based use of every facility input, and the period's want at every sink."""
    for h in range(usage.shape[0]):
        usage[h] = 0.0
    for i in range(inputs.shape[1]):
        usage[inputs[HOLD, i]] = cap_dt[inputs[FAC, i]] * in_amount[i]
    for s in range(sink_h.shape[0]):
        usage[sink_h[s]] = want[s]


@_helper
def _start(routes, facs, inputs, sink_h, is_buyer, in_amount, cover, lead, hold_init,
           cap_periods, want, cap_dt, alive, banned, delay, weight, releasing, open_, share,
           elt, total, num, usage, flow, take, need, new_need, inv, pipe, ring, deficit,
           cap0):  # fmt: skip
    """MODEL section 5: steady flows (fixed point), pipeline and stocks in period 0."""
    n_h, n_fac, n_route = inv.shape[0], facs.shape[1], routes.shape[1]
    for h in range(n_h):  # the stockpiles' stock and the overrides; nothing else yet
        inv[h] = 0.0 if np.isnan(hold_init[h]) else hold_init[h]
    _open_routes(routes, cap_dt, alive, banned, weight, releasing, inv, open_)
    _pull_shares(routes, lead, delay, weight, open_, share, elt, total, num)

    for h in range(n_h):
        need[h] = 0.0
    for s in range(sink_h.shape[0]):
        need[sink_h[s]] = want[s]
    for f in range(n_fac):
        cap0[f] = 0.0 if facs[IS_SP, f] else cap_dt[f]
    for _ in range(max(50, 4 * (n_fac + sink_h.shape[0]))):
        for h in range(n_h):
            take[h] = 0.0
        for e in range(n_route):
            flow[e] = need[routes[DST_H, e]] * share[e]
            take[routes[SRC_H, e]] += flow[e]
        for h in range(n_h):
            new_need[h] = need[h]
        for i in range(inputs.shape[1]):
            f = inputs[FAC, i]
            new_need[inputs[HOLD, i]] = min(take[facs[OUT_H, f]], cap0[f]) * in_amount[i]
        same = True
        for h in range(n_h):
            if new_need[h] != need[h]:
                same = False
            need[h] = new_need[h]
        if same:
            break
    for f in range(n_fac):
        deficit[f] = take[facs[OUT_H, f]] - cap0[f]

    for h in range(n_h):
        pipe[h] = 0.0
    for e in range(n_route):
        transit = lead[e] + delay[e]
        for j in range(ring.shape[0]):
            ring[j, e] = flow[e] if j < transit else 0.0
        pipe[routes[DST_H, e]] += flow[e] * transit
    _usage(inputs, sink_h, in_amount, cap_dt, want, usage)
    for h in range(n_h):
        stock = max(0.0, usage[h] * (cover[h] + elt[h]) - pipe[h])
        new_need[h] = stock if is_buyer[h] else 0.0
    for f in range(n_fac):
        h = facs[OUT_H, f]
        if facs[IS_SP, f]:
            new_need[h] = inv[h]  # inv still holds the stockpiles' stock
        else:
            new_need[h] = max(0.0, cap_periods[f] * cap_dt[f] - take[h])
    for h in range(n_h):
        inv[h] = new_need[h] if np.isnan(hold_init[h]) else hold_init[h]


@_helper
def _pushes(routes, facs, weight, open_, inv, rate_dt, total, amount, push):
    """What each stockpile route pushes: its share (by weight) of the release, at most the stock."""
    for h in range(total.shape[0]):
        total[h] = 0.0
        amount[h] = 0.0
    for e in range(push.shape[0]):
        push[e] = weight[e] if open_[e] and routes[FROM_SP, e] else 0.0
        total[routes[SRC_H, e]] += push[e]
    for f in range(facs.shape[1]):
        if facs[IS_SP, f]:
            amount[facs[OUT_H, f]] = min(inv[facs[OUT_H, f]], rate_dt[f])
    for e in range(push.shape[0]):
        if routes[FROM_SP, e]:
            t = total[routes[SRC_H, e]]
            push[e] = amount[routes[SRC_H, e]] * push[e] / (t if t > 0 else 1.0)


@_helper
def _quotas(routes, rules, rule_ptr, rule_routes, quota_dt, quota_on, suppliers, ship, inv,
            factor, smallest, held):  # fmt: skip
    """Scale matching shipments by min(1, Q dt / their sum); what is held back stays."""
    for e in range(ship.shape[0]):
        smallest[e] = 1.0
    for j in range(rules.shape[1]):
        if rules[KIND, j] == QUOTA_RULE:
            q = rules[QUOTA, j]
            t = 0.0
            for i in range(rule_ptr[j], rule_ptr[j + 1]):
                t += ship[rule_routes[i]]
            factor[q] = min(1.0, quota_dt[rules[EVENT, j]] / t) if quota_on[q] and t > 0 else 1.0
            for i in range(rule_ptr[j], rule_ptr[j + 1]):
                e = rule_routes[i]
                smallest[e] = min(smallest[e], factor[q])
    for h in suppliers:
        held[h] = 0.0
    for e in range(ship.shape[0]):
        kept = ship[e] * smallest[e]
        held[routes[SRC_H, e]] += ship[e] - kept
        ship[e] = kept
    for h in suppliers:
        inv[h] += held[h]


@_helper
def _snapshot(inv, ring, stock, transit):
    """Stock on hand, and what is in transit per route (the ring summed slot by slot)."""
    for h in range(inv.shape[0]):
        stock[h] = inv[h]
    for e in range(ring.shape[1]):
        t = 0.0
        for j in range(ring.shape[0]):
            t += ring[j, e]
        transit[e] = t


@_helper
def _record(k, rl, act, ship, arriving, inv, pipe, flags, production, departures, arrivals,
            inventory, in_transit):  # fmt: skip
    """Step 7: the recorded series of period ``k``, lane ``ln`` into replicate ``rl[ln]``."""
    for ln in range(rl.shape[0]):
        r = rl[ln]
        if flags[REC_PROD]:
            for f in range(act.shape[0]):
                production[r, k, f] = act[f, ln]
        if flags[REC_FLOWS]:
            for e in range(ship.shape[0]):
                departures[r, k, e] = ship[e, ln]
                arrivals[r, k, e] = arriving[e, ln]
        if flags[REC_INV]:
            for h in range(inv.shape[0]):
                inventory[r, k, h] = inv[h, ln]
                in_transit[r, k, h] = pipe[h, ln]


@_helper
def _sink_rows(k, n_per, rl, wk, sv_c, blk_w, blk_s, want, served):
    """Step 4's record: demand ``wk`` and sales ``sv_c`` [S, lane] of period ``k``.

    The sink series go into replicate rows row by row (writing every lane's row
    for each value would touch a page per lane per value); with few sinks, a
    block of ``blk_w.shape[0]`` periods at a time, kept in the lanes' layout so
    that a period's copy into the block is a vector copy.
    """
    n_blk, n_sink, n_lane = blk_w.shape[0], wk.shape[0], rl.shape[0]
    if n_blk == 1:
        for ln in range(n_lane):
            r = rl[ln]
            for s in range(n_sink):
                want[r, k, s] = wk[s, ln]
                served[r, k, s] = sv_c[s, ln]
        return
    kb = k % n_blk  # the period's row in the block
    for s in range(n_sink):
        for ln in range(n_lane):
            blk_w[kb, s, ln] = wk[s, ln]
            blk_s[kb, s, ln] = sv_c[s, ln]
    if kb == n_blk - 1 or k == n_per - 1:
        for ln in range(n_lane):
            r = rl[ln]
            for s in range(n_sink):  # periods innermost: the longer loop
                for b in range(kb + 1):
                    kp = np.uint64(k - kb + b)  # (unsigned: no test for kp < 0)
                    want[r, kp, s] = blk_w[b, s, ln]
                    served[r, kp, s] = blk_s[b, s, ln]


@_helper
def _same(a, b):
    """Whether ``a`` and ``b`` [x, lane] hold equal values, and ``b`` is set to ``a``."""
    eq = True
    for i in range(a.shape[0]):
        for ln in range(a.shape[1]):
            eq = eq & (a[i, ln] == b[i, ln])
            b[i, ln] = a[i, ln]
    return eq


#: Replicates run side by side, one per lane. A replicate's period is a chain of steps
#: that each wait for the stock the last one left; several replicates interleaved keep
#: the processor busy, and share the work of walking the network's index arrays.
LANES = 32
#: Networks of at most this many routes run twice as many lanes: there, each period is a
#: few dozen short lane loops whose fixed cost outweighs the work, and 64 lanes halve it
#: per replicate (the 3-route peer chain runs 10% faster); from the default network's
#: 16 routes on, the larger working set costs more than that saves.
FEW_ROUTES = 8


def lanes_for(n_routes: int) -> int:
    """Replicates side by side in :func:`run_replicates` for a network of ``n_routes`` routes."""
    return 2 * LANES if n_routes <= FEW_ROUTES else LANES


@njit(cache=True, nogil=True, error_model="numpy")
def run_replicates(lo, hi, lanes, flags, routes, route_lead, facs, in_ptr, inputs, coproducts,
                   sink_h, is_buyer, suppliers, src_ptr, src_routes, src_class, dst_list, dst_ptr,
                   dst_routes, n_levels, ring_len, n_quota, dt, fac_par, route_par, in_amount,
                   co_amount, cover, hold_init, want, d0, growth_ix, growth_pow, dc, dc_match,
                   k0, k1, value, share, rules, rule_ptr, rule_routes, cc, cc_ptr, cc_facs, com,
                   com_failed, com_factor, out_fac, out_start, out_end, rel, rel_below, rel_cond,
                   shifts, shift_par, changes, served, production, departures, arrivals,
                   inventory, in_transit, hold_res, route_res, fac_res, total_served,
                   copied, falls):  # fmt: skip
    """Run replicates ``lo .. hi - 1`` through every period and fill their rows of the results.

    Replicates are independent: disjoint ranges may run in parallel threads
    (the kernel releases the GIL) and give the same numbers as one range.
    ``lanes`` (:func:`lanes_for`) replicates advance together (the last group
    repeats its last replicate); each lane's arithmetic is the one-replicate
    arithmetic. What changes only with events is computed lane by lane by
    the helpers above into rows ``[lane, x]`` and copied into columns
    ``[x, lane]``, the layout of the period's steps. Those work holding by holding over the routes
    grouped by buyer (``dst_*``) or supplier (``src_*``), in route order
    within a group, so every sum over routes has the core's order.

    A period that must repeat the one before it, in every lane, is copied
    instead of computed (``flags[COPY]``; ``copied[r]`` counts them). It must
    when it starts from the same state with the same inputs: no event acts in
    it, its demand equals the last period's, and the last ``ring_len``
    periods each left the stock, the pipelines and the shipments of the
    period before them (so the goods in transit are the same, one period on).
    Its results are then the last period's: its series are recorded and its
    output and sales added to the totals as computed, and the transit ring is
    left as it was (a ring one period on holds the same goods one slot on; the
    slots are turned back into place before the closing snapshot, which sums
    them in slot order).
    """
    # The lane count comes as an argument, not as the constant LANES, on purpose: with a
    # trip count known when compiling, LLVM unrolls the small lane loops completely into
    # scalar code before its loop vectoriser sees them (numba leaves the SLP vectoriser,
    # which could pack the unrolled code, off); with one known at run time it vectorises
    # them. Each lane's arithmetic is the same either way.
    L = lanes
    n_fac, n_route, n_h = facs.shape[1], routes.shape[1], is_buyer.shape[0]
    n_sink, n_rel, n_per = sink_h.shape[0], rel.shape[1], want.shape[1]
    n_in, n_co, n_dst, n_sup = (
        inputs.shape[1],
        coproducts.shape[1],
        dst_list.shape[0],
        suppliers.shape[0],
    )
    src_h, from_sp = routes[SRC_H], routes[FROM_SP]
    in_fac, in_h, out_h, is_sp = inputs[FAC], inputs[HOLD], facs[OUT_H], facs[IS_SP]
    rec_prod, rec_flows, rec_inv = flags[REC_PROD], flags[REC_FLOWS], flags[REC_INV]
    any_licence, fixed_classes = flags[ANY_LICENCE], flags[FIXED_CLASSES]
    # Periods can repeat only where nothing but events and demand moves the inputs.
    may_copy = flags[COPY] and shifts.shape[1] == 0 and n_rel == 0
    # Rows [lane, x], written by the helpers.
    cap_r, rate_r = np.zeros((L, n_fac)), np.zeros((L, n_fac))
    alive_r, releasing_r = np.ones((L, n_fac), np.bool_), np.zeros((L, n_fac), np.bool_)
    banned_r, licensed_r = np.zeros((L, n_route), np.bool_), np.zeros((L, n_route), np.bool_)
    delay_r, approval_r, weight_r = (
        np.zeros((L, n_route)),
        np.ones((L, n_route)),
        np.zeros((L, n_route)),
    )
    klass_r, share_r, elt_r = (
        np.zeros((L, n_route), np.int64),
        np.zeros((L, n_route)),
        np.zeros((L, n_h)),
    )
    quota_r, fill_r = np.zeros((L, n_quota), np.bool_), np.ones((L, n_rel))
    # One replicate's scratch for the helpers.
    factor_f, down = np.ones(n_fac), np.zeros(n_fac, np.bool_)
    open1, flow, push1 = np.zeros(n_route, np.bool_), np.zeros(n_route), np.zeros(n_route)
    ship1, ring1 = np.zeros(n_route), np.zeros((ring_len, n_route))
    inv1, pipe1, usage1, total, num = (
        np.zeros(n_h),
        np.zeros(n_h),
        np.zeros(n_h),
        np.zeros(n_h),
        np.zeros(n_h),
    )
    take, need, new_need, held = np.zeros(n_h), np.zeros(n_h), np.zeros(n_h), np.zeros(n_h)
    want1, factor = np.zeros(n_sink), np.ones(n_quota)
    # Columns [x, lane]: the period's state.
    cap_c, capp_c = np.zeros((n_fac, L)), np.zeros((n_fac, L))
    licensed_c, open_c = np.zeros((n_route, L), np.bool_), np.zeros((n_route, L), np.bool_)
    gate = np.zeros((n_route, L), np.int8)
    delay_c, approval_c = np.zeros((n_route, L)), np.ones((n_route, L))
    klass_c, lead_c = np.zeros((n_route, L), np.int64), np.zeros((n_route, L), np.int64)
    lead_lo, lead_hi = np.zeros(n_route, np.int64), np.zeros(n_route, np.int64)
    share_c, rcap_c, push_c = np.zeros((n_route, L)), np.zeros((n_route, L)), np.zeros((n_route, L))
    arriving, request, ship = np.zeros((n_route, L)), np.zeros((n_route, L)), np.zeros((n_route, L))
    elt_c, usage_c, cover_c = np.zeros((n_h, L)), np.zeros((n_h, L)), np.zeros((n_h, L))
    inv, pipe, ring = np.zeros((n_h, L)), np.zeros((n_h, L)), np.zeros((ring_len, n_route, L))
    act, tot_act = np.zeros((n_fac, L)), np.zeros((n_fac, L))
    amount_c, co_c = np.zeros((n_in, L)), np.zeros((n_co, L))
    wk, sv_c, tot_served = np.zeros((n_sink, L)), np.zeros((n_sink, L)), np.zeros((n_sink, L))
    fell = np.zeros((n_sink, L), np.bool_)  # served < demand in some period so far
    # Per group: demand's base and growth rate, and the periods whose state may change.
    d0_c, gix_c = np.zeros((n_sink, L)), np.zeros((n_sink, L), np.int64)
    g_same = np.zeros(n_sink, np.int64)
    any_chg = np.zeros(n_per, np.bool_)
    n_blk = min(max(1, 64 // max(1, n_sink)), max(1, n_per))  # periods per block of sink rows
    blk_w, blk_s = np.zeros((n_blk, n_sink, L)), np.zeros((n_blk, n_sink, L))
    # The last computed period's end state, shipments and demand, for telling a repeat.
    last_inv, last_pipe = np.zeros((n_h, L)), np.zeros((n_h, L))
    last_ship, last_wk = np.zeros((n_route, L)), np.zeros((n_sink, L))
    t, o, left, a, lim = np.zeros(L), np.zeros(L), np.zeros(L), np.zeros(L), np.zeros(L)
    frac, rl = np.zeros((n_levels, L)), np.zeros(L, np.int64)
    fresh, changed = np.zeros(L, np.bool_), np.zeros(L, np.bool_)
    stock_gated = np.zeros(n_route, np.bool_)
    # Holdings are per (node, commodity): a facility whose output or coproduct is also one of
    # its inputs shares a holding between the steps of production, which then stay apart;
    # otherwise each facility's steps touch only its own holdings and may run in one loop.
    uses = np.zeros(n_h, np.int64)
    for f in range(n_fac):
        uses[out_h[f]] += 1
    for i in range(n_in):
        uses[in_h[i]] += 1
    for j in range(n_co):
        uses[coproducts[HOLD, j]] += 1
    own_holdings = uses.max() <= 1 if n_h > 0 else True

    for g in range(lo, hi, L):
        for ln in range(L):
            r = min(g + ln, hi - 1)
            rl[ln] = r
            for e in range(n_route):
                lead_c[e, ln] = route_lead[r, e]
                lead_lo[e] = route_lead[r, e] if ln == 0 else min(lead_lo[e], route_lead[r, e])
                lead_hi[e] = route_lead[r, e] if ln == 0 else max(lead_hi[e], route_lead[r, e])
                rcap_c[e, ln] = route_par[r, ROUTE_CAP_DT, e]
            for i in range(n_in):
                amount_c[i, ln] = in_amount[r, i]
            for j in range(n_co):
                co_c[j, ln] = co_amount[r, j]
            for h in range(n_h):
                cover_c[h, ln] = cover[r, h]
            for f in range(n_fac):
                capp_c[f, ln] = fac_par[r, CAP_PERIODS, f]
                tot_act[f, ln] = 0.0
            for s in range(n_sink):
                tot_served[s, ln] = 0.0
                fell[s, ln] = False
            for j in range(n_rel):
                fill_r[ln, j] = 1.0
            for s in range(n_sink):
                d0_c[s, ln] = d0[r, s]
                gix_c[s, ln] = growth_ix[r, s]
                g_same[s] = gix_c[s, 0] if ln == 0 or g_same[s] == gix_c[s, ln] else -1
            for k in range(n_per):  # (along the replicate's row: vectorised)
                any_chg[k] = changes[r, k] if ln == 0 else any_chg[k] | changes[r, k]
        slot = 0
        # Periods in a row that left the state as the one before them; periods copied in
        # this group of lanes.
        streak, n_copy = 0, 0
        for k in range(n_per):
            # Demand: d0 x growth ** (k dt) x dt, times the active demand factors.
            for s in range(n_sink):
                if g_same[s] >= 0:  # every lane has the same growth rate
                    gp = growth_pow[k, g_same[s]]
                    for ln in range(L):
                        wk[s, ln] = d0_c[s, ln] * gp * dt
                else:
                    for ln in range(L):
                        wk[s, ln] = d0_c[s, ln] * growth_pow[k, gix_c[s, ln]] * dt
                if dc.shape[0] > 0:
                    for ln in range(L):
                        p, r = 1.0, rl[ln]
                        for j in range(dc.shape[0]):
                            v = dc[j]
                            if dc_match[j, s] and k >= k0[r, v] and k < k1[r, v]:
                                p = p * value[r, v]
                        wk[s, ln] = wk[s, ln] * p
                hs = sink_h[s]
                for ln in range(L):
                    usage_c[hs, ln] = wk[s, ln]

            # A repeat of the last period: record it and add it to the totals.
            if may_copy and streak >= ring_len and not any_chg[k]:
                repeat = True
                for s in range(n_sink):
                    for ln in range(L):
                        repeat = repeat & (wk[s, ln] == last_wk[s, ln])
                if repeat:
                    for f in range(n_fac):
                        for ln in range(L):
                            tot_act[f, ln] += act[f, ln]
                    for s in range(n_sink):
                        for ln in range(L):
                            tot_served[s, ln] += sv_c[s, ln]
                    _sink_rows(k, n_per, rl, wk, sv_c, blk_w, blk_s, want, served)
                    if rec_prod or rec_flows or rec_inv:
                        _record(k, rl, act, ship, arriving, inv, pipe, flags, production,
                                departures, arrivals, inventory, in_transit)  # fmt: skip
                    n_copy += 1
                    continue  # (the ring's slot stays)

            # 1. State: the event-driven part is redone only when something changed.
            for ln in range(L):
                fresh[ln] = False
            if any_chg[k]:  # (rare: read the lanes' flags only then)
                for ln in range(L):
                    fresh[ln] = changes[rl[ln], k]
            steady = k > 0 and shifts.shape[1] == 0 and n_rel == 0 and not any_chg[k]
            for ln in range(0 if steady else L):
                r = rl[ln]
                if fresh[ln]:
                    _capacity_and_rules(k, routes, fac_par[r, CAPACITY], dt, k0[r], k1[r],
                                        value[r], share[r], rules, rule_ptr, rule_routes, cc,
                                        cc_ptr, cc_facs, com, com_failed[r], com_factor[r],
                                        out_fac, out_start[r], out_end[r], cap_r[ln],
                                        alive_r[ln], factor_f, down, banned_r[ln], delay_r[ln],
                                        licensed_r[ln], approval_r[ln], klass_r[ln],
                                        quota_r[ln])  # fmt: skip
                    for f in range(n_fac):
                        cap_c[f, ln] = cap_r[ln, f]
                    for e in range(n_route):
                        licensed_c[e, ln] = licensed_r[ln, e]
                        delay_c[e, ln] = delay_r[ln, e]
                        approval_c[e, ln] = approval_r[ln, e]
                        klass_c[e, ln] = klass_r[ln, e]
                    for i in range(n_in):  # capacity-based use of each input
                        usage_c[in_h[i], ln] = cap_r[ln, in_fac[i]] * in_amount[r, i]
                if k == 0 or shifts.shape[1] > 0:
                    _weights(k, k0[r], shifts, shift_par[r], route_par[r, W0], weight_r[ln])
                    fresh[ln] = True
                if k == 0 or n_rel > 0:
                    _releases(k, k0[r], k1[r], value[r], rel, rel_below, fill_r[ln], rate_r[ln],
                              releasing_r[ln])  # fmt: skip
                if fresh[ln] or n_rel > 0:
                    _openable(routes, cap_r[ln], alive_r[ln], banned_r[ln], weight_r[ln],
                              releasing_r[ln], ln, gate)  # fmt: skip
                if k == 0:
                    for s in range(n_sink):
                        want1[s] = wk[s, ln]
                    _start(routes, facs, inputs, sink_h, is_buyer, in_amount[r], cover[r],
                           route_par[r, LEAD], hold_init[r], fac_par[r, CAP_PERIODS], want1,
                           cap_r[ln], alive_r[ln], banned_r[ln], delay_r[ln], weight_r[ln],
                           releasing_r[ln], open1, share_r[ln], elt_r[ln], total, num, usage1,
                           flow, take, need, new_need, inv1, pipe1, ring1, fac_res[r, DEFICIT],
                           fac_res[r, CAP0])  # fmt: skip
                    _snapshot(inv1, ring1, hold_res[r, START], route_res[r, START])
                    for h in range(n_h):
                        inv[h, ln] = inv1[h]
                        pipe[h, ln] = pipe1[h]
                    for e in range(n_route):
                        open_c[e, ln] = open1[e]
                        for j in range(ring_len):
                            ring[j, e, ln] = ring1[j, e]
            # Open: not banned, weight > 0, supplier alive with capacity or stock; releasing.
            # Only routes open while their supplier holds stock (gate 1) in some lane can
            # change between periods that leave the gates as they were.
            if not steady:
                for e in range(n_route):
                    m = False
                    for ln in range(L):
                        m = m | (gate[e, ln] == 1)
                    stock_gated[e] = m
            for ln in range(L):
                changed[ln] = False
            for e in range(n_route):
                if steady and not stock_gated[e]:
                    continue
                hs = src_h[e]
                for ln in range(L):
                    op = (gate[e, ln] == 2) | ((gate[e, ln] == 1) & (inv[hs, ln] > 0))
                    changed[ln] = changed[ln] | (op != open_c[e, ln])
                    open_c[e, ln] = op

            # 2. Receive. Groups of one route (most, in small networks) take one lane loop
            # instead of three: each lane loop has a fixed cost that, with a few routes,
            # weighs more than its work. The sums keep their start from 0.
            if rec_flows:
                for e in range(n_route):
                    for ln in range(L):
                        arriving[e, ln] = ring[slot, e, ln]
            for j in range(n_dst):
                h = dst_list[j]
                if dst_ptr[j + 1] - dst_ptr[j] == 1:
                    e = dst_routes[dst_ptr[j]]
                    for ln in range(L):
                        x = 0.0 + ring[slot, e, ln]
                        ring[slot, e, ln] = 0.0
                        inv[h, ln] += x
                        pipe[h, ln] -= x
                    continue
                for ln in range(L):
                    t[ln] = 0.0
                for i in range(dst_ptr[j], dst_ptr[j + 1]):
                    e = dst_routes[i]
                    for ln in range(L):
                        t[ln] += ring[slot, e, ln]
                        ring[slot, e, ln] = 0.0
                for ln in range(L):
                    inv[h, ln] += t[ln]
                    pipe[h, ln] -= t[ln]

            # 3. Produce: capacity, scarcest input, room under the output cap.
            for f in range(n_fac):
                i0, i1, h, sp = in_ptr[f], in_ptr[f + 1], out_h[f], is_sp[f] != 0
                if own_holdings and i1 - i0 == 0:  # one loop: act, then stock and the total
                    for ln in range(L):
                        lm = 0.0 if sp else cap_c[f, ln]
                        x = min(lm, max(0.0, capp_c[f, ln] * cap_c[f, ln] - inv[h, ln]))
                        act[f, ln] = x
                        inv[h, ln] += x
                        tot_act[f, ln] += x
                    continue
                if own_holdings and i1 - i0 == 1:
                    hin = in_h[i0]
                    for ln in range(L):  # (the division in every lane, used where am > 0)
                        lm = 0.0 if sp else cap_c[f, ln]
                        am = amount_c[i0, ln]
                        q = inv[hin, ln] / am
                        lm = min(lm, min(np.inf, q) if am > 0 else np.inf)
                        x = min(lm, max(0.0, capp_c[f, ln] * cap_c[f, ln] - inv[h, ln]))
                        act[f, ln] = x
                        inv[hin, ln] = max(0.0, inv[hin, ln] - x * am)
                        inv[h, ln] += x
                        tot_act[f, ln] += x
                    continue
                for ln in range(L):
                    lim[ln] = 0.0 if is_sp[f] else cap_c[f, ln]
                if in_ptr[f + 1] > in_ptr[f]:
                    for ln in range(L):
                        a[ln] = np.inf
                    for i in range(in_ptr[f], in_ptr[f + 1]):
                        h = in_h[i]
                        for ln in range(L):  # an input of amount 0 never limits
                            am = amount_c[i, ln]
                            a[ln] = min(a[ln], inv[h, ln] / am) if am > 0 else a[ln]
                    for ln in range(L):
                        lim[ln] = min(lim[ln], a[ln])
                h = out_h[f]
                for ln in range(L):
                    room = max(0.0, capp_c[f, ln] * cap_c[f, ln] - inv[h, ln])
                    act[f, ln] = min(lim[ln], room)
            for i in range(n_in):
                h, f = in_h[i], in_fac[i]
                if own_holdings and in_ptr[f + 1] - in_ptr[f] <= 1:
                    continue  # done in the facility's loop
                for ln in range(L):
                    inv[h, ln] = max(0.0, inv[h, ln] - act[f, ln] * amount_c[i, ln])
            for f in range(n_fac):
                h = out_h[f]
                if own_holdings and in_ptr[f + 1] - in_ptr[f] <= 1:
                    continue
                for ln in range(L):
                    inv[h, ln] += act[f, ln]
                    tot_act[f, ln] += act[f, ln]
            for j in range(n_co):
                h, f = coproducts[HOLD, j], coproducts[FAC, j]
                for ln in range(L):
                    inv[h, ln] += act[f, ln] * co_c[j, ln]

            # 4. Consume: serve demand from stock; the rest is lost.
            for s in range(n_sink):
                h = sink_h[s]
                for ln in range(L):
                    sv = min(inv[h, ln], wk[s, ln])
                    inv[h, ln] -= sv
                    sv_c[s, ln] = sv
                    tot_served[s, ln] += sv
                    fell[s, ln] |= sv < wk[s, ln]  # (NaN compares False, as in falls_short)
            _sink_rows(k, n_per, rl, wk, sv_c, blk_w, blk_s, want, served)

            # 5. Order up to usage x (cover + expected lead time); stockpiles push.
            # Shares and expected lead times change only with openness, weights or delays;
            # most periods no lane's do, and the lane by lane test is skipped.
            redo = n_rel > 0
            for ln in range(L):
                redo = redo | fresh[ln] | changed[ln]
            for ln in range(L if redo else 0):
                r = rl[ln]
                if fresh[ln] or changed[ln]:
                    for e in range(n_route):
                        open1[e] = open_c[e, ln]
                    _pull_shares(routes, route_par[r, LEAD], delay_r[ln], weight_r[ln], open1,
                                 share_r[ln], elt_r[ln], total, num)  # fmt: skip
                    for e in range(n_route):
                        share_c[e, ln] = share_r[ln, e]
                    for h in range(n_h):
                        elt_c[h, ln] = elt_r[ln, h]
                if n_rel > 0:
                    for e in range(n_route):
                        open1[e] = open_c[e, ln]
                    for h in range(n_h):
                        inv1[h] = inv[h, ln]
                    _pushes(routes, facs, weight_r[ln], open1, inv1, rate_r[ln], total, new_need,
                            push1)  # fmt: skip
                    for e in range(n_route):
                        push_c[e, ln] = push1[e]
            # Each request is clipped to the route's capacity and any licence cap.
            for j in range(n_dst):
                h = dst_list[j]
                buyer = is_buyer[h]
                e = dst_routes[dst_ptr[j]]
                if dst_ptr[j + 1] - dst_ptr[j] == 1 and not any_licence and not from_sp[e]:
                    for ln in range(L):  # one pull route: order and request in one loop
                        u, stock = usage_c[h, ln], inv[h, ln]
                        x = max(0.0, u * (cover_c[h, ln] + elt_c[h, ln]) - stock - pipe[h, ln])
                        x = x if buyer else 0.0
                        request[e, ln] = min(x * share_c[e, ln], rcap_c[e, ln])
                    continue
                for ln in range(L):  # (a select, not a branch, in the lane loop)
                    u = usage_c[h, ln]
                    x = max(0.0, u * (cover_c[h, ln] + elt_c[h, ln]) - inv[h, ln] - pipe[h, ln])
                    o[ln] = x if buyer else 0.0
                for i in range(dst_ptr[j], dst_ptr[j + 1]):
                    e = dst_routes[i]
                    if n_rel > 0 and from_sp[e]:
                        for ln in range(L):
                            q = push_c[e, ln]
                            cap = approval_c[e, ln] * q
                            q = min(q, rcap_c[e, ln])
                            request[e, ln] = min(q, cap) if licensed_c[e, ln] else q
                    elif any_licence:
                        for ln in range(L):
                            sh = share_c[e, ln]
                            q = o[ln] * sh
                            cap = approval_c[e, ln] * usage_c[h, ln] * sh
                            q = min(q, rcap_c[e, ln])
                            request[e, ln] = min(q, cap) if licensed_c[e, ln] else q
                    else:
                        for ln in range(L):
                            request[e, ln] = min(o[ln] * share_c[e, ln], rcap_c[e, ln])

            # 6. Allocate by priority class (served in order, pro rata within a class).
            for j in range(n_sup):
                h = suppliers[j]
                if n_levels == 1 and src_ptr[j + 1] - src_ptr[j] == 1:
                    e = src_routes[src_ptr[j]]
                    # Where the stock covers the request, min(1, left / a) is 1 (or 0 for no
                    # request) without dividing; most periods that holds in every lane.
                    short = False
                    for ln in range(L):
                        short = short | (not (0.0 + request[e, ln] <= inv[h, ln]))
                    if short:
                        for ln in range(L):  # one route, one class: the same steps in one loop
                            lft, x = inv[h, ln], 0.0 + request[e, ln]
                            fr = min(1.0, lft / x) if x > 0 else 0.0
                            inv[h, ln] = max(0.0, lft - min(x, lft))
                            ship[e, ln] = request[e, ln] * fr
                    else:
                        for ln in range(L):
                            lft, x = inv[h, ln], 0.0 + request[e, ln]
                            inv[h, ln] = max(0.0, lft - min(x, lft))
                            ship[e, ln] = request[e, ln] * (1.0 if x > 0 else 0.0)
                    continue
                for ln in range(L):
                    left[ln] = inv[h, ln]
                for lv in range(n_levels):
                    for ln in range(L):
                        a[ln] = 0.0
                    if fixed_classes:  # the supplier's routes of this class
                        for i in range(src_class[j, lv], src_class[j, lv + 1]):
                            e = src_routes[i]
                            for ln in range(L):
                                a[ln] += request[e, ln]
                    else:
                        for i in range(src_ptr[j], src_ptr[j + 1]):
                            e = src_routes[i]
                            for ln in range(L):
                                a[ln] = a[ln] + request[e, ln] if klass_c[e, ln] == lv else a[ln]
                    for ln in range(L):
                        frac[lv, ln] = min(1.0, left[ln] / a[ln]) if a[ln] > 0 else 0.0
                        left[ln] = max(0.0, left[ln] - min(a[ln], left[ln]))
                for ln in range(L):
                    inv[h, ln] = left[ln]
                for lv in range(n_levels):  # (a pass per class: no lookups by lane)
                    if fixed_classes:
                        for i in range(src_class[j, lv], src_class[j, lv + 1]):
                            e = src_routes[i]
                            for ln in range(L):
                                ship[e, ln] = request[e, ln] * frac[lv, ln]
                    else:
                        for i in range(src_ptr[j], src_ptr[j + 1]):
                            e = src_routes[i]
                            for ln in range(L):
                                x = request[e, ln] * frac[lv, ln]
                                ship[e, ln] = x if lv == 0 or klass_c[e, ln] == lv else ship[e, ln]
            if n_quota > 0:
                for ln in range(L):
                    for e in range(n_route):
                        ship1[e] = ship[e, ln]
                    for h in range(n_h):
                        inv1[h] = inv[h, ln]
                    _quotas(routes, rules, rule_ptr, rule_routes, value[rl[ln]], quota_r[ln],
                            suppliers, ship1, inv1, factor, flow, held)  # fmt: skip
                    for e in range(n_route):
                        ship[e, ln] = ship1[e]
                    for h in range(n_h):
                        inv[h, ln] = inv1[h]
            # Ship into the ring; it holds every transit time, so one wrap is enough.
            for j in range(n_dst):
                h = dst_list[j]
                e = dst_routes[dst_ptr[j]]
                one = dst_ptr[j + 1] - dst_ptr[j] == 1 and lead_lo[e] == lead_hi[e]
                if one and not any_licence:
                    at = slot + lead_lo[e]
                    if at >= ring_len:
                        at -= ring_len
                    for ln in range(L):  # one route, one lead time: one loop, the same sum
                        x = ship[e, ln]
                        ring[at, e, ln] += x
                        pipe[h, ln] += 0.0 + x
                    continue
                for ln in range(L):
                    t[ln] = 0.0
                for i in range(dst_ptr[j], dst_ptr[j + 1]):
                    e = dst_routes[i]
                    for ln in range(L):
                        t[ln] += ship[e, ln]
                    if any_licence:  # transit times of this period: lane by lane
                        for ln in range(L):
                            at = slot + lead_c[e, ln] + int(delay_c[e, ln])
                            if at >= ring_len:
                                at -= ring_len
                            ring[at, e, ln] += ship[e, ln]
                        continue
                    if lead_lo[e] == lead_hi[e]:  # one lead time in every lane: no select
                        at = slot + lead_lo[e]
                        if at >= ring_len:
                            at -= ring_len
                        for ln in range(L):
                            ring[at, e, ln] += ship[e, ln]
                        continue
                    # One slot per lead time the route has in this group.
                    for d in range(lead_lo[e], lead_hi[e] + 1):
                        at = slot + d
                        if at >= ring_len:
                            at -= ring_len
                        for ln in range(L):
                            x = ring[at, e, ln]
                            ring[at, e, ln] = x + ship[e, ln] if lead_c[e, ln] == d else x
                for ln in range(L):
                    pipe[h, ln] += t[ln]

            # 7. Record.
            if rec_prod or rec_flows or rec_inv:
                _record(k, rl, act, ship, arriving, inv, pipe, flags, production, departures,
                        arrivals, inventory, in_transit)  # fmt: skip
            for ln in range(L if n_rel > 0 else 0):
                for j in range(n_rel):
                    num_, den = 0.0, 0.0
                    for s in range(n_sink):
                        if rel_cond[j, s]:
                            num_ += sv_c[s, ln]
                            den += wk[s, ln]
                    fill_r[ln, j] = num_ / den if den > 0 else 1.0
            slot = slot + 1 if slot + 1 < ring_len else 0
            # One more period in a row that, with no event and the last one's demand, left
            # the stock, the pipelines and the shipments of the last? (_same also keeps this
            # period's values for the next one to compare with.)
            if may_copy:
                same = _same(wk, last_wk)
                same = _same(ship, last_ship) & same
                same = _same(inv, last_inv) & same
                same = _same(pipe, last_pipe) & same
                streak = streak + 1 if same and k > 0 and not any_chg[k] else 0

        # The ring without copies would stand n_copy slots on: slot j holds what is in slot
        # j - n_copy here.
        turn = n_copy % ring_len
        for ln in range(min(L, hi - g)):
            r = g + ln
            copied[r] = n_copy
            for f in range(n_fac):
                fac_res[r, TOTAL_ACT, f] = tot_act[f, ln]
            for s in range(n_sink):
                total_served[r, s] = tot_served[s, ln]
                falls[r, s] = fell[s, ln]
            for h in range(n_h):
                inv1[h] = inv[h, ln]
            for e in range(n_route):
                for j in range(ring_len):
                    ring1[j, e] = ring[j - turn + (ring_len if j < turn else 0), e, ln]
            _snapshot(inv1, ring1, hold_res[r, END], route_res[r, END])
