"""Checks of a scenario as a whole: ids, cross-references, recipes, event targets.

Rules on one field (a lead time > 0, a share in [0, 1], a distribution whose
draws stay within the field's range) are enforced by the models themselves;
the checks here need more than one field or more than one entry. They collect
every problem instead of stopping at the first. Checks of dates, stages and
route weights, which need no id tables, are in :mod:`reesim.scenario.checks_values`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from reesim.errors import Issue, did_you_mean
from reesim.scenario.checks_values import PERIOD_DAYS, ValueChecks
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
from reesim.scenario.schema import Commodity, Facility, Sink

if TYPE_CHECKING:
    from reesim.scenario.model import Scenario

__all__ = ["PERIOD_DAYS", "Loc", "check_scenario", "run_checks"]

#: A field location: names and list indices, e.g. ``("routes", 3, "lead_time_days")``.
Loc = tuple[str | int, ...]


def check_scenario(sc: Scenario) -> tuple[list[Issue], list[Issue]]:
    """Check a scenario as a whole.

    Parameters
    ----------
    sc
        A scenario whose fields are each valid.

    Returns
    -------
    tuple of list of Issue
        ``(errors, warnings)``. Errors make the scenario unusable; warnings
        (:class:`~reesim.errors.ReesimWarning` when issued) flag a run that
        would go on but may mislead.
    """
    return run_checks(sc)


def run_checks(
    sc: Scenario,
    *,
    index: Mapping[str, Sequence[int]] | None = None,
    declared: Mapping[str, Collection[str]] | None = None,
    complete: bool = True,
    removed: Mapping[str, str] | None = None,
) -> tuple[list[Issue], list[Issue]]:
    """Check a scenario, possibly one built only from the valid parts of a file.

    Parameters
    ----------
    sc
        The scenario (or its valid parts).
    index
        For each list, the position in the file of each entry kept in ``sc``.
    declared
        For each list, ids of entries dropped as invalid: still counted as
        declared, so that references to them are not reported twice.
    complete
        False when parts were dropped: checks that rely on something being
        absent (no route, unknown region) are then skipped.
    removed
        Ids dropped by ``remove = true`` in an ``extends`` child, with the file
        that dropped them.
    """
    return _Checker(sc, index or {}, declared or {}, complete, removed or {}).run()


def _unknown(
    what: str, name: str, known: Collection[str], removed: Mapping[str, str] | None = None
) -> str:
    if removed and name in removed:
        return (
            f"unknown {what} '{name}': {removed[name]} removes it; remove or change "
            "what refers to it too"
        )
    hint = did_you_mean(name, sorted(known))
    if not hint:
        names = sorted(known)
        shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
        hint = f" (declared: {shown})" if names else " (none declared)"
    return f"unknown {what} '{name}'{hint}"


def _listing(names: Collection[str]) -> str:
    return ", ".join(names) if names else "nothing"


class _Checker(ValueChecks):
    def __init__(
        self,
        sc: Scenario,
        index: Mapping[str, Sequence[int]],
        declared: Mapping[str, Collection[str]],
        complete: bool,
        removed: Mapping[str, str],
    ) -> None:
        super().__init__(sc, index, complete)
        self.removed = removed
        self.has_commodities = getattr(sc, "commodities", None) is not None
        self.commodities: dict[str, Commodity] = {}
        self.facilities: dict[str, Facility] = {}
        self.sinks: dict[str, Sink] = {}
        for _, c in self.entries("commodities"):
            self.commodities.setdefault(c.id, c)
        for _, f in self.entries("facilities"):
            self.facilities.setdefault(f.id, f)
        for _, s in self.entries("sinks"):
            self.sinks.setdefault(s.id, s)
        self.commodity_ids = set(self.commodities) | set(declared.get("commodities", ()))
        self.facility_ids = set(self.facilities) | set(declared.get("facilities", ()))
        self.sink_ids = set(self.sinks) | set(declared.get("sinks", ()))
        self.event_ids = {e.id for _, e in self.entries("events")} | set(declared.get("events", ()))
        places = {f.region for f in self.facilities.values()}
        places |= {f.owner for f in self.facilities.values() if f.owner}
        places |= {s.region for s in self.sinks.values()}
        for members in sc.blocs.values():
            places |= set(members)
        self.places = places | set(sc.blocs)
        self.stages = {f.stage for f in self.facilities.values()}
        self.sectors = {s.sector for s in self.sinks.values()}

    # -- helpers -------------------------------------------------------------------------

    def commodity(self, name: str, loc: Loc) -> Commodity | None:
        if name in self.commodities:
            return self.commodities[name]
        if self.has_commodities and name not in self.commodity_ids:
            self.err(loc, _unknown("commodity", name, self.commodity_ids, self.removed))
        return None

    def facility(self, name: str, loc: Loc) -> Facility | None:
        if name in self.facilities:
            return self.facilities[name]
        if name in self.sink_ids:
            self.err(loc, f"'{name}' is a demand sink, not a facility")
        elif name not in self.facility_ids:
            self.err(loc, _unknown("facility", name, self.facility_ids, self.removed))
        return None

    def sink(self, name: str, loc: Loc) -> None:
        if name in self.facility_ids and name not in self.sink_ids:
            self.err(loc, f"'{name}' is a facility, not a demand sink")
        elif name not in self.sink_ids:
            self.err(loc, _unknown("sink", name, self.sink_ids, self.removed))

    def place(self, name: str, loc: Loc) -> None:
        # Regions are declared by use, so an incomplete scenario cannot tell a typo.
        if self.complete and name not in self.places:
            self.err(loc, _unknown("region or bloc", name, self.places))

    # -- checks --------------------------------------------------------------------------

    def run(self) -> tuple[list[Issue], list[Issue]]:
        self.check_ids()
        self.check_time()
        self.check_blocs()
        self.check_facilities()
        self.check_sinks()
        self.check_routes()
        self.check_weights()
        self.check_supply()
        self.check_events()
        self.check_settings()
        return self.errors, self.warnings

    def check_ids(self) -> None:
        lists = (
            ("commodities", "commodity"),
            ("facilities", "facility"),
            ("sinks", "sink"),
            ("events", "event"),
        )
        for name, what in lists:
            first: dict[str, int] = {}
            for i, entry in self.entries(name):
                if entry.id in first:
                    self.err(
                        (name, i, "id"),
                        f"duplicate {what} id '{entry.id}' (first declared at "
                        f"{name}[{first[entry.id]}]); ids must be unique",
                    )
                else:
                    first[entry.id] = i
        facility_at: dict[str, int] = {}
        for i, f in self.entries("facilities"):
            facility_at.setdefault(f.id, i)
        for i, s in self.entries("sinks"):
            if s.id in facility_at:
                self.err(
                    ("sinks", i, "id"),
                    f"id '{s.id}' is already used by facilities[{facility_at[s.id]}]; "
                    "facilities and sinks share one set of ids",
                )
        route_at: dict[str, int] = {}
        for i, r in self.entries("routes"):
            if r.key in route_at:
                loc: Loc = ("routes", i, "id") if r.id else ("routes", i)
                self.err(
                    loc,
                    f"duplicate route '{r.key}' (same as routes[{route_at[r.key]}]); "
                    "merge them, or give each its own id",
                )
            else:
                route_at[r.key] = i

    def check_blocs(self) -> None:
        for name, members in self.sc.blocs.items():
            for j, member in enumerate(members):
                if member in self.sc.blocs:
                    self.err(
                        ("blocs", name, j),
                        f"'{member}' is a bloc; a bloc lists regions, not other blocs",
                    )

    def check_facilities(self) -> None:
        release = {e.stockpile for _, e in self.entries("events") if e.kind == "stockpile_release"}
        for i, f in self.entries("facilities"):
            loc: Loc = ("facilities", i)
            out = self.commodity(f.output, (*loc, "output"))
            if out is not None and out.byproduct:
                self.err(
                    (*loc, "output"),
                    f"'{f.output}' is a by-product, which is never stocked; a reference "
                    "output must be a stocked commodity (list it under coproducts instead)",
                )
            for name in f.inputs:
                com = self.commodity(name, (*loc, "inputs", name))
                if com is not None and com.byproduct:
                    self.err(
                        (*loc, "inputs", name),
                        f"'{name}' is a by-product, which is never stocked, so no facility "
                        "can use it as an input",
                    )
                if name == f.output or name in f.coproducts:
                    role = "the output" if name == f.output else "a co-product"
                    self.err(
                        (*loc, "inputs", name),
                        f"'{name}' is both an input and {role} of '{f.id}'; a facility "
                        "cannot use what it makes",
                    )
            for name in f.coproducts:
                self.commodity(name, (*loc, "coproducts", name))
                if name == f.output:
                    self.err(
                        (*loc, "coproducts", name),
                        f"'{name}' is already the output of '{f.id}'; list it once, as output",
                    )
            self.check_stage(f, loc, release)
            if isinstance(f.cover_weeks, dict):
                for name in f.cover_weeks:
                    if self.commodity(name, (*loc, "cover_weeks", name)) and name not in f.inputs:
                        self.err(
                            (*loc, "cover_weeks", name),
                            f"'{name}' is not an input of '{f.id}' (inputs: "
                            f"{_listing(list(f.inputs))}); cover_weeks applies to inputs only",
                        )
            held = {*f.inputs, f.output, *f.coproducts}
            for name in f.initial_stock:
                com = self.commodity(name, (*loc, "initial_stock", name))
                if com is not None and name not in held:
                    self.err(
                        (*loc, "initial_stock", name),
                        f"'{name}' is neither an input nor an output of '{f.id}', so it "
                        "holds no stock of it",
                    )

    def check_sinks(self) -> None:
        for i, s in self.entries("sinks"):
            com = self.commodity(s.commodity, ("sinks", i, "commodity"))
            if com is not None and com.byproduct:
                self.err(
                    ("sinks", i, "commodity"),
                    f"'{s.commodity}' is a by-product, which leaves the model where it is "
                    "made; no sink can be served with it",
                )

    def check_routes(self) -> None:
        for i, r in self.entries("routes"):
            loc: Loc = ("routes", i)
            supplier = self.facilities.get(r.supplier)
            if supplier is None and r.supplier in self.sink_ids:
                self.err(
                    (*loc, "supplier"),
                    f"'{r.supplier}' is a demand sink; sinks only buy, so it cannot supply",
                )
            elif supplier is None and r.supplier not in self.facility_ids:
                self.err(
                    (*loc, "supplier"),
                    _unknown("facility", r.supplier, self.facility_ids, self.removed),
                )
            buyer: Facility | Sink | None = self.facilities.get(r.buyer) or self.sinks.get(r.buyer)
            known = self.facility_ids | self.sink_ids
            if buyer is None and r.buyer not in known:
                self.err(
                    (*loc, "buyer"), _unknown("facility or sink", r.buyer, known, self.removed)
                )
            com = self.commodity(r.commodity, (*loc, "commodity"))
            if com is None:
                continue
            if com.byproduct:
                self.err(
                    (*loc, "commodity"),
                    f"'{r.commodity}' is a by-product: it leaves the model where it is made, "
                    "so no route can carry it",
                )
                continue
            if supplier is not None:
                makes = [supplier.output]
                if not supplier.is_stockpile:
                    makes += list(supplier.coproducts)
                if r.commodity not in makes:
                    self.err(
                        (*loc, "commodity"),
                        f"supplier '{r.supplier}' does not make '{r.commodity}' (it makes: "
                        f"{_listing(makes)}); change the commodity or the supplier",
                    )
            if buyer is not None:
                uses = list(buyer.inputs) if isinstance(buyer, Facility) else [buyer.commodity]
                if r.commodity not in uses:
                    self.err(
                        (*loc, "commodity"),
                        f"buyer '{r.buyer}' does not use '{r.commodity}' (it uses: "
                        f"{_listing(uses)}); change the commodity or the buyer",
                    )

    def check_events(self) -> None:
        commissioned: dict[str, int] = {}
        for i, e in self.entries("events"):
            loc: Loc = ("events", i)
            self.check_dates(e, loc)
            if isinstance(e, Commissioning):
                if e.facility in commissioned:
                    self.err(
                        (*loc, "facility"),
                        f"'{e.facility}' is already commissioned by "
                        f"events[{commissioned[e.facility]}]; a facility has one commissioning "
                        "event (put the uncertainty in its start, ramp_days or plateau)",
                    )
                commissioned.setdefault(e.facility, i)
            if isinstance(e, ExportBan | ExportQuota | ExportLicensing):
                self.place(e.exporter, (*loc, "exporter"))
                for j, name in enumerate(e.commodities or []):
                    self.commodity(name, (*loc, "commodities", j))
                for j, name in enumerate(e.destinations or []):
                    self.place(name, (*loc, "destinations", j))
            elif isinstance(e, CapacityChange | RandomOutages):
                for j, name in enumerate(e.facilities or []):
                    self.facility(name, (*loc, "facilities", j))
                for j, name in enumerate(e.stages or []):
                    if self.complete and name not in self.stages:
                        hint = did_you_mean(name, sorted(self.stages))
                        self.err((*loc, "stages", j), f"no facility has stage '{name}'{hint}")
                for part in ("regions", "owners"):
                    for j, name in enumerate(getattr(e, part) or []):
                        self.place(name, (*loc, part, j))
            elif isinstance(e, Commissioning):
                self.facility(e.facility, (*loc, "facility"))
            elif isinstance(e, SourcingShift):
                self.check_shift(e, loc)
            elif isinstance(e, DomesticPriority):
                self.place(e.region, (*loc, "region"))
            elif isinstance(e, StockpileRelease):
                f = self.facility(e.stockpile, (*loc, "stockpile"))
                if f is not None and not f.is_stockpile:
                    self.err(
                        (*loc, "stockpile"),
                        f"'{f.id}' is not a stockpile (stage '{f.stage}'); stockpile_release "
                        'needs a facility with stage = "stockpile"',
                    )
                for j, name in enumerate(e.condition.sinks if e.condition else []):
                    self.sink(name, (*loc, "condition", "sinks", j))
            elif isinstance(e, DemandChange):
                for j, name in enumerate(e.sinks or []):
                    self.sink(name, (*loc, "sinks", j))
                for j, name in enumerate(e.sectors or []):
                    if self.complete and name not in self.sectors:
                        hint = did_you_mean(name, sorted(self.sectors))
                        self.err((*loc, "sectors", j), f"no sink has sector '{name}'{hint}")
                for j, name in enumerate(e.regions or []):
                    self.place(name, (*loc, "regions", j))

    def check_shift(self, e: SourcingShift, loc: Loc) -> None:
        known = self.facility_ids | self.sink_ids
        if e.buyer not in known:
            self.err((*loc, "buyer"), _unknown("facility or sink", e.buyer, known, self.removed))
        if e.commodity is not None:
            self.commodity(e.commodity, (*loc, "commodity"))
        for supplier in e.weights:
            if self.facility(supplier, (*loc, "weights", supplier)) is None:
                continue
            if not self.complete or e.buyer not in known:
                continue
            routes = [
                r
                for _, r in self.entries("routes")
                if r.supplier == supplier
                and r.buyer == e.buyer
                and e.commodity in (None, r.commodity)
            ]
            if not routes:
                what = f" for '{e.commodity}'" if e.commodity else ""
                self.err(
                    (*loc, "weights", supplier),
                    f"no route from '{supplier}' to '{e.buyer}'{what}; a sourcing shift only "
                    "reweights existing routes: add one with weight = 0",
                )

    def check_settings(self) -> None:
        ref = self.sc.settings.reference_event
        if ref is None or ref in self.event_ids:
            return
        names = sorted(e for e in self.event_ids if e)
        if ref in self.removed:
            self.err(
                ("settings", "reference_event"),
                f"no event has id '{ref}': {self.removed[ref]} removes it; name another "
                "event, or remove reference_event",
            )
            return
        hint = did_you_mean(ref, names) or (
            f" (event ids: {', '.join(names)})" if names else " (the scenario has no events)"
        )
        self.err(
            ("settings", "reference_event"),
            f"no event has id '{ref}'{hint}; name one of the events, or remove reference_event",
        )
