"""Events: one model per kind, told apart by ``kind``.

Every event has a ``start`` (a date or a distribution of dates) and may end
at ``end`` or after ``duration_days``; with neither it lasts to the horizon.
``probability`` is the chance that it happens at all in a replicate.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from reesim.scenario.schema import NonNegative, Plateau, Share, When

__all__ = [
    "CapacityChange",
    "Commissioning",
    "DemandChange",
    "DomesticPriority",
    "Event",
    "EVENT_KINDS",
    "ExportBan",
    "ExportLicensing",
    "ExportQuota",
    "RandomOutages",
    "ReleaseCondition",
    "SourcingShift",
    "StockpileRelease",
]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    id: str | None = None
    note: str = ""
    start: When
    end: When | None = None
    duration_days: NonNegative | None = None
    probability: Share = 1.0


class _ExportMeasure(_Event):
    """Fields shared by bans, quotas and licensing.

    Attributes
    ----------
    exporter
        A region or bloc whose suppliers the measure binds.
    scope
        ``region``: suppliers located in the exporter; ``owner``: suppliers
        owned from it (Chinese-owned plants abroad).
    commodities
        Controlled commodities (all when omitted).
    destinations
        Regions or blocs affected (every region but the exporter's when omitted).
    """

    exporter: str
    scope: Literal["region", "owner"] = "region"
    commodities: list[str] | None = None
    destinations: list[str] | None = None


class ExportBan(_ExportMeasure):
    """Matching routes carry nothing while it holds."""

    kind: Literal["export_ban"]


class ExportQuota(_ExportMeasure):
    """A cap on the sum of shipments over all matching routes, in t/yr."""

    kind: Literal["export_quota"]
    tonnes_per_year: NonNegative


class ExportLicensing(_ExportMeasure):
    """Extra delay and an approval share on matching routes."""

    kind: Literal["export_licensing"]
    delay_days: NonNegative
    approval_share: Share = 1.0


class _FacilitySelection(_Event):
    """Selects facilities by id, stage, region or owner (all given must match)."""

    facilities: list[str] | None = None
    stages: list[str] | None = None
    regions: list[str] | None = None
    owners: list[str] | None = None


class CapacityChange(_FacilitySelection):
    """Multiply the selected facilities' capacity by ``factor`` over the interval."""

    kind: Literal["capacity_change"]
    factor: NonNegative


class RandomOutages(_FacilitySelection):
    """Alternating up and down times per selected facility.

    Up times are exponential with ``rate_per_year``; down times follow
    ``repair_days``. Both are snapped to periods.
    """

    kind: Literal["random_outages"]
    rate_per_year: NonNegative
    repair_days: NonNegative


class Commissioning(_Event):
    """A facility that exists from ``start``, may fail, and ramps up.

    share(k) = plateau * f(min(1, (k - k0 + 1) / R)), f linear or S-curve
    3u^2 - 2u^3, R = ramp time in periods (at least 1).
    """

    kind: Literal["commissioning"]
    facility: str
    failure_probability: Share = 0.0
    ramp_days: NonNegative = 0.0
    plateau: Plateau = 1.0
    curve: Literal["linear", "s-curve"] = "linear"


class SourcingShift(_Event):
    """A buyer's route weights move linearly to new values over [start, end).

    ``weights`` maps supplier id to the new weight of the buyer's route(s)
    from that supplier (for ``commodity`` when given).
    """

    kind: Literal["sourcing_shift"]
    buyer: str
    commodity: str | None = None
    weights: dict[str, NonNegative]


class DomesticPriority(_Event):
    """The region's suppliers serve buyers in their own region first."""

    kind: Literal["domestic_priority"]
    region: str


class ReleaseCondition(BaseModel):
    """Release while the combined fill rate of ``sinks`` last period was below ``below``."""

    model_config = ConfigDict(extra="forbid")

    sinks: list[str] = Field(min_length=1)
    below: float = Field(gt=0, le=1)


class StockpileRelease(_Event):
    """While it holds, the stockpile pushes ``rate_per_year`` (t/yr) over its routes."""

    kind: Literal["stockpile_release"]
    stockpile: str
    rate_per_year: NonNegative
    condition: ReleaseCondition | None = None


class DemandChange(_Event):
    """Multiply the selected sinks' demand by ``factor`` over the interval."""

    kind: Literal["demand_change"]
    factor: NonNegative
    sinks: list[str] | None = None
    sectors: list[str] | None = None
    regions: list[str] | None = None


Event = Annotated[
    ExportBan
    | ExportQuota
    | ExportLicensing
    | CapacityChange
    | RandomOutages
    | Commissioning
    | SourcingShift
    | DomesticPriority
    | StockpileRelease
    | DemandChange,
    Field(discriminator="kind"),
]
"""Any event, told apart by its ``kind`` key."""

EVENT_KINDS = (
    "export_ban",
    "export_quota",
    "export_licensing",
    "capacity_change",
    "random_outages",
    "commissioning",
    "sourcing_shift",
    "domestic_priority",
    "stockpile_release",
    "demand_change",
)
