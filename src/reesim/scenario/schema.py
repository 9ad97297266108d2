"""The scenario model: commodities, facilities, demand sinks, routes, blocs, time.

Units: tonnes (t), tonnes per year (t/yr), days for lead times and delays,
weeks for covers, percent per year for growth. A field typed ``Num`` takes a
plain number or a distribution (:mod:`reesim.scenario.distributions`),
sampled once per replicate.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reesim.scenario.distributions import Dist

__all__ = [
    "STAGES",
    "SECTORS",
    "Commodity",
    "Facility",
    "Num",
    "Route",
    "Settings",
    "Sink",
    "TimeSettings",
    "When",
]

#: A number or a distribution of numbers.
Num = float | Dist
#: A date or a distribution of dates.
When = dt.date | Dist

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
    def _after_start(cls, end: dt.date, info):  # type: ignore[no-untyped-def]
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError(f"end must be after start (got start={start}, end={end})")
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
    capacity: Num | None = None
    output: str
    inputs: dict[str, Num] = Field(default_factory=dict)
    coproducts: dict[str, Num] = Field(default_factory=dict)
    cover_weeks: Num | dict[str, Num] = 8.0
    output_cap_weeks: Num = 4.0
    initial_stock: dict[str, Num] = Field(default_factory=dict)

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
    demand: Num
    growth_pct: Num = 0.0
    cover_weeks: Num = 8.0
    initial_stock: Num | None = None


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
    lead_time_days: Num
    weight: Num = 1.0
    priority: int = Field(default=1, ge=1)
    capacity: Num | None = None

    @property
    def key(self) -> str:
        """The route's id, or ``supplier->buyer:commodity`` when none is given."""
        return self.id or f"{self.supplier}->{self.buyer}:{self.commodity}"
