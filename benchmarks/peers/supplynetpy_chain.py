"""The peer-comparison chain built in SupplyNetPy (installed with the ``bench`` extra).

Supplier -> manufacturer -> distributor -> customers, one day = one time unit,
365 days; customers order 10 units a day at the distributor and take what
is there (``consume_available``); the supplier mines 10 units a day and is
disrupted on days 100-159 (SupplyNetPy's node disruption: no order can be
placed with it); the manufacturer starts with, and reorders to keep, a
300-unit buffer. Links take one day. Each replicate builds a fresh network
and runs it, which is how SupplyNetPy runs one replicate.

The supplier's store holds one day of output, so the mining that
SupplyNetPy's disruption does not stop cannot pile up into a stock worth
more than a day; the manufacturer orders 10 units at a time (an (R, Q)
policy), because SupplyNetPy fills an order only when the supplier holds it
all at once.

Run ``python benchmarks/peers/supplynetpy_chain.py`` to print the check.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any

DAYS = 365
DEMAND_PER_DAY = 10
OUTAGE_FIRST_DAY, OUTAGE_DAYS = 100, 60
BUFFER_UNITS = 300
LEAD_DAYS = 1

EXPECTED_SHORT_DAYS = 30
EXPECTED_UNMET = 300.0


def _quiet() -> Any:
    """Import SupplyNetPy with its trace logging off (it logs every event by default)."""
    import SupplyNetPy.Components as scm

    scm.global_logger.disable_logging()
    logging.getLogger("sim_trace").setLevel(logging.CRITICAL)
    return scm


def build(monitor: list[float] | None = None) -> dict[str, Any]:
    """A fresh network of the chain; with ``monitor``, record the cumulative unmet units each day."""
    import simpy

    scm = _quiet()
    env = simpy.Environment()

    def next_disruption() -> float:
        # Time from now to the next disruption. SupplyNetPy calls this once when the node is
        # built (to check it returns a number) and then when each up time starts.
        return OUTAGE_FIRST_DAY - env.now if env.now < OUTAGE_FIRST_DAY else 10.0 * DAYS

    raw = scm.RawMaterial(
        ID="RM",
        name="raw",
        extraction_quantity=DEMAND_PER_DAY,
        extraction_time=1,
        mining_cost=0,
        cost=1,
    )
    product = scm.Product(
        ID="P",
        name="product",
        manufacturing_cost=1,
        manufacturing_time=0,
        sell_price=3,
        raw_materials=[(raw, 1)],
        batch_size=DEMAND_PER_DAY,
    )
    nodes = [
        {
            "ID": "S",
            "name": "supplier",
            "node_type": "supplier",
            "capacity": DEMAND_PER_DAY,
            "initial_level": DEMAND_PER_DAY,
            "inventory_holding_cost": 0,
            "raw_material": raw,
            # disrupted once, at day 100, for 60 days (then never again within the horizon)
            "node_disrupt_time": next_disruption,
            "node_recovery_time": OUTAGE_DAYS,
            "logging": False,
        },
        {
            "ID": "M",
            "name": "manufacturer",
            "node_type": "manufacturer",
            "capacity": 2 * BUFFER_UNITS,
            "initial_level": BUFFER_UNITS + DEMAND_PER_DAY * LEAD_DAYS,
            "inventory_holding_cost": 0,
            "replenishment_policy": scm.RQReplenishment,
            "policy_param": {
                "R": BUFFER_UNITS + DEMAND_PER_DAY * (LEAD_DAYS + 1),
                "Q": DEMAND_PER_DAY,
                "period": 1,
            },
            "product": product,
            "product_sell_price": 3,
            "logging": False,
        },
        {
            "ID": "D",
            "name": "distributor",
            "node_type": "distributor",
            "capacity": 4 * DEMAND_PER_DAY,
            "initial_level": 2 * DEMAND_PER_DAY,
            "inventory_holding_cost": 0,
            "replenishment_policy": scm.SSReplenishment,
            "policy_param": {"s": DEMAND_PER_DAY, "S": 2 * DEMAND_PER_DAY},
            "product_sell_price": 4,
            "product_buy_price": 3,
            "logging": False,
        },
    ]
    links = [
        {"ID": "L1", "source": "S", "sink": "M", "cost": 0, "lead_time": LEAD_DAYS},
        {"ID": "L2", "source": "M", "sink": "D", "cost": 0, "lead_time": LEAD_DAYS},
    ]
    demands = [
        {
            "ID": "C",
            "name": "customers",
            "order_arrival_model": 1,
            "order_quantity_model": DEMAND_PER_DAY,
            "demand_node": "D",
            "consume_available": True,
            "logging": False,
        }
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = scm.create_sc_net(nodes=nodes, links=links, demands=demands, env=env)
    if monitor is not None:
        dist = net["nodes"]["D"]

        def watch() -> Any:
            # Half a day in, after the day's customer order has been handled.
            yield env.timeout(0.5)
            while True:
                monitor.append(_unmet(dist))
                yield env.timeout(1)

        env.process(watch())
    return net


def _unmet(dist: Any) -> float:
    st = dist.stats
    return float(st.lost_sales[1] + st.disruption_lost_sales[1])


def run_one(monitor: list[float] | None = None) -> dict[str, Any]:
    """Build and simulate one replicate; return SupplyNetPy's network results."""
    scm = _quiet()
    net = build(monitor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return scm.simulate_sc_net(net, sim_time=DAYS, logging=False)


def check() -> dict[str, Any]:
    """Run one replicate with a daily monitor and compare with the closed form."""
    daily: list[float] = []
    net = run_one(daily)
    per_day = [b - a for a, b in zip([0.0, *daily[:-1]], daily, strict=True)]
    short = [d for d, x in enumerate(per_day) if x > 1e-9]
    unmet = _unmet(net["nodes"]["D"])
    ok = (
        abs(len(short) - EXPECTED_SHORT_DAYS) <= 1 and abs(unmet - EXPECTED_UNMET) <= DEMAND_PER_DAY
    )
    return {
        "tool": "supplynetpy",
        "short_days": len(short),
        "unmet_units": unmet,
        "first_short_day": short[0] if short else None,
        "last_short_day": short[-1] if short else None,
        "ok": bool(ok),
    }


def time_per_replicate(repeats: int) -> dict[str, Any]:
    """Median wall time of one replicate (build the network and simulate 365 days)."""
    import numpy as np

    run_one()  # warm imports
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_one()
        times.append(time.perf_counter() - t0)
    med = float(np.median(times))
    return {
        "replicates": 1,
        "repeats": repeats,
        "wall_s": times,
        "median_s": med,
        "per_replicate_s": med,
    }


def version() -> str:
    from importlib.metadata import version as v

    return v("supplynetpy")


if __name__ == "__main__":
    print(check())
    print(time_per_replicate(5))
