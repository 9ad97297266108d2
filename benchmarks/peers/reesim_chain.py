"""The peer-comparison chain built in reesim: supplier -> manufacturer -> distributor -> demand.

Daily periods over 365 days; demand 10 units/day; the supplier makes exactly
10 units/day and makes nothing on days 100-159 (a capacity change with
factor 0); the manufacturer holds a 300-unit buffer of its input (30 days of
use). Every other stock is set to nothing (one day of output cap, no cover),
so the closed form is: the buffer lasts 30 days, then 30 days go short and
300 units are unmet. Lead times of one day shift the short days by at most a
day per hop; they do not change the counts.

Run ``python benchmarks/peers/reesim_chain.py`` to print the check.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

DAYS = 365
DEMAND_PER_DAY = 10.0
OUTAGE_FIRST_DAY, OUTAGE_DAYS = 100, 60
BUFFER_UNITS = 300.0
LEAD_DAYS = 1.0
START = dt.date(2025, 1, 1)

#: The closed-form answer both tools must reproduce before they are timed.
EXPECTED_SHORT_DAYS = 30
EXPECTED_UNMET = 300.0


def chain_dict() -> dict[str, Any]:
    """The chain as a scenario dict (the TOML layout), validated by ``Scenario.model_validate``."""
    per_year = DEMAND_PER_DAY * 365.25  # capacities and demand are t/yr; a day is 1/365.25 yr
    one_day = 1.0 / 7.0  # weeks
    return {
        "name": "peer-chain",
        "description": "supplier -> manufacturer -> distributor -> demand, supplier down days 100-159",
        "time": {"start": START, "end": START + dt.timedelta(days=DAYS), "period": "day"},
        "commodities": [{"id": "raw"}, {"id": "product"}, {"id": "delivered"}],
        "facilities": [
            {
                "id": "supplier",
                "region": "A",
                "stage": "mine",
                "capacity": per_year,
                "output": "raw",
                "output_cap_weeks": one_day,
            },
            {
                "id": "manufacturer",
                "region": "A",
                "capacity": per_year,
                "output": "product",
                "inputs": {"raw": 1.0},
                "cover_weeks": BUFFER_UNITS / DEMAND_PER_DAY / 7.0,
                "output_cap_weeks": one_day,
            },
            {
                "id": "distributor",
                "region": "A",
                "capacity": per_year,
                "output": "delivered",
                "inputs": {"product": 1.0},
                "cover_weeks": 0.0,
                "output_cap_weeks": one_day,
            },
        ],
        "sinks": [
            {
                "id": "customers",
                "region": "A",
                "commodity": "delivered",
                "demand": per_year,
                "cover_weeks": 0.0,
            }
        ],
        "routes": [
            {
                "supplier": "supplier",
                "buyer": "manufacturer",
                "commodity": "raw",
                "lead_time_days": LEAD_DAYS,
            },
            {
                "supplier": "manufacturer",
                "buyer": "distributor",
                "commodity": "product",
                "lead_time_days": LEAD_DAYS,
            },
            {
                "supplier": "distributor",
                "buyer": "customers",
                "commodity": "delivered",
                "lead_time_days": LEAD_DAYS,
            },
        ],
        "events": [
            {
                "id": "supplier-down",
                "kind": "capacity_change",
                "facilities": ["supplier"],
                "factor": 0.0,
                "start": START + dt.timedelta(days=OUTAGE_FIRST_DAY),
                "duration_days": OUTAGE_DAYS,
            }
        ],
    }


def chain_scenario() -> Any:
    """The chain as a validated :class:`reesim.Scenario`."""
    from reesim import Scenario

    return Scenario.model_validate(chain_dict())


def check(replicates: int = 4, engine: str = "vector") -> dict[str, Any]:
    """Run the chain with ``engine`` and compare with the closed form (short days, unmet units).

    Reads the sink series directly (demand and served per day), so the check
    does not depend on how the metrics convert periods to weeks.
    """
    import reesim

    res = reesim.simulate(
        chain_scenario(), replicates=replicates, seed=1, record="sinks", engine=engine
    )
    demand = np.asarray(res.series["demand"])[:, :, 0]
    served = np.asarray(res.series["served"])[:, :, 0]
    gap = demand - served
    short = gap > 1e-9 * demand.max()
    short_days = short.sum(axis=1)
    unmet = gap.sum(axis=1)
    days = np.flatnonzero(short[0])
    ok_days = bool(np.all(np.abs(short_days - EXPECTED_SHORT_DAYS) <= 1))
    ok_unmet = bool(np.all(np.abs(unmet - EXPECTED_UNMET) <= DEMAND_PER_DAY + 1e-6))
    return {
        "tool": f"reesim ({engine})",
        "engine": engine,
        "short_days": int(short_days[0]),
        "unmet_units": float(unmet[0]),
        "first_short_day": int(days[0]) if days.size else None,
        "last_short_day": int(days[-1]) if days.size else None,
        "replicates_agree": bool(np.ptp(unmet) < 1e-9 and np.ptp(short_days) == 0),
        "ok": ok_days and ok_unmet,
    }


def time_per_replicate(
    replicates: int,
    repeats: int,
    engine: str = "vector",
    chunk_size: int | None = None,
    warm: bool = True,
) -> dict[str, Any]:
    """Median wall time per replicate of ``reesim.simulate`` on the chain (record="none").

    Everything a user waits for once the scenario is loaded is inside the
    timing: compiling the plan, sampling, the period loop, the metrics and
    collecting the results. ``chunk_size``
    None is the chunk ``simulate`` picks. With ``warm``, one untimed small
    run first, so that imports (and numba's first call) stay out.
    """
    import reesim

    sc = chain_scenario()
    if warm:
        reesim.simulate(sc, replicates=64, seed=99, record="none", engine=engine)
    times = []
    for r in range(repeats):
        t0 = time.perf_counter()
        res = reesim.simulate(
            sc,
            replicates=replicates,
            seed=r + 1,
            record="none",
            engine=engine,
            chunk_size=chunk_size,
        )
        times.append(time.perf_counter() - t0)
    med = float(np.median(times))
    return {
        "engine": engine,
        "chunk_size": int(res.chunk_size),
        "replicates": replicates,
        "repeats": repeats,
        "wall_s": times,
        "median_s": med,
        "per_replicate_s": med / replicates,
    }


@contextlib.contextmanager
def every_period_computed() -> Iterator[None]:
    """Within the block, the compiled kernel computes every period (no copies).

    ``engine="numba"`` copies a period that must repeat the last one
    (docs/compiled.md); on this flat-demand chain most periods do. The
    suite times the kernel without that too, so the report shows what the
    copies add.
    """
    from reesim.engine import compiled, compiled_kernel

    args_of = compiled.kernel_args

    def computed(*a: Any, **kw: Any) -> dict[str, Any]:
        args = args_of(*a, **kw)
        args["flags"][compiled_kernel.COPY] = False
        return args

    compiled.kernel_args = computed
    try:
        yield
    finally:
        compiled.kernel_args = args_of


def copied_share(replicates: int = 64) -> float:
    """Share of the chain's periods the compiled kernel copies (the mean over replicates)."""
    from reesim.engine import compiled, compiled_kernel
    from reesim.engine.output import new_output
    from reesim.plan import compile_plan
    from reesim.sampling import draw_samples

    plan = compile_plan(chain_scenario())
    smp = draw_samples(plan, 1, np.arange(replicates))
    record = frozenset({"sinks"})
    zeros_h, zeros_e = (
        np.zeros((replicates, plan.n_holdings)),
        np.zeros((replicates, plan.n_routes)),
    )
    out = new_output(plan, smp, record, zeros_h, zeros_e, [], None)
    args = compiled.kernel_args(plan, smp, record, out)
    compiled_kernel.run_replicates(0, replicates, **args)
    return float(args["copied"].mean() / plan.n_periods)


if __name__ == "__main__":
    import importlib.util

    for eng in ["vector"] + (["numba"] if importlib.util.find_spec("numba") else []):
        print(check(engine=eng))
        print(time_per_replicate(2000, 3, engine=eng))
