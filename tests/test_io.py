"""Saving results: Parquet and CSV folders, the manifest, atomic writes, overwriting."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import reesim
import reesim.io as rio
from reesim.io import save_results, scenario_hash, write_atomic_text

SEED = 21
REPLICATES = 16


@pytest.fixture(scope="module")
def scenario() -> reesim.Scenario:
    return reesim.load_scenario("default")


@pytest.fixture(scope="module")
def results(scenario: reesim.Scenario) -> reesim.Results:
    return reesim.simulate(scenario, replicates=REPLICATES, seed=SEED)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_save_writes_every_table_in_the_manifest(
    results: reesim.Results, tmp_path: Path, fmt: str
) -> None:
    folder = Path(results.save(tmp_path / "run", format=fmt))
    manifest = json.loads((folder / "manifest.json").read_text())
    listed = set(manifest["files"].values())
    on_disk = {p.name for p in folder.iterdir()} - {"manifest.json", "scenario.json"}
    assert listed == on_disk
    assert {f"metrics_sink.{fmt}", f"summary_sink.{fmt}", f"mass_balance.{fmt}"} <= listed
    assert manifest["format"] == fmt


def test_manifest_says_how_to_repeat_the_run(
    results: reesim.Results, scenario: reesim.Scenario, tmp_path: Path
) -> None:
    folder = Path(results.save(tmp_path / "run"))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["seed"] == SEED
    assert manifest["replicates"] == REPLICATES
    assert manifest["reesim_version"] == reesim.__version__
    assert manifest["scenario"] == "default"
    assert manifest["scenario_sha256"] == scenario_hash(scenario)
    assert len(manifest["scenario_sha256"]) == 64
    assert manifest["engine"] == "vector"
    # The saved scenario reloads into the same scenario (same hash).
    data = json.loads((folder / "scenario.json").read_text())
    assert scenario_hash(reesim.Scenario.model_validate(data)) == manifest["scenario_sha256"]


def test_scenario_hash_changes_with_the_scenario(scenario: reesim.Scenario) -> None:
    data = scenario.model_dump(mode="json")
    same = reesim.Scenario.model_validate(data)
    data["sinks"][0]["demand"] = data["sinks"][0]["demand"] + 1
    changed = reesim.Scenario.model_validate(data)
    assert scenario_hash(same) == scenario_hash(scenario)
    assert scenario_hash(changed) != scenario_hash(scenario)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_saved_metrics_equal_the_results(results: reesim.Results, tmp_path: Path, fmt: str) -> None:
    folder = Path(results.save(tmp_path / "run", format=fmt))
    read = pd.read_parquet if fmt == "parquet" else pd.read_csv
    saved = read(folder / f"metrics_sink.{fmt}")
    expected = results.metrics.reset_index()
    assert list(saved["sink"][: len(results.plan.sink_ids)]) == list(results.plan.sink_ids)
    for column in ("unmet_t", "time_to_shortage_weeks", "shortage_duration_weeks"):
        np.testing.assert_allclose(
            saved[column].to_numpy(dtype=float), expected[column].to_numpy(dtype=float)
        )
    summary = read(folder / f"summary_sink.{fmt}")
    assert len(summary) == len(results.summary())


def test_sink_series_are_saved_long(results: reesim.Results, tmp_path: Path) -> None:
    folder = Path(results.save(tmp_path / "run"))
    series = pd.read_parquet(folder / "sink_series.parquet")
    n_per = results.plan.n_periods
    assert len(series) == REPLICATES * n_per * len(results.plan.sink_ids)
    total = results.to_xarray()["unmet"].sum().item()
    assert series["unmet_t"].sum() == pytest.approx(total)


def test_existing_folder_is_refused_without_overwrite(
    results: reesim.Results, tmp_path: Path
) -> None:
    target = tmp_path / "run"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(reesim.ReesimError, match="exists; pass overwrite=True"):
        results.save(target)
    assert (target / "keep.txt").read_text() == "mine"


def test_overwrite_replaces_the_folder(results: reesim.Results, tmp_path: Path) -> None:
    target = tmp_path / "run"
    results.save(target, format="parquet")
    results.save(target, format="csv", overwrite=True)
    names = {p.name for p in target.iterdir()}
    assert "metrics_sink.csv" in names
    assert not any(n.endswith(".parquet") for n in names)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging left behind


def test_failure_leaves_no_partial_folder(
    results: reesim.Results, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    real = rio._write_table

    def flaky(*args: object, **kwargs: object) -> str:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(rio, "_write_table", flaky)
    with pytest.raises(OSError, match="disk full"):
        results.save(tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_the_old_folder(
    results: reesim.Results, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "run"
    results.save(target)
    before = (target / "manifest.json").read_text()

    def broken(*args: object, **kwargs: object) -> str:
        raise OSError("disk full")

    monkeypatch.setattr(rio, "_write_table", broken)
    with pytest.raises(OSError):
        results.save(target, overwrite=True)
    assert (target / "manifest.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_unknown_format_is_refused(results: reesim.Results, tmp_path: Path) -> None:
    with pytest.raises(reesim.ReesimError, match=r"format must be one of \['parquet', 'csv'\]"):
        save_results(results, tmp_path / "run", format="xlsx")
    assert not (tmp_path / "run").exists()


def test_write_atomic_text(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "note.txt"
    write_atomic_text(path, "one")
    assert path.read_text() == "one"
    with pytest.raises(reesim.ReesimError, match="exists"):
        write_atomic_text(path, "two")
    write_atomic_text(path, "two", overwrite=True)
    assert path.read_text() == "two"
    assert sorted(p.name for p in path.parent.iterdir()) == ["note.txt"]
