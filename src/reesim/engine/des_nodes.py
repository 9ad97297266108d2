"""The things that live in one replicate of the discrete-event engine.

:class:`Holding`
    One (node, commodity) stock: tonnes on hand and tonnes on their way to it.
:class:`Route`
    A supplier holding -> buyer holding link. Its state is what the policy
    events last set: bans, licences, domestic priority, sourcing-shift terms.
:class:`Shipment`
    Tonnes sent on a route in one period; a timed SimPy event lands them.
:class:`Plant`, :class:`Store`, :class:`Buyer`
    A producing facility, a stockpile, and a demand sink. Each one's
    :meth:`run` is its SimPy process (see :mod:`reesim.engine.des`).

Everything here is plain per-node Python; the arithmetic follows the model
text (docs/model.md), node by node, and never calls into the vectorised core.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reesim.engine.des import Replicate

__all__ = ["Buyer", "Holding", "Plant", "Route", "Shipment", "Store", "allocate", "order", "ship"]

# Sub-steps of a period, in the order of the model (section 6 of docs/model.md).
# They are SimPy event priorities: at one simulated time, a lower value runs first.
# They start above SimPy's own URGENT (0) and NORMAL (1), so that processes are
# initialised before any sub-step of period 0 runs.
EVENTS, START, OPEN, RECEIVE, PRODUCE, CONSUME, ORDER, ALLOCATE, QUOTA, SHIP, RECORD = range(10, 21)
#: Names of the sub-steps, for messages.
STEP_NAMES = {
    EVENTS: "events",
    START: "steady start",
    OPEN: "route state",
    RECEIVE: "receive",
    PRODUCE: "produce",
    CONSUME: "consume",
    ORDER: "order",
    ALLOCATE: "allocate",
    QUOTA: "quota",
    SHIP: "ship",
    RECORD: "record",
}


@dataclass(eq=False)
class Holding:
    """Stock of one commodity at one node, t."""

    h: int
    commodity: int
    on_hand: float = 0.0
    inbound: float = 0.0  # shipped to it, not yet landed
    left: float = 0.0  # what allocation left of on_hand this period
    routes_in: list[Route] = field(default_factory=list)
    routes_out: list[Route] = field(default_factory=list)


@dataclass(eq=False)
class Shipment:
    """Tonnes on their way along a route; ``lands`` is the period they arrive in."""

    route: Route
    amount: float
    lands: int

    def land(self, _event: Any = None) -> None:
        """SimPy callback: the shipment joins the buyer's stock."""
        route = self.route
        route.dst.on_hand += self.amount
        route.dst.inbound -= self.amount
        route.arrived += self.amount
        route.in_transit.remove(self)


@dataclass(eq=False)
class Route:
    """One route's static data and its current policy state."""

    e: int
    src: Holding
    dst: Holding
    supplier: Plant | Store
    lead: int  # periods
    cap_dt: float  # t per period (inf: no capacity)
    priority: int
    push: bool  # from a stockpile: it only pushes, buyers never pull on it
    w0: float
    # Sourcing-shift terms frac * (new - previous), one per shift row of this route,
    # in declaration order.
    shift_terms: list[float] = field(default_factory=list)
    bans: int = 0
    domestic: int = 0
    licences: dict[int, tuple[int, float]] = field(default_factory=dict)  # row -> (D, a)
    open: bool = False
    # Per-period working values.
    request: float = 0.0
    licence_cap: float = 0.0
    alloc: float = 0.0
    quota_factor: float = 1.0
    shipped: float = 0.0
    arrived: float = 0.0
    in_transit: list[Shipment] = field(default_factory=list)

    @property
    def weight(self) -> float:
        """Base weight plus every sourcing shift's progress so far (rows in declaration order)."""
        moved = 0.0
        for term in self.shift_terms:
            moved += term
        return self.w0 + moved

    @property
    def delay(self) -> int:
        """Licence delay in periods: the largest of the active licences (0 if none)."""
        return max((d for d, _ in self.licences.values()), default=0)

    @property
    def approval(self) -> float:
        """Approval share: the smallest of the active licences (1 if none)."""
        return min((a for _, a in self.licences.values()), default=1.0)

    @property
    def klass(self) -> int:
        """Priority class: 0 under domestic priority, else the route's priority."""
        return 0 if self.domestic else self.priority

    def can_carry(self) -> bool:
        """Step 1: is the route open this period (stock read before anything lands)?"""
        sup = self.supplier
        able = sup.capacity_dt > 0 or self.src.on_hand > 0
        ok = not self.bans and self.weight > 0 and sup.alive and able
        return ok and (not self.push or sup.releasing)


