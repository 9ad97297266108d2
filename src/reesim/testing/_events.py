"""Random events for a generated network (used by :func:`reesim.testing.scenarios`).

Each drawer returns one event as the dict a TOML file would hold. Targets are
picked from the network so that every event is valid; values are drawn
around the network's own flows so that events bite without always
emptying the chain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

if TYPE_CHECKING:
    from reesim.testing._network import Net

__all__ = ["draw_events"]

_BLOC_NAMES = ("allies", "east")


def _u(draw: st.DrawFn) -> float:
    return draw(st.floats(0.0, 1.0, allow_nan=False))


def _subset(draw: st.DrawFn, items: list[str], none_ok: bool = True) -> list[str] | None:
    """None (everything) or a non-empty subset of ``items``."""
    if none_ok and draw(st.booleans()):
        return None
    return draw(st.lists(st.sampled_from(sorted(set(items))), min_size=1, max_size=3, unique=True))


def _places(net: Net) -> list[str]:
    regions = {f["region"] for f in net.facilities} | {s["region"] for s in net.sinks}
    regions |= {f["owner"] for f in net.facilities if "owner" in f}
    return sorted(regions) + list(_BLOC_NAMES)


def _scale(net: Net) -> float:
    """A typical route flow, t/yr."""
    flows = sorted(f for f in net.flow if f > 0)
    return flows[len(flows) // 2] if flows else 500.0


def _dates(draw: st.DrawFn, net: Net, ev: dict[str, Any]) -> None:
    """Start (fixed or uncertain), and an end, a duration or neither."""
    horizon = net.horizon_days
    pd = net.period_days
    if draw(st.integers(0, 3)) == 0:
        lo = horizon * 0.6 * _u(draw)
        # An uncertain start may fall beyond the horizon: then the event does not happen.
        hi = lo + pd + horizon * 0.7 * _u(draw)
        ev["start"] = {"dist": "uniform", "low": net.day(lo), "high": net.day(hi)}
        fixed_start = None
    else:
        offset = int(min(horizon - 1, horizon * 0.8 * _u(draw)))
        ev["start"] = net.day(offset)
        fixed_start = offset
    which = draw(st.sampled_from(["none", "end", "duration", "duration_dist"]))
    if which == "end" and fixed_start is not None:
        ev["end"] = net.day(fixed_start + 1 + int(horizon * 0.6 * _u(draw)))
    elif which in ("duration", "end"):
        ev["duration_days"] = round(pd * (0.3 + 12 * _u(draw)) + 0.013, 6)
    elif which == "duration_dist":
        med = round(pd * (1 + 8 * _u(draw)), 4)
        ev["duration_days"] = {"dist": "lognormal", "median": med, "p90": round(med * 2.1, 4)}
    if draw(st.integers(0, 4)) == 0:
        ev["probability"] = round(0.2 + 0.7 * _u(draw), 6)


def _export(draw: st.DrawFn, net: Net, ev: dict[str, Any]) -> None:
    ev["exporter"] = draw(st.sampled_from(_places(net)))
    if draw(st.integers(0, 3)) == 0:
        ev["scope"] = "owner"
    stocked = [c["id"] for c in net.commodities if not c.get("byproduct")]
    coms = _subset(draw, stocked)
    if coms is not None:
        ev["commodities"] = coms
    dest = _subset(draw, _places(net))
    if dest is not None:
        ev["destinations"] = dest


def _ban(draw: st.DrawFn, net: Net) -> dict[str, Any]:
    ev: dict[str, Any] = {"kind": "export_ban"}
    _export(draw, net, ev)
    return ev


def _quota(draw: st.DrawFn, net: Net) -> dict[str, Any]:
    ev: dict[str, Any] = {"kind": "export_quota"}
    _export(draw, net, ev)
    ev["tonnes_per_year"] = round(_scale(net) * (0.05 + 2.5 * _u(draw)), 6)
    return ev


def _licence(draw: st.DrawFn, net: Net) -> dict[str, Any]:
    ev: dict[str, Any] = {"kind": "export_licensing"}
    _export(draw, net, ev)
    pd = net.period_days
    if draw(st.booleans()):
        ev["delay_days"] = round(pd * (0.6 + 6 * _u(draw)), 6)
    else:
        med = round(pd * (1 + 3 * _u(draw)), 4)
        ev["delay_days"] = {"dist": "lognormal", "median": med, "p90": round(med * 1.8, 4)}
    if draw(st.booleans()):
        ev["approval_share"] = round(0.1 + 0.9 * _u(draw), 6)
    elif draw(st.booleans()):
        lo = round(0.2 + 0.5 * _u(draw), 6)
        ev["approval_share"] = {"dist": "uniform", "low": lo, "high": 1.0}
    return ev


def _select(draw: st.DrawFn, net: Net, ev: dict[str, Any]) -> None:
    producers = [f for f in net.facilities if f["stage"] != "stockpile"]
    how = draw(st.sampled_from(["facilities", "stages", "regions", "owners", "all"]))
    if how == "facilities":
        ev["facilities"] = _subset(draw, [f["id"] for f in producers], none_ok=False)
    elif how == "stages":
        ev["stages"] = _subset(draw, [f["stage"] for f in producers], none_ok=False)
    elif how == "regions":
        ev["regions"] = _subset(draw, [f["region"] for f in producers], none_ok=False)
    elif how == "owners":
        ev["owners"] = _subset(
            draw, [f.get("owner", f["region"]) for f in producers], none_ok=False
        )


def _capacity(draw: st.DrawFn, net: Net) -> dict[str, Any]:
    ev: dict[str, Any] = {"kind": "capacity_change"}
    _select(draw, net, ev)
    ev["factor"] = 0.0 if draw(st.integers(0, 3)) == 0 else round(1.6 * _u(draw), 6)
    return ev


def _outages(draw: st.DrawFn, net: Net) -> dict[str, Any]:
    ev: dict[str, Any] = {"kind": "random_outages"}
    _select(draw, net, ev)
    years = net.horizon_days / 365.25
    # Several outages per horizon on average.
    ev["rate_per_year"] = round((0.5 + 5 * _u(draw)) / years, 6)
    pd = net.period_days
    if draw(st.booleans()):
        ev["repair_days"] = round(pd * (0.4 + 5 * _u(draw)), 6)
    else:
        med = round(pd * (0.5 + 3 * _u(draw)), 4)
        ev["repair_days"] = {"dist": "lognormal", "median": med, "p90": round(med * 2.5, 4)}
    return ev


def _commissioning(draw: st.DrawFn, net: Net, taken: set[str]) -> dict[str, Any] | None:
    free = [f["id"] for f in net.facilities if f["stage"] != "stockpile" and f["id"] not in taken]
    if not free:
        return None
    fid = draw(st.sampled_from(free))
    taken.add(fid)
    ev: dict[str, Any] = {"kind": "commissioning", "facility": fid}
    if draw(st.booleans()):
        ev["failure_probability"] = round(0.6 * _u(draw), 6)
    if draw(st.booleans()):
        ev["ramp_days"] = round(net.period_days * (0.5 + 10 * _u(draw)), 6)
    if draw(st.booleans()):
        ev["plateau"] = round(0.3 + 0.7 * _u(draw), 6)
    ev["curve"] = draw(st.sampled_from(["linear", "s-curve"]))
    return ev


def _shift(draw: st.DrawFn, net: Net) -> dict[str, Any]:
    pairs = sorted({(r["buyer"], r["commodity"]) for r in net.routes})
    buyer, com = draw(st.sampled_from(pairs))
    ev: dict[str, Any] = {"kind": "sourcing_shift", "buyer": buyer}
    if draw(st.booleans()):
        ev["commodity"] = com
    suppliers = sorted(
        {r["supplier"] for r in net.routes if r["buyer"] == buyer and r["commodity"] == com}
    )
    chosen = draw(st.lists(st.sampled_from(suppliers), min_size=1, max_size=3, unique=True))
    ev["weights"] = {
        s: 0.0 if draw(st.integers(0, 3)) == 0 else round(net.distinct(0.3, _u(draw)), 9)
        for s in chosen
    }
    return ev


def _priority(draw: st.DrawFn, net: Net) -> dict[str, Any]:
    return {"kind": "domestic_priority", "region": draw(st.sampled_from(_places(net)))}


def _release(draw: st.DrawFn, net: Net) -> dict[str, Any] | None:
    stores = [f["id"] for f in net.facilities if f["stage"] == "stockpile"]
    if not stores:
        return None
    ev: dict[str, Any] = {
        "kind": "stockpile_release",
        "stockpile": draw(st.sampled_from(stores)),
        "rate_per_year": round(_scale(net) * (0.2 + 3 * _u(draw)), 6),
    }
    if draw(st.booleans()):
        ev["condition"] = {
            "sinks": _subset(draw, [s["id"] for s in net.sinks], none_ok=False),
            "below": round(0.5 + 0.5 * _u(draw), 6),
        }
    return ev


def _demand(draw: st.DrawFn, net: Net) -> dict[str, Any]:
    ev: dict[str, Any] = {"kind": "demand_change", "factor": round(2.5 * _u(draw), 6)}
    how = draw(st.sampled_from(["sinks", "sectors", "regions", "all"]))
    if how != "all":
        key = {"sinks": "id", "sectors": "sector", "regions": "region"}[how]
        ev[how] = _subset(draw, [s[key] for s in net.sinks], none_ok=False)
    return ev


def draw_events(
    draw: st.DrawFn, net: Net, kinds: list[str], min_events: int, max_events: int
) -> list[dict[str, Any]]:
    """Draw between ``min_events`` and ``max_events`` valid events of the given kinds."""
    taken: set[str] = set()
    makers: dict[str, Callable[[], dict[str, Any] | None]] = {
        "export_ban": lambda: _ban(draw, net),
        "export_quota": lambda: _quota(draw, net),
        "export_licensing": lambda: _licence(draw, net),
        "capacity_change": lambda: _capacity(draw, net),
        "random_outages": lambda: _outages(draw, net),
        "commissioning": lambda: _commissioning(draw, net, taken),
        "sourcing_shift": lambda: _shift(draw, net),
        "domestic_priority": lambda: _priority(draw, net),
        "stockpile_release": lambda: _release(draw, net),
        "demand_change": lambda: _demand(draw, net),
    }
    out: list[dict[str, Any]] = []
    for n in range(draw(st.integers(min_events, max(min_events, max_events)))):
        ev = makers[draw(st.sampled_from(kinds))]()
        if ev is None:
            continue
        _dates(draw, net, ev)
        if draw(st.integers(0, 2)):
            # Never of the form "<kind>-<index>": that is the default id of an unnamed event.
            ev["id"] = f"e{n}-{ev['kind'].replace('_', '-')}" if draw(st.booleans()) else f"ev{n}"
        out.append(ev)
    return out
