"""Policy events and random outages as SimPy processes.

Each process waits for the period its event starts in, changes the state of
the routes, plants or sinks it touches at the ``EVENTS`` sub-step (before
anything else happens in that period), and undoes the change at the period
its interval ends in. An event acts in period k iff k0 <= k < k1, with
[k0, k1) taken from the sampled table (``k0 = n_periods + 1``: it does not
happen in this replicate). Ramps (commissioning, sourcing shifts) update
their share every period until they reach it; release conditions and quotas
are re-read every period they hold.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from reesim.engine.des_nodes import EVENTS, QUOTA, Route

if TYPE_CHECKING:
    from reesim.engine.des import Replicate

__all__ = ["start_policies"]

Proc = Generator[Any, Any, None]

#: Tolerance of "fill rate below a threshold" (the model's share tolerance).
FILL_TOL = 1e-9


def _window(rep: Replicate, v: int) -> tuple[int, int]:
    """[k0, k1) of event v in this replicate, cut to the horizon."""
    k0 = int(rep.smp.ev_k0[rep.n, v])
    k1 = int(rep.smp.ev_k1[rep.n, v])
    return k0, min(k1, rep.n_periods)


def _toggle(rep: Replicate, v: int, on: Any, off: Any) -> Proc:
    """Call ``on()`` when event v starts and ``off()`` when it ends."""
    k0, k1 = _window(rep, v)
    if k0 >= k1:
        return
    yield rep.at(k0, EVENTS)
    on()
    if k1 < rep.n_periods:
        yield rep.at(k1, EVENTS)
        off()


def _routes(rep: Replicate, match: np.ndarray) -> list[Route]:
    return [rep.routes[e] for e in np.flatnonzero(match)]


def ban(rep: Replicate, v: int, routes: list[Route]) -> Proc:
    """Export ban: matching routes carry nothing while it holds."""

    def on() -> None:
        for r in routes:
            r.bans += 1

    def off() -> None:
        for r in routes:
            r.bans -= 1

    yield from _toggle(rep, v, on, off)


def domestic(rep: Replicate, v: int, routes: list[Route]) -> Proc:
    """Domestic priority: matching routes move to class 0 while it holds."""

    def on() -> None:
        for r in routes:
            r.domestic += 1

    def off() -> None:
        for r in routes:
            r.domestic -= 1

    yield from _toggle(rep, v, on, off)


def licence(rep: Replicate, v: int, row: int, routes: list[Route]) -> Proc:
    """Export licensing: an extra delay D and an approval share a on matching routes."""
    delay = int(rep.smp.licence_delay[rep.n, row])
    approval = float(rep.param("ev_share", v))

    def on() -> None:
        for r in routes:
            r.licences[row] = (delay, approval)

    def off() -> None:
        for r in routes:
            del r.licences[row]

    yield from _toggle(rep, v, on, off)


def quota(rep: Replicate, v: int, routes: list[Route]) -> Proc:
    """Export quota: every period it holds, scale the matching allocations to Q * dt."""
    k0, k1 = _window(rep, v)
    cap = float(rep.param("ev_value", v)) * rep.dt
    for k in range(k0, k1):
        yield rep.at(k, QUOTA)
        total = sum(r.alloc for r in routes)
        factor = min(1.0, cap / total) if total > 0 else 1.0
        for r in routes:
            r.quota_factor = min(r.quota_factor, factor)


def capacity_change(rep: Replicate, v: int, row: int, nodes: list[Any]) -> Proc:
    """Capacity change: multiply the selected facilities' capacity by a factor."""
    factor = float(rep.param("ev_value", v))

    def on() -> None:
        for node in nodes:
            node.factors[row] = factor

    def off() -> None:
        for node in nodes:
            del node.factors[row]

    yield from _toggle(rep, v, on, off)


def outage(rep: Replicate, node: Any, starts: np.ndarray, ends: np.ndarray) -> Proc:
    """Failure and repair of one facility: capacity 0 from each start to its end."""
    for a, b in zip(starts, ends, strict=True):
        if a >= rep.n_periods:
            return
        yield rep.at(int(a), EVENTS)
        node.down += 1
        if b >= rep.n_periods:
            return
        yield rep.at(int(b), EVENTS)
        node.down -= 1


def commissioning(rep: Replicate, v: int, row: int, node: Any) -> Proc:
    """A facility that exists from k0 (unless it fails) and ramps to its plateau."""
    node.share = 0.0
    node.alive = False
    k0 = int(rep.smp.ev_k0[rep.n, v])
    if bool(rep.smp.commission_failed[rep.n, row]) or k0 >= rep.n_periods:
        return
    ramp = int(rep.smp.commission_ramp[rep.n, row])
    plateau = float(rep.param("ev_share", v))
    s_curve = bool(rep.plan.ramp_scurve[row])
    for k in range(k0, rep.n_periods):
        yield rep.at(k, EVENTS)
        u = min(1.0, max(0.0, (k - k0 + 1) / ramp))
        node.share = plateau * (3 * u**2 - 2 * u**3 if s_curve else u)
        node.alive = True
        if u >= 1.0:
            return


