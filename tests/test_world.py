"""The built-in world-2024 network reproduces the 2024 chain it was calibrated to.

Reference figures (docs/world.md gives every source): USGS MCS2025 world mine
output 390 kt REO, China 270 kt (69%; Benchmark 70%); IEA: China 91% of
separation (2024/25) and 92% of refined output (2023), 94% of magnets (2024/25),
"~90%" in common use; China's 2024 NdFeB output 260 kt (SMM) to 300 kt (Argus).
"""

from __future__ import annotations

import re
from importlib import resources

import numpy as np
import pytest

import reesim
from reesim.scenario import validate_file

#: Weeks per year, to turn weekly activity into t/yr.
WEEKS_PER_YEAR = 365.25 / 7


@pytest.fixture(scope="module")
def world() -> reesim.Scenario:
    return reesim.load_scenario("world-2024")


@pytest.fixture(scope="module")
def run(world: reesim.Scenario) -> reesim.Results:
    # Four replicates draw different capacities and stocks; the steady flows, and so
    # the shares, must not depend on them.
    return reesim.simulate(world, replicates=4, seed=2024, record="all")


@pytest.fixture(scope="module")
def start_output(run: reesim.Results) -> dict[str, np.ndarray]:
    """Activity per facility in the first period, t/yr, one value per replicate."""
    prod = run.to_xarray()["production"].isel(period=0) * WEEKS_PER_YEAR
    return {str(f): prod.sel(facility=f).values for f in prod["facility"].values}


def _china_share(
    world: reesim.Scenario,
    out: dict[str, np.ndarray],
    stages: set[str],
    outputs: set[str] | None = None,
) -> np.ndarray:
    ids = [
        f.id
        for f in world.facilities
        if f.stage in stages and (outputs is None or f.output in outputs)
    ]
    cn = sum(out[i] for i in ids if world_region(world, i) == "CN")
    return cn / sum(out[i] for i in ids)


def world_region(world: reesim.Scenario, fid: str) -> str:
    return next(f.region for f in world.facilities if f.id == fid)


def test_world_is_a_builtin_without_events(world: reesim.Scenario) -> None:
    assert "world-2024" in [name for name, _ in reesim.list_builtin()]
    assert world.events == []
    assert validate_file("world-2024") == ([], [])


def test_world_has_every_stage_and_region_asked_for(world: reesim.Scenario) -> None:
    stages = {f.stage for f in world.facilities}
    assert {"mine", "separation", "metal", "magnet", "recycling"} <= stages
    plant_regions = {f.region for f in world.facilities}
    assert {"CN", "MM", "US", "AU", "MY", "JP", "VN", "EE", "FR", "DE"} <= plant_regions
    assert {(s.region, s.sector) for s in world.sinks} == {
        (r, s)
        for r in ("CN", "EU", "US", "JP", "KR", "IN", "ROW")
        for s in ("ev", "wind", "electronics", "industrial", "defence", "other")
    }
    # NdPr and Dy/Tb are separate oxides; La/Ce leaves the model as a by-product.
    commodities = {c.id: c for c in world.commodities}
    assert {"ndpr_oxide", "dytb_oxide", "ndpr_metal", "dytb_metal", "magnet"} <= set(commodities)
    assert commodities["lace_oxide"].byproduct
    # Lynas's Malaysian plant is Australian-owned; Shin-Etsu's Vietnamese plant Japanese.
    owners = {f.id: f.owner_region for f in world.facilities}
    assert owners["my_lynas"] == "AU" and owners["vn_magnet"] == "JP"


def test_total_mine_output_is_usgs_2024(world, start_output) -> None:
    ids = [f.id for f in world.facilities if f.stage == "mine"]
    total = sum(start_output[i] for i in ids)
    assert np.all((total > 375_000) & (total < 405_000)), total  # USGS 390 kt REO


def test_china_share_of_mining(world, start_output) -> None:
    share = _china_share(world, start_output, {"mine"})
    assert np.all((share > 0.66) & (share < 0.71)), share  # USGS 68-69%, Benchmark 70%


def test_china_share_of_separation(world, start_output) -> None:
    # Separation stage, t of NdPr and Dy/Tb oxide separated from ore.
    share = _china_share(world, start_output, {"separation"})
    assert np.all((share > 0.87) & (share < 0.93)), share  # IEA 91-92%, others 85-90%
    # All NdPr oxide, scrap included, against IEA's 92% of refined output.
    share = _china_share(world, start_output, {"separation", "recycling"}, {"ndpr_oxide"})
    assert np.all((share > 0.89) & (share < 0.95)), share


def test_china_share_of_magnets_and_magnet_output(world, start_output) -> None:
    share = _china_share(world, start_output, {"magnet"})
    assert np.all((share > 0.90) & (share < 0.94)), share  # IEA 94%, "~90%" common
    cn = start_output["cn_magnet"]
    assert np.all((cn >= 240_000) & (cn <= 300_000)), cn  # SMM 260 kt, Argus 300 kt
    total = sum(start_output[f.id] for f in world.facilities if f.stage == "magnet")
    assert np.all((total > 255_000) & (total < 335_000)), total


def test_dysprosium_comes_from_china(world, start_output) -> None:
    share = _china_share(world, start_output, {"separation", "recycling"}, {"dytb_oxide"})
    assert np.all(share > 0.99), share  # China "up to 99.9%" of Dy/Tb refining


def test_no_shortage_in_the_first_year(run: reesim.Results) -> None:
    ds = run.to_xarray()
    first_year = ds.isel(period=slice(0, 52))
    fill = first_year["served"] / first_year["demand"]
    assert float(fill.min()) >= 0.99
    assert not run.metrics["any_shortage"].any()
    assert run.warnings == []  # no capacity deficit at the start


def test_undisturbed_world_stays_steady(run: reesim.Results) -> None:
    # With no event, activity moves only with demand growth (8.7%/yr, 2.1% a
    # quarter) and the stock targets that follow it: the first quarter stays within
    # 6% of its first week at every facility, and never falls.
    prod = run.to_xarray()["production"]
    first = prod.isel(period=0)
    quarter = prod.isel(period=slice(0, 13))
    busy = first > 1.0
    ratio = (quarter / first).where(busy)
    assert float(ratio.min()) > 0.999 and float(ratio.max()) < 1.06
    run.check_mass_balance()


def test_every_number_in_the_world_file_carries_a_source() -> None:
    text = (resources.files("reesim") / "data" / "world-2024.toml").read_text()
    bare = [
        line
        for line in text.splitlines()
        if re.match(r"\s*(capacity|demand)\s*=", line) and "#" not in line
    ]
    assert bare == []
