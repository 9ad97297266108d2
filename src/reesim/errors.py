"""Exceptions and warnings raised by reesim.

Every error about user input says *where* (file and field path), *what was
expected* and *what was found*, so that a modeller can fix a scenario file
without reading a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "Issue",
    "ReesimError",
    "ReesimWarning",
    "ScenarioError",
    "did_you_mean",
    "format_path",
]


class ReesimError(Exception):
    """Base class of every error raised by reesim."""


class ReesimWarning(UserWarning):
    """A modelling warning: the run goes on, but the result may mislead."""


def format_path(loc: Iterable[str | int]) -> str:
    """Render a field location as ``routes[3].lead_time_days``.

    Parameters
    ----------
    loc
        Location parts: strings are field names, integers list indices.
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out:
            out += f".{part}"
        else:
            out = str(part)
    return out


def did_you_mean(name: str, candidates: Sequence[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest candidate, or ``""``."""
    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


@dataclass(frozen=True)
class Issue:
    """One problem found in a scenario.

    Attributes
    ----------
    path
        Field location, e.g. ``routes[3].lead_time_days``.
    message
        What was expected and what was found.
    source
        File the field came from (``<python>`` when built in code).
    """

    path: str
    message: str
    source: str = "<scenario>"

    def __str__(self) -> str:
        where = f"{self.source}: {self.path}" if self.path else self.source
        return f"{where}: {self.message}" if self.path else f"{where}: {self.message}"


class ScenarioError(ReesimError, ValueError):
    """A scenario is invalid. Holds every problem found, not only the first.

    Parameters
    ----------
    issues
        The problems; each renders as ``file: field.path: message``.
    """

    def __init__(self, issues: Sequence[Issue] | str, source: str = "<scenario>") -> None:
        if isinstance(issues, str):
            issues = [Issue("", issues, source)]
        self.issues: list[Issue] = list(issues)
        super().__init__(self._render())

    def _render(self) -> str:
        if len(self.issues) == 1:
            return str(self.issues[0])
        lines = [f"{len(self.issues)} problems found:"]
        lines += [f"  - {issue}" for issue in self.issues]
        return "\n".join(lines)
