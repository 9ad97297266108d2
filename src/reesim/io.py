"""Writing results to disk: atomic folders of Parquet or CSV tables plus a manifest."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from reesim.errors import ReesimError

if TYPE_CHECKING:
    import pandas as pd

    from reesim.results import Results
    from reesim.scenario.model import Scenario

__all__ = ["save_results", "scenario_hash", "write_atomic_text"]

FORMATS = ("parquet", "csv")


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the scenario's canonical JSON: equal scenarios, equal hashes."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_atomic_text(path: str | os.PathLike[str], text: str, overwrite: bool = False) -> None:
    """Write a text file through a temporary file and a rename, never half-written."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise ReesimError(f"{path} exists; pass overwrite=True (or --overwrite) to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_table(frame: pd.DataFrame, folder: Path, name: str, fmt: str) -> str:
    file = folder / f"{name}.{fmt}"
    if fmt == "parquet":
        frame.to_parquet(file)
    else:
        frame.to_csv(file)
    return file.name


def _series_table(res: Results) -> pd.DataFrame | None:
    """Long table of the recorded sink series: replicate, period, date, sink, t."""
    import pandas as pd

    if "demand" not in res.series:
        return None
    plan = res.plan
    demand, served = res.series["demand"], res.series["served"]
    n_rep, n_per, n_sink = demand.shape
    dates = pd.to_datetime(plan.start) + pd.to_timedelta(
        np.arange(n_per) * plan.period_days, unit="D"
    )
    return pd.DataFrame(
        {
            "replicate": np.repeat(np.arange(n_rep), n_per * n_sink),
            "period": np.tile(np.repeat(np.arange(n_per), n_sink), n_rep),
            "date": np.tile(np.repeat(dates.values, n_sink), n_rep),
            "sink": np.tile(np.array(plan.sink_ids, dtype=object), n_rep * n_per),
            "demand_t": demand.reshape(-1),
            "served_t": served.reshape(-1),
            "unmet_t": (demand - served).reshape(-1),
        }
    )


def save_results(
    res: Results, path: str | os.PathLike[str], format: str = "parquet", overwrite: bool = False
) -> str:
    """Write ``res`` into a new folder ``path`` (see :meth:`Results.save`)."""
    from importlib.metadata import version

    if format not in FORMATS:
        raise ReesimError(f"format must be one of {list(FORMATS)} (got {format!r})")
    target = Path(path)
    if target.exists() and not overwrite:
        raise ReesimError(f"{target} exists; pass overwrite=True (or --overwrite) to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        files: dict[str, Any] = {}
        for by in ("sink", "sector", "region", "commodity"):
            files[f"metrics_{by}"] = _write_table(
                res.group_metrics(by).reset_index(), staging, f"metrics_{by}", format
            )
            summary = res.summary(by).reset_index()
            files[f"summary_{by}"] = _write_table(summary, staging, f"summary_{by}", format)
        files["mass_balance"] = _write_table(
            res.mass_balance().reset_index(), staging, "mass_balance", format
        )
        series = _series_table(res)
        if series is not None:
            files["sink_series"] = _write_table(series, staging, "sink_series", format)
        if res.series.keys() - {"demand", "served"}:
            ds = res.to_xarray()
            try:
                ds.to_netcdf(staging / "series.nc")
                files["series"] = "series.nc"
            except (ImportError, ValueError):
                pass  # no netCDF backend installed: the Parquet tables still hold the sink series
        (staging / "scenario.json").write_text(
            json.dumps(res.scenario.model_dump(mode="json"), indent=2), encoding="utf-8"
        )
        manifest = {
            "reesim_version": version("reesim"),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "scenario": res.scenario.name,
            "scenario_sha256": scenario_hash(res.scenario),
            "seed": res.seed,
            "replicates": res.replicates,
            "engine": res.engine,
            "chunk_size": res.chunk_size,
            "record": sorted(res.record),
            "elapsed_s": round(res.elapsed, 3),
            "format": format,
            "files": files,
            "warnings": res.warnings,
            "python": platform.python_version(),
            "numpy": np.__version__,
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return str(target)
