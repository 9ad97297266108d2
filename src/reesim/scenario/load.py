"""Reading scenarios: TOML files, built-in names, ``extends`` and error locations.

A file may start from another one with ``extends = "other.toml"`` (a path
relative to the file) or ``extends = "default"`` (a built-in scenario). The
parent is loaded first, then the child is merged over it:

- tables merge key by key, recursively; any other value replaces the parent's,
  and a distribution table (one with ``dist``) replaces the parent's value whole;
- the lists ``commodities``, ``facilities``, ``sinks``, ``routes`` and
  ``events`` merge entry by entry, matched by ``id`` (a route without an id by
  its ``supplier``, ``buyer`` and ``commodity``): a matching entry is merged
  into the parent's, an entry with ``remove = true`` drops it, and any other
  entry is appended.

Every merged value remembers the file it came from, so that a message about it
names that file.
"""

from __future__ import annotations

import copy
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from reesim.errors import Issue, ScenarioError, did_you_mean
from reesim.scenario.checks import Loc
from reesim.scenario.model import ENTITY_LISTS, PYTHON, Scenario, default_event_id, validate_data

__all__ = [
    "ScenarioData",
    "list_builtin",
    "load_scenario",
    "read_scenario_data",
    "scenario_json_schema",
    "validate_file",
]

_BUILTIN_PREFIX = "builtin:"


# ------------------------------------------------------------------------ built-ins


def _builtin_dir() -> Traversable:
    return resources.files("reesim").joinpath("data")


def _builtin_names() -> list[str]:
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in _builtin_dir().iterdir()
        if entry.name.endswith(".toml")
    )


def list_builtin() -> list[tuple[str, str]]:
    """The built-in scenarios.

    Returns
    -------
    list of (str, str)
        ``(name, description)`` pairs, sorted by name; pass a name to
        :func:`load_scenario`.
    """
    out = []
    for name in _builtin_names():
        text = _builtin_dir().joinpath(f"{name}.toml").read_text(encoding="utf-8")
        try:
            description = str(tomllib.loads(text).get("description", ""))
        except tomllib.TOMLDecodeError:
            description = "(unreadable)"
        out.append((name, description))
    return out


# ----------------------------------------------------------------------- reading


@dataclass
class _Src:
    """Where a value came from: the file that created it, and its parts' origins."""

    file: str
    parts: dict[str | int, _Src] = field(default_factory=dict)


def _mark(value: Any, file: str) -> _Src:
    src = _Src(file)
    if isinstance(value, Mapping):
        src.parts = {k: _mark(v, file) for k, v in value.items()}
    elif isinstance(value, list):
        src.parts = {i: _mark(v, file) for i, v in enumerate(value)}
    return src


def _flatten(src: _Src, loc: Loc = (), out: dict[Loc, str] | None = None) -> dict[Loc, str]:
    out = {} if out is None else out
    out[loc] = src.file
    for key, part in src.parts.items():
        _flatten(part, (*loc, key), out)
    return out


