"""Small scenario builders shared by the core tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from reesim.scenario.model import Scenario

START = dt.date(2030, 1, 1)


def day(n: float) -> dt.date:
    """The date ``n`` days after the test horizon's start."""
    return START + dt.timedelta(days=n)


#: A Chinese ban on magnet exports with a sampled start, length and occurrence.
CN_MAGNET_BAN: dict[str, Any] = {
    "id": "ban",
    "kind": "export_ban",
    "exporter": "CN",
    "commodities": ["magnet"],
    "start": {"dist": "uniform", "low": day(60), "high": day(160)},
    "duration_days": {"dist": "lognormal", "median": 60, "p90": 200},
    "probability": 0.8,
}


def chain(
    *,
    demand: float = 5_200.0,
    cover_weeks: float = 3.5,
    lead_days: float = 14.0,
    weeks: int = 60,
    events: list[dict[str, Any]] | None = None,
    threshold: float = 0.99,
    supplier_capacity: float = 1.0e6,
    supplier_cap_weeks: float = 50.0,
) -> Scenario:
    """One supplier with ample output stock -> one sink, weekly periods."""
    return Scenario.model_validate(
        {
            "name": "chain",
            "time": {"start": START, "end": day(7 * weeks), "period": "week"},
            "settings": {"shortage_threshold": threshold},
            "commodities": [{"id": "magnet"}],
            "facilities": [
                {
                    "id": "plant",
                    "stage": "magnet",
                    "region": "CN",
                    "capacity": supplier_capacity,
                    "output": "magnet",
                    "output_cap_weeks": supplier_cap_weeks,
                }
            ],
            "sinks": [
                {
                    "id": "buyer",
                    "region": "EU",
                    "sector": "ev",
                    "commodity": "magnet",
                    "demand": demand,
                    "cover_weeks": cover_weeks,
                }
            ],
            "routes": [
                {
                    "supplier": "plant",
                    "buyer": "buyer",
                    "commodity": "magnet",
                    "lead_time_days": lead_days,
                }
            ],
            "events": events or [],
        }
    )


def two_stage(events: list[dict[str, Any]] | None = None, weeks: int = 80) -> Scenario:
    """Mine -> separation (with by-product) -> two magnet plants -> three sinks, plus a stockpile."""
    return Scenario.model_validate(
        {
            "name": "two-stage",
            "time": {"start": START, "end": day(7 * weeks), "period": "week"},
            "blocs": {"west": ["EU", "US", "JP"]},
            "commodities": [
                {"id": "ore"},
                {"id": "oxide"},
                {"id": "lace", "byproduct": True},
                {"id": "magnet"},
            ],
            "facilities": [
                {
                    "id": "mine",
                    "stage": "mine",
                    "region": "CN",
                    "capacity": 91_000.0,
                    "output": "ore",
                },
                {
                    "id": "sep",
                    "stage": "separation",
                    "region": "CN",
                    "capacity": 15_300.0,
                    "output": "oxide",
                    "inputs": {"ore": 5.3},
                    "coproducts": {"lace": 4.1},
                    "cover_weeks": 5.5,
                },
                {
                    "id": "cn_mag",
                    "stage": "magnet",
                    "region": "CN",
                    "capacity": 27_700.0,
                    "output": "magnet",
                    "inputs": {"oxide": 0.37},
                    "cover_weeks": 6.2,
                },
                {
                    "id": "jp_mag",
                    "stage": "magnet",
                    "region": "JP",
                    "capacity": 9_100.0,
                    "output": "magnet",
                    "inputs": {"oxide": 0.41},
                    "cover_weeks": 9.0,
                },
                {
                    "id": "eu_store",
                    "stage": "stockpile",
                    "region": "EU",
                    "output": "magnet",
                    "initial_stock": {"magnet": 1_900.0},
                },
            ],
            "sinks": [
                {
                    "id": "cn_use",
                    "region": "CN",
                    "commodity": "magnet",
                    "demand": 14_100.0,
                    "cover_weeks": 3.0,
                },
                {
                    "id": "eu_ev",
                    "region": "EU",
                    "sector": "ev",
                    "commodity": "magnet",
                    "demand": 6_300.0,
                    "cover_weeks": 7.0,
                },
                {
                    "id": "us_wind",
                    "region": "US",
                    "sector": "wind",
                    "commodity": "magnet",
                    "demand": 2_900.0,
                    "cover_weeks": 10.0,
                },
            ],
            "routes": [
                {"supplier": "mine", "buyer": "sep", "commodity": "ore", "lead_time_days": 9},
                {"supplier": "sep", "buyer": "cn_mag", "commodity": "oxide", "lead_time_days": 6},
                {
                    "supplier": "sep",
                    "buyer": "jp_mag",
                    "commodity": "oxide",
                    "lead_time_days": 12,
                    "weight": 0.7,
                },
                {
                    "supplier": "cn_mag",
                    "buyer": "cn_use",
                    "commodity": "magnet",
                    "lead_time_days": 5,
                },
                {
                    "supplier": "cn_mag",
                    "buyer": "eu_ev",
                    "commodity": "magnet",
                    "lead_time_days": 38,
                    "weight": 0.8,
                },
                {
                    "supplier": "jp_mag",
                    "buyer": "eu_ev",
                    "commodity": "magnet",
                    "lead_time_days": 40,
                    "weight": 0.2,
                    "priority": 2,
                },
                {
                    "supplier": "cn_mag",
                    "buyer": "us_wind",
                    "commodity": "magnet",
                    "lead_time_days": 24,
                    "weight": 0.6,
                },
                {
                    "supplier": "jp_mag",
                    "buyer": "us_wind",
                    "commodity": "magnet",
                    "lead_time_days": 22,
                    "weight": 0.4,
                },
                {
                    "supplier": "eu_store",
                    "buyer": "eu_ev",
                    "commodity": "magnet",
                    "lead_time_days": 4,
                },
            ],
            "events": events or [],
        }
    )


def rich_scenarios():  # type: ignore[no-untyped-def]
    """Generated scenarios with every event kind, growth, overrides and distributions:
    the strategy the engine-equality tests share."""
    from reesim.scenario import EVENT_KINDS
    from reesim.testing.strategies import scenarios

    return scenarios(
        event_kinds=EVENT_KINDS,
        min_events=1,
        max_events=8,
        max_facilities=9,
        max_sinks=5,
        commodities=4,
        coproduct_surplus=True,
        growth=True,
        overrides=True,
        distributions=True,
    )
