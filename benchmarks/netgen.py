"""Generated supply networks of any size, for the scaling benchmarks.

A network of ``n`` facilities has three stages like the magnet chain: mines
(concentrate), separation plants (oxide, 5 t of concentrate per t) and
magnet plants (magnet, 0.3 t of oxide per t), split 30/30/40, plus ``n // 2``
demand sinks. Every buyer has two suppliers in the stage before (three
routes per buyer when the stage allows it would change nothing in kind).
Capacities are 1.5 times each facility's steady load, so the network runs
undisturbed; one export ban on region R0 with an uncertain start and
duration, and uncertain sink covers, give the core real work and real draws.

Everything is deterministic given ``(facilities, periods, seed)``.

Example::

    from netgen import network
    sc = reesim.Scenario.model_validate(network(100, periods=52))
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

START = dt.date(2026, 1, 1)
REGIONS = ("R0", "R1", "R2", "R3", "R4")
SUPPLIERS_PER_BUYER = 2
CONCENTRATE_PER_OXIDE = 5.0
OXIDE_PER_MAGNET = 0.3


def stage_sizes(facilities: int) -> tuple[int, int, int]:
    """Mines, separation plants and magnet plants of a network of ``facilities`` (>= 3)."""
    if facilities < 3:
        raise ValueError(f"facilities must be >= 3 (got {facilities})")
    mines = max(1, round(0.3 * facilities))
    seps = max(1, round(0.3 * facilities))
    return mines, seps, facilities - mines - seps


def network(facilities: int, periods: int = 52, seed: int = 0) -> dict[str, Any]:
    """A scenario dict (the TOML layout) of a generated network.

    Parameters
    ----------
    facilities
        Number of facilities (>= 3); the network also has ``facilities // 2``
        sinks (at least 2), so it has about 1.5 x ``facilities`` nodes.
    periods
        Horizon in weeks.
    seed
        Seed of the layout (which buyer buys from which supplier, regions).
    """
    rng = np.random.default_rng(seed)
    n_mine, n_sep, n_mag = stage_sizes(facilities)
    n_sink = max(2, facilities // 2)
    stages = [
        ("mine", "concentrate", [f"mine{i}" for i in range(n_mine)]),
        ("separation", "oxide", [f"sep{i}" for i in range(n_sep)]),
        ("magnet", "magnet", [f"mag{i}" for i in range(n_mag)]),
    ]
    sinks = [f"sink{i}" for i in range(n_sink)]
    region = {
        name: REGIONS[int(rng.integers(len(REGIONS)))] for _, _, ids in stages for name in ids
    }
    region.update({s: REGIONS[int(rng.integers(len(REGIONS)))] for s in sinks})
    demand = {s: float(rng.uniform(500.0, 5000.0)) for s in sinks}

    # Buyers of each stage and their suppliers in the stage before; loads flow back from demand.
    routes: list[dict[str, Any]] = []
    load: dict[str, float] = {}
    buyers: list[tuple[str, float]] = [(s, demand[s]) for s in sinks]
    amounts = [None, CONCENTRATE_PER_OXIDE, OXIDE_PER_MAGNET]
    for level in (2, 1, 0):
        _, commodity, ids = stages[level]
        for buyer, need in buyers:
            k = min(SUPPLIERS_PER_BUYER, len(ids))
            for sup in rng.choice(ids, size=k, replace=False):
                sup = str(sup)
                load[sup] = load.get(sup, 0.0) + need / k
                routes.append(
                    {
                        "supplier": sup,
                        "buyer": buyer,
                        "commodity": commodity,
                        "lead_time_days": float(7 * int(rng.integers(1, 7))),
                    }
                )
        if level > 0:
            amount = amounts[level]
            assert amount is not None
            buyers = [(f, load.get(f, 0.0) * amount) for f in ids]

    facs = []
    for level, (stage, commodity, ids) in enumerate(stages):
        for f in ids:
            entry: dict[str, Any] = {
                "id": f,
                "stage": stage,
                "region": region[f],
                "capacity": max(1.0, 1.5 * load.get(f, 0.0)),
                "output": commodity,
            }
            if level > 0:
                amount = amounts[level]
                entry["inputs"] = {stages[level - 1][1]: amount}
                entry["cover_weeks"] = 6.0
            facs.append(entry)
    cover = {"dist": "triangular", "low": 4, "mode": 8, "high": 16}
    return {
        "name": f"netgen-{facilities}",
        "description": f"generated network: {facilities} facilities, {n_sink} sinks",
        "time": {"start": START, "end": START + dt.timedelta(days=7 * periods), "period": "week"},
        "commodities": [{"id": "concentrate"}, {"id": "oxide"}, {"id": "magnet"}],
        "facilities": facs,
        "sinks": [
            {
                "id": s,
                "region": region[s],
                "commodity": "magnet",
                "demand": demand[s],
                "cover_weeks": cover,
            }
            for s in sinks
        ],
        "routes": routes,
        "events": [
            {
                "id": "ban",
                "kind": "export_ban",
                "exporter": "R0",
                "commodities": ["magnet", "oxide"],
                "start": {
                    "dist": "uniform",
                    "low": START + dt.timedelta(days=28),
                    "high": START + dt.timedelta(days=7 * max(5, periods // 2)),
                },
                "duration_days": {"dist": "lognormal", "median": 90, "p90": 270},
            }
        ],
    }


def scenario(facilities: int, periods: int = 52, seed: int = 0) -> Any:
    """The generated network as a validated :class:`reesim.Scenario`."""
    import warnings

    from reesim import Scenario

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Scenario.model_validate(network(facilities, periods, seed))


if __name__ == "__main__":
    import sys

    from reesim.plan import compile_plan

    for n in [int(a) for a in sys.argv[1:]] or [10, 100, 1000]:
        plan = compile_plan(scenario(n))
        print(
            f"{n} facilities: {plan.n_sinks} sinks, {plan.n_routes} routes, "
            f"{plan.n_holdings} holdings, {plan.n_periods} periods"
        )
