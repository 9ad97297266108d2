"""The scenario model: commodities, facilities, demand sinks, routes, blocs, time.

Units: tonnes (t), tonnes per year (t/yr), days for lead times and delays,
weeks for covers, percent per year for growth. A field typed ``Num`` takes a
plain number or a distribution (:mod:`reesim.scenario.distributions`),
sampled once per replicate. The range a field accepts is in its type
(``NonNegative``, ``Positive``, ``Share``, ...): a plain value must lie in it,
and so must every value a distribution can draw.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
)

from reesim.scenario.distributions import Dist, Normal, is_dist

__all__ = [
    "STAGES",
    "SECTORS",
    "Commodity",
    "CoverWeeks",
    "Facility",
    "Growth",
    "NonNegative",
    "Num",
    "Plateau",
    "Positive",
    "Route",
    "Settings",
    "Share",
    "Sink",
    "TimeSettings",
    "When",
]


def _value_or_dist(v: Any) -> str:
    # Deciding the union member up front gives one error per mistake, instead of
    # one per member ("not a number" next to "not a distribution").
    return "distribution" if isinstance(v, Mapping) or is_dist(v) else "value"


def format_number(v: float) -> str:
    """A number as a modeller wrote it: ``0``, ``-5``, ``0.25``, ``nan``."""
    if math.isfinite(v) and float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def _no_number(v: Any) -> Any:
    # pydantic would read 0 as 1970-01-01 (Unix time): refuse numbers outright.
    if isinstance(v, int | float) and not isinstance(v, bool):
        raise ValueError(f"expected a date like 2026-04-01 (got {v})")
    return v


def _dated(v: Any) -> Any:
    if not v.is_date():
        raise ValueError(
            f"a date field takes a distribution of dates, e.g. "
            f'{{ dist = "uniform", low = 2026-04-01, high = 2026-10-01 }} (got a {v.dist} '
            "distribution of numbers)"
        )
    return v


#: A number or a distribution of numbers.
Num = Annotated[
    Annotated[float, Tag("value")] | Annotated[Dist, Tag("distribution")],
    Discriminator(_value_or_dist),
]
#: A date or a distribution of dates.
When = Annotated[
    # Tag last: it must mark the member's outermost schema.
    Annotated[dt.date, BeforeValidator(_no_number), Tag("value")]
    | Annotated[Dist, AfterValidator(_dated), Tag("distribution")],
    Discriminator(_value_or_dist),
]


def _dist_text(d: Any) -> str:
    """A distribution as its TOML inline table."""
    parts = [f'dist = "{d.dist}"']
    for name, value in d.model_dump(exclude={"dist"}).items():
        if value is not None:
            parts.append(
                f"{name} = {value if isinstance(value, dt.date) else format_number(value)}"
            )
    return "{ " + ", ".join(parts) + " }"


@dataclass(frozen=True)
class _Bounds:
    """The range a numeric field accepts; checks plain values and distribution supports.

    A distribution must keep every draw within the range: its support, not
    only its mean, is checked. A normal is unbounded unless ``low``/``high``
    clip it, so a normal for a capacity needs ``low = 0``.
    """

    lo: float = -math.inf
    lo_open: bool = False
    hi: float = math.inf
    hi_open: bool = False

    def text(self) -> str:
        lo = f"{'>' if self.lo_open else '>='} {format_number(self.lo)}"
        hi = f"{'<' if self.hi_open else '<='} {format_number(self.hi)}"
        if math.isinf(self.hi):
            return lo
        if not (self.lo_open or self.hi_open):
            return f"between {format_number(self.lo)} and {format_number(self.hi)}"
        return f"{lo} and {hi}"

    def _below(self, x: float, x_open: bool) -> bool:
        return x < self.lo or (x == self.lo and self.lo_open and not x_open)

    def _above(self, x: float, x_open: bool) -> bool:
        return x > self.hi or (x == self.hi and self.hi_open and not x_open)

    def __call__(self, v: Any) -> Any:
        if v is None:
            return v
        if not is_dist(v):
            x = float(v)
            if math.isnan(x):
                raise ValueError(f"must be a number {self.text()} (got nan)")
            if math.isinf(x):
                raise ValueError(f"must be a finite number {self.text()} (got {format_number(x)})")
            if self._below(x, False) or self._above(x, False):
                raise ValueError(f"must be {self.text()} (got {format_number(x)})")
            return v
        if v.is_date():
            raise ValueError(f"must be a number {self.text()}, not a distribution of dates")
        lo, hi, lo_open, hi_open = v.support()
        for bad, edge, side, op, bound in (
            (self._below(lo, lo_open), lo, "low", ">" if self.lo_open else ">=", self.lo),
            (self._above(hi, hi_open), hi, "high", "<" if self.hi_open else "<=", self.hi),
        ):
            if not bad:
                continue
            if isinstance(v, Normal) and math.isinf(edge):
                raise ValueError(
                    f"must be {self.text()}, but {_dist_text(v)} can draw any value; "
                    f"add {side} to clip it ({side} {op} {format_number(bound)})"
                )
            raise ValueError(
                f"must be {self.text()}, but {_dist_text(v)} can draw {format_number(edge)}"
            )
        return v


#: A number or distribution >= 0 (capacities, demand, stocks, covers, weights, factors).
NonNegative = Annotated[Num, AfterValidator(_Bounds(lo=0.0))]
#: A number or distribution > 0 (lead times, recipe inputs, output caps).
Positive = Annotated[Num, AfterValidator(_Bounds(lo=0.0, lo_open=True))]
#: A share or probability in [0, 1].
Share = Annotated[Num, AfterValidator(_Bounds(lo=0.0, hi=1.0))]
#: A share in (0, 1] (a commissioning plateau: 0 would be a plant that never runs).
Plateau = Annotated[Num, AfterValidator(_Bounds(lo=0.0, lo_open=True, hi=1.0))]
#: Growth in % per year, > -100 (demand cannot shrink by more than all of it).
Growth = Annotated[Num, AfterValidator(_Bounds(lo=-100.0, lo_open=True))]


def _cover_kind(v: Any) -> str:
    return "table" if isinstance(v, Mapping) and "dist" not in v else "value"


#: Weeks of cover: one number (or distribution) for all inputs, or a table per input.
CoverWeeks = Annotated[
    Annotated[NonNegative, Tag("value")] | Annotated[dict[str, NonNegative], Tag("table")],
    Discriminator(_cover_kind),
]

#: Stages the library knows; any other string is a user stage.
STAGES = ("mine", "separation", "metal", "magnet", "recycling", "stockpile")
#: Demand sectors the library knows; any other string is allowed too.
SECTORS = ("ev", "wind", "electronics", "industrial", "defence", "other")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class TimeSettings(_Model):
    """The simulated horizon.

    Attributes
    ----------
    start, end
        First day simulated and the first day after the horizon (excluded).
    period
        ``day`` (1 d), ``week`` (7 d) or ``month`` (30.4375 d, 1/12 year).
    """

    start: dt.date
    end: dt.date
    period: Literal["day", "week", "month"] = "week"

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError(f"must be after start (got start = {start}, end = {end})")
        return end


class Settings(_Model):
    """Run-wide settings.

    Attributes
    ----------
    shortage_threshold
        A period is short when served < threshold * demand (default 0.99).
    reference_event
        Id of the event whose start is the disruption start for the metrics
        (default: the first event declared).
    """

    shortage_threshold: float = Field(default=0.99, gt=0, le=1)
    reference_event: str | None = None


class Commodity(_Model):
    """A material, counted in tonnes.

    A by-product is never stocked: what a facility makes of it leaves the
    model and is counted as by-product output.
    """

    id: str = Field(min_length=1)
    name: str = ""
    unit: str = "t"
    byproduct: bool = False


class Facility(_Model):
    """A capacity node with a Leontief recipe.

    One unit of activity makes 1 t of ``output`` plus ``coproducts[c]`` t of
    each co-product and uses ``inputs[c]`` t of each input.

    Attributes
    ----------
    capacity
        Nameplate activity in t/yr of reference output (ignored for stockpiles).
    cover_weeks
        Target stock of each input in weeks of capacity-based use; one number
        for all inputs or a table per input.
    output_cap_weeks
        Reference output kept on hand before production throttles, in weeks of
        capacity.
    initial_stock
        Overrides of the steady initial stock, t per commodity (for a
        stockpile: its stock).
    """

    id: str = Field(min_length=1)
    name: str = ""
    stage: str = "user"
    region: str = Field(min_length=1)
    owner: str | None = None
    capacity: NonNegative | None = None
    output: str
    inputs: dict[str, Positive] = Field(default_factory=dict)
    coproducts: dict[str, NonNegative] = Field(default_factory=dict)
    cover_weeks: CoverWeeks = 8.0
    output_cap_weeks: Positive = 4.0
    initial_stock: dict[str, NonNegative] = Field(default_factory=dict)

    @property
    def owner_region(self) -> str:
        """The region whose export policy binds this facility."""
        return self.owner or self.region

    @property
    def is_stockpile(self) -> bool:
        """True for a stockpile (initial stock, no recipe, ships only on release)."""
        return self.stage == "stockpile"

    def cover_for(self, commodity: str) -> Num:
        """Cover in weeks for one input."""
        if isinstance(self.cover_weeks, dict):
            return self.cover_weeks.get(commodity, 8.0)
        return self.cover_weeks


class Sink(_Model):
    """Final demand for one commodity in one region and sector.

    Attributes
    ----------
    demand
        t/yr at the start date.
    growth_pct
        Demand growth, % per year, compounded.
    cover_weeks
        Stock the buyer aims to hold, in weeks of demand.
    initial_stock
        Override of the steady initial stock, t.
    """

    id: str = Field(min_length=1)
    name: str = ""
    region: str = Field(min_length=1)
    sector: str = "other"
    commodity: str
    demand: NonNegative
    growth_pct: Growth = 0.0
    cover_weeks: NonNegative = 8.0
    initial_stock: NonNegative | None = None


class Route(_Model):
    """A supply route: supplier -> buyer for one commodity.

    Attributes
    ----------
    lead_time_days
        Transit time in days (> 0); rounded half up to whole periods, at least 1.
    weight
        Sourcing weight >= 0; 0 is a dormant route a sourcing shift may open.
    priority
        The supplier's ranking of this buyer; 1 is served first.
    capacity
        Largest flow in t/yr (none if omitted).
    """

    id: str | None = None
    supplier: str
    buyer: str
    commodity: str
    lead_time_days: Positive
    weight: NonNegative = 1.0
    priority: int = Field(default=1, ge=1)
    capacity: NonNegative | None = None

    @property
    def key(self) -> str:
        """The route's id, or ``supplier->buyer:commodity`` when none is given."""
        return self.id or f"{self.supplier}->{self.buyer}:{self.commodity}"
