"""What the user describes: the scenario model, its events and distributions.

No engine code lives here; this layer imports only :mod:`reesim.errors`.
"""

from reesim.scenario.checks import check_scenario
from reesim.scenario.distributions import (
    Bernoulli,
    Dist,
    Fixed,
    LogNormal,
    Normal,
    Triangular,
    Uniform,
)
from reesim.scenario.events import (
    EVENT_KINDS,
    CapacityChange,
    Commissioning,
    DemandChange,
    DomesticPriority,
    Event,
    ExportBan,
    ExportLicensing,
    ExportQuota,
    RandomOutages,
    ReleaseCondition,
    SourcingShift,
    StockpileRelease,
)
from reesim.scenario.load import (
    ScenarioData,
    list_builtin,
    load_scenario,
    read_scenario_data,
    scenario_json_schema,
    validate_file,
)
from reesim.scenario.model import Scenario, validate_data
from reesim.scenario.schema import Commodity, Facility, Route, Settings, Sink, TimeSettings

__all__ = [
    "EVENT_KINDS",
    "Bernoulli",
    "CapacityChange",
    "Commissioning",
    "Commodity",
    "DemandChange",
    "Dist",
    "DomesticPriority",
    "Event",
    "ExportBan",
    "ExportLicensing",
    "ExportQuota",
    "Facility",
    "Fixed",
    "LogNormal",
    "Normal",
    "RandomOutages",
    "ReleaseCondition",
    "Route",
    "Scenario",
    "ScenarioData",
    "Settings",
    "Sink",
    "SourcingShift",
    "StockpileRelease",
    "TimeSettings",
    "Triangular",
    "Uniform",
    "check_scenario",
    "list_builtin",
    "load_scenario",
    "read_scenario_data",
    "scenario_json_schema",
    "validate_data",
    "validate_file",
]
