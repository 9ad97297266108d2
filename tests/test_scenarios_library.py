"""Every file of the scenario library validates, explains itself, and runs."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

import reesim
from reesim.cli import main
from reesim.scenario import validate_file

LIBRARY = Path(__file__).resolve().parents[1] / "scenarios"
FILES = sorted(LIBRARY.glob("*.toml"))
ASKED_FOR = {
    "baseline",
    "replay-2010-japan",
    "replay-2025-licensing",
    "replay-2025-licensing-october",
    "china-full-ban",
    "friendshoring-2030",
    "stockpiles",
    "myanmar-feed-cut",
    "dual-circulation",
    "new-source",
}
CONTROLLED_2010 = ("ndpr_oxide", "dytb_oxide", "ndpr_metal", "dytb_metal")


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def test_the_library_has_every_scenario_asked_for() -> None:
    assert {p.stem for p in FILES} >= ASKED_FOR


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_file_extends_the_world_and_explains_itself(path: Path) -> None:
    text = path.read_text()
    head = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        head.append(line)
    header = "\n".join(head)
    for part in ("Question:", "Sources", "Read the output"):
        assert part in header, f"{path.name}: the opening comment lacks '{part}'"
    data = tomllib.loads(text)
    assert data["extends"] == "world-2024"
    assert data["name"] == path.stem


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_file_validates_without_warnings(path: Path) -> None:
    assert validate_file(path) == ([], [])


def test_reesim_validate_accepts_the_whole_library(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *map(str, FILES)]) == 0
    assert "error:" not in capsys.readouterr().out


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_file_runs(path: Path) -> None:
    sc = reesim.load_scenario(path)
    ref = sc.settings.reference_event
    assert ref in {e.id for e in sc.events}, f"{path.name}: reference event {ref!r} missing"
    res = reesim.simulate(sc, replicates=3, seed=11)
    res.check_mass_balance()
    m = res.metrics
    assert len(m) == 3 * len(sc.sinks)
    assert np.isfinite(m["unmet_pct"]).all()
    # Every scenario starts from a steady world that serves everyone before its
    # reference event (baseline's structural gap opens years after its reference).
    assert (m["pre_unmet_t"] == 0).all()


def test_full_ban_hurts_users_outside_china_only() -> None:
    res = reesim.simulate(
        reesim.load_scenario(LIBRARY / "china-full-ban.toml"), replicates=3, seed=5
    )
    unmet = res.metrics.groupby(level="sink")["unmet_t"].min()
    # A ban of at least six months outlasts every user's stock (at most 26 weeks).
    assert (unmet[[s for s in unmet.index if s.startswith(("eu_", "us_", "jp_"))]] > 0).all()
    assert (unmet[[s for s in unmet.index if s.startswith("cn_")]] == 0).all()


def test_replay_2010_halts_controlled_goods_to_japan_only_during_the_halt() -> None:
    sc = reesim.load_scenario(LIBRARY / "replay-2010-japan.toml")
    res = reesim.simulate(sc, replicates=2, seed=3, record="all")
    ds = res.to_xarray()
    region = {f.id: f.region for f in sc.facilities} | {s.id: s.region for s in sc.sinks}
    routes = [
        r
        for r in sc.routes
        if region[r.supplier] == "CN" and region[r.buyer] == "JP" and r.commodity in CONTROLLED_2010
    ]
    assert routes, "no Chinese route to Japan carries the controlled goods"
    out = ds["departures"].sel(route=[r.key for r in routes]).sum("route")
    dates = ds["date"].values
    halt = (dates >= np.datetime64("2010-09-27")) & (dates < np.datetime64("2010-11-15"))
    before = (dates >= np.datetime64("2010-08-01")) & (dates < np.datetime64("2010-09-20"))
    assert float(out.isel(period=np.flatnonzero(halt)).max()) == 0.0
    assert float(out.isel(period=np.flatnonzero(before)).min()) > 0.0


def test_baseline_world_holds_until_2027() -> None:
    res = reesim.simulate(
        reesim.load_scenario(LIBRARY / "baseline.toml"), replicates=3, seed=7, record="sinks"
    )
    ds = res.to_xarray()
    early = ds.sel(period=ds["date"] < np.datetime64("2027-01-01"))
    assert float((early["served"] / early["demand"]).min()) >= 0.99


def test_replay_script_writes_figures_and_tables(tmp_path: Path) -> None:
    script = LIBRARY.parent / "docs" / "validation" / "replays.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--replicates", "6", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "MPLBACKEND": "Agg"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "replay-2010-japan.png",
        "replay-2025-licensing-october.png",
        "replay-2025-licensing.png",
    ]
    assert "| JP departure |" in proc.stdout and "| KR |" in proc.stdout