def _parse(text: str, shown: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        reason = str(exc)
        found = re.search(r"\(at line (\d+), column (\d+)\)", reason)
        what = re.sub(r"\s*\(at [^)]*\)$", "", reason)
        what = what[:1].lower() + what[1:]
        if found:
            where = f"at line {found.group(1)}, column {found.group(2)}"
        else:
            where = f"at line {text.count(chr(10)) + 1} (end of file)"
        raise ScenarioError([Issue("", f"TOML syntax error {where}: {what}", shown)]) from None


@dataclass(frozen=True)
class _Origin:
    """A scenario file on disk or a built-in one."""

    key: str  # identity for cycle detection
    shown: str  # name used in messages
    path: Path | None  # None for a built-in
    builtin: str | None = None

    def text(self) -> str:
        if self.builtin is not None:
            return _builtin_dir().joinpath(f"{self.builtin}.toml").read_text(encoding="utf-8")
        assert self.path is not None
        return self.path.read_text(encoding="utf-8")

    def stem(self) -> str:
        return self.builtin if self.builtin is not None else Path(self.shown).stem


def _builtin(name: str) -> _Origin:
    return _Origin(f"{_BUILTIN_PREFIX}{name}", f"{name}.toml (built-in)", None, name)


def _locate(source: str | os.PathLike[str]) -> _Origin:
    """A path to a file, or the name of a built-in scenario."""
    path = Path(source)
    if path.is_file():
        return _Origin(str(path.resolve()), str(source), path)
    text = str(source)
    names = _builtin_names()
    if text in names:
        return _builtin(text)
    if text.endswith(".toml") or os.sep in text or "/" in text:
        raise ScenarioError([Issue("", "file not found", text)])
    hint = did_you_mean(text, names) or f" (built-ins: {', '.join(names)})"
    raise ScenarioError([Issue("", f"no scenario file or built-in named '{text}'{hint}", text)])


def _parent(child: _Origin, value: Any) -> _Origin:
    """Where ``extends = value`` in ``child`` points."""
    if not isinstance(value, str) or not value:
        found = "nothing" if not value else type(value).__name__
        raise ScenarioError(
            [
                Issue(
                    "extends", f"expected a file name or a built-in name (got {found})", child.shown
                )
            ]
        )
    names = _builtin_names()
    looks_like_path = value.endswith(".toml") or "/" in value or os.sep in value
    if child.builtin is not None and looks_like_path:
        name = Path(value).stem
        if name in names:
            return _builtin(name)
    if not looks_like_path:
        if value in names:
            return _builtin(value)
        hint = did_you_mean(value, names) or f" (built-ins: {', '.join(names)})"
        msg = f"no built-in scenario '{value}'{hint}; a file needs a .toml suffix"
        raise ScenarioError([Issue("extends", msg, child.shown)])
    base = child.path.parent if child.path is not None else Path.cwd()
    path = base / value
    shown = os.path.normpath(os.path.join(os.path.dirname(child.shown), value))
    if not path.is_file():
        msg = f"file '{value}' not found (looked for {path})"
        raise ScenarioError([Issue("extends", msg, child.shown)])
    return _Origin(str(path.resolve()), shown, path)


def _name_of(entry: Any, list_name: str) -> Any:
    if not isinstance(entry, Mapping):
        return None
    if entry.get("id") is not None:
        return entry["id"]
    if list_name == "routes":
        triple = tuple(entry.get(k) for k in ("supplier", "buyer", "commodity"))
        return triple if None not in triple else None
    return None


def _match(parent: list[Any], entry: Mapping[str, Any], list_name: str) -> int | None:
    """Position of the parent entry that ``entry`` updates, or None."""
    key = entry.get("id")
    if key is not None:
        for i, old in enumerate(parent):
            if isinstance(old, Mapping) and old.get("id") == key:
                return i
    if list_name == "routes":
        triple = tuple(entry.get(k) for k in ("supplier", "buyer", "commodity"))
        if None not in triple:
            for i, old in enumerate(parent):
                same = isinstance(old, Mapping) and old.get("id") in (None, key)
                if same and tuple(old.get(k) for k in ("supplier", "buyer", "commodity")) == triple:
                    return i
    return None


def _merge_table(
    base: dict[str, Any], base_src: _Src, over: Mapping[str, Any], file: str
) -> tuple[dict[str, Any], _Src]:
    out = dict(base)
    src = _Src(base_src.file, dict(base_src.parts))
    for key, value in over.items():
        old = out.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping) and "dist" not in value:
            old_src = src.parts.get(key) or _mark(old, base_src.file)
            out[key], src.parts[key] = _merge_table(dict(old), old_src, value, file)
        else:
            out[key] = copy.deepcopy(value)
            src.parts[key] = _mark(value, file)
    return out, src


@dataclass
class _Merge:
    """What merging found: problems, and ids dropped with ``remove = true`` (id -> file)."""

    issues: list[Issue] = field(default_factory=list)
    removed: dict[str, str] = field(default_factory=dict)


def _merge_list(
    name: str, base: list[Any], base_src: _Src, over: list[Any], file: str, state: _Merge
) -> tuple[list[Any], _Src]:
    items = list(base)
    srcs = [base_src.parts.get(i) or _mark(v, base_src.file) for i, v in enumerate(base)]
    for j, entry in enumerate(over):
        remove = isinstance(entry, Mapping) and entry.get("remove", False)
        if isinstance(entry, Mapping) and "remove" in entry:
            if not isinstance(entry["remove"], bool):
                msg = f"remove must be true or false (got {entry['remove']!r})"
                state.issues.append(Issue(f"{name}[{j}].remove", msg, file))
                continue
            entry = {k: v for k, v in entry.items() if k != "remove"}
        at = _match(items, entry, name) if isinstance(entry, Mapping) else None
        if remove:
            if at is None:
                known = [str(_name_of(e, name)) for e in items if _name_of(e, name) is not None]
                label = _name_of(entry, name)
                msg = f"remove = true, but the parent has no entry '{label}' to remove"
                hint = did_you_mean(str(label), known)
                state.issues.append(Issue(f"{name}[{j}]", msg + hint, file))
                continue
            if isinstance(entry.get("id"), str):
                state.removed[entry["id"]] = file
            del items[at], srcs[at]
        elif at is not None:
            items[at], srcs[at] = _merge_table(dict(items[at]), srcs[at], entry, file)
        else:
            if isinstance(entry, Mapping):
                state.removed.pop(str(entry.get("id")), None)
            items.append(copy.deepcopy(entry))
            srcs.append(_mark(entry, file))
    return items, _Src(base_src.file, dict(enumerate(srcs)))


