"""The discrete-event reference engine, written with SimPy.

One replicate at a time, one :class:`simpy.Environment` per replicate; one
unit of simulated time is one period. The model (docs/model.md) reads
directly off the processes:

* every producing facility (:class:`~reesim.engine.des_nodes.Plant`),
  stockpile (:class:`~reesim.engine.des_nodes.Store`) and demand sink
  (:class:`~reesim.engine.des_nodes.Buyer`) is a process that, in each
  period, does its part of each sub-step;
* every shipment is a timed event that lands at the buyer ``L + D`` periods
  after it left (:class:`~reesim.engine.des_nodes.Shipment`);
* every policy event is a process that changes the state of routes, plants
  or sinks in the period it starts and undoes it in the period it ends, and
  random outages are failure/repair processes
  (:mod:`reesim.engine.des_policy`).

The order inside a period (state, receive, produce, consume, order,
allocate and ship, record) is enforced with SimPy event priorities: every
process waits on :meth:`Replicate.at` ``(k, step)``, an event at time ``k``
whose priority is the sub-step, so at one time SimPy runs all of one
sub-step before any of the next. Waiting on an earlier sub-step of the
current period is an error, not a silent reordering.

The engine shares the compiled plan and the sampled table with the
vectorised core and nothing else: allocation, ordering, the steady start and
the mass ledger are computed here, per node, in plain Python.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Mapping
from typing import Any

import numpy as np
import simpy
from numpy.typing import NDArray
from simpy.events import EventPriority

from reesim.engine.des_nodes import (
    RECEIVE,
    START,
    STEP_NAMES,
    Buyer,
    Holding,
    Plant,
    Route,
    Shipment,
    Store,
)
from reesim.engine.des_policy import start_policies
from reesim.engine.des_start import steady_start
from reesim.engine.output import ChunkOutput
from reesim.plan import Plan
from reesim.sampling import Samples

__all__ = ["Replicate", "run_des"]

FloatArray = NDArray[np.float64]

#: Ledger entries kept while a replicate runs.
_FLOWS = ("produced", "consumed", "served", "byproduct")


class Step(simpy.Event):
    """An event at period ``k``, sub-step ``step`` (its SimPy priority); triggered on creation."""

    def __init__(self, rep: Replicate, k: int, step: int) -> None:
        env = rep.env
        now = env._now
        if k < now or (k == now and step < rep.step):
            raise RuntimeError(
                f"a process asked for period {k}, {STEP_NAMES[step]}, while period "
                f"{now}, {STEP_NAMES.get(rep.step, 'start')} is running"
            )
        # Inlined from Event.__init__ and Timeout, which cannot set a priority.
        self.env = env
        self.callbacks = [rep.enter]
        self._value = (k, step)
        self._ok = True
        env.schedule(self, EventPriority(step), k - now)


class Replicate:
    """The network of one replicate: holdings, routes, nodes and their processes.

    Parameters
    ----------
    plan, smp
        The compiled scenario and the chunk's sampled table.
    n
        Row of the replicate in ``smp``.
    out
        The chunk's output; row ``n`` of its arrays is filled.
    """

    def __init__(self, plan: Plan, smp: Samples, n: int, out: ChunkOutput) -> None:
        self.plan, self.smp, self.n, self.out = plan, smp, n, out
        self.env = simpy.Environment()
        self.step = -1
        self._steps: dict[tuple[int, int], Step] = {}
        self.n_periods = plan.n_periods
        self.dt = plan.dt
        self.ledger = {key: np.zeros(len(plan.commodity_ids)) for key in _FLOWS}
        p = {name: values[n] for name, values in smp.params.items()}
        self.holdings = [Holding(h, int(c)) for h, c in enumerate(plan.hold_commodity)]
        self.nodes: list[Plant | Store] = []
        for f in range(plan.n_facilities):
            out_h = self.holdings[int(plan.fac_out_h[f])]
            if plan.fac_is_stockpile[f]:
                self.nodes.append(Store(f, out_h))
            else:
                cap_periods = float(p["fac_output_cap_weeks"][f]) * 7.0 / plan.period_days
                self.nodes.append(
                    Plant(f, float(p["fac_capacity"][f]), self.dt, cap_periods, out_h)
                )
        self.plants = [node for node in self.nodes if isinstance(node, Plant)]
        for i, (f, h) in enumerate(zip(plan.in_fac, plan.in_h, strict=True)):
            cover = float(p["in_cover_weeks"][i]) * 7.0 / plan.period_days
            self._plant(f).inputs.append((self.holdings[int(h)], float(p["in_amount"][i]), cover))
        for i, (f, h) in enumerate(zip(plan.co_fac, plan.co_h, strict=True)):
            self._plant(f).add_coproduct(self.holdings[int(h)], float(p["co_amount"][i]))
        for i, (f, c) in enumerate(zip(plan.by_fac, plan.by_commodity, strict=True)):
            self._plant(f).byproducts.append((int(c), float(p["by_amount"][i])))
        self.sinks = [
            Buyer(
                s,
                float(p["sink_demand"][s]),
                float(p["sink_growth_pct"][s]),
                float(p["sink_cover_weeks"][s]) * 7.0 / plan.period_days,
                self.holdings[int(plan.sink_h[s])],
            )
            for s in range(plan.n_sinks)
        ]
        self.routes: list[Route] = []
        for e in range(plan.n_routes):
            r = Route(
                e=e,
                src=self.holdings[int(plan.route_src_h[e])],
                dst=self.holdings[int(plan.route_dst_h[e])],
                supplier=self.nodes[int(plan.route_src_fac[e])],
                lead=int(smp.route_lead[n, e]),
                cap_dt=float(p["route_capacity"][e]) * self.dt,
                priority=int(plan.route_priority[e]),
                push=bool(plan.route_from_stockpile[e]),
                w0=float(p["route_weight"][e]),
            )
            r.src.routes_out.append(r)
            r.dst.routes_in.append(r)
            self.routes.append(r)
        self.deficits: dict[int, tuple[float, float]] = {}
        self.initial = np.zeros(len(plan.commodity_ids))

    def _plant(self, f: Any) -> Plant:
        node = self.nodes[int(f)]
        assert isinstance(node, Plant), "recipes belong to producing facilities"
        return node

    # ------------------------------------------------------------------ SimPy glue
    def at(self, k: int, step: int) -> Step:
        """The event processes wait on to act in period ``k`` at sub-step ``step``.

        Every process that waits for the same (k, step) shares one event, so
        a sub-step costs one entry in SimPy's queue however many nodes act in it.
        """
        event = self._steps.get((k, step))
        if event is None:
            event = self._steps[(k, step)] = Step(self, k, step)
        return event

    def enter(self, event: simpy.Event) -> None:
        """Callback of every :class:`Step`: remember which sub-step is running."""
        key = event._value
        self.step = key[1]
        self._steps.pop(key, None)

    def process(self, gen: Generator[Any, Any, None]) -> None:
        self.env.process(gen)

    def dispatch(self, shipment: Shipment) -> None:
        """Put a shipment on its way: its own timed event lands it at the receive step."""
        shipment.route.in_transit.append(shipment)
        Step(self, shipment.lands, RECEIVE).callbacks.append(shipment.land)

    def param(self, name: str, index: int) -> float:
        return float(self.smp.params[name][self.n, index])

    # ------------------------------------------------------------------ the run
    def _start(self) -> Generator[Any, Any, None]:
        yield self.at(0, START)
        self.deficits = steady_start(self)
        for h in self.holdings:
            self.initial[h.commodity] += h.on_hand
        for r in self.routes:
            for s in r.in_transit:
                self.initial[r.dst.commodity] += s.amount

    def run(self) -> None:
        """Simulate every period of the horizon."""
        start_policies(self)
        self.process(self._start())
        for node in self.nodes:
            self.process(node.run(self))
        for sink in self.sinks:
            self.process(sink.run(self))
        self.env.run(until=self.n_periods)

    # ------------------------------------------------------------------ records
    def ledger_add(self, key: str, commodity: int, amount: float) -> None:
        self.ledger[key][commodity] += amount

    def _record_holding(self, k: int, h: Holding) -> None:
        out = self.out
        if out.inventory is not None and out.in_transit is not None:
            out.inventory[self.n, k, h.h] = h.on_hand
            out.in_transit[self.n, k, h.h] = h.inbound

    def record_plant(self, k: int, node: Plant | Store) -> None:
        """Step 7 for a facility: its activity, its outbound routes and its stocks."""
        out, n = self.out, self.n
        if out.production is not None:
            out.production[n, k, node.f] = node.activity
        for h in node.supplies():
            for r in h.routes_out:
                if out.departures is not None and out.arrivals is not None:
                    out.departures[n, k, r.e] = r.shipped
                    out.arrivals[n, k, r.e] = r.arrived
                r.shipped = 0.0
                r.arrived = 0.0
            self._record_holding(k, h)
        if isinstance(node, Plant):
            for h, _, _ in node.inputs:
                self._record_holding(k, h)

    def record_sink(self, k: int, sink: Buyer) -> None:
        """Step 7 for a sink: want and served, and its stock."""
        self.out.demand[self.n, k, sink.s] = sink.want
        self.out.served[self.n, k, sink.s] = sink.served
        self._record_holding(k, sink.holding)

    def close(self) -> dict[str, FloatArray]:
        """The replicate's mass ledger per commodity."""
        ledger = {"initial": self.initial, **self.ledger}
        on_hand = np.zeros(len(self.plan.commodity_ids))
        for h in self.holdings:
            on_hand[h.commodity] += h.on_hand
        moving = np.zeros(len(self.plan.commodity_ids))
        for r in self.routes:
            for s in r.in_transit:
                moving[r.dst.commodity] += s.amount
        ledger["final_on_hand"] = on_hand
        ledger["final_in_transit"] = moving
        return ledger


