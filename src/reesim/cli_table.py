"""Plain-text tables for the ``reesim`` command: the run summary and the scenario list.

Only the standard library is imported here; the summary arrives as a pandas
DataFrame but is read through ``.loc`` and ``.index`` alone.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any, TextIO

__all__ = ["format_list", "format_summary", "format_table", "symbols"]


def symbols(stream: TextIO | None = None) -> dict[str, str]:
    """Dash and range characters that ``stream`` can encode (ASCII fallbacks)."""
    encoding = getattr(stream or sys.stdout, "encoding", None) or "ascii"
    try:
        "\u2014\u2013".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return {"none": "-", "range": "-"}
    return {"none": "\u2014", "range": "\u2013"}


def _num(value: float, sym: dict[str, str], inf: str = "never", digits: int = 1) -> str:
    """A number for the table: NaN as a dash, +inf as ``inf`` (``never`` by default)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return sym["none"]
    if math.isinf(value):
        return inf
    return f"{value:,.{digits}f}"


def _pct(share: float, sym: dict[str, str]) -> str:
    """A probability (0..1) as a percentage."""
    if share is None or math.isnan(share):
        return sym["none"]
    return f"{100.0 * share:.1f}%"


def _share(percent: float, sym: dict[str, str]) -> str:
    """A value already in percent."""
    if percent is None or not math.isfinite(percent):
        return sym["none"]
    return f"{percent:.1f}%"


def format_table(header: Sequence[Sequence[str]], rows: Sequence[Sequence[str]], align: str) -> str:
    """Align columns: ``align`` has one ``l`` or ``r`` per column.

    Parameters
    ----------
    header
        One or more header rows.
    rows
        Body rows; every row has as many cells as ``align`` has letters.
    align
        Column alignments.
    """
    table = [list(r) for r in header] + [list(r) for r in rows]
    widths = [max(len(r[c]) for r in table) for c in range(len(align))]

    def line(cells: Sequence[str]) -> str:
        out = [
            c.ljust(w) if a == "l" else c.rjust(w)
            for c, w, a in zip(cells, widths, align, strict=True)
        ]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([*(line(r) for r in header), rule, *(line(r) for r in rows)])


def format_summary(summary: Any, by: str = "sink", stream: TextIO | None = None) -> str:
    """Render :meth:`reesim.Results.summary` as the table ``reesim run`` prints.

    Columns: probability of any shortage (%), time to shortage P50 [P5-P95]
    (weeks), shortage duration mean and P95 (weeks), time to recover P50
    (weeks) and mean unmet demand (% of demand), one row per group.

    Parameters
    ----------
    summary
        :meth:`reesim.Results.summary_rows` (a list of dicts), or the DataFrame of
        :meth:`reesim.Results.summary` indexed by (group, metric) with columns
        mean, p5, p50, p95, p_any.
    by
        Name of the grouping, shown as the first column's title.
    stream
        Where the text will go (decides whether Unicode dashes can be used).
    """
    sym = symbols(stream)
    table: dict[tuple[str, str], dict[str, Any]] = {}
    if isinstance(summary, list):  # Results.summary_rows(): no pandas needed
        table = {(str(r[by]), str(r["metric"])): r for r in summary}
    else:
        for (group, metric), row in summary.iterrows():
            table[(str(group), str(metric))] = dict(row)
    groups: list[str] = []
    for group, _ in table:
        if group not in groups:
            groups.append(group)

    def cell(group: str, metric: str, stat: str) -> float:
        return float(table[(group, metric)][stat])

    rows = []
    for g in groups:
        tts = "time_to_shortage_weeks"
        p50 = _num(cell(g, tts, "p50"), sym)
        lo = _num(cell(g, tts, "p5"), sym)
        hi = _num(cell(g, tts, "p95"), sym)
        rows.append(
            [
                str(g),
                _pct(cell(g, tts, "p_any"), sym),
                f"{p50} [{lo}{sym['range']}{hi}]",
                _num(cell(g, "shortage_duration_weeks", "mean"), sym),
                _num(cell(g, "shortage_duration_weeks", "p95"), sym),
                _num(cell(g, "time_to_recover_weeks", "p50"), sym),
                _share(cell(g, "unmet_pct", "mean"), sym),
            ]
        )
    header = [
        ["", "", "time to shortage", "shortage", "shortage", "time to", "unmet"],
        [
            by,
            "P(short)",
            "P50 [P5-P95], wk".replace("-", sym["range"]),
            "mean, wk",
            "P95, wk",
            "recover P50, wk",
            "mean",
        ],
    ]
    return format_table(header, rows, "lrlrrrr")


def format_list(entries: Sequence[tuple[str, str]]) -> str:
    """Built-in scenarios as ``name  description`` lines."""
    if not entries:
        return "(no built-in scenarios)"
    width = max(len(name) for name, _ in entries)
    return "\n".join(f"{name.ljust(width)}  {desc}".rstrip() for name, desc in entries)
