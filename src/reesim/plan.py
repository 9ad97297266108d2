"""Compile a :class:`~reesim.scenario.Scenario` into a :class:`Plan` of dense arrays.

The plan turns ids into indices and every quantity into an array that an
engine can read without touching the scenario again:

* **holdings**: the (node, commodity) pairs that hold stock — each facility's
  inputs, its reference output and co-products, each sink's commodity, each
  stockpile's commodity. Inventories are arrays over holdings.
* **routes**: supplier holding -> buyer holding, with static attributes.
* **parameters**: every numeric field as a base array plus the draws that
  replace entries per replicate (see :mod:`reesim.sampling`).
* **event tables**: for each event kind, which routes, facilities or sinks
  it touches, and which parameter rows hold its values.

Nothing here is random and nothing here depends on the number of replicates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reesim.errors import Issue, ScenarioError
from reesim.plan_tables import (
    Draw,
    EventTable,
    ParamBuilder,
    compile_events,
    draw_id_for,
    event_id,
)
from reesim.scenario.distributions import is_dist
from reesim.scenario.events import Commissioning
from reesim.scenario.model import Scenario

__all__ = [
    "PERIOD_DAYS",
    "Draw",
    "EventTable",
    "draw_id_for",
    "Plan",
    "compile_plan",
    "HOLD_INPUT",
    "HOLD_OUTPUT",
    "HOLD_COPRODUCT",
    "HOLD_SINK",
    "HOLD_STOCKPILE",
]

#: Length of one period in days for each period name.
PERIOD_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12.0}

# Kinds of holding.
HOLD_INPUT, HOLD_OUTPUT, HOLD_COPRODUCT, HOLD_SINK, HOLD_STOCKPILE = range(5)

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass
class Plan:
    """A scenario compiled to index structures and parameter arrays.

    Dimension names used in docstrings: F facilities, S sinks, E routes,
    H holdings, C commodities, V events.
    """

    scenario: Scenario
    start: dt.date
    n_periods: int
    period_days: float
    dt: float  # years per period
    threshold: float
    commodity_ids: list[str]
    byproduct: BoolArray  # [C]
    facility_ids: list[str]
    sink_ids: list[str]
    route_ids: list[str]
    event_ids: list[str]
    event_kinds: list[str]
    reference_event: int  # index into events, -1 when there are none
    # holdings
    hold_node: IntArray  # [H] facility index, or F + sink index
    hold_commodity: IntArray  # [H]
    hold_kind: IntArray  # [H]
    # facilities
    fac_out_h: IntArray  # [F] holding of the reference output
    fac_is_stockpile: BoolArray  # [F]
    fac_region: list[str]
    fac_owner: list[str]
    in_fac: IntArray  # [n_in] facility of each recipe input
    in_h: IntArray  # [n_in] its holding
    co_fac: IntArray  # [n_co]
    co_h: IntArray  # [n_co]
    by_fac: IntArray  # [n_by]
    by_commodity: IntArray  # [n_by]
    # sinks
    sink_h: IntArray  # [S]
    sink_region: list[str]
    sink_sector: list[str]
    sink_commodity: list[str]
    # routes
    route_src_h: IntArray  # [E]
    route_dst_h: IntArray  # [E]
    route_src_fac: IntArray  # [E]
    route_priority: IntArray  # [E]
    route_from_stockpile: BoolArray  # [E]
    # parameters and draws
    params: dict[str, FloatArray]
    draws: list[Draw]
    # events by kind
    bans: EventTable  # match over routes
    quotas: EventTable  # routes
    licences: EventTable  # routes
    priorities: EventTable  # routes
    capacity_changes: EventTable  # facilities
    outages: EventTable  # facilities
    commissionings: EventTable  # facilities (one True per row)
    demand_changes: EventTable  # sinks
    releases: EventTable  # facilities (the stockpile)
    release_cond: BoolArray  # [n_rel, S] sinks of the condition (all False: by date)
    release_below: FloatArray  # [n_rel] fill-rate threshold (nan: by date)
    shifts: EventTable  # one route per row: (sourcing shift, route) pairs in declaration order
    shift_param: IntArray  # [n_shift_rows] row in params["shift_weight"] holding the new weight
    ramp_scurve: BoolArray  # [n_commissioning]
    outage_repair: list[Any]  # [V] repair-time distribution (days) of outage events, else None
    warnings: list[str] = field(default_factory=list)

    @property
    def n_facilities(self) -> int:
        return len(self.facility_ids)

    @property
    def n_sinks(self) -> int:
        return len(self.sink_ids)

    @property
    def n_routes(self) -> int:
        return len(self.route_ids)

    @property
    def n_holdings(self) -> int:
        return len(self.hold_node)

    @property
    def n_events(self) -> int:
        return len(self.event_ids)

    def period_of_day(self, days: FloatArray | float) -> Any:
        """First period boundary at or after ``days`` after the start: ceil(days / length - 1e-9)."""
        return np.ceil(np.asarray(days, dtype=np.float64) / self.period_days - 1e-9)

    def periods_of_duration(self, days: FloatArray | float) -> Any:
        """Lead time or delay in periods: max(1, round half up(days / length))."""
        return np.maximum(
            1.0, np.floor(np.asarray(days, dtype=np.float64) / self.period_days + 0.5)
        )

    def holding_label(self, h: int) -> str:
        node = int(self.hold_node[h])
        name = (
            self.facility_ids[node]
            if node < self.n_facilities
            else self.sink_ids[node - self.n_facilities]
        )
        return f"{name}:{self.commodity_ids[int(self.hold_commodity[h])]}"


def compile_plan(sc: Scenario) -> Plan:
    """Compile a validated scenario into a :class:`Plan`.

    Parameters
    ----------
    sc
        The scenario (already validated by the loader or constructor).

    Returns
    -------
    Plan
        Index structures and parameter arrays; see the class docstring.

    Raises
    ------
    ScenarioError
        When two draws hash to the same id, or a cross-reference that the
        validator should have caught is broken.
    """
    period_days = PERIOD_DAYS[sc.time.period]
    n_periods = int(round((sc.time.end - sc.time.start).days / period_days))
    b = ParamBuilder(sc.time.start)

    com_ids = [c.id for c in sc.commodities]
    com_ix = {c: i for i, c in enumerate(com_ids)}
    byproduct = np.array([c.byproduct for c in sc.commodities], dtype=bool)
    fac_ids = [f.id for f in sc.facilities]
    fac_ix = {f: i for i, f in enumerate(fac_ids)}
    sink_ids = [s.id for s in sc.sinks]
    sink_ix = {s: i for i, s in enumerate(sink_ids)}
    n_fac = len(fac_ids)

    hold_node: list[int] = []
    hold_com: list[int] = []
    hold_kind: list[int] = []
    hold_ix: dict[tuple[int, int], int] = {}

    def holding(node: int, com: int, kind: int) -> int:
        key = (node, com)
        if key not in hold_ix:
            hold_ix[key] = len(hold_node)
            hold_node.append(node)
            hold_com.append(com)
            hold_kind.append(kind)
        return hold_ix[key]

    fac_out_h, in_fac, in_h, co_fac, co_h, by_fac, by_com = [], [], [], [], [], [], []
    for fi, f in enumerate(sc.facilities):
        path = f"facilities[{f.id}]"
        out = com_ix[f.output]
        fac_out_h.append(holding(fi, out, HOLD_STOCKPILE if f.is_stockpile else HOLD_OUTPUT))
        b.add("fac_capacity", f.capacity, f"{path}.capacity", default=0.0, low=0.0)
        b.add("fac_output_cap_weeks", f.output_cap_weeks, f"{path}.output_cap_weeks", low=0.0)
        for cname, amount in f.inputs.items():
            in_fac.append(fi)
            in_h.append(holding(fi, com_ix[cname], HOLD_INPUT))
            b.add("in_amount", amount, f"{path}.inputs.{cname}", low=0.0)
            b.add("in_cover_weeks", f.cover_for(cname), f"{path}.cover_weeks.{cname}", low=0.0)
        for cname, amount in f.coproducts.items():
            if byproduct[com_ix[cname]]:
                by_fac.append(fi)
                by_com.append(com_ix[cname])
                b.add("by_amount", amount, f"{path}.coproducts.{cname}", low=0.0)
            else:
                co_fac.append(fi)
                co_h.append(holding(fi, com_ix[cname], HOLD_COPRODUCT))
                b.add("co_amount", amount, f"{path}.coproducts.{cname}", low=0.0)

    sink_h = []
    for si, s in enumerate(sc.sinks):
        path = f"sinks[{s.id}]"
        sink_h.append(holding(n_fac + si, com_ix[s.commodity], HOLD_SINK))
        b.add("sink_demand", s.demand, f"{path}.demand", low=0.0)
        b.add("sink_growth_pct", s.growth_pct, f"{path}.growth_pct", low=-100.0)
        b.add("sink_cover_weeks", s.cover_weeks, f"{path}.cover_weeks", low=0.0)

    # Initial-stock overrides, one per holding (nan = use the steady value).
    n_h = len(hold_node)
    for _ in range(n_h):
        b.params.setdefault("hold_init", []).append(np.nan)
    for fi, f in enumerate(sc.facilities):
        for cname, amount in f.initial_stock.items():
            h = hold_ix[(fi, com_ix[cname])]
            _set_param(b, "hold_init", h, amount, f"facilities[{f.id}].initial_stock.{cname}")
    for si, s in enumerate(sc.sinks):
        if s.initial_stock is not None:
            _set_param(b, "hold_init", sink_h[si], s.initial_stock, f"sinks[{s.id}].initial_stock")

    route_ids, src_h, dst_h, src_fac, prio, from_sp = [], [], [], [], [], []
    for r in sc.routes:
        path = f"routes[{r.key}]"
        route_ids.append(r.key)
        sf = fac_ix[r.supplier]
        c = com_ix[r.commodity]
        src_fac.append(sf)
        src_h.append(hold_ix[(sf, c)])
        buyer = fac_ix[r.buyer] if r.buyer in fac_ix else n_fac + sink_ix[r.buyer]
        dst_h.append(hold_ix[(buyer, c)])
        prio.append(r.priority)
        from_sp.append(sc.facilities[sf].is_stockpile)
        b.add("route_lead_days", r.lead_time_days, f"{path}.lead_time_days", low=1e-9)
        b.add("route_weight", r.weight, f"{path}.weight", low=0.0)
        b.add("route_capacity", r.capacity, f"{path}.capacity", default=np.inf, low=0.0)

    fac_region = [f.region for f in sc.facilities]
    fac_owner = [f.owner_region for f in sc.facilities]
    sink_region = [s.region for s in sc.sinks]
    buyer_region = [
        fac_region[hold_node[h]] if hold_node[h] < n_fac else sink_region[hold_node[h] - n_fac]
        for h in dst_h
    ]
    route_com = [hold_com[h] for h in src_h]

    tables = compile_events(
        sc,
        b,
        fac_ix,
        sink_ix,
        com_ix,
        fac_region,
        fac_owner,
        sink_region,
        src_fac,
        route_com,
        buyer_region,
        period_days,
        n_periods,
        from_sp,
    )

    event_ids = [event_id(e, i) for i, e in enumerate(sc.events)]
    ref = -1
    if sc.events:
        want = sc.settings.reference_event
        ref = event_ids.index(want) if want in event_ids else 0

    warnings = _start_warnings(sc, period_days)
    commissioned = [e.facility for e in sc.events if isinstance(e, Commissioning)]
    for fid in sorted({f for f in commissioned if commissioned.count(f) > 1}):
        b.issues.append(
            Issue(
                "events",
                f"facility '{fid}' has several commissioning events; "
                "give it one (a facility has one ramp)",
            )
        )
    _check_draw_ids(b)
    if b.issues:
        raise ScenarioError(b.issues)

    params = b.arrays()
    for name in (
        "in_amount",
        "in_cover_weeks",
        "co_amount",
        "by_amount",
        "route_lead_days",
        "route_weight",
        "route_capacity",
        "sink_demand",
        "sink_growth_pct",
        "sink_cover_weeks",
        "fac_capacity",
        "fac_output_cap_weeks",
    ):
        params.setdefault(name, np.zeros(0))

    as_int = lambda x: np.asarray(x, dtype=np.int64)  # noqa: E731
    return Plan(
        scenario=sc,
        start=sc.time.start,
        n_periods=n_periods,
        period_days=period_days,
        dt=period_days / 365.25,
        threshold=sc.settings.shortage_threshold,
        commodity_ids=com_ids,
        byproduct=byproduct,
        facility_ids=fac_ids,
        sink_ids=sink_ids,
        route_ids=route_ids,
        event_ids=event_ids,
        event_kinds=[e.kind for e in sc.events],
        reference_event=ref,
        hold_node=as_int(hold_node),
        hold_commodity=as_int(hold_com),
        hold_kind=as_int(hold_kind),
        fac_out_h=as_int(fac_out_h),
        fac_is_stockpile=np.array([f.is_stockpile for f in sc.facilities], dtype=bool),
        fac_region=fac_region,
        fac_owner=fac_owner,
        in_fac=as_int(in_fac),
        in_h=as_int(in_h),
        co_fac=as_int(co_fac),
        co_h=as_int(co_h),
        by_fac=as_int(by_fac),
        by_commodity=as_int(by_com),
        sink_h=as_int(sink_h),
        sink_region=sink_region,
        sink_sector=[s.sector for s in sc.sinks],
        sink_commodity=[s.commodity for s in sc.sinks],
        route_src_h=as_int(src_h),
        route_dst_h=as_int(dst_h),
        route_src_fac=as_int(src_fac),
        route_priority=as_int(prio),
        route_from_stockpile=np.array(from_sp, dtype=bool),
        params=params,
        draws=b.draws,
        warnings=warnings,
        **tables,
    )


def _start_warnings(sc: Scenario, period_days: float) -> list[str]:
    """Warnings the model asks for: lead times clamped up to one period, stock overrides."""
    out = []
    for i, r in enumerate(sc.routes):
        days = r.lead_time_days
        if not is_dist(days) and float(days) / period_days < 0.5:
            out.append(
                f"routes[{i}].lead_time_days = {float(days):g} is under half a period "
                f"({period_days:g} days): it is rounded up to one period"
            )
    for f in sc.facilities:
        if not f.is_stockpile:
            for c in f.initial_stock:
                out.append(f"facilities[{f.id}].initial_stock.{c} overrides the steady start")
    for s in sc.sinks:
        if s.initial_stock is not None:
            out.append(f"sinks[{s.id}].initial_stock overrides the steady start")
    return out


def _set_param(b: ParamBuilder, param: str, index: int, value: Any, path: str) -> None:
    if is_dist(value):
        dist = value.in_days(b.origin) if value.is_date() else value
        b.params[param][index] = float(dist.mean_value())
        b.draws.append(Draw(param, index, draw_id_for(path), path, dist, 0.0, np.inf))
    else:
        b.params[param][index] = float(value)


def _check_draw_ids(b: ParamBuilder) -> None:
    seen: dict[int, str] = {}
    for d in b.draws:
        if d.draw_id in seen and seen[d.draw_id] != d.path:
            b.issues.append(Issue(d.path, f"draw id collides with {seen[d.draw_id]}; rename one"))
        seen[d.draw_id] = d.path
