"""pydantic's validation error entries, in the plain words a modeller reads.

pydantic reports a location that includes the union member it tried
(``number``, ``distribution``, ``export_ban``) and a message written for
programmers. This module maps each entry back to the keys of the file and
says what was expected and what was found, e.g.
``routes[3].lead_time_days: must be > 0 (got 0)``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, get_args

from pydantic import BaseModel

from reesim.errors import Issue, did_you_mean, format_path
from reesim.scenario.checks import Loc
from reesim.scenario.distributions import (
    Bernoulli,
    Fixed,
    LogNormal,
    Normal,
    Triangular,
    Uniform,
)
from reesim.scenario.events import Event, ReleaseCondition
from reesim.scenario.schema import (
    Commodity,
    Facility,
    Route,
    Settings,
    Sink,
    TimeSettings,
    format_number,
)

__all__ = ["issues_from_errors"]

_DIST_CLASSES: dict[str, type[BaseModel]] = {
    "fixed": Fixed,
    "uniform": Uniform,
    "triangular": Triangular,
    "normal": Normal,
    "lognormal": LogNormal,
    "bernoulli": Bernoulli,
}
_EVENT_CLASSES: dict[str, type[BaseModel]] = {
    get_args(cls.model_fields["kind"].annotation)[0]: cls for cls in get_args(get_args(Event)[0])
}
_ENTRY_CLASSES: dict[str, type[BaseModel]] = {
    "commodities": Commodity,
    "facilities": Facility,
    "sinks": Sink,
    "routes": Route,
}
_TAGS = {"kind": tuple(_EVENT_CLASSES), "dist": tuple(_DIST_CLASSES)}
_TAG_WORDS = {"kind": "event kind", "dist": "distribution"}

#: Type mismatches, by what was expected. Several at one place (a date-or-number
#: field) become one message.
_TYPE_WORDS = {
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "date_type": "a date like 2026-01-01",
    "date_parsing": "a date like 2026-01-01",
    "date_from_datetime_parsing": "a date like 2026-01-01",
    "date_from_datetime_inexact": "a date like 2026-01-01",
    "list_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}
_BOUND_WORDS = {
    "greater_than": (">", "gt"),
    "greater_than_equal": (">=", "ge"),
    "less_than": ("<", "lt"),
    "less_than_equal": ("<=", "le"),
}


def _show(value: Any) -> str:
    """A found value as a modeller would write it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _clean(loc: Loc, root: Any, kind: str) -> tuple[Loc, Any]:
    """Drop union-member tags from a pydantic location, following the data.

    pydantic puts the member it tried into the location (``number``,
    ``distribution``, ``export_ban``); they are not keys of the file, so a
    part is kept only when the data has it (or it names a missing field).
    """
    cur: Any = root
    parent: Any = None
    path: list[str | int] = []
    for n, part in enumerate(loc):
        in_list = isinstance(part, int) and isinstance(cur, list | tuple) and 0 <= part < len(cur)
        if in_list or (isinstance(part, str) and isinstance(cur, Mapping) and part in cur):
            parent, cur = cur, cur[part]
            path.append(part)
        elif n == len(loc) - 1 and kind == "missing":
            parent = cur
            path.append(part)
    return tuple(path), parent


def _field_names(path: Loc, raw: Any) -> list[str]:
    """Keys allowed in the table at ``path`` (for did-you-mean on unknown keys)."""
    model: type[BaseModel] | None = None
    if isinstance(raw, Mapping) and raw.get("dist") in _DIST_CLASSES:
        model = _DIST_CLASSES[raw["dist"]]
    elif not path:
        # Imported here: the model module imports this one to word its own errors.
        from reesim.scenario.model import Scenario

        model = Scenario
    elif len(path) == 1:
        sections: dict[str, type[BaseModel]] = {"time": TimeSettings, "settings": Settings}
        model = sections.get(str(path[0]))
    elif len(path) == 2 and path[0] == "events" and isinstance(raw, Mapping):
        model = _EVENT_CLASSES.get(raw.get("kind"))  # type: ignore[arg-type]
    elif len(path) == 2:
        model = _ENTRY_CLASSES.get(str(path[0]))
    elif len(path) == 3 and path[0] == "events" and path[2] == "condition":
        model = ReleaseCondition
    return list(model.model_fields) if model is not None else []


def _describe(err: Mapping[str, Any], path: Loc, parent: Any) -> tuple[Loc, str]:
    """Where to report one pydantic error entry, and what to say."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    found = err.get("input")
    if kind == "missing":
        return path[:-1], f"missing required field '{path[-1]}'"
    if kind == "extra_forbidden":
        names = _field_names(path[:-1], parent)
        hint = did_you_mean(str(path[-1]), names)
        if not hint and names:
            hint = f" (allowed: {', '.join(names)})"
        return path[:-1], f"unknown key '{path[-1]}'{hint}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        disc = str(ctx.get("discriminator", "")).strip("'")
        tags = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", ""))) or list(
            _TAGS.get(disc, ())
        )
        if kind == "union_tag_not_found":
            return path, f"missing required field '{disc}' (one of: {', '.join(tags)})"
        tag = str(ctx.get("tag"))
        what = _TAG_WORDS.get(disc, disc)
        return (
            (*path, disc),
            f"unknown {what} '{tag}'{did_you_mean(tag, tags)}; expected one of: {', '.join(tags)}",
        )
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        hint = did_you_mean(str(found), options)
        return path, f"must be one of {', '.join(options)} (got {_show(found)}){hint}"
    if kind in _BOUND_WORDS:
        op, key = _BOUND_WORDS[kind]
        return path, f"must be {op} {_show(ctx.get(key))} (got {_show(found)})"
    if kind in ("string_too_short", "too_short"):
        return path, "must not be empty"
    msg = str(err.get("msg", ""))
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return path, msg


def issues_from_errors(
    errors: Sequence[Mapping[str, Any]],
    root: Any,
    where: Callable[[Loc], str],
    prefix: Loc = (),
) -> list[Issue]:
    """Turn pydantic error entries into :class:`Issue` objects in plain words.

    Parameters
    ----------
    errors
        ``ValidationError.errors()`` entries.
    root
        The data that was validated, to tell file keys from pydantic's tags.
    where
        Gives the file for a location.
    prefix
        Location of the validated part within ``root``.
    """
    out: list[Issue] = []
    mismatches: dict[Loc, tuple[list[str], Any]] = {}
    for err in errors:
        path, parent = _clean((*prefix, *err["loc"]), root, err["type"])
        if err["type"] in _TYPE_WORDS:
            words, _ = mismatches.setdefault(path, ([], err.get("input")))
            if _TYPE_WORDS[err["type"]] not in words:
                words.append(_TYPE_WORDS[err["type"]])
            continue
        at, msg = _describe(err, path, parent)
        # An unknown key is reported on its table but came from the file that added it.
        origin = where(path) if err["type"] == "extra_forbidden" else where(at)
        issue = Issue(format_path(at), msg, origin)
        if issue not in out:
            out.append(issue)
    for path, (words, found) in mismatches.items():
        msg = f"expected {' or '.join(words)} (got {_show(found)})"
        out.append(Issue(format_path(path), msg, where(path)))
    return out
