"""The :class:`Scenario`: everything a run needs, validated as a whole.

Validation collects, it does not stop at the first problem: every section and
every entry of a list is checked on its own, the cross-references are then
checked on whatever was valid, and all problems are raised together as one
:class:`~reesim.errors.ScenarioError`.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping
from typing import Annotated, Any, Self, get_args

import pydantic
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from reesim.errors import Issue, ReesimWarning, ScenarioError
from reesim.scenario.checks import Loc, run_checks
from reesim.scenario.events import Event
from reesim.scenario.messages import issues_from_errors
from reesim.scenario.schema import Commodity, Facility, Route, Settings, Sink, TimeSettings

__all__ = ["PYTHON", "Scenario", "default_event_id", "issues_from_errors", "validate_data"]

#: The source named in messages about a scenario built in Python.
PYTHON = "<python>"

#: The lists whose entries carry ids (events get one by default).
ENTITY_LISTS = ("commodities", "facilities", "sinks", "routes", "events")


def default_event_id(kind: str, index: int) -> str:
    """The id of an event declared without one: ``f"{kind}-{index}"``.

    ``index`` is the event's position (from 0) in the scenario's event list,
    so the third event, an export ban, is ``export_ban-2``.
    """
    return f"{kind}-{index}"


class Scenario(BaseModel):
    """A validated scenario: the network, its events and the horizon.

    Build one from a file with :func:`reesim.load_scenario`, from a dict with
    :meth:`Scenario.from_dict`, or in Python::

        Scenario(time=TimeSettings(...), commodities=[...], facilities=[...], ...)

    Cross-references (route ends, recipe commodities, event targets) are
    checked as a whole; every problem is reported at once as a
    :class:`~reesim.errors.ScenarioError`, and modelling warnings are issued
    as :class:`~reesim.errors.ReesimWarning`.
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

    _source: str = PrivateAttr(default=PYTHON)
    _provenance: dict[Loc, str] = PrivateAttr(default_factory=dict)

    def __init__(self, /, **data: Any) -> None:
        # Python callers get the same ScenarioError, listing every problem, as file users.
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _scenario_error(exc, data, PYTHON) from None

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        """Validate ``obj``; problems are raised as one :class:`ScenarioError`."""
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            source = ((kwargs.get("context") or {}).get("source")) or PYTHON
            raise _scenario_error(exc, obj, source) from None

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        source: str = PYTHON,
        *,
        provenance: Mapping[Loc, str] | None = None,
        removed: Mapping[str, str] | None = None,
    ) -> Scenario:
        """Validate a scenario given as nested dicts and lists (the TOML layout).

        Parameters
        ----------
        data
            The scenario's tables, as :func:`tomllib.load` returns them.
            ``extends`` is not resolved here (see :func:`reesim.load_scenario`).
        source
            File name used in messages.
        provenance
            Optional map from field locations to the file each came from.
        removed
            Ids an ``extends`` child dropped, with the file that dropped them,
            so that a dangling reference can say so.

        Raises
        ------
        ScenarioError
            With every problem found.
        """
        sc, errors, warns = validate_data(data, source, provenance, removed)
        if errors or sc is None:
            raise ScenarioError(errors, source)
        _emit(warns)
        return sc

    @model_validator(mode="after")
    def _whole(self, info: ValidationInfo) -> Self:
        context = info.context or {}
        self._source = context.get("source", PYTHON)
        self._provenance = dict(context.get("provenance", {}))
        for i, event in enumerate(self.events):
            if event.id is None:
                self.events[i] = event.model_copy(update={"id": default_event_id(event.kind, i)})
        errors, warns = run_checks(self)
        if errors:
            raise ScenarioError(errors, self._source)
        _emit(warns)
        return self

    def __eq__(self, other: object) -> bool:
        # Where a scenario was read from is not part of what it is: compare fields only.
        if not isinstance(other, Scenario):
            return NotImplemented
        return self.__dict__ == other.__dict__

    @property
    def source(self) -> str:
        """The file this scenario was read from (``<python>`` when built in code)."""
        return self._source

    def source_of(self, loc: Loc) -> str:
        """The file that set the field at ``loc`` (the nearest enclosing entry known)."""
        for n in range(len(loc), -1, -1):
            found = self._provenance.get(tuple(loc[:n]))
            if found is not None:
                return found
        return self._source

    def check(self) -> list[Issue]:
        """Check the scenario again, e.g. after changing it in place.

        Returns
        -------
        list of Issue
            The warnings (also issued as :class:`ReesimWarning`).

        Raises
        ------
        ScenarioError
            With every error found.
        """
        errors, warns = run_checks(self)
        if errors:
            raise ScenarioError(errors, self._source)
        _emit(warns)
        return warns

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


#: Frames from files under these directories belong to the library, not to its caller
#: (pydantic runs the validator that checks a scenario). Not resolved: frames name their
#: files as the import system spelled them, and so does ``__file__``.
_LIBRARY_DIRS = (
    os.path.dirname(os.path.dirname(__file__)) + os.sep,
    os.path.dirname(pydantic.__file__) + os.sep,
)


def _caller_stacklevel() -> int:
    """The ``stacklevel`` at which a warning from :func:`_emit` names the caller's line.

    A scenario is checked at different depths (``Scenario(...)``, ``from_dict``,
    ``load_scenario``, ``simulate("name")``), so no fixed level fits: count the
    frames up to the first one outside reesim and pydantic.
    """
    frame = sys._getframe(2)  # the caller of _emit: stacklevel 2 in _emit
    level = 2
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_LIBRARY_DIRS):
        frame = frame.f_back
        level += 1
    return level


