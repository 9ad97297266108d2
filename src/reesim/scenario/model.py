"""The :class:`Scenario`: everything a run needs, validated as a whole."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reesim.scenario.events import Event
from reesim.scenario.schema import Commodity, Facility, Route, Settings, Sink, TimeSettings

__all__ = ["Scenario"]


class Scenario(BaseModel):
    """A validated scenario: the network, its events and the horizon.

    Build one from a file with :func:`reesim.load_scenario`, or in Python::

        Scenario(time=TimeSettings(...), commodities=[...], facilities=[...], ...)

    Cross-references (route ends, recipe commodities, event targets) are
    checked as a whole; every problem is reported at once as a
    :class:`~reesim.errors.ScenarioError`.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = "scenario"
    description: str = ""
    extends: str | None = None
    time: TimeSettings
    settings: Settings = Field(default_factory=Settings)
    blocs: dict[str, list[str]] = Field(default_factory=dict)
    commodities: list[Commodity]
    facilities: list[Facility] = Field(default_factory=list)
    sinks: list[Sink] = Field(default_factory=list)
    routes: list[Route] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)

    def regions(self) -> set[str]:
        """Every region named by a facility, an owner or a sink."""
        out = {f.region for f in self.facilities} | {s.region for s in self.sinks}
        out |= {f.owner for f in self.facilities if f.owner}
        return out

    def expand_regions(self, names: list[str] | None) -> set[str] | None:
        """Turn a list of regions and bloc names into a set of regions."""
        if names is None:
            return None
        out: set[str] = set()
        for name in names:
            out |= set(self.blocs.get(name, [name]))
        return out

    def summary_dict(self) -> dict[str, Any]:
        """Counts for display: facilities, sinks, routes, events."""
        return {
            "name": self.name,
            "facilities": len(self.facilities),
            "sinks": len(self.sinks),
            "routes": len(self.routes),
            "events": len(self.events),
            "start": self.time.start.isoformat(),
            "end": self.time.end.isoformat(),
            "period": self.time.period,
        }