def shift(rep: Replicate, v: int, route: Route, slot: int, delta: float) -> Proc:
    """One (sourcing shift, route) row: the weight moves by ``delta`` over [k0, k1)."""
    k0 = int(rep.smp.ev_k0[rep.n, v])
    k1 = int(rep.smp.ev_k1[rep.n, v])
    # A shift without an end within the horizon (or an empty one) is a step at k0.
    length = float(k1 - k0) if (k1 <= rep.n_periods and k1 > k0) else 1.0
    for k in range(max(k0, 0), rep.n_periods):
        yield rep.at(k, EVENTS)
        frac = min(1.0, max(0.0, (k - k0 + 1) / length))
        route.shift_terms[slot] = frac * delta
        if frac >= 1.0:
            return


def release(rep: Replicate, v: int, row: int, store: Any) -> Proc:
    """Stockpile release: the stockpile pushes while it holds (and its condition is met)."""
    k0, k1 = _window(rep, v)
    rate_dt = float(rep.param("ev_value", v)) * rep.dt
    below = float(rep.plan.release_below[row])
    sinks = [rep.sinks[s] for s in np.flatnonzero(rep.plan.release_cond[row])]
    for k in range(k0, k1):
        yield rep.at(k, EVENTS)
        holds = True
        if not np.isnan(below):
            want = sum(s.last_want for s in sinks)
            fill = sum(s.last_served for s in sinks) / want if want > 0 else 1.0
            holds = fill < below - FILL_TOL
        if holds:
            store.releases[row] = rate_dt
        else:
            store.releases.pop(row, None)
    if k1 < rep.n_periods:
        yield rep.at(k1, EVENTS)
        store.releases.pop(row, None)


def demand_change(rep: Replicate, v: int, row: int, sinks: list[Any]) -> Proc:
    """Demand change: multiply the selected sinks' demand by a factor."""
    factor = float(rep.param("ev_value", v))

    def on() -> None:
        for s in sinks:
            s.factors[row] = factor

    def off() -> None:
        for s in sinks:
            del s.factors[row]

    yield from _toggle(rep, v, on, off)


def start_policies(rep: Replicate) -> None:
    """Start one process per event row (and per outage history) of the plan."""
    plan, proc = rep.plan, rep.process
    for v, match in zip(plan.bans.event, plan.bans.match, strict=True):
        proc(ban(rep, int(v), _routes(rep, match)))
    for v, match in zip(plan.priorities.event, plan.priorities.match, strict=True):
        proc(domestic(rep, int(v), _routes(rep, match)))
    for row, (v, match) in enumerate(zip(plan.licences.event, plan.licences.match, strict=True)):
        proc(licence(rep, int(v), row, _routes(rep, match)))
    for v, match in zip(plan.quotas.event, plan.quotas.match, strict=True):
        proc(quota(rep, int(v), _routes(rep, match)))
    table = plan.capacity_changes
    for row, (v, match) in enumerate(zip(table.event, table.match, strict=True)):
        nodes = [rep.nodes[f] for f in np.flatnonzero(match)]
        proc(capacity_change(rep, int(v), row, nodes))
    for p, f in enumerate(rep.smp.outage_fac):
        proc(
            outage(
                rep, rep.nodes[int(f)], rep.smp.outage_start[rep.n, p], rep.smp.outage_end[rep.n, p]
            )
        )
    table = plan.commissionings
    for row, (v, match) in enumerate(zip(table.event, table.match, strict=True)):
        node = rep.nodes[int(np.flatnonzero(match)[0])]
        proc(commissioning(rep, int(v), row, node))
    _start_shifts(rep)
    table = plan.releases
    for row, (v, match) in enumerate(zip(table.event, table.match, strict=True)):
        proc(release(rep, int(v), row, rep.nodes[int(np.flatnonzero(match)[0])]))
    table = plan.demand_changes
    for row, (v, match) in enumerate(zip(table.event, table.match, strict=True)):
        proc(demand_change(rep, int(v), row, [rep.sinks[s] for s in np.flatnonzero(match)]))


def _start_shifts(rep: Replicate) -> None:
    """Each (shift, route) row moves its route from the weight the previous row set."""
    plan = rep.plan
    current: dict[int, float] = {}
    for row, (v, match) in enumerate(zip(plan.shifts.event, plan.shifts.match, strict=True)):
        route = rep.routes[int(np.flatnonzero(match)[0])]
        new = float(rep.smp.params["shift_weight"][rep.n, plan.shift_param[row]])
        delta = new - current.get(route.e, route.w0)
        current[route.e] = new
        route.shift_terms.append(0.0)
        rep.process(shift(rep, int(v), route, len(route.shift_terms) - 1, delta))