def _emit(warns: list[Issue]) -> None:
    if not warns:
        return
    level = _caller_stacklevel()
    for issue in warns:
        warnings.warn(str(issue), ReesimWarning, stacklevel=level)


def _scenario_error(exc: ValidationError, data: Any, source: str) -> ScenarioError:
    """Turn pydantic's error into a ScenarioError that lists every problem."""
    wrapped: list[Issue] = []
    for err in exc.errors():
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, ScenarioError):
            wrapped += inner.issues
    if wrapped:
        return ScenarioError(wrapped, source)
    if isinstance(data, Mapping):
        _, errors, _ = validate_data(data, source)
        if errors:
            return ScenarioError(errors, source)
    return ScenarioError(issues_from_errors(exc.errors(), data, lambda loc: source), source)


_ADAPTERS: dict[str, tuple[TypeAdapter[Any], bool]] = {}


def _adapter(name: str) -> tuple[TypeAdapter[Any], bool]:
    """A validator for one top-level field, or for one entry of an entity list."""
    if name not in _ADAPTERS:
        field = Scenario.model_fields[name]
        ann: Any = field.annotation
        if name in ENTITY_LISTS:
            _ADAPTERS[name] = (TypeAdapter(get_args(ann)[0]), True)
        else:
            full: Any = Annotated[(ann, *field.metadata)] if field.metadata else ann
            _ADAPTERS[name] = (TypeAdapter(full), False)
    return _ADAPTERS[name]


def validate_data(
    data: Any,
    source: str = PYTHON,
    provenance: Mapping[Loc, str] | None = None,
    removed: Mapping[str, str] | None = None,
) -> tuple[Scenario | None, list[Issue], list[Issue]]:
    """Validate a scenario given as dicts and lists, collecting every problem.

    Each section and each list entry is validated on its own, so one bad
    route does not hide a bad facility; cross-references are then checked on
    the valid entries, with ids of invalid ones still counted as declared.

    Parameters
    ----------
    data
        The scenario's tables (``extends`` already resolved).
    source
        File name used in messages.
    provenance
        Optional map from field locations to the file each came from.
    removed
        Ids dropped by ``remove = true`` -> the file that dropped them.

    Returns
    -------
    tuple
        ``(scenario or None, errors, warnings)``; the scenario is None when
        there is any error.
    """
    prov = dict(provenance or {})

    def where(loc: Loc) -> str:
        for n in range(len(loc), -1, -1):
            found = prov.get(tuple(loc[:n]))
            if found is not None:
                return found
        return source

    if not isinstance(data, Mapping):
        found = type(data).__name__
        return (
            None,
            [Issue("", f"a scenario must be a table of settings (got {found})", source)],
            [],
        )
    fields = Scenario.model_fields
    raw = dict(data)
    errors: list[Issue] = []
    values: dict[str, Any] = {}
    index: dict[str, list[int]] = {}
    declared: dict[str, set[str]] = {}
    complete = True
    pydantic_errors: list[tuple[Loc, Any]] = []
    for key in raw:
        if key not in fields:
            errors += issues_from_errors(
                [{"type": "extra_forbidden", "loc": (key,), "msg": "", "input": raw[key]}],
                raw,
                where,
            )
    for name, field in fields.items():
        if name not in raw:
            if field.is_required():
                errors.append(Issue("", f"missing required field '{name}'", where(())))
            continue
        adapter, is_list = _adapter(name)
        value = raw[name]
        if not (is_list and isinstance(value, list)):
            try:
                values[name] = adapter.validate_python(value)
            except ValidationError as exc:
                pydantic_errors += [((name,), e) for e in exc.errors()]
            continue
        good, where_ok = [], []
        for i, item in enumerate(value):
            try:
                obj = adapter.validate_python(item)
            except ValidationError as exc:
                complete = False
                pydantic_errors += [((name, i), e) for e in exc.errors()]
                item_id = item.get("id") if isinstance(item, Mapping) else None
                if item_id is None and name == "events" and isinstance(item, Mapping):
                    kind = item.get("kind")
                    item_id = default_event_id(kind, i) if isinstance(kind, str) else None
                if isinstance(item_id, str):
                    declared.setdefault(name, set()).add(item_id)
                continue
            if name == "events" and obj.id is None:
                obj = obj.model_copy(update={"id": default_event_id(obj.kind, i)})
            good.append(obj)
            where_ok.append(i)
        values[name] = good
        index[name] = where_ok
    for prefix, err in pydantic_errors:
        errors += issues_from_errors([err], raw, where, prefix)
    if any(name not in values for name in ENTITY_LISTS if name in raw):
        complete = False
    sc = Scenario.model_construct(**values)
    sc._source = source
    sc._provenance = prov
    more, warns = run_checks(sc, index=index, declared=declared, complete=complete, removed=removed)
    errors = _in_file_order(errors + more)
    if errors:
        return None, errors, warns
    return sc, [], warns


def _in_file_order(issues: list[Issue]) -> list[Issue]:
    """Sort issues by section and entry, keeping each entry's issues in check order."""
    rank = {name: i for i, name in enumerate(Scenario.model_fields)}

    def key(issue: Issue) -> tuple[int, int]:
        head = issue.path.split(".")[0].split("[")[0]
        entry = issue.path[len(head) :]
        pos = int(entry[1 : entry.index("]")]) if entry.startswith("[") else -1
        return rank.get(head, -1), pos

    return sorted(issues, key=key)
