"""The numba kernel behind ``engine="numba"``: one replicate at a time, scalar loops.

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
its callees live in.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["run_replicates"]

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
REC_PROD, REC_FLOWS, REC_INV, ANY_LICENCE = 0, 1, 2, 3  # flags
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
def _allocate(routes, suppliers, request, inv, ship, asked, frac, klass):
    """Step 6: serve requests by priority class (``klass``: index into the classes), pro rata.

    What each supplier is asked per class is summed in one pass over the
    routes (in route order, as the core sums each class), the classes are
    then served in order from what the earlier ones left, and each route gets
    its class's share of its request.
    """
    for lv in range(asked.shape[0]):
        for h in suppliers:
            asked[lv, h] = 0.0
    for e in range(ship.shape[0]):
        asked[klass[e], routes[SRC_H, e]] += request[e]
    for lv in range(asked.shape[0]):
        for h in suppliers:
            a = asked[lv, h]
            frac[lv, h] = min(1.0, inv[h] / a) if a > 0 else 0.0
            inv[h] = max(0.0, inv[h] - min(a, inv[h]))
    for e in range(ship.shape[0]):
        ship[e] = request[e] * frac[klass[e], routes[SRC_H, e]]


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


@njit(cache=True, nogil=True, error_model="numpy")
def run_replicates(lo, hi, flags, routes, route_lead, facs, in_ptr, inputs, coproducts,
                   sink_h, is_buyer, suppliers, n_levels, ring_len, n_quota, dt, fac_par,
                   route_par, in_amount, co_amount, cover, hold_init, want, d0, growth_ix,
                   growth_pow, dc, dc_match, k0, k1, value, share, rules, rule_ptr, rule_routes,
                   cc, cc_ptr, cc_facs, com, com_failed, com_factor, out_fac, out_start, out_end,
                   rel, rel_below, rel_cond, shifts, shift_par, changes, served, production,
                   departures, arrivals, inventory, in_transit, hold_res, route_res, fac_res,
                   total_served):  # fmt: skip
    """Run replicates ``lo .. hi - 1`` through every period and fill their rows of the results.

    Replicates are independent: disjoint ranges may run in parallel threads
    (the kernel releases the GIL) and give the same numbers as one range.
    """
    n_fac, n_route, n_h = facs.shape[1], routes.shape[1], is_buyer.shape[0]
    n_sink, n_rel, n_per = sink_h.shape[0], rel.shape[1], want.shape[1]
    # Scratch, reused by every replicate of the range.
    ring = np.zeros((ring_len, n_route))
    cap_dt, rate_dt, act = np.zeros(n_fac), np.zeros(n_fac), np.zeros(n_fac)
    alive, releasing = np.ones(n_fac, np.bool_), np.zeros(n_fac, np.bool_)
    banned, licensed = np.zeros(n_route, np.bool_), np.zeros(n_route, np.bool_)
    open_ = np.zeros(n_route, np.bool_)
    klass = np.zeros(n_route, np.int64)
    delay, approval, weight = np.zeros(n_route), np.ones(n_route), np.zeros(n_route)
    share_, flow, request = np.zeros(n_route), np.zeros(n_route), np.zeros(n_route)
    lcap, ship, arriving = np.zeros(n_route), np.zeros(n_route), np.zeros(n_route)
    elt, total, num, usage = np.zeros(n_h), np.zeros(n_h), np.zeros(n_h), np.zeros(n_h)
    take, need, new_need = np.zeros(n_h), np.zeros(n_h), np.zeros(n_h)
    inv, pipe, held = np.zeros(n_h), np.zeros(n_h), np.zeros(n_h)
    quota_on, factor = np.zeros(n_quota, np.bool_), np.ones(n_quota)
    fill = np.ones(n_rel)
    factor_f, down = np.ones(n_fac), np.zeros(n_fac, np.bool_)
    last_open = np.zeros(n_route, np.bool_)
    class_asked, class_frac = np.zeros((n_levels, n_h)), np.zeros((n_levels, n_h))
    rec_prod, rec_flows, rec_inv = flags[REC_PROD], flags[REC_FLOWS], flags[REC_INV]
    any_licence = flags[ANY_LICENCE]

    for r in range(lo, hi):
        lead = route_par[r, LEAD]
        lead_int = route_lead[r]
        cap_periods = fac_par[r, CAP_PERIODS]
        amount = in_amount[r]
        k0r, k1r, valuer = k0[r], k1[r], value[r]
        com_r, out_start_r, out_end_r = com_factor[r], out_start[r], out_end[r]
        for j in range(n_rel):
            fill[j] = 1.0
        for k in range(n_per):
            # Demand: d0 x growth ** (k dt) x dt, times the active demand factors.
            wk = want[r, k]
            for s in range(n_sink):
                w = d0[r, s] * growth_pow[k, growth_ix[r, s]] * dt
                if dc.shape[0] > 0:
                    p = 1.0
                    for j in range(dc.shape[0]):
                        v = dc[j]
                        if dc_match[j, s] and k >= k0r[v] and k < k1r[v]:
                            p = p * valuer[v]
                    w = w * p
                wk[s] = w
            # 1. State: the event-driven part is redone only when something changed.
            fresh = changes[r, k]
            if fresh:
                _capacity_and_rules(k, routes, fac_par[r, CAPACITY], dt, k0r, k1r, valuer,
                                    share[r], rules, rule_ptr, rule_routes, cc, cc_ptr, cc_facs,
                                    com, com_failed[r], com_r, out_fac, out_start_r, out_end_r,
                                    cap_dt, alive, factor_f, down, banned, delay, licensed,
                                    approval, klass, quota_on)  # fmt: skip
            if k == 0 or shifts.shape[1] > 0:
                _weights(k, k0r, shifts, shift_par[r], route_par[r, W0], weight)
                fresh = True
            if k == 0 or n_rel > 0:
                _releases(k, k0r, k1r, valuer, rel, rel_below, fill, rate_dt, releasing)
            if k == 0:
                _start(routes, facs, inputs, sink_h, is_buyer, amount, cover[r], lead,
                       hold_init[r], cap_periods, wk, cap_dt, alive, banned, delay, weight,
                       releasing, open_, share_, elt, total, num, usage, flow, take, need,
                       new_need, inv, pipe, ring, fac_res[r, DEFICIT],
                       fac_res[r, CAP0])  # fmt: skip
                _snapshot(inv, ring, hold_res[r, START], route_res[r, START])
            _open_routes(routes, cap_dt, alive, banned, weight, releasing, inv, open_)

            # 2. Receive.
            slot = k % ring_len
            for h in range(n_h):
                take[h] = 0.0
            for e in range(n_route):
                arriving[e] = ring[slot, e]
                ring[slot, e] = 0.0
                take[routes[DST_H, e]] += arriving[e]
            for h in range(n_h):
                inv[h] += take[h]
                pipe[h] -= take[h]

            # 3. Produce: capacity, scarcest input, room under the output cap.
            for f in range(n_fac):
                lim = 0.0 if facs[IS_SP, f] else cap_dt[f]
                if in_ptr[f + 1] > in_ptr[f]:
                    scarcest = np.inf
                    for i in range(in_ptr[f], in_ptr[f + 1]):
                        if amount[i] > 0:  # an input of amount 0 never limits
                            scarcest = min(scarcest, inv[inputs[HOLD, i]] / amount[i])
                    lim = min(lim, scarcest)
                room = max(0.0, cap_periods[f] * cap_dt[f] - inv[facs[OUT_H, f]])
                act[f] = min(lim, room)
            for i in range(inputs.shape[1]):
                h = inputs[HOLD, i]
                inv[h] = max(0.0, inv[h] - act[inputs[FAC, i]] * amount[i])
            for f in range(n_fac):
                inv[facs[OUT_H, f]] += act[f]
                fac_res[r, TOTAL_ACT, f] += act[f]
            for j in range(coproducts.shape[1]):
                inv[coproducts[HOLD, j]] += act[coproducts[FAC, j]] * co_amount[r, j]

            # 4. Consume: serve demand from stock; the rest is lost.
            for s in range(n_sink):
                h = sink_h[s]
                sv = min(inv[h], wk[s])
                inv[h] -= sv
                served[r, k, s] = sv
                total_served[r, s] += sv

            # 5. Order up to usage x (cover + expected lead time); stockpiles push.
            # Shares and expected lead times change only with openness, weights or delays.
            for e in range(n_route):
                if open_[e] != last_open[e]:
                    fresh = True
                last_open[e] = open_[e]
            if fresh:
                _pull_shares(routes, lead, delay, weight, open_, share_, elt, total, num)
            _usage(inputs, sink_h, amount, cap_dt, wk, usage)
            for h in range(n_h):
                o = 0.0
                if is_buyer[h]:
                    o = max(0.0, usage[h] * (cover[r, h] + elt[h]) - inv[h] - pipe[h])
                need[h] = o
            for e in range(n_route):
                d = routes[DST_H, e]
                request[e] = need[d] * share_[e]
                lcap[e] = approval[e] * usage[d] * share_[e]
            if n_rel > 0:
                for h in range(n_h):
                    total[h] = 0.0
                    new_need[h] = 0.0
                for e in range(n_route):
                    flow[e] = weight[e] if open_[e] and routes[FROM_SP, e] else 0.0
                    total[routes[SRC_H, e]] += flow[e]
                for f in range(n_fac):
                    if facs[IS_SP, f]:
                        new_need[facs[OUT_H, f]] = min(inv[facs[OUT_H, f]], rate_dt[f])
                for e in range(n_route):
                    if routes[FROM_SP, e]:
                        t = total[routes[SRC_H, e]]
                        push = new_need[routes[SRC_H, e]] * flow[e] / (t if t > 0 else 1.0)
                        request[e] = push
                        lcap[e] = approval[e] * push

            # 6. Allocate and ship: clip, priority classes, quotas, into the ring.
            for e in range(n_route):
                q = min(request[e], route_par[r, ROUTE_CAP_DT, e])
                if licensed[e]:
                    q = min(q, lcap[e])
                request[e] = q
            _allocate(routes, suppliers, request, inv, ship, class_asked, class_frac, klass)
            if n_quota > 0:
                _quotas(routes, rules, rule_ptr, rule_routes, value[r], quota_on, suppliers,
                        ship, inv, factor, flow, held)  # fmt: skip
            for h in range(n_h):
                take[h] = 0.0
            for e in range(n_route):
                # The ring holds every transit time, so one wrap is enough (no modulo).
                at = slot + lead_int[e] + (int(delay[e]) if any_licence else 0)
                if at >= ring_len:
                    at -= ring_len
                ring[at, e] += ship[e]
                take[routes[DST_H, e]] += ship[e]
            for h in range(n_h):
                pipe[h] += take[h]

            # 7. Record.
            if rec_prod:
                for f in range(n_fac):
                    production[r, k, f] = act[f]
            if rec_flows:
                for e in range(n_route):
                    departures[r, k, e] = ship[e]
                    arrivals[r, k, e] = arriving[e]
            if rec_inv:
                for h in range(n_h):
                    inventory[r, k, h] = inv[h]
                    in_transit[r, k, h] = pipe[h]
            for j in range(n_rel):
                num_, den = 0.0, 0.0
                for s in range(n_sink):
                    if rel_cond[j, s]:
                        num_ += served[r, k, s]
                        den += wk[s]
                fill[j] = num_ / den if den > 0 else 1.0

        _snapshot(inv, ring, hold_res[r, END], route_res[r, END])
