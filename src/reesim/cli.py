"""The ``reesim`` command: run scenarios, validate files, print the schema, list built-ins.

Only the standard library is imported at start-up, so ``reesim --help``
answers at once; NumPy, pandas and the engine load when a command needs them.

Exit codes: 0 success, 2 bad input (invalid scenario, bad arguments, missing
file, output folder exists without ``--overwrite``), 1 anything else.
Errors print one line ``reesim: error: <message>``; set ``REESIM_DEBUG=1``
for the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from reesim.cli_table import format_list, format_summary

if TYPE_CHECKING:
    from reesim.errors import Issue

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "UsageError", "build_parser", "main"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2

PROG = "reesim"

RECORD_CHOICES = ("auto", "sinks", "production", "flows", "inventory", "all", "none")
BY_CHOICES = ("sink", "sector", "region", "commodity")

DESCRIPTION = """\
Monte Carlo stress tests of the rare-earth magnet supply chain.

A scenario (a TOML file or a built-in name) describes mines, separation and
magnet plants, demand, trade routes and disruptions such as export bans;
'reesim run' simulates many replicates and reports when and for how long
each demand sink runs short."""

EPILOG = """\
examples:
  reesim run                            run the built-in "default" scenario
  reesim run scenarios/ban.toml --replicates 5000 --seed 7 --out results/ban
  reesim run default --by sector --quiet
  reesim validate scenarios/*.toml      report every problem in each file
  reesim schema > scenario.schema.json  JSON schema for editors
  reesim list                           built-in scenarios

exit codes: 0 ok, 2 bad input, 1 other failure (REESIM_DEBUG=1 shows tracebacks)"""

RUN_EPILOG = """\
examples:
  reesim run
  reesim run default --replicates 20000 --seed 1 --by region
  reesim run my.toml --seed 7 --out results/my --format csv --overwrite

Times are in weeks from the start of the scenario's reference event;
'never' means not within the horizon. P(short) is the share of replicates
(among those where the event happens) with at least one short period."""


class UsageError(Exception):
    """Bad input given on the command line (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as one ``reesim: error:`` line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("reesim")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer (got {text!r})") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1 (got {value})")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a non-negative integer (got {text!r})"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 (got {value})")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``reesim`` command (one sub-parser per command)."""
    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(prog=PROG, description=DESCRIPTION, epilog=EPILOG, formatter_class=fmt)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser(
        "run",
        help="simulate a scenario and print its shortage summary",
        description="Simulate a scenario and print shortage metrics per demand sink (or group).",
        epilog=RUN_EPILOG,
        formatter_class=fmt,
    )
    run.add_argument(
        "scenario",
        nargs="?",
        default="default",
        metavar="SCENARIO",
        help="a scenario file (.toml) or a built-in name (default: %(default)s)",
    )
    run.add_argument(
        "-n",
        "--replicates",
        type=_positive,
        default=1000,
        metavar="N",
        help="number of Monte Carlo replicates (default: %(default)s)",
    )
    run.add_argument(
        "-s",
        "--seed",
        type=_seed,
        default=None,
        metavar="S",
        help="random seed; the same seed gives the same numbers (default: fresh)",
    )
    run.add_argument(
        "--engine",
        choices=("vector", "des", "numba"),
        default="vector",
        help="vectorised NumPy core, SimPy discrete-event engine, or compiled kernel "
        "(needs pip install 'reesim[fast]') (default: %(default)s)",
    )
    run.add_argument(
        "--chunk-size",
        type=_positive,
        default=None,
        metavar="N",
        help="replicates per chunk; bounds memory, never changes results",
    )
    run.add_argument(
        "--record",
        choices=RECORD_CHOICES,
        default="auto",
        help="series to keep besides the metrics (default: %(default)s = "
        "sink series when they fit in memory)",
    )
    run.add_argument(
        "-o",
        "--out",
        default=None,
        metavar="DIR",
        help="save metrics, summaries, series and manifest.json to this new folder",
    )
    run.add_argument(
        "--format",
        choices=("parquet", "csv"),
        default="parquet",
        help="table format for --out (default: %(default)s)",
    )
    run.add_argument(
        "--overwrite", action="store_true", help="replace the --out folder if it exists"
    )
    run.add_argument(
        "--by",
        choices=BY_CHOICES,
        default="sink",
        help="group sinks in the printed table (default: %(default)s)",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)

    val = sub.add_parser(
        "validate",
        help="check scenario files and report every problem",
        description="Check scenario files; print every error and warning found in each.",
        epilog="examples:\n  reesim validate scenarios/*.toml",
        formatter_class=fmt,
    )
    val.add_argument("files", nargs="+", metavar="FILE", help="scenario files (.toml)")
    val.set_defaults(func=cmd_validate)

    schema = sub.add_parser(
        "schema",
        help="print the JSON schema of scenario files",
        description="Print the JSON schema of scenario files (for editors and other tools).",
        epilog="examples:\n  reesim schema > scenario.schema.json",
        formatter_class=fmt,
    )
    schema.set_defaults(func=cmd_schema)

    lst = sub.add_parser(
        "list",
        help="list the built-in scenarios",
        description="List the built-in scenarios with their descriptions.",
    )
    lst.set_defaults(func=cmd_list)
    return parser


# ------------------------------------------------------------------ commands
def _looks_like_path(name: str) -> bool:
    """A file name rather than a built-in scenario name."""
    return name.endswith(".toml") or "/" in name or os.sep in name


def _load(name: str) -> Any:
    """Load a scenario by path or built-in name, turning a missing file into a usage error."""
    if _looks_like_path(name) and not Path(name).is_file():
        raise UsageError(f"{name}: no such file")
    from reesim.scenario.load import load_scenario

    try:
        return load_scenario(name)
    except FileNotFoundError as exc:
        raise UsageError(f"{exc.filename or name}: no such file") from None


def _time_zero(scenario: Any) -> str:
    """What time zero of the metrics is: the reference event's start, or the horizon's."""
    ref = scenario.settings.reference_event
    if ref is None and scenario.events:
        ref = getattr(scenario.events[0], "id", None)
    return f"the start of {ref}" if ref else "the start of the horizon"


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    """``reesim run``: simulate, print the summary table, optionally save."""
    target = Path(args.out) if args.out else None
    if target is not None and target.exists() and not args.overwrite:
        raise UsageError(f"{target} exists; pass --overwrite to replace it")
    scenario = _load(args.scenario)
    from reesim.simulation import simulate

    progress = bool(sys.stderr.isatty() and not args.quiet)
    started = time.perf_counter()
    res = simulate(
        scenario,
        replicates=args.replicates,
        seed=args.seed,
        engine=args.engine,
        chunk_size=args.chunk_size,
        record=args.record,
        progress=progress,
    )
    wall = time.perf_counter() - started
    summary = res.summary_rows(by=args.by)

    title = f"{scenario.name}: {scenario.description}" if scenario.description else scenario.name
    print(title, file=out)
    t = scenario.time
    period = {"day": "daily", "week": "weekly", "month": "monthly"}.get(t.period, t.period)
    note = (
        f"Horizon {t.start} to {t.end} in {period} periods. Times are weeks from "
        f"{_time_zero(scenario)}; 'never' = not within the horizon."
    )
    print(textwrap.fill(note, width=88), file=out)
    import numpy as np

    missing = float(np.isnan(res.start).mean())
    if missing > 0:
        print(
            f"The reference event does not happen in {100 * missing:.1f}% of replicates; "
            "those are left out of the figures.",
            file=out,
        )
    print(file=out)
    print(format_summary(summary, by=args.by, stream=out), file=out)
    print(file=out)
    print(
        f"{res.replicates:,} replicates, seed {res.seed}, {res.engine} engine, "
        f"wall time {wall:.2f} s",
        file=out,
    )
    if target is not None:
        written = res.save(target, format=args.format, overwrite=args.overwrite)
        print(f"saved to {written}/ ({args.format} tables + manifest.json)", file=out)
    return EXIT_OK


def cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    """``reesim validate``: every error and warning per file; exit 2 if any error."""
    from reesim.errors import Issue, ReesimError
    from reesim.scenario.load import validate_file

    n_bad = n_errors = n_warnings = 0
    for name in args.files:
        errors: list[Issue]
        warns: list[Issue]
        if _looks_like_path(name) and not Path(name).is_file():
            errors, warns = [Issue("", "no such file", name)], []
        else:
            try:
                errors, warns = validate_file(name)
            except (ReesimError, OSError) as exc:  # a failure outside the scenario itself
                errors, warns = [Issue("", " ".join(str(exc).split()), name)], []
        for issue in errors:
            print(f"error: {issue}", file=out)
        for issue in warns:
            print(f"warning: {issue}", file=out)
        n_errors += len(errors)
        n_warnings += len(warns)
        if errors:
            n_bad += 1
        else:
            note = f" ({_plural(len(warns), 'warning')})" if warns else ""
            print(f"ok: {name}{note}", file=out)
    if len(args.files) > 1 or n_bad:
        print(
            f"{_plural(len(args.files), 'file')} checked: {len(args.files) - n_bad} valid, "
            f"{_plural(n_errors, 'error')}, {_plural(n_warnings, 'warning')}",
            file=out,
        )
    return EXIT_USAGE if n_bad else EXIT_OK


def cmd_schema(args: argparse.Namespace, out: TextIO) -> int:
    """``reesim schema``: the JSON schema of scenario files on stdout."""
    from reesim.scenario.load import scenario_json_schema

    print(json.dumps(scenario_json_schema(), indent=2), file=out)
    return EXIT_OK


def builtin_entries() -> list[tuple[str, str]]:
    """(name, description) of each built-in scenario."""
    from reesim.scenario.load import list_builtin, load_scenario

    found: Any = list_builtin()
    if isinstance(found, dict):
        return [(str(k), str(v)) for k, v in found.items()]
    entries = []
    for item in found:
        if isinstance(item, tuple | list):
            entries.append((str(item[0]), str(item[1])))
        else:
            entries.append((str(item), str(load_scenario(str(item)).description)))
    return entries


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    """``reesim list``: built-in scenario names and descriptions."""
    print(format_list(builtin_entries()), file=out)
    return EXIT_OK


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# ---------------------------------------------------------------- entry point
def _is_reesim_warning(category: type[Warning]) -> bool:
    # Matched by name so that this check needs no import of the package's heavy layers.
    return any(
        c.__name__ == "ReesimWarning" and c.__module__ == "reesim.errors" for c in category.__mro__
    )


def _warning_printer(previous: Callable[..., None]) -> Callable[..., None]:
    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if _is_reesim_warning(category):
            print(f"{PROG}: warning: {message}", file=sys.stderr)
        else:
            previous(message, category, filename, lineno, file, line)

    return show


def _exit_code(exc: BaseException) -> int:
    """2 for input the user can fix, 1 for anything else."""
    if isinstance(exc, UsageError | FileNotFoundError | IsADirectoryError):
        return EXIT_USAGE
    try:
        from reesim.errors import ReesimError, ScenarioError
        from reesim.results import MassBalanceError
    except Exception:  # the package itself fails to import: not the user's input
        return EXIT_ERROR
    if isinstance(exc, MassBalanceError):
        return EXIT_ERROR
    if isinstance(exc, ScenarioError | ReesimError):
        return EXIT_USAGE
    return EXIT_ERROR


def _report(exc: BaseException) -> None:
    issues = getattr(exc, "issues", None)
    if issues:
        for issue in issues:
            print(f"{PROG}: error: {issue}", file=sys.stderr)
        return
    if isinstance(exc, FileNotFoundError) and exc.filename:
        text = f"{exc.filename}: no such file"
    else:
        text = " ".join(str(exc).split()) or type(exc).__name__
        if not isinstance(exc, UsageError) and _exit_code(exc) == EXIT_ERROR:
            text = f"{type(exc).__name__}: {text}"
    print(f"{PROG}: error: {text}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``reesim`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    debug = os.environ.get("REESIM_DEBUG", "").strip() not in ("", "0")
    parser = build_parser()
    with warnings.catch_warnings():
        warnings.showwarning = _warning_printer(warnings.showwarning)
        try:
            args = parser.parse_args(argv)
            code: int = args.func(args, sys.stdout)
            sys.stdout.flush()
            return code
        except SystemExit as exc:  # --help and --version
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:
            # The reader went away (``reesim schema | head``): not an error of ours.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return EXIT_OK
        except Exception as exc:
            if debug and not isinstance(exc, UsageError):
                raise
            _report(exc)
            return _exit_code(exc)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
