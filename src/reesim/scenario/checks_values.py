"""Checks of values: dates against the horizon, stage rules, whether routes carry anything.

These checks need no id tables: the horizon holds a whole period, an event's
dates fall within it, a facility has what its stage asks for (a capacity, or
for a stockpile no recipe), some route into each buyer can carry flow, and
every input and sink has a route at all. :class:`ValueChecks` also collects the
issues; the cross-reference checks in :mod:`reesim.scenario.checks` build on it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reesim.errors import Issue, format_path
from reesim.scenario.distributions import Fixed, is_dist
from reesim.scenario.events import SourcingShift

if TYPE_CHECKING:
    from reesim.scenario.checks import Loc
    from reesim.scenario.model import Scenario
    from reesim.scenario.schema import Facility, TimeSettings

__all__ = ["PERIOD_DAYS", "ValueChecks"]

#: Period lengths in days (a month is 1/12 of a 365.25-day year).
PERIOD_DAYS = {"day": 1.0, "week": 7.0, "month": 30.4375}


def _fixed(value: Any) -> float | None:
    """The value of a number that does not vary, or None for a distribution."""
    if isinstance(value, Fixed) and not isinstance(value.value, dt.date):
        return float(value.value)
    if value is None or is_dist(value) or isinstance(value, dt.date):
        return None
    return float(value)


def _fixed_date(value: Any) -> dt.date | None:
    if isinstance(value, Fixed):
        value = value.value
    return value if isinstance(value, dt.date) else None


class ValueChecks:
    """Collects a scenario's issues; checks dates, stages, route weights and supply.

    Parameters
    ----------
    sc
        The scenario (or its valid parts).
    index
        For each list, the position in the file of each entry kept in ``sc``.
    complete
        False when parts were dropped: checks that rely on something being
        absent are then skipped.
    """

    def __init__(self, sc: Scenario, index: Mapping[str, Sequence[int]], complete: bool) -> None:
        self.sc = sc
        self.index = index
        self.complete = complete
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        # A part missing from a partial scenario reads as absent, not as empty.
        self.time: TimeSettings | None = getattr(sc, "time", None)

    def entries(self, name: str) -> Iterator[tuple[int, Any]]:
        """Each entry of a list with its position in the file."""
        items = getattr(self.sc, name, None) or []
        where = self.index.get(name)
        for k, item in enumerate(items):
            yield (where[k] if where is not None else k), item

    def err(self, loc: Loc, message: str) -> None:
        self.errors.append(Issue(format_path(loc), message, self.sc.source_of(loc)))

    def warn(self, loc: Loc, message: str) -> None:
        self.warnings.append(Issue(format_path(loc), message, self.sc.source_of(loc)))

    def check_time(self) -> None:
        if self.time is None:
            return
        days = (self.time.end - self.time.start).days
        if math.floor(days / PERIOD_DAYS[self.time.period] + 0.5) < 1:
            self.err(
                ("time", "end"),
                f"the horizon {self.time.start} to {self.time.end} holds no whole "
                f"{self.time.period}; move end later or use a shorter period",
            )

    def check_stage(self, f: Facility, loc: Loc, released: Collection[str]) -> None:
        """What a facility's stage asks of it; ``released`` names stockpiles with a release."""
        if f.is_stockpile:
            for part in ("inputs", "coproducts"):
                if getattr(f, part):
                    names = ", ".join(getattr(f, part))
                    self.err(
                        (*loc, part),
                        f"a stockpile has no recipe, but '{f.id}' lists {part} ({names}); "
                        'remove them, or give it a stage other than "stockpile"',
                    )
            if f.capacity is not None:
                self.warn(
                    (*loc, "capacity"),
                    "is ignored for a stockpile, which ships only while a "
                    "stockpile_release holds; remove it",
                )
            if self.complete and f.id not in released:
                self.warn(
                    loc,
                    f"stockpile '{f.id}' has no stockpile_release event, so it never ships",
                )
        elif f.capacity is None:
            self.err(
                loc,
                f"missing required field 'capacity' (t/yr of '{f.output}'); only a "
                'stockpile (stage = "stockpile") goes without',
            )

    def check_weights(self) -> None:
        if not self.complete:
            return
        groups: dict[tuple[str, str], list[tuple[int, Any]]] = defaultdict(list)
        for i, r in self.entries("routes"):
            groups[(r.buyer, r.commodity)].append((i, r))
        shifts = [e for _, e in self.entries("events") if isinstance(e, SourcingShift)]
        for (buyer, commodity), routes in groups.items():
            if any(_fixed(r.weight) != 0.0 for _, r in routes):
                continue
            suppliers = {r.supplier for _, r in routes}
            opened = any(
                e.buyer == buyer
                and e.commodity in (None, commodity)
                and any(s in suppliers and _fixed(w) != 0.0 for s, w in e.weights.items())
                for e in shifts
            )
            if not opened:
                where = ", ".join(f"routes[{i}]" for i, _ in routes)
                self.warn(
                    ("routes", routes[0][0], "weight"),
                    f"every route bringing '{commodity}' to '{buyer}' ({where}) has weight 0 "
                    f"and no sourcing_shift opens one, so '{buyer}' never receives it; give "
                    "a route a weight > 0 or add a sourcing_shift",
                )

    def check_supply(self) -> None:
        if not self.complete:
            return
        supplied = {(r.buyer, r.commodity) for _, r in self.entries("routes")}
        for i, f in self.entries("facilities"):
            for name in f.inputs:
                if (f.id, name) not in supplied and not f.is_stockpile:
                    self.warn(
                        ("facilities", i, "inputs", name),
                        f"no route brings '{name}' to '{f.id}', so it cannot produce; add a "
                        f'route with buyer = "{f.id}" and commodity = "{name}"',
                    )
        for i, s in self.entries("sinks"):
            if (s.id, s.commodity) not in supplied:
                self.warn(
                    ("sinks", i),
                    f"no route brings '{s.commodity}' to '{s.id}', so all its demand goes "
                    f'unmet; add a route with buyer = "{s.id}"',
                )

    def check_dates(self, e: Any, loc: Loc) -> None:
        if e.end is not None and e.duration_days is not None:
            self.err(loc, "gives both end and duration_days; keep one of them")
        if self.time is None:
            return
        t0, t1 = self.time.start, self.time.end
        start, end = _fixed_date(e.start), _fixed_date(e.end)
        if start is not None and not t0 <= start < t1:
            self.err(
                (*loc, "start"),
                f"must be within the horizon [{t0}, {t1}) (got {start}); move the event "
                "or change [time]",
            )
        if end is None:
            return
        if start is not None and end <= start:
            self.err((*loc, "end"), f"must be after start (got start = {start}, end = {end})")
        elif start is None and is_dist(e.start) and e.start.support()[0] >= end.toordinal():
            self.err(
                (*loc, "end"),
                f"is on or before every start the distribution can draw (got end = {end}); "
                "move end later",
            )
        elif end <= t0:
            self.err(
                (*loc, "end"),
                f"must be after the horizon start {t0} (got {end}); the event would "
                "end before the run begins",
            )