def order(holding: Holding, usage: float, cover: float) -> None:
    """Step 5 for one buyer holding: top the inventory position up, split over pull routes.

    ``usage`` is t per period (capacity-based for a plant, the want for a
    sink); ``cover`` is in periods. Requests land on ``route.request``.
    """
    pull = [r for r in holding.routes_in if not r.push]
    total = 0.0
    lead_sum = 0.0
    for r in pull:
        w = r.weight if r.open else 0.0
        total += w
        lead_sum += w * (r.lead + r.delay)
    expected_lead = lead_sum / total if total > 0 else 0.0
    target = usage * (cover + expected_lead)
    want = max(0.0, target - holding.on_hand - holding.inbound)
    for r in pull:
        share = (r.weight if r.open else 0.0) / total if total > 0 else 0.0
        r.request = want * share
        r.licence_cap = r.approval * usage * share


def allocate(holding: Holding) -> None:
    """Step 6a for one supplier holding: serve requests by class, pro rata within a class.

    Each request is first clipped by the route's capacity, then (under a
    licence) by its licence cap.
    """
    asks: dict[int, list[tuple[Route, float]]] = {}
    for r in holding.routes_out:
        req = min(r.request, r.cap_dt)
        if r.licences:
            req = min(req, r.licence_cap)
        asks.setdefault(r.klass, []).append((r, req))
        r.alloc = 0.0
        r.quota_factor = 1.0
    left = holding.on_hand
    for klass in sorted(asks):
        asked = 0.0
        for _, req in asks[klass]:
            asked += req
        if asked <= 0:
            continue
        share = min(1.0, left / asked)
        for r, req in asks[klass]:
            r.alloc = req * share
        # A class that asks for all that is left empties the supplier exactly.
        left = max(0.0, left - min(asked, left))
    holding.left = left


def ship(holding: Holding, k: int, rep: Replicate) -> None:
    """Step 6c: send what each route was given (after quotas); it lands at k + L + D.

    The supplier keeps what it did not allocate plus what a quota held back.
    """
    held_back = 0.0
    for r in holding.routes_out:
        amount = r.alloc * r.quota_factor
        r.shipped = amount
        held_back += r.alloc - amount
        if amount > 0:
            r.dst.inbound += amount
            rep.dispatch(Shipment(r, amount, k + r.lead + r.delay))
    holding.on_hand = holding.left + held_back


class Node:
    """What plants and stockpiles share: the state that commissioning and outages set."""

    def __init__(self) -> None:
        self.share: float | None = None  # commissioning share; None: not commissioned
        self.alive = True  # commissioned (or never commissioned) and not failed
        self.factors: dict[int, float] = {}  # capacity-change row -> factor
        self.down = 0  # outages in progress
        self.activity = 0.0

    @property
    def releasing(self) -> bool:
        return False

    @property
    def capacity_dt(self) -> float:
        return 0.0


