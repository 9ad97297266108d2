"""Parameter and event tables of a :class:`~reesim.plan.Plan`, and the draws behind them.

:func:`compile_events` turns each event into a row of its kind's table (which
routes, facilities or sinks it touches) and registers its numeric fields as
parameters; :class:`ParamBuilder` collects parameters and the draws that
replace them per replicate. :mod:`reesim.plan` assembles the plan from these.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reesim.errors import Issue
from reesim.scenario.distributions import as_days, is_dist
from reesim.scenario.events import (
    CapacityChange,
    Commissioning,
    DemandChange,
    DomesticPriority,
    ExportBan,
    ExportLicensing,
    ExportQuota,
    RandomOutages,
    SourcingShift,
    StockpileRelease,
)
from reesim.scenario.model import Scenario

__all__ = ["Draw", "EventTable", "ParamBuilder", "compile_events", "draw_id_for", "event_id"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Draw:
    """One uncertain value: replicate ``i`` samples it from stream ``(seed, (i, draw_id))``.

    Attributes
    ----------
    param, index
        The parameter array and the entry the sampled value replaces.
    draw_id
        Stable id of the draw: a hash of ``path``, so that adding a facility
        does not change the draws of the others.
    path
        Human-readable location, e.g. ``events[ban].duration_days``.
    dist
        The distribution (dates already converted to days after the start).
    low, high
        Bounds of the field; samples are clipped to them.
    """

    param: str
    index: int
    draw_id: int
    path: str
    dist: Any
    low: float = -np.inf
    high: float = np.inf


def draw_id_for(path: str) -> int:
    """Stable 31-bit draw id of a field path (CRC-32, so independent of order)."""
    return zlib.crc32(path.encode("utf-8")) & 0x7FFFFFFF


@dataclass
class EventTable:
    """Rows of one event kind: the event index of each row and what it touches."""

    event: IntArray  # index into the plan's event arrays, per row
    match: BoolArray  # rows x (routes | facilities | sinks)


class ParamBuilder:
    """Collects parameters and draws while the plan is compiled."""

    def __init__(self, origin: dt.date) -> None:
        self.origin = origin
        self.params: dict[str, list[float]] = {}
        self.draws: list[Draw] = []
        self.issues: list[Issue] = []

    def add(
        self,
        param: str,
        value: Any,
        path: str,
        *,
        default: float = np.nan,
        low: float = -np.inf,
        high: float = np.inf,
    ) -> int:
        """Append one entry to ``param``; register a draw when ``value`` is a distribution."""
        column = self.params.setdefault(param, [])
        index = len(column)
        if value is None:
            column.append(default)
        elif is_dist(value):
            dist = value.in_days(self.origin) if value.is_date() else value
            column.append(float(dist.mean_value()))
            self.draws.append(Draw(param, index, draw_id_for(path), path, dist, low, high))
        else:
            column.append(as_days(value, self.origin))
        return index

    def arrays(self) -> dict[str, FloatArray]:
        return {k: np.asarray(v, dtype=np.float64) for k, v in self.params.items()}


def _expand(sc: Scenario, names: list[str] | None) -> set[str] | None:
    return sc.expand_regions(names)


def event_id(event: Any, index: int) -> str:
    return event.id or f"{event.kind}-{index}"


def compile_events(
    sc: Scenario,
    b: ParamBuilder,
    fac_ix: dict[str, int],
    sink_ix: dict[str, int],
    com_ix: dict[str, int],
    fac_region: list[str],
    fac_owner: list[str],
    sink_region: list[str],
    route_src_fac: list[int],
    route_com: list[int],
    buyer_region: list[str],
    period_days: float,
    n_periods: int,
    route_from_stockpile: list[bool],
) -> dict[str, Any]:
    n_fac, n_sink, n_route = len(fac_ix), len(sink_ix), len(route_src_fac)
    rows: dict[str, list[tuple[int, list[bool]]]] = {
        k: []
        for k in (
            "bans",
            "quotas",
            "licences",
            "priorities",
            "capacity_changes",
            "outages",
            "commissionings",
            "demand_changes",
            "releases",
            "shifts",
        )
    }
    release_cond: list[list[bool]] = []
    release_below: list[float] = []
    shift_param: list[int] = []
    ramp_scurve: list[bool] = []
    outage_repair: list[Any] = []

    for vi, ev in enumerate(sc.events):
        eid = event_id(ev, vi)
        path = f"events[{eid}]"
        b.add("ev_start_days", ev.start, f"{path}.start")
        b.add("ev_end_days", ev.end, f"{path}.end", default=np.nan)
        b.add(
            "ev_duration_days", ev.duration_days, f"{path}.duration_days", default=np.nan, low=0.0
        )
        b.add("ev_probability", ev.probability, f"{path}.probability", low=0.0, high=1.0)
        b.add(
            "ev_value",
            _event_value(ev),
            f"{path}.{_event_value_name(ev)}",
            default=np.nan,
            low=0.0,
            high=_event_value_high(ev),
        )
        b.add(
            "ev_share",
            getattr(ev, "approval_share", None)
            if not isinstance(ev, Commissioning)
            else ev.plateau,
            f"{path}.{'plateau' if isinstance(ev, Commissioning) else 'approval_share'}",
            default=1.0,
            low=0.0,
            high=1.0,
        )
        b.add(
            "ev_fail_p",
            getattr(ev, "failure_probability", None),
            f"{path}.failure_probability",
            default=0.0,
            low=0.0,
            high=1.0,
        )
        repair = getattr(ev, "repair_days", None)
        outage_repair.append(repair.in_days(b.origin) if is_dist(repair) else repair)

        if isinstance(ev, ExportBan | ExportQuota | ExportLicensing):
            match = _export_match(
                sc, ev, fac_region, fac_owner, route_src_fac, route_com, buyer_region, com_ix
            )
            key = {"export_ban": "bans", "export_quota": "quotas", "export_licensing": "licences"}[
                ev.kind
            ]
            rows[key].append((vi, match))
        elif isinstance(ev, DomesticPriority):
            regions = _expand(sc, [ev.region]) or set()
            match = [
                fac_region[route_src_fac[e]] in regions and buyer_region[e] in regions
                for e in range(n_route)
            ]
            rows["priorities"].append((vi, match))
        elif isinstance(ev, CapacityChange | RandomOutages):
            match = _facility_match(sc, ev, fac_ix)
            rows["capacity_changes" if isinstance(ev, CapacityChange) else "outages"].append(
                (vi, match)
            )
        elif isinstance(ev, Commissioning):
            match = [False] * n_fac
            match[fac_ix[ev.facility]] = True
            rows["commissionings"].append((vi, match))
            ramp_scurve.append(ev.curve == "s-curve")
        elif isinstance(ev, DemandChange):
            sectors = set(ev.sectors) if ev.sectors is not None else None
            sink_regions = _expand(sc, ev.regions)
            ids = set(ev.sinks) if ev.sinks is not None else None
            match = [
                (ids is None or s.id in ids)
                and (sectors is None or s.sector in sectors)
                and (sink_regions is None or s.region in sink_regions)
                for s in sc.sinks
            ]
            rows["demand_changes"].append((vi, match))
        elif isinstance(ev, StockpileRelease):
            match = [False] * n_fac
            match[fac_ix[ev.stockpile]] = True
            rows["releases"].append((vi, match))
            cond = [False] * n_sink
            if ev.condition is not None:
                for sid in ev.condition.sinks:
                    cond[sink_ix[sid]] = True
                release_below.append(ev.condition.below)
            else:
                release_below.append(np.nan)
            release_cond.append(cond)
        elif isinstance(ev, SourcingShift):
            # One row per (shift, route): each route keeps its own chain of old values.
            for supplier, weight in ev.weights.items():
                param_row = b.add("shift_weight", weight, f"{path}.weights.{supplier}", low=0.0)
                for e, r in enumerate(sc.routes):
                    if (
                        r.supplier == supplier
                        and r.buyer == ev.buyer
                        and (ev.commodity is None or r.commodity == ev.commodity)
                    ):
                        match = [False] * n_route
                        match[e] = True
                        shift_param.append(param_row)
                        rows["shifts"].append((vi, match))

    def table(key: str, width: int) -> EventTable:
        items = rows[key]
        if not items:
            return EventTable(np.zeros(0, dtype=np.int64), np.zeros((0, width), dtype=bool))
        return EventTable(
            np.array([i for i, _ in items], dtype=np.int64),
            np.array([m for _, m in items], dtype=bool).reshape(len(items), width),
        )

    return {
        "bans": table("bans", n_route),
        "quotas": table("quotas", n_route),
        "licences": table("licences", n_route),
        "priorities": table("priorities", n_route),
        "capacity_changes": table("capacity_changes", n_fac),
        "outages": table("outages", n_fac),
        "commissionings": table("commissionings", n_fac),
        "demand_changes": table("demand_changes", n_sink),
        "releases": table("releases", n_fac),
        "release_cond": np.array(release_cond, dtype=bool).reshape(len(release_cond), n_sink),
        "release_below": np.array(release_below, dtype=np.float64),
        "shifts": table("shifts", n_route),
        "shift_param": np.array(shift_param, dtype=np.int64),
        "ramp_scurve": np.array(ramp_scurve, dtype=bool),
        "outage_repair": outage_repair,
    }


def _event_value(ev: Any) -> Any:
    for name in ("tonnes_per_year", "delay_days", "factor", "rate_per_year", "ramp_days"):
        if hasattr(ev, name):
            return getattr(ev, name)
    return None


def _event_value_name(ev: Any) -> str:
    for name in ("tonnes_per_year", "delay_days", "factor", "rate_per_year", "ramp_days"):
        if hasattr(ev, name):
            return name
    return "value"


def _event_value_high(ev: Any) -> float:
    return np.inf


def _export_match(
    sc: Scenario,
    ev: Any,
    fac_region: list[str],
    fac_owner: list[str],
    route_src_fac: list[int],
    route_com: list[int],
    buyer_region: list[str],
    com_ix: dict[str, int],
) -> list[bool]:
    exporters = _expand(sc, [ev.exporter]) or set()
    dest = _expand(sc, ev.destinations)
    coms = None if ev.commodities is None else {com_ix[c] for c in ev.commodities}
    where = fac_owner if ev.scope == "owner" else fac_region
    out = []
    for e, f in enumerate(route_src_fac):
        ok = where[f] in exporters and (coms is None or route_com[e] in coms)
        ok = ok and (
            buyer_region[e] in dest if dest is not None else buyer_region[e] not in exporters
        )
        out.append(ok)
    return out


def _facility_match(sc: Scenario, ev: Any, fac_ix: dict[str, int]) -> list[bool]:
    ids = set(ev.facilities) if ev.facilities is not None else None
    stages = set(ev.stages) if ev.stages is not None else None
    regions = _expand(sc, ev.regions)
    owners = _expand(sc, ev.owners)
    return [
        (ids is None or f.id in ids)
        and (stages is None or f.stage in stages)
        and (regions is None or f.region in regions)
        and (owners is None or f.owner_region in owners)
        for f in sc.facilities
    ]