def _name_events(data: dict[str, Any]) -> None:
    # Named now, so that a file extending this one can refer to them by these ids.
    events = data.get("events")
    if isinstance(events, list):
        for i, event in enumerate(events):
            named = isinstance(event, dict) and event.get("id") is not None
            if isinstance(event, dict) and not named and isinstance(event.get("kind"), str):
                event["id"] = default_event_id(event["kind"], i)


def _resolve(
    data: Mapping[str, Any], origin: _Origin, chain: list[_Origin], state: _Merge
) -> tuple[dict[str, Any], _Src]:
    """Merge ``data`` (read from ``origin``) over its parents, recursively."""
    parent_ref = data.get("extends")
    if parent_ref is None:
        out = copy.deepcopy(dict(data))
        _name_events(out)
        return out, _mark(out, origin.shown)
    parent = _parent(origin, parent_ref)
    keys = [o.key for o in chain]
    if parent.key in keys:
        loop = [o.shown for o in chain[keys.index(parent.key) :]] + [parent.shown]
        msg = f"extends cycle: {' -> '.join(loop)}; one of these files must not extend another"
        raise ScenarioError([Issue("extends", msg, origin.shown)])
    parent_data = _parse(parent.text(), parent.shown)
    base, src = _resolve(parent_data, parent, [*chain, parent], state)
    top_src = _Src(origin.shown, dict(src.parts))
    for key, value in data.items():
        if key in ENTITY_LISTS and isinstance(value, list):
            old: list[Any] = base[key] if isinstance(base.get(key), list) else []
            base_src = top_src.parts.get(key) or _mark(old, parent.shown)
            base[key], top_src.parts[key] = _merge_list(
                key, old, base_src, value, origin.shown, state
            )
        else:
            merged, merged_src = _merge_table(base, top_src, {key: value}, origin.shown)
            base[key], top_src.parts[key] = merged[key], merged_src.parts[key]
    if state.issues:
        raise ScenarioError(state.issues)
    _name_events(base)
    return base, top_src


@dataclass(frozen=True)
class ScenarioData:
    """A scenario's tables with ``extends`` resolved, not yet validated.

    Attributes
    ----------
    data
        The merged tables.
    source
        Name of the file read (used in messages).
    provenance
        Field location -> the file that set it.
    removed
        Ids dropped with ``remove = true`` -> the file that dropped them.
    """

    data: dict[str, Any]
    source: str
    provenance: dict[Loc, str]
    removed: dict[str, str]


def read_scenario_data(
    source: str | os.PathLike[str] | Mapping[str, Any], *, name_hint: str | None = None
) -> ScenarioData:
    """Read a scenario's tables, with ``extends`` resolved, without validating them.

    Parameters
    ----------
    source, name_hint
        As for :func:`load_scenario`.

    Raises
    ------
    ScenarioError
        On a missing file, a TOML syntax error or a bad ``extends``.
    """
    if isinstance(source, Mapping):
        origin = _Origin("<python>", PYTHON, None)
        data: Mapping[str, Any] = source
        stem = name_hint or "scenario"
    else:
        origin = _locate(source)
        data = _parse(origin.text(), origin.shown)
        stem = name_hint or origin.stem()
    state = _Merge()
    merged, src = _resolve(data, origin, [origin], state)
    if "name" not in data and stem:
        # A child file is its own scenario: it does not take its parent's name.
        merged["name"] = stem
    return ScenarioData(merged, origin.shown, _flatten(src), state.removed)


def load_scenario(
    source: str | os.PathLike[str] | Mapping[str, Any], *, name_hint: str | None = None
) -> Scenario:
    """Load and validate a scenario.

    Parameters
    ----------
    source
        A path to a TOML file, the name of a built-in scenario (see
        :func:`list_builtin`), or the scenario's tables as a dict.
    name_hint
        Name to give the scenario when it does not set ``name`` (default: the
        file's stem).

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        With every problem found, each naming the file and the field.
    """
    read = read_scenario_data(source, name_hint=name_hint)
    return Scenario.from_dict(
        read.data, read.source, provenance=read.provenance, removed=read.removed
    )


def validate_file(
    path: str | os.PathLike[str] | Mapping[str, Any],
) -> tuple[list[Issue], list[Issue]]:
    """Check a scenario file and report every problem, raising none.

    Parameters
    ----------
    path
        A TOML file or the name of a built-in scenario.

    Returns
    -------
    tuple of list of Issue
        ``(errors, warnings)``; the file is usable when ``errors`` is empty.
    """
    try:
        read = read_scenario_data(path)
    except ScenarioError as exc:
        return exc.issues, []
    _, errors, warns = validate_data(read.data, read.source, read.provenance, read.removed)
    return errors, warns


def scenario_json_schema() -> dict[str, Any]:
    """The JSON schema of a scenario file (after ``extends`` is resolved).

    Editors that read JSON schemas (e.g. for TOML) can use it to complete and
    check scenario files. Cross-reference rules are not expressed in it.
    """
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "reesim scenario"
    return schema
