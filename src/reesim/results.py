"""Results of a run: metric tables, summaries, series cubes, mass balance, saving."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from reesim.errors import ReesimError
from reesim.metrics import FLAGS, METRICS, summarise
from reesim.plan import Plan

if TYPE_CHECKING:  # heavy imports only when used
    import pandas as pd
    import xarray as xr

__all__ = ["GROUPINGS", "MassBalanceError", "Results"]

#: Ways to group sinks in metrics and summaries.
GROUPINGS = ("sink", "sector", "region", "commodity")

#: Relative tolerance of the mass balance (MODEL section 7).
BALANCE_RTOL = 1e-9


class MassBalanceError(ReesimError, AssertionError):
    """Material was created or lost: the ledger does not close."""


class Results:
    """Everything a run produced.

    Attributes
    ----------
    plan
        The compiled scenario (``plan.scenario`` is the scenario).
    seed, replicates, engine, chunk_size
        How the run was made; the same seed gives the same numbers whatever
        the chunk size or engine.
    elapsed
        Wall time of the run, seconds.
    start
        [R] disruption start period per replicate (NaN when the reference
        event does not happen).
    """

    def __init__(
        self,
        plan: Plan,
        metrics: dict[str, Any],
        series: dict[str, Any],
        ledger: dict[str, Any],
        start: NDArray[np.float64],
        record: frozenset[str],
        seed: int,
        engine: str,
        chunk_size: int,
        elapsed: float,
        warnings: list[str],
    ) -> None:
        self.plan = plan
        self.metrics_by = metrics
        self.series = series
        self.ledger = ledger
        self.start = start
        self.record = record
        self.seed = seed
        self.engine = engine
        self.chunk_size = chunk_size
        self.elapsed = elapsed
        self.warnings = warnings

    # ------------------------------------------------------------------ basics
    @property
    def scenario(self) -> Any:
        """The scenario that was run."""
        return self.plan.scenario

    @property
    def replicates(self) -> int:
        """Number of replicates."""
        return int(self.start.shape[0])

    def __repr__(self) -> str:
        return (
            f"<Results scenario={self.scenario.name!r} replicates={self.replicates} "
            f"seed={self.seed} engine={self.engine!r} record={sorted(self.record)}>"
        )

    # ----------------------------------------------------------------- tables
    @property
    def metrics(self) -> pd.DataFrame:
        """One row per (replicate, sink), one column per metric and flag."""
        return self.group_metrics("sink")

    def group_metrics(self, by: str = "sink") -> pd.DataFrame:
        """Metrics per replicate for sinks grouped ``by`` sink, sector, region or commodity.

        Groups are evaluated on the summed demand and served of their sinks.
        """
        import pandas as pd

        labels, values = self._by(by)
        n_rep = self.replicates
        index = pd.MultiIndex.from_product([np.arange(n_rep), labels], names=["replicate", by])
        data = {name: np.asarray(values[name]).reshape(-1) for name in (*METRICS, *FLAGS)}
        return pd.DataFrame(data, index=index)

    def summary_rows(self, by: str = "sink") -> list[dict[str, Any]]:
        """The rows of :meth:`summary` as plain dicts (no pandas needed).

        One dict per (group, metric) with keys ``by``, ``metric``, ``mean``,
        ``p5``, ``p50``, ``p95``, ``p_any``, ``unit``.
        """
        labels, values = self._by(by)
        happened = (
            ~np.asarray(values["event_missing"][:, 0], dtype=bool) if labels else np.ones(0, bool)
        )
        rows = []
        for g, label in enumerate(labels):
            any_short = np.asarray(values["any_shortage"][:, g], dtype=bool)
            p_any = float(any_short[happened].mean()) if happened.any() else np.nan
            for name, unit in METRICS.items():
                stats = summarise(np.asarray(values[name][:, g], dtype=np.float64))
                rows.append({by: label, "metric": name, **stats, "p_any": p_any, "unit": unit})
        return rows

    def summary(self, by: str = "sink") -> pd.DataFrame:
        """Shortage metrics across replicates.

        Returns
        -------
        pandas.DataFrame
            Index (``by``, metric); columns ``mean`` (over finite values),
            ``p5``, ``p50``, ``p95`` (over replicates where the reference event
            happens, +inf kept), ``p_any`` (probability of any shortage after
            the start), ``unit``.
        """
        import pandas as pd

        columns = [by, "metric", "mean", "p5", "p50", "p95", "p_any", "unit"]
        frame = pd.DataFrame(self.summary_rows(by), columns=columns)
        return frame.set_index([by, "metric"])

    def exceedance(
        self,
        metric: str = "shortage_duration_weeks",
        by: str = "sink",
        points: NDArray[np.float64] | None = None,
    ) -> pd.DataFrame:
        """P(metric > x) for each group, over replicates where the event happens.

        Parameters
        ----------
        metric
            A metric name (see :data:`reesim.metrics.METRICS`).
        points
            Values of x; default: 50 points from 0 to the largest finite value.
        """
        import pandas as pd

        if metric not in METRICS:
            raise ReesimError(f"unknown metric {metric!r}; choose from {list(METRICS)}")
        labels, values = self._by(by)
        data = np.asarray(values[metric], dtype=np.float64)
        finite = data[np.isfinite(data)]
        if points is None:
            top = float(finite.max()) if finite.size else 1.0
            points = np.linspace(0.0, top, 50)
        out = {}
        for g, label in enumerate(labels):
            col = data[:, g][~np.isnan(data[:, g])]
            out[label] = [(col > x).mean() if col.size else np.nan for x in points]
        return pd.DataFrame(out, index=pd.Index(points, name=metric))

    def _by(self, by: str) -> tuple[list[str], dict[str, NDArray[Any]]]:
        if by not in self.metrics_by:
            raise ReesimError(f"by must be one of {list(GROUPINGS)} (got {by!r})")
        return self.metrics_by[by]

    # ------------------------------------------------------------------ cubes
    def to_xarray(self) -> xr.Dataset:
        """Recorded series as an xarray Dataset.

        Dimensions: ``replicate``, ``period`` (coordinate ``date``), ``sink``,
        ``facility``, ``route``, ``holding``. Variables (t per period):
        ``demand``, ``served``, ``unmet`` (when sinks were recorded),
        ``production``, ``departures``, ``arrivals``, ``inventory``,
        ``in_transit`` (when recorded); plus ``start_period`` per replicate.
        """
        import pandas as pd
        import xarray as xr

        plan = self.plan
        dates = pd.to_datetime(plan.start) + pd.to_timedelta(
            np.arange(plan.n_periods) * plan.period_days, unit="D"
        )
        holdings = [plan.holding_label(h) for h in range(plan.n_holdings)]
        coords = {
            "replicate": np.arange(self.replicates),
            "period": np.arange(plan.n_periods),
            "date": ("period", dates),
            "sink": plan.sink_ids,
            "facility": plan.facility_ids,
            "route": plan.route_ids,
            "holding": holdings,
        }
        dims = {
            "demand": "sink",
            "served": "sink",
            "production": "facility",
            "departures": "route",
            "arrivals": "route",
            "inventory": "holding",
            "in_transit": "holding",
        }
        data: dict[str, Any] = {}
        for name, values in self.series.items():
            data[name] = (("replicate", "period", dims[name]), values, {"units": "t per period"})
        if "demand" in self.series:
            unmet = self.series["demand"] - self.series["served"]
            data["unmet"] = (("replicate", "period", "sink"), unmet, {"units": "t per period"})
        data["start_period"] = (("replicate",), self.start, {"long_name": "disruption start"})
        ds = xr.Dataset(data, coords=coords)
        ds.attrs.update(
            scenario=self.scenario.name,
            seed=self.seed,
            engine=self.engine,
            period_days=plan.period_days,
        )
        return ds

    # ------------------------------------------------------------ mass balance
    def mass_balance(self) -> pd.DataFrame:
        """Ledger per (replicate, commodity): initial + produced - consumed - served
        = final on hand + in transit; column ``residual`` is the difference, t."""
        import pandas as pd

        led = self.ledger
        residual = (
            led["initial"]
            + led["produced"]
            - led["consumed"]
            - led["served"]
            - led["final_on_hand"]
            - led["final_in_transit"]
        )
        index = pd.MultiIndex.from_product(
            [np.arange(self.replicates), self.plan.commodity_ids], names=["replicate", "commodity"]
        )
        cols = {k: v.reshape(-1) for k, v in led.items()}
        cols["residual"] = residual.reshape(-1)
        return pd.DataFrame(cols, index=index)

    def check_mass_balance(self, rtol: float = BALANCE_RTOL) -> pd.DataFrame:
        """Raise :class:`MassBalanceError` unless every commodity's ledger closes.

        The tolerance is relative to the largest entry of that replicate's
        ledger (MODEL: 1e-9 of the largest flow). Returns the ledger table.
        """
        table = self.mass_balance()
        scale = table.drop(columns="residual").abs().max(axis=1)
        bad = table["residual"].abs() > rtol * np.maximum(scale, 1e-300) + 1e-12
        if bad.any():
            residual = table["residual"].where(bad, 0.0).to_numpy()
            pos = int(np.argmax(np.abs(residual)))
            raise MassBalanceError(
                f"mass balance fails in {int(bad.sum())} (replicate, commodity) pairs; worst "
                f"{table.index[pos]}: residual {residual[pos]:.3g} t"
            )
        return table

    # ------------------------------------------------------------------- save
    def save(
        self, path: str | os.PathLike[str], format: str = "parquet", overwrite: bool = False
    ) -> str:
        """Write metrics, summaries, recorded series and a manifest to a new folder.

        Parameters
        ----------
        path
            Folder to create. It must not exist unless ``overwrite=True``.
        format
            ``parquet`` or ``csv``.
        overwrite
            Replace an existing folder (atomically: the old one is removed only
            after the new one is complete).

        Returns
        -------
        str
            The folder written.
        """
        from reesim.io import save_results

        return save_results(self, path, format=format, overwrite=overwrite)
