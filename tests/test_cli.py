"""The ``reesim`` command: exit codes, printed tables, validation reports, saved folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from reesim.cli import main

CHAIN = """\
name = "chain"
description = "One Chinese magnet plant feeding EU EV makers, banned for 13 weeks"

[time]
start = 2026-01-01
end = 2027-01-01

[[commodities]]
id = "magnet"

[[facilities]]
id = "cn_magnet"
stage = "magnet"
region = "CN"
capacity = 5_000
output = "magnet"

[[sinks]]
id = "eu_ev"
region = "EU"
sector = "ev"
commodity = "magnet"
demand = 2_000
cover_weeks = 4

[[routes]]
supplier = "cn_magnet"
buyer = "eu_ev"
commodity = "magnet"
lead_time_days = 14

[[events]]
id = "ban"
kind = "export_ban"
exporter = "CN"
start = 2026-03-05
duration_days = 91
"""

# Three independent mistakes: a negative demand, a zero lead time and a negative capacity.
BROKEN = (
    CHAIN.replace("demand = 2_000", "demand = -5")
    .replace("lead_time_days = 14", "lead_time_days = 0")
    .replace("capacity = 5_000", "capacity = -1")
)

# A route to a sink that does not exist (a close match does).
UNKNOWN_BUYER = CHAIN.replace('buyer = "eu_ev"', 'buyer = "eu_evv"')

# Lead time of 2 days on weekly periods: clamped up to one period, with a warning.
CLAMPED = CHAIN.replace("lead_time_days = 14", "lead_time_days = 2")


@pytest.fixture
def chain_file(tmp_path: Path) -> Path:
    path = tmp_path / "chain.toml"
    path.write_text(CHAIN, encoding="utf-8")
    return path


@pytest.fixture
def broken_file(tmp_path: Path) -> Path:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN, encoding="utf-8")
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ----------------------------------------------------------------------- help
def test_help_shows_commands_and_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    for word in ("run", "validate", "schema", "list", "examples:", "reesim run scenarios/"):
        assert word in out


def test_run_help_lists_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "run", "--help")
    assert code == 0
    for option in (
        "--replicates",
        "--seed",
        "--engine",
        "--chunk-size",
        "--record",
        "--out",
        "--format",
        "--overwrite",
        "--by",
        "--quiet",
        "examples:",
    ):
        assert option in out


def test_version_matches_package(capsys: pytest.CaptureFixture[str]) -> None:
    import reesim

    code, out, _ = run_cli(capsys, "--version")
    assert code == 0
    assert out.strip() == f"reesim {reesim.__version__}"


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys)
    assert code == 2
    assert err.startswith("reesim: error:")


# ------------------------------------------------------------------------ run
def test_run_default_prints_a_row_per_sink(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "run", "--replicates", "40", "--seed", "5", "--quiet")
    assert code == 0, err
    for sink in ("eu_ev", "us_ev", "eu_wind", "us_wind", "cn_domestic", "jp_industry"):
        assert sink in out
    assert "P(short)" in out and "time to shortage" in out
    assert "40 replicates, seed 5, vector engine" in out
    assert "Traceback" not in err


def test_run_file_gives_exact_figures(chain_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A fixed 13-week ban from week 9, 4 weeks of cover and a 2-week lead time: the closed
    # form (MODEL section 7) puts the first short week at L + floor(4 - 0.99) + 1 = 6 weeks
    # after the start, with 13 - 3 - 1 = 9 short weeks, in every replicate.
    code, out, err = run_cli(capsys, "run", str(chain_file), "-n", "3", "--seed", "1", "-q")
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("eu_ev")).split()
    assert row[1] == "100.0%"
    assert row[2] == "6.0" and row[3].startswith("[6.0") and row[3].endswith("6.0]")
    assert row[4:6] == ["9.0", "9.0"]
    assert "the start of ban;" in " ".join(out.split())


def test_same_seed_same_table(capsys: pytest.CaptureFixture[str]) -> None:
    def table() -> list[str]:
        code, out, _ = run_cli(capsys, "run", "-n", "60", "--seed", "9", "-q", "--chunk-size", "7")
        assert code == 0
        return [line for line in out.splitlines() if "wall time" not in line]

    first = table()
    assert first == table()


def test_run_by_sector_groups_rows(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "run", "-n", "20", "--seed", "2", "-q", "--by", "sector")
    assert code == 0
    rows = [line.split()[0] for line in out.splitlines() if line[:1].isalpha()]
    assert {"ev", "wind", "industrial", "other"} <= set(rows)
    assert "eu_ev" not in out


def test_progress_only_on_a_terminal_and_not_quiet(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = sys.modules["reesim.simulation"]
    real = module.simulate
    seen: list[object] = []

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(kwargs["progress"])
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "simulate", spy)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert run_cli(capsys, "run", "-n", "5", "--seed", "1")[0] == 0
    assert run_cli(capsys, "run", "-n", "5", "--seed", "1", "--quiet")[0] == 0
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert run_cli(capsys, "run", "-n", "5", "--seed", "1")[0] == 0
    assert seen == [True, False, False]


def test_quiet_run_writes_nothing_to_stderr() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "reesim", "run", "-n", "30", "--seed", "1", "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "30 replicates" in proc.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_quiet_is_silent_on_a_terminal() -> None:
    # stderr is a real (pseudo-)terminal here, the case where a progress bar could appear.
    import fcntl
    import pty
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    cmd = [sys.executable, "-m", "reesim", "run", "-n", "3000", "--seed", "1", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    assert proc.wait(timeout=300) == 0
    assert seen == b""


def test_out_writes_folder_and_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "results" / "ban"
    code, out, err = run_cli(capsys, "run", "-n", "12", "--seed", "4", "-q", "--out", str(out_dir))
    assert code == 0, err
    assert f"saved to {out_dir}" in out
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["seed"] == 4 and manifest["replicates"] == 12
    metrics = pd.read_parquet(out_dir / "metrics_sink.parquet")
    assert len(metrics) == 12 * 6

    before = (out_dir / "manifest.json").read_text()
    code, _, err = run_cli(capsys, "run", "-n", "5", "--seed", "1", "-q", "--out", str(out_dir))
    assert code == 2
    assert err == f"reesim: error: {out_dir} exists; pass --overwrite to replace it\n"
    assert (out_dir / "manifest.json").read_text() == before

    code, _, err = run_cli(
        capsys,
        "run",
        "-n",
        "5",
        "--seed",
        "1",
        "-q",
        "--out",
        str(out_dir),
        "--overwrite",
        "--format",
        "csv",
    )
    assert code == 0, err
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["replicates"] == 5 and manifest["format"] == "csv"
    assert (out_dir / "metrics_sink.csv").exists()
    assert not (out_dir / "metrics_sink.parquet").exists()


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["run", "--engine", "warp"], "invalid choice: 'warp'"),
        (["run", "--replicates", "0"], "must be >= 1 (got 0)"),
        (["run", "--seed", "-3"], "--seed"),
        (["run", "--record", "everything"], "invalid choice: 'everything'"),
        (["run", "--by", "country"], "invalid choice: 'country'"),
        (["run", "--format", "xlsx"], "invalid choice: 'xlsx'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["run", "no/such/file.toml"], "no/such/file.toml: no such file"),
        (["run", "missing.toml"], "missing.toml: no such file"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.startswith("reesim: error:")
    assert needle in err
    assert err.count("\n") == 1
    assert out == ""


def test_unknown_builtin_name_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "run", "no-such-builtin", "-n", "2")
    assert code == 2
    assert err.startswith("reesim: error:") and "no-such-builtin" in err
    assert "Traceback" not in err


def test_invalid_scenario_run_exits_2_listing_problems(
    broken_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "run", str(broken_file), "-n", "2")
    assert code == 2
    lines = err.splitlines()
    assert len(lines) >= 3
    assert all(line.startswith("reesim: error:") and "broken.toml" in line for line in lines)
    assert out == ""


def test_reesim_warnings_print_as_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "clamped.toml"
    path.write_text(CLAMPED, encoding="utf-8")
    code, _, err = run_cli(capsys, "run", str(path), "-n", "2", "--seed", "1", "-q")
    assert code == 0
    warning_lines = [line for line in err.splitlines() if line.startswith("reesim: warning:")]
    assert warning_lines, err
    assert "ReesimWarning" not in err and "warnings.warn" not in err


def test_unexpected_failure_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(sys.modules["reesim.simulation"], "simulate", boom)
    code, _, err = run_cli(capsys, "run", "-n", "2")
    assert code == 1
    assert err == "reesim: error: RuntimeError: engine exploded\n"


def test_debug_env_shows_the_traceback(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN, encoding="utf-8")
    env = {**os.environ, "REESIM_DEBUG": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "reesim", "run", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "ScenarioError" in proc.stderr


# ------------------------------------------------------------------- validate
def test_validate_good_file(chain_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "validate", str(chain_file))
    assert code == 0
    assert out.splitlines() == [f"ok: {chain_file}"]


def test_validate_prints_every_error(
    broken_file: Path, chain_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "validate", str(chain_file), str(broken_file))
    assert code == 2
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) >= 3
    assert all(str(broken_file) in line for line in errors)
    text = "\n".join(errors)
    assert "sinks[0].demand" in text
    assert "routes[0].lead_time_days" in text
    assert "facilities[0].capacity" in text
    assert f"ok: {chain_file}" in out
    assert "2 files checked: 1 valid" in out


def test_validate_suggests_close_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "typo.toml"
    path.write_text(UNKNOWN_BUYER, encoding="utf-8")
    code, out, _ = run_cli(capsys, "validate", str(path))
    assert code == 2
    line = next(line for line in out.splitlines() if line.startswith("error:"))
    assert "routes[0].buyer" in line and "eu_evv" in line and "did you mean 'eu_ev'" in line


def test_validate_reports_syntax_error_with_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "syntax.toml"
    path.write_text(CHAIN.replace('id = "magnet"', 'id = "magnet'), encoding="utf-8")
    code, out, _ = run_cli(capsys, "validate", str(path))
    assert code == 2
    assert "error:" in out and "syntax.toml" in out and "line" in out


def test_validate_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "validate", "nowhere.toml")
    assert code == 2
    assert "error: nowhere.toml: no such file" in out


# -------------------------------------------------------------- schema, list
def test_schema_is_json_schema_of_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["type"] == "object"
    for key in ("time", "commodities", "facilities", "sinks", "routes", "events"):
        assert key in schema["properties"]


def test_list_shows_builtins_with_descriptions(capsys: pytest.CaptureFixture[str]) -> None:
    import reesim

    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    description = reesim.load_scenario("default").description
    line = next(line for line in out.splitlines() if line.startswith("default "))
    assert description in line
    assert "world-2024" in out


# --------------------------------------------------------------- start-up cost
@pytest.mark.parametrize("module", ["cli.py", "cli_table.py"])
def test_command_module_imports_only_the_standard_library_at_top(module: str) -> None:
    # NumPy, pandas and the engine load inside the commands, so that --help stays instant.
    import ast

    source = Path(__file__).resolve().parents[1] / "src" / "reesim" / module
    tree = ast.parse(source.read_text(encoding="utf-8"))
    top: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("reesim"):
                assert node.module == "reesim.cli_table", node.module
            else:
                top.add(node.module.split(".")[0])
    assert top <= set(sys.stdlib_module_names) | {"__future__"}, top - set(sys.stdlib_module_names)
