"""The steady start of one replicate (docs/model.md, "The steady start").

Runs at the ``START`` sub-step of period 0, after the events of period 0
have been applied, so the start is steady under the state the replicate
begins in: a ban already in force at the start is part of that state.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from reesim.engine.des_nodes import Holding, Shipment, Store

if TYPE_CHECKING:
    from reesim.engine.des import Replicate

__all__ = ["steady_start"]


def _pull_shares(holding: Holding) -> tuple[dict[int, float], float]:
    """Each open pull route's share of the holding's orders, and the expected lead time."""
    pull = [r for r in holding.routes_in if not r.push]
    total = 0.0
    lead_sum = 0.0
    for r in pull:
        w = r.weight if r.open else 0.0
        total += w
        lead_sum += w * (r.lead + r.delay)
    shares = {r.e: ((r.weight if r.open else 0.0) / total if total > 0 else 0.0) for r in pull}
    return shares, (lead_sum / total if total > 0 else 0.0)


def steady_start(rep: Replicate) -> dict[int, tuple[float, float]]:
    """Set stocks and the pipeline of a steady period 0.

    Returns
    -------
    dict
        Facility index -> (steady demand on it minus its capacity, its
        capacity), t per period, for every producing facility.
    """
    init = rep.smp.params["hold_init"][rep.n]
    # Known stock first: stockpiles' and user overrides. Whether a zero-capacity
    # supplier's routes are open depends on it.
    for node in rep.nodes:
        if isinstance(node, Store):
            node.out.on_hand = 0.0 if math.isnan(init[node.out.h]) else float(init[node.out.h])
    for h in rep.holdings:
        if not math.isnan(init[h.h]):
            h.on_hand = float(init[h.h])
    for r in rep.routes:
        r.open = r.can_carry()

    buyers = [h for plant in rep.plants for h, _, _ in plant.inputs]
    buyers += [s.holding for s in rep.sinks]
    shares: dict[int, float] = {}
    lead: dict[int, float] = {}
    for h in buyers:
        sh, lead[h.h] = _pull_shares(h)
        shares.update(sh)

    # 1. Steady flows: sinks need their want; a plant makes what its buyers take
    #    (at most its capacity) and needs that times its recipe. Iterate to a fixed point.
    need = {h.h: 0.0 for h in buyers}
    for s in rep.sinks:
        need[s.holding.h] = s.want_at(0, rep.dt)
    flow: dict[int, float] = {}
    take: dict[int, float] = {}
    for _ in range(max(50, 4 * (len(rep.nodes) + len(rep.sinks)))):
        flow = {r.e: need[r.dst.h] * shares[r.e] if not r.push else 0.0 for r in rep.routes}
        take = {}
        for r in rep.routes:
            take[r.src.h] = take.get(r.src.h, 0.0) + flow[r.e]
        new_need = dict(need)
        for plant in rep.plants:
            act = min(take.get(plant.out.h, 0.0), plant.capacity_dt)
            for h, a, _ in plant.inputs:
                new_need[h.h] = act * a
        if new_need == need:
            break
        need = new_need

    deficits = {p.f: (take.get(p.out.h, 0.0) - p.capacity_dt, p.capacity_dt) for p in rep.plants}

    # 3. The pipeline: route e holds f_e landing in each of periods 0 .. L + D - 1.
    for r in rep.routes:
        transit = r.lead + r.delay
        r.dst.inbound += flow[r.e] * transit
        if flow[r.e] > 0:
            for j in range(transit):
                rep.dispatch(Shipment(r, flow[r.e], j))

    # 4. Buyers hold usage x (cover + expected lead time) less what is on its way.
    stock = {h.h: 0.0 for h in rep.holdings}
    for plant in rep.plants:
        for h, a, cover in plant.inputs:
            stock[h.h] = max(0.0, plant.capacity_dt * a * (cover + lead[h.h]) - h.inbound)
        # 5. A supplier keeps its cap level less one period's outbound flow.
        cap_level = plant.cap_periods * plant.capacity_dt
        stock[plant.out.h] = max(0.0, cap_level - take.get(plant.out.h, 0.0))
    for s in rep.sinks:
        h = s.holding
        stock[h.h] = max(0.0, s.want_at(0, rep.dt) * (s.cover + lead[h.h]) - h.inbound)
    for node in rep.nodes:
        if isinstance(node, Store):
            stock[node.out.h] = node.out.on_hand
    # 6. A user-given stock overrides the steady value.
    for h in rep.holdings:
        h.on_hand = stock[h.h] if math.isnan(init[h.h]) else float(init[h.h])
    return deficits