def run_des(
    plan: Plan,
    smp: Samples,
    record: frozenset[str],
    *,
    series: Mapping[str, FloatArray] | None = None,
) -> ChunkOutput:
    """Run each replicate of a chunk through its own SimPy environment.

    Parameters
    ----------
    plan
        The compiled scenario.
    smp
        The chunk's sampled values (:func:`reesim.sampling.draw_samples`),
        the same table the vectorised core reads.
    record
        Series to keep: any of ``sinks``, ``production``, ``flows``, ``inventory``.
    series
        Arrays to write series into instead of fresh ones, by name
        (:meth:`reesim.engine.output.ChunkOutput.empty`); every value is written.

    Returns
    -------
    ChunkOutput
        Sink series (always), the requested series and the mass ledger.
    """
    n_rep = smp.n
    out = ChunkOutput.empty(plan, smp, record, series)
    ledgers: list[dict[str, FloatArray]] = []
    worst: dict[int, float] = {}
    short: set[int] = set()
    for i in range(n_rep):
        rep = Replicate(plan, smp, i, out)
        rep.run()
        ledgers.append(rep.close())
        for f, (deficit, cap_dt) in rep.deficits.items():
            worst[f] = max(worst.get(f, -math.inf), deficit)
            if deficit > 1e-9 * max(cap_dt, 1e-300):
                short.add(f)
    out.ledger = {key: np.array([lg[key] for lg in ledgers]) for key in ledgers[0]}
    out.warnings = [
        f"facility '{plan.facility_ids[f]}' cannot meet its steady demand at the start: "
        f"short by up to {worst[f] / plan.dt:,.0f} t/yr (reported as pre-disruption shortage)"
        for f in sorted(short)
    ]
    return out
