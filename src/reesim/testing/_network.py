"""Random layered networks for :mod:`reesim.testing.strategies` (private).

The builder picks a shape (layers of plants, sinks, routes), computes the
steady flows top-down in t/yr, and only then sizes capacities, co-product
amounts and route capacities with slack over those flows.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from reesim.errors import ReesimWarning
from reesim.scenario import Scenario

#: Period lengths the strategies can draw, in days.
PERIODS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12.0}

_REGIONS = ("CN", "US", "EU", "JP", "AU", "MY")
_BLOCS = {"allies": ["US", "EU", "JP", "AU"], "east": ["CN", "MY"]}
_CHAIN = ("ore", "oxide", "metal", "alloy", "magnet", "motor", "module", "system")
_SECTORS = ("ev", "wind", "electronics", "industrial", "defence", "other")
_STAGES = ("mine", "separation", "metal", "magnet", "assembly", "finishing", "pack", "system")


@dataclass
class Net:
    """A network under construction, and what the event strategies need to know of it.

    Flows, demands and capacities are in t/yr; ``flow`` holds the steady
    flow of each route (by index in ``routes``).
    """

    time: dict[str, Any]
    period_days: float
    n_periods: int
    commodities: list[dict[str, Any]] = field(default_factory=list)
    facilities: list[dict[str, Any]] = field(default_factory=list)
    sinks: list[dict[str, Any]] = field(default_factory=list)
    routes: list[dict[str, Any]] = field(default_factory=list)
    flow: list[float] = field(default_factory=list)
    serial: int = 0

    def distinct(self, base: float, u: float) -> float:
        """``base`` scaled by a drawn ``u`` and by a factor unique to this call (never round)."""
        self.serial += 1
        return base * (1.0 + 0.5 * u) * (1.0 + 0.0137 * self.serial + 1e-4 * math.sqrt(self.serial))

    def day(self, offset: float) -> dt.date:
        return self.time["start"] + dt.timedelta(days=int(offset))

    @property
    def horizon_days(self) -> float:
        return self.n_periods * self.period_days

    def scenario(self, events: list[dict[str, Any]], settings: dict[str, Any]) -> Scenario:
        data = {
            "name": "generated",
            "time": self.time,
            "settings": settings,
            "blocs": {k: list(v) for k, v in _BLOCS.items()},
            "commodities": self.commodities,
            "facilities": self.facilities,
            "sinks": self.sinks,
            "routes": self.routes,
            "events": events,
        }
        # Advisory warnings (a stockpile without a release, a dormant-only buyer) are
        # expected of random networks; the scenario is valid.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ReesimWarning)
            return Scenario.model_validate(data)


def uniform01(draw: st.DrawFn) -> float:
    """A uniform draw in [0, 1] (shrinks to 0)."""
    return draw(st.floats(0.0, 1.0, allow_nan=False))


def _time(
    draw: st.DrawFn, period: str | None, horizon: tuple[int, int]
) -> tuple[dict[str, Any], float, int]:
    name = period or draw(st.sampled_from(["week", "week", "month", "day"]))
    n = draw(st.integers(horizon[0], horizon[1]))
    start = dt.date(2026, 1, 1) + dt.timedelta(days=draw(st.integers(0, 400)))
    days = math.ceil(n * PERIODS[name])
    return (
        {"start": start, "end": start + dt.timedelta(days=days), "period": name},
        PERIODS[name],
        n,
    )


def _lead_days(draw: st.DrawFn, net: Net, max_periods: int = 4) -> float:
    periods = draw(st.integers(1, max_periods))
    # Within +-0.4 period of a whole number: never clamped, never on a rounding edge.
    return round((periods - 0.4 + 0.8 * uniform01(draw)) * net.period_days, 6)


@st.composite
def build_network(
    draw: st.DrawFn,
    *,
    max_facilities: int = 8,
    max_sinks: int = 4,
    commodities: int = 3,
    assembly_tree: bool = False,
    coproducts: bool = True,
    coproduct_surplus: bool = False,
    stockpiles: bool = True,
    growth: bool = False,
    route_capacity: bool = True,
    overrides: bool = False,
    distributions: bool = False,
    period: str | None = None,
    horizon: tuple[int, int] = (10, 52),
) -> Net:
    if max_facilities < 2 or max_sinks < 1 or commodities < 2:
        raise ValueError("need max_facilities >= 2, max_sinks >= 1 and commodities >= 2")
    time, pdays, n = _time(draw, period, horizon)
    net = Net(time=time, period_days=pdays, n_periods=n)
    depth = draw(st.integers(2, min(commodities, max_facilities, len(_CHAIN))))
    chain = list(_CHAIN[:depth])
    net.commodities = [{"id": c} for c in chain]
    if assembly_tree:
        _tree(draw, net, chain, max_facilities, max_sinks, coproducts)
    else:
        _layered(draw, net, chain, max_facilities, max_sinks, coproducts, stockpiles)
    _size(draw, net, growth, route_capacity, distributions, coproduct_surplus)
    if overrides:
        _overrides(draw, net)
    return net


def _facility(
    draw: st.DrawFn, net: Net, layer: int, chain: list[str], inputs: dict[str, float]
) -> dict[str, Any]:
    fid = f"{_STAGES[layer][:3]}{sum(1 for f in net.facilities if f['output'] == chain[layer]) + 1}_{layer}"
    region = draw(st.sampled_from(_REGIONS))
    weeks = net.period_days / 7.0
    f: dict[str, Any] = {
        "id": fid,
        "stage": _STAGES[layer],
        "region": region,
        "output": chain[layer],
        "inputs": {c: round(net.distinct(a, uniform01(draw)), 9) for c, a in inputs.items()},
        # At least one period of capacity: a smaller cap level throttles below steady demand.
        "output_cap_weeks": round(net.distinct(net.period_days / 7.0, 3 * uniform01(draw)), 6),
    }
    if draw(st.booleans()):
        f["owner"] = draw(st.sampled_from(_REGIONS))
    if inputs:
        if draw(st.booleans()):
            f["cover_weeks"] = round(net.distinct(0.3 * weeks, 4 * uniform01(draw)), 6)
        else:
            f["cover_weeks"] = {
                c: round(net.distinct(0.2 * weeks, 6 * uniform01(draw)), 6) for c in inputs
            }
    net.facilities.append(f)
    return f


def _sink(draw: st.DrawFn, net: Net, commodity: str) -> dict[str, Any]:
    s = {
        "id": f"sink{len(net.sinks) + 1}",
        "region": draw(st.sampled_from(_REGIONS)),
        "sector": draw(st.sampled_from(_SECTORS)),
        "commodity": commodity,
        "demand": round(net.distinct(900.0, 6 * uniform01(draw)), 6),
        "cover_weeks": round(net.distinct(0.3 * net.period_days / 7.0, 5 * uniform01(draw)), 6),
    }
    net.sinks.append(s)
    return s


def _route(
    draw: st.DrawFn, net: Net, supplier: str, buyer: str, commodity: str, weight: float
) -> None:
    net.routes.append(
        {
            "supplier": supplier,
            "buyer": buyer,
            "commodity": commodity,
            "lead_time_days": _lead_days(draw, net),
            "weight": weight,
            "priority": draw(st.integers(1, 3)),
        }
    )


def _layered(
    draw: st.DrawFn,
    net: Net,
    chain: list[str],
    max_fac: int,
    max_sinks: int,
    coproducts: bool,
    stockpiles: bool,
) -> None:
    depth = len(chain)
    per_layer = [1] * depth
    for _ in range(draw(st.integers(0, max_fac - depth))):
        per_layer[draw(st.integers(0, depth - 1))] += 1
    # A stocked co-product of a middle layer, bought by a later stage or a sink; a
    # by-product that leaves the model.
    co = None
    if coproducts and depth >= 2 and draw(st.booleans()):
        co = (draw(st.integers(0, depth - 2)), "coprod")
        net.commodities.append({"id": "coprod"})
    slag = coproducts and draw(st.booleans())
    if slag:
        net.commodities.append({"id": "slag", "byproduct": True})
    for layer in range(depth):
        for _ in range(per_layer[layer]):
            inputs: dict[str, float] = {}
            if layer > 0:
                inputs[chain[layer - 1]] = 0.3 + 1.4 * uniform01(draw)
                extra = [chain[j] for j in range(layer - 1)]
                if co is not None and co[0] < layer:
                    extra.append(co[1])
                two = draw(st.booleans())
                if extra and two:
                    inputs[draw(st.sampled_from(extra))] = 0.1 + 0.6 * uniform01(draw)
            first = not any(f["output"] == chain[layer] for f in net.facilities)
            f = _facility(draw, net, layer, chain, inputs)
            if co is not None and co[0] == layer and (first or draw(st.booleans())):
                f["coproducts"] = {co[1]: 0.0}  # sized once the steady flows are known
            if slag and layer > 0 and draw(st.booleans()):
                f.setdefault("coproducts", {})["slag"] = round(
                    net.distinct(0.4, uniform01(draw)), 9
                )
    n_sinks = draw(st.integers(1, max_sinks))
    stocked = [c["id"] for c in net.commodities if not c.get("byproduct")]
    made = {c for f in net.facilities for c in [f["output"], *f.get("coproducts", {})]}
    for i in range(n_sinks):
        com = chain[-1] if i == 0 else draw(st.sampled_from([c for c in stocked if c in made]))
        _sink(draw, net, com)
    if co is not None and not _buyers(net, co[1]):
        _sink(draw, net, co[1])
    if stockpiles:
        for i in range(draw(st.integers(0, 2))):
            com = draw(st.sampled_from([c for c in stocked if _buyers(net, c)]))
            net.facilities.append(
                {
                    "id": f"store{i + 1}",
                    "stage": "stockpile",
                    "region": draw(st.sampled_from(_REGIONS)),
                    "output": com,
                    "initial_stock": {com: round(net.distinct(300.0, 4 * uniform01(draw)), 6)},
                }
            )
    # Routes: each buyer draws 1-3 suppliers among the makers of its commodity.
    for buyer, com in _all_buyers(net):
        makers = [
            f["id"]
            for f in net.facilities
            if f["stage"] != "stockpile" and (f["output"] == com or com in f.get("coproducts", {}))
        ]
        chosen = draw(
            st.lists(st.sampled_from(makers), min_size=1, max_size=min(3, len(makers)), unique=True)
        )
        for j, sup in enumerate(chosen):
            dormant = j > 0 and draw(st.integers(0, 4)) == 0
            _route(
                draw,
                net,
                sup,
                buyer,
                com,
                0.0 if dormant else round(net.distinct(0.5, uniform01(draw)), 9),
            )
        for sp in [f for f in net.facilities if f["stage"] == "stockpile" and f["output"] == com]:
            if draw(st.booleans()):
                _route(
                    draw, net, sp["id"], buyer, com, round(net.distinct(0.4, uniform01(draw)), 9)
                )
    # Every maker sells its reference output somewhere, so no plant idles at the start.
    for f in net.facilities:
        if f["stage"] == "stockpile":
            continue
        if not any(
            r["supplier"] == f["id"] and r["commodity"] == f["output"] and r["weight"] > 0
            for r in net.routes
        ):
            buyer = draw(st.sampled_from([b for b, c in _all_buyers(net) if c == f["output"]]))
            weight = round(net.distinct(0.3, uniform01(draw)), 9)
            same = [
                r
                for r in net.routes
                if (r["supplier"], r["buyer"], r["commodity"]) == (f["id"], buyer, f["output"])
            ]
            if same:
                same[0]["weight"] = weight
            else:
                _route(draw, net, f["id"], buyer, f["output"], weight)


def _tree(
    draw: st.DrawFn, net: Net, chain: list[str], max_fac: int, max_sinks: int, coproducts: bool
) -> None:
    """One supplier per buyer input and one buyer per supplier holding: a forest of trees."""
    budget = [max_fac]  # facilities not yet reserved

    def make(layer: int, buyer: str) -> None:
        # The chain below this facility (layer + 1 plants) is already reserved.
        inputs: dict[str, float] = {}
        if layer > 0:
            inputs[chain[layer - 1]] = 0.3 + 1.4 * uniform01(draw)
            if layer >= 2 and budget[0] >= 1 and draw(st.booleans()):
                budget[0] -= 1  # one more mine for the second raw input
                inputs[chain[0]] = 0.1 + 0.6 * uniform01(draw)
        f = _facility(draw, net, layer, chain, inputs)
        if coproducts and layer > 0 and draw(st.booleans()):
            if not any(c["id"] == "slag" for c in net.commodities):
                net.commodities.append({"id": "slag", "byproduct": True})
            f["coproducts"] = {"slag": round(net.distinct(0.4, uniform01(draw)), 9)}
        _route(draw, net, f["id"], buyer, chain[layer], 1.0)
        for com in inputs:
            make(chain.index(com), f["id"])

    depth = len(chain)
    for _ in range(draw(st.integers(1, max_sinks))):
        layer = depth - 1 if not net.sinks else draw(st.integers(0, depth - 1))
        if budget[0] < layer + 1:
            break
        budget[0] -= layer + 1
        s = _sink(draw, net, chain[layer])
        make(layer, s["id"])


def _buyers(net: Net, com: str) -> list[str]:
    return [b for b, c in _all_buyers(net) if c == com]


def _all_buyers(net: Net) -> list[tuple[str, str]]:
    out = [(f["id"], c) for f in net.facilities for c in f.get("inputs", {})]
    return out + [(s["id"], s["commodity"]) for s in net.sinks]


def _size(
    draw: st.DrawFn,
    net: Net,
    growth: bool,
    route_capacity: bool,
    distributions: bool,
    surplus: bool,
) -> None:
    """Steady flows top-down, then capacities with slack over them."""
    years = net.horizon_days / 365.25
    if growth:
        for s in net.sinks:
            s["growth_pct"] = round(-4.0 + 10.0 * uniform01(draw), 6)
    need: dict[tuple[str, str], float] = {(s["id"], s["commodity"]): s["demand"] for s in net.sinks}
    if distributions:
        for s in net.sinks:
            d = s["demand"]
            s["demand"] = {"dist": "triangular", "low": 0.9 * d, "mode": d, "high": 1.1 * d}
            need[(s["id"], s["commodity"])] = 1.1 * d
    net.flow = [0.0] * len(net.routes)
    act: dict[str, float] = {}
    layer_of = {
        f["id"]: _CHAIN.index(f["output"]) if f["output"] in _CHAIN else 0 for f in net.facilities
    }
    for f in sorted(net.facilities, key=lambda f: -layer_of[f["id"]]):
        if f["stage"] == "stockpile":
            continue
        # Everything f sells of its reference output is known once its buyers are done.
        _split(net, need, f["id"], f["output"])
        act[f["id"]] = sum(
            net.flow[e]
            for e, r in enumerate(net.routes)
            if r["supplier"] == f["id"] and r["commodity"] == f["output"]
        )
        for c, a in f["inputs"].items():
            need[(f["id"], c)] = act[f["id"]] * a
    for f in net.facilities:
        for c in f.get("coproducts", {}):
            if c == "slag":
                continue
            _split(net, need, f["id"], c)
            sold = sum(
                net.flow[e]
                for e, r in enumerate(net.routes)
                if r["supplier"] == f["id"] and r["commodity"] == c
            )
            if surplus or growth:
                base = sold / act[f["id"]] if act[f["id"]] > 0 else 0.2
                f["coproducts"][c] = round(net.distinct(max(base, 0.05) * 1.3, uniform01(draw)), 9)
            elif sold > 0:
                # Made exactly as fast as it is sold, so the run stays steady (a surplus
                # would pile up: co-products are not capped).
                f["coproducts"][c] = sold / act[f["id"]]
            else:
                f["coproducts"][c] = 0.0  # nobody buys it here: make none
    for f in net.facilities:
        if f["stage"] == "stockpile":
            continue
        grow = max(1.0, 1.06**years) if growth else 1.0
        slack = net.distinct(1.25 * grow, uniform01(draw))
        cap = round(max(act[f["id"]], 50.0) * slack, 6)
        f["capacity"] = cap
        if distributions and draw(st.booleans()):
            f["capacity"] = {"dist": "uniform", "low": cap, "high": round(cap * 1.2, 6)}
    for e, r in enumerate(net.routes):
        if route_capacity and draw(st.integers(0, 2)) == 0:
            base = net.flow[e] if net.flow[e] > 0 else 200.0
            r["capacity"] = round(net.distinct(1.3 * base, uniform01(draw)), 6)
        if distributions and draw(st.integers(0, 3)) == 0:
            days = r["lead_time_days"]
            lo = max(0.6 * net.period_days, days - 0.3 * net.period_days)
            r["lead_time_days"] = {
                "dist": "uniform",
                "low": round(lo, 6),
                "high": round(days + 0.3 * net.period_days, 6),
            }


def _split(net: Net, need: dict[tuple[str, str], float], supplier: str, com: str) -> None:
    """Set the steady flow of every pull route from ``supplier`` for ``com``."""
    for e, r in enumerate(net.routes):
        if r["supplier"] != supplier or r["commodity"] != com or r["weight"] <= 0:
            continue
        group = [
            x
            for x in net.routes
            if x["buyer"] == r["buyer"]
            and x["commodity"] == com
            and x["weight"] > 0
            and not x["supplier"].startswith("store")
        ]
        total = sum(x["weight"] for x in group)
        net.flow[e] = need.get((r["buyer"], com), 0.0) * r["weight"] / total


def _overrides(draw: st.DrawFn, net: Net) -> None:
    for s in net.sinks:
        if draw(st.integers(0, 3)) == 0:
            s["initial_stock"] = round(net.distinct(40.0, 8 * uniform01(draw)), 6)
    for f in net.facilities:
        if f["stage"] != "stockpile" and f["inputs"] and draw(st.integers(0, 3)) == 0:
            c = draw(st.sampled_from(sorted(f["inputs"])))
            f["initial_stock"] = {c: round(net.distinct(30.0, 8 * uniform01(draw)), 6)}