class Plant(Node):
    """A producing facility with a Leontief recipe.

    Capacity (t per period) = nameplate x commissioning share x active
    capacity factors, and 0 while an outage holds.
    """

    def __init__(
        self, f: int, nameplate: float, dt: float, cap_periods: float, out: Holding
    ) -> None:
        super().__init__()
        self.f = f
        self.nameplate = nameplate  # t/yr
        self.dt = dt  # years per period
        self.cap_periods = cap_periods  # output cap, periods of capacity
        self.out = out
        self.inputs: list[tuple[Holding, float, float]] = []  # (holding, amount, cover periods)
        self.coproducts: list[tuple[Holding, float]] = []
        self.byproducts: list[tuple[int, float]] = []  # (commodity, amount)
        self._supplies = [out]

    @property
    def capacity(self) -> float:
        """Capacity in t/yr this period."""
        cap = self.nameplate
        if self.share is not None:
            cap = cap * self.share
        if self.factors:
            prod = 1.0
            for row in sorted(self.factors):
                prod *= self.factors[row]
            cap = cap * prod
        return 0.0 if self.down else cap

    @property
    def capacity_dt(self) -> float:
        return self.capacity * self.dt

    def supplies(self) -> list[Holding]:
        """The holdings it sells from: reference output, then co-products."""
        return self._supplies

    def add_coproduct(self, holding: Holding, amount: float) -> None:
        self.coproducts.append((holding, amount))
        self._supplies.append(holding)

    def produce(self, rep: Replicate) -> None:
        """Step 3: x = min(capacity, scarcest input, room under the output cap)."""
        cap_dt = self.capacity_dt
        x = cap_dt
        for h, a, _ in self.inputs:
            x = min(x, h.on_hand / a)
        x = min(x, max(0.0, self.cap_periods * cap_dt - self.out.on_hand))
        self.activity = x
        for h, a, _ in self.inputs:
            used = x * a
            h.on_hand = max(0.0, h.on_hand - used)
            rep.ledger_add("consumed", h.commodity, used)
        self.out.on_hand += x
        rep.ledger_add("produced", self.out.commodity, x)
        for h, a in self.coproducts:
            made = x * a
            h.on_hand += made
            rep.ledger_add("produced", h.commodity, made)
        for c, a in self.byproducts:
            rep.ledger_add("byproduct", c, x * a)

    def run(self, rep: Replicate) -> Generator[Any, Any, None]:
        """The plant's process: one pass per period through its sub-steps."""
        at = rep.at
        for k in range(rep.n_periods):
            yield at(k, OPEN)
            for h in self.supplies():
                for r in h.routes_out:
                    r.open = r.can_carry()
            yield at(k, PRODUCE)
            self.produce(rep)
            yield at(k, ORDER)
            cap_dt = self.capacity_dt
            for h, a, cover in self.inputs:
                order(h, cap_dt * a, cover)
            yield at(k, ALLOCATE)
            for h in self.supplies():
                allocate(h)
            yield at(k, SHIP)
            for h in self.supplies():
                ship(h, k, rep)
            yield at(k, RECORD)
            rep.record_plant(k, self)


class Store(Node):
    """A stockpile: no recipe, never orders; pushes while a release holds."""

    def __init__(self, f: int, holding: Holding) -> None:
        super().__init__()
        self.f = f
        self.out = holding
        self.releases: dict[int, float] = {}  # release row -> rate, t per period

    @property
    def releasing(self) -> bool:
        return bool(self.releases)

    def supplies(self) -> list[Holding]:
        return [self.out]

    def push(self) -> None:
        """Step 5 for a stockpile: min(on hand, release rate) split over open routes by weight."""
        rate = sum(self.releases[row] for row in sorted(self.releases))
        amount = min(self.out.on_hand, rate)
        weights = [(r, r.weight if r.open else 0.0) for r in self.out.routes_out]
        total = sum(w for _, w in weights)
        for r, w in weights:
            r.request = amount * w / total if total > 0 else 0.0
            r.licence_cap = r.approval * r.request

    def run(self, rep: Replicate) -> Generator[Any, Any, None]:
        at = rep.at
        for k in range(rep.n_periods):
            yield at(k, OPEN)
            for r in self.out.routes_out:
                r.open = r.can_carry()
            yield at(k, ORDER)
            self.push()
            yield at(k, ALLOCATE)
            allocate(self.out)
            yield at(k, SHIP)
            ship(self.out, k, rep)
            yield at(k, RECORD)
            rep.record_plant(k, self)


class Buyer:
    """A demand sink: want = d0 (1 + g)^(k dt) dt x active demand factors, served from stock."""

    def __init__(
        self, s: int, d0: float, growth_pct: float, cover: float, holding: Holding
    ) -> None:
        self.s = s
        self.d0 = d0
        self.growth = 1.0 + growth_pct / 100.0
        self.cover = cover
        self.holding = holding
        self.factors: dict[int, float] = {}
        self.want = 0.0
        self.served = 0.0
        # Last period's figures, read by release conditions (a full fill before period 0).
        self.last_want = 0.0
        self.last_served = 0.0

    def want_at(self, k: int, dt: float) -> float:
        want = self.d0 * self.growth ** (k * dt) * dt
        if self.factors:
            prod = 1.0
            for row in sorted(self.factors):
                prod *= self.factors[row]
            want = want * prod
        return want

    def run(self, rep: Replicate) -> Generator[Any, Any, None]:
        at = rep.at
        for k in range(rep.n_periods):
            yield at(k, CONSUME)
            self.want = self.want_at(k, rep.dt)
            h = self.holding
            self.served = min(h.on_hand, self.want)
            h.on_hand -= self.served
            rep.ledger_add("served", h.commodity, self.served)
            yield at(k, ORDER)
            order(h, self.want, self.cover)
            yield at(k, RECORD)
            rep.record_sink(k, self)
            self.last_want, self.last_served = self.want, self.served
