"""The examples and the README are run, so that what they show keeps working."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import reesim
from reesim.cli import main
from reesim.scenario.load import validate_file

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_block(language: str, index: int = 0) -> str:
    """The ``index``-th fenced code block of ``language`` in README.md."""
    blocks = re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.MULTILINE | re.DOTALL)
    assert len(blocks) > index, f"README has no ```{language} block #{index}"
    return str(blocks[index])


def test_there_are_numbered_examples() -> None:
    assert len(EXAMPLES) >= 3
    assert all(re.match(r"\d\d_\w+\.py$", p.name) for p in EXAMPLES)


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path, tmp_path: Path) -> None:
    env = {**os.environ, "REESIM_EXAMPLE_REPLICATES": "60", "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip(), "an example should show its results"
    assert "Traceback" not in proc.stderr


def test_readme_scenario_is_valid_and_runs(tmp_path: Path) -> None:
    path = tmp_path / "oxide-ban.toml"
    path.write_text(readme_block("toml"), encoding="utf-8")
    errors, warnings = validate_file(path)
    assert errors == []
    assert warnings == []
    scenario = reesim.load_scenario(path)
    assert [f.id for f in scenario.facilities] == ["cn_separation", "eu_magnet"]
    res = reesim.simulate(scenario, replicates=50, seed=1)
    res.check_mass_balance()
    # The ban cuts the only oxide supply: some replicates must run short.
    p_short = res.summary().loc[("eu_ev", "time_to_shortage_weeks"), "p_any"]
    assert 0.0 < p_short <= 1.0


def test_readme_scenario_error_example_is_what_reesim_says(tmp_path: Path) -> None:
    path = tmp_path / "oxide-ban.toml"
    text = readme_block("toml").replace("lead_time_days = 42", "lead_time_days = 0", 1)
    path.write_text(text, encoding="utf-8")
    errors, _ = validate_file(path)
    shown = re.search(r"`oxide-ban\.toml: (routes\[0\]\.lead_time_days: [^`]*)`", README)
    assert shown is not None
    assert [str(e).split("oxide-ban.toml: ", 1)[1] for e in errors] == [shown.group(1)]


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = readme_block("python").replace("replicates=2000", "replicates=30")
    assert "replicates=30" in code
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "results" / "default-seed7" / "manifest.json").exists()


def test_readme_sample_output_matches_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--seed", "7", "--quiet"]) == 0
    out = capsys.readouterr().out
    sample = readme_block("text")
    drop_time = lambda text: [ln for ln in text.splitlines() if "wall time" not in ln]  # noqa: E731
    assert drop_time(sample) == drop_time(out), (
        "README's sample output is stale: paste the output of `reesim run --seed 7`"
    )


def test_readme_and_ci_run_the_same_test_command() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "pip install -e '.[test]' && reesim run" in quick_start
    commands = re.findall(r"^    (python -m pytest.*)$", quick_start, flags=re.MULTILINE)
    assert len(commands) == 1
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    ci_lines = [line.strip() for line in ci.splitlines()]
    assert commands[0] in ci_lines
    assert "pip install --quiet -e '.[test]'" in " ".join(ci_lines)
