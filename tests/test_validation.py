"""Scenario validation: every check, with the exact message a modeller reads.

Each test changes one thing in tests/data/small.toml (valid as it stands) and
pins the message: file, field path, what was expected and what was found.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
import tomllib
import warnings
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from reesim.errors import ReesimWarning, ScenarioError
from reesim.scenario import (
    Commodity,
    ExportBan,
    Facility,
    Route,
    Scenario,
    Sink,
    TimeSettings,
    check_scenario,
    validate_data,
)

SMALL = Path(__file__).parent / "data" / "small.toml"
SRC = "small.toml"
_BASE = tomllib.loads(SMALL.read_text(encoding="utf-8"))


def base() -> dict[str, Any]:
    """A fresh copy of the small scenario's tables."""
    return copy.deepcopy(_BASE)


def fails(data: dict[str, Any], line: str) -> ScenarioError:
    """Validation must raise, and one reported problem must read exactly ``line``."""
    with pytest.raises(ScenarioError, match=re.escape(line)) as info:
        Scenario.from_dict(data, source=SRC)
    assert line in [str(issue) for issue in info.value.issues]
    return info.value


def errors(data: dict[str, Any]) -> list[str]:
    _, found, _ = validate_data(data, SRC)
    return [str(issue) for issue in found]


def test_small_scenario_is_valid() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sc = Scenario.from_dict(base(), source=SRC)
    assert check_scenario(sc) == ([], [])
    assert sc.source == SRC


# ------------------------------------------------------------------ keys and fields


def test_missing_required_field() -> None:
    d = base()
    del d["facilities"][1]["output"]
    fails(d, "small.toml: facilities[1]: missing required field 'output'")


def test_missing_required_section() -> None:
    d = base()
    del d["time"]
    fails(d, "small.toml: missing required field 'time'")


def test_unknown_key_suggests_the_field() -> None:
    d = base()
    d["routes"][3]["capacty"] = 500
    fails(d, "small.toml: routes[3]: unknown key 'capacty' (did you mean 'capacity'?)")


def test_unknown_top_level_key() -> None:
    d = base()
    d["facilites"] = []
    fails(d, "small.toml: unknown key 'facilites' (did you mean 'facilities'?)")


def test_unknown_key_in_an_event_uses_that_kind_of_event() -> None:
    d = base()
    d["events"][0]["exportr"] = d["events"][0].pop("exporter")
    err = fails(d, "small.toml: events[0]: unknown key 'exportr' (did you mean 'exporter'?)")
    assert "missing required field 'exporter'" in str(err)


def test_unknown_key_in_a_distribution() -> None:
    d = base()
    d["facilities"][0]["capacity"] = {"dist": "uniform", "low": 1, "hgh": 2}
    err = fails(d, "small.toml: facilities[0].capacity: unknown key 'hgh' (did you mean 'high'?)")
    assert "small.toml: facilities[0].capacity: missing required field 'high'" in str(err)


def test_unknown_event_kind() -> None:
    d = base()
    d["events"][0]["kind"] = "expor_ban"
    fails(
        d,
        "small.toml: events[0].kind: unknown event kind 'expor_ban' (did you mean 'export_ban'?); "
        "expected one of: export_ban, export_quota, export_licensing, capacity_change, "
        "random_outages, commissioning, sourcing_shift, domestic_priority, stockpile_release, "
        "demand_change",
    )


def test_unknown_distribution() -> None:
    d = base()
    d["facilities"][0]["capacity"] = {"dist": "unifrm", "low": 1, "high": 2}
    fails(
        d,
        "small.toml: facilities[0].capacity.dist: unknown distribution 'unifrm' "
        "(did you mean 'uniform'?); expected one of: fixed, uniform, triangular, normal, "
        "lognormal, bernoulli",
    )


def test_wrong_type_is_one_plain_message() -> None:
    d = base()
    d["routes"][0]["lead_time_days"] = "nine"
    err = fails(d, "small.toml: routes[0].lead_time_days: expected a number (got 'nine')")
    assert len(err.issues) == 1


def test_unknown_period_suggests_one() -> None:
    d = base()
    d["time"]["period"] = "wek"
    fails(
        d,
        "small.toml: time.period: must be one of day, week, month (got 'wek') (did you mean 'week'?)",
    )


def test_horizon_end_before_start() -> None:
    d = base()
    d["time"]["end"] = dt.date(2029, 1, 1)
    fails(d, "small.toml: time.end: must be after start (got start = 2030-01-01, end = 2029-01-01)")


# --------------------------------------------------------------------- unknown ids


def test_unknown_supplier() -> None:
    d = base()
    d["routes"][4]["supplier"] = "cn_mg"
    fails(d, "small.toml: routes[4].supplier: unknown facility 'cn_mg' (did you mean 'cn_mag'?)")


def test_unknown_buyer() -> None:
    d = base()
    d["routes"][4]["buyer"] = "eu_evv"
    fails(
        d, "small.toml: routes[4].buyer: unknown facility or sink 'eu_evv' (did you mean 'eu_ev'?)"
    )


def test_sink_as_supplier() -> None:
    d = base()
    d["routes"][4]["supplier"] = "cn_use"
    fails(
        d,
        "small.toml: routes[4].supplier: 'cn_use' is a demand sink; sinks only buy, so it cannot supply",
    )


def test_unknown_commodity_in_route() -> None:
    d = base()
    d["routes"][0]["commodity"] = "oree"
    fails(d, "small.toml: routes[0].commodity: unknown commodity 'oree' (did you mean 'ore'?)")


def test_unknown_commodity_without_a_close_match_lists_the_declared() -> None:
    d = base()
    d["sinks"][0]["commodity"] = "xyz"
    fails(
        d,
        "small.toml: sinks[0].commodity: unknown commodity 'xyz' (declared: lace, magnet, ore, oxide)",
    )


def test_recipe_names_unknown_commodity() -> None:
    d = base()
    d["facilities"][1]["inputs"] = {"ores": 5.3}
    fails(
        d, "small.toml: facilities[1].inputs.ores: unknown commodity 'ores' (did you mean 'ore'?)"
    )


def test_unknown_output_commodity() -> None:
    d = base()
    d["facilities"][0]["output"] = "oar"
    fails(d, "small.toml: facilities[0].output: unknown commodity 'oar' (did you mean 'ore'?)")


def test_unknown_bloc_or_region() -> None:
    d = base()
    d["events"][0]["exporter"] = "chna"
    fails(
        d, "small.toml: events[0].exporter: unknown region or bloc 'chna' (did you mean 'china'?)"
    )


def test_unknown_destination_bloc() -> None:
    d = base()
    d["events"][6]["destinations"] = ["alies"]
    fails(
        d,
        "small.toml: events[6].destinations[0]: unknown region or bloc 'alies' (did you mean 'allies'?)",
    )


def test_unknown_facility_in_event() -> None:
    d = base()
    d["events"][3]["facility"] = "jp_magg"
    fails(d, "small.toml: events[3].facility: unknown facility 'jp_magg' (did you mean 'jp_mag'?)")


def test_unknown_sink_in_release_condition() -> None:
    d = base()
    d["events"][1]["condition"]["sinks"] = ["eu_e"]
    fails(
        d, "small.toml: events[1].condition.sinks[0]: unknown sink 'eu_e' (did you mean 'eu_ev'?)"
    )


def test_unknown_stage_in_selection() -> None:
    d = base()
    d["events"][4]["stages"] = ["separaton"]
    fails(
        d,
        "small.toml: events[4].stages[0]: no facility has stage 'separaton' (did you mean 'separation'?)",
    )


def test_unknown_sector_in_demand_change() -> None:
    d = base()
    d["events"][5]["sectors"] = ["evs"]
    fails(d, "small.toml: events[5].sectors[0]: no sink has sector 'evs' (did you mean 'ev'?)")


def test_reference_event_names_no_event() -> None:
    d = base()
    d["settings"]["reference_event"] = "bann"
    fails(
        d,
        "small.toml: settings.reference_event: no event has id 'bann' (did you mean 'ban'?); "
        "name one of the events, or remove reference_event",
    )


def test_reference_event_without_events() -> None:
    d = base()
    d["events"] = []
    fails(
        d,
        "small.toml: settings.reference_event: no event has id 'ban' (the scenario has no "
        "events); name one of the events, or remove reference_event",
    )


# ---------------------------------------------------------------------- duplicates


@pytest.mark.parametrize(
    ("section", "i", "j", "what"),
    [
        ("commodities", 0, 1, "commodity"),
        ("facilities", 0, 2, "facility"),
        ("sinks", 0, 2, "sink"),
        ("events", 0, 4, "event"),
    ],
)
def test_duplicate_ids(section: str, i: int, j: int, what: str) -> None:
    d = base()
    d[section][j]["id"] = d[section][i]["id"]
    dup = d[section][i]["id"]
    fails(
        d,
        f"small.toml: {section}[{j}].id: duplicate {what} id '{dup}' (first declared at "
        f"{section}[{i}]); ids must be unique",
    )


def test_duplicate_route() -> None:
    d = base()
    d["routes"].append(copy.deepcopy(d["routes"][3]))
    fails(
        d,
        "small.toml: routes[10]: duplicate route 'cn_mag->cn_use:magnet' (same as routes[3]); "
        "merge them, or give each its own id",
    )


def test_facility_and_sink_share_ids() -> None:
    d = base()
    d["sinks"][2]["id"] = "mine"
    err = fails(
        d,
        "small.toml: sinks[2].id: id 'mine' is already used by facilities[0]; facilities and "
        "sinks share one set of ids",
    )
    assert len(err.issues) >= 1


# -------------------------------------------------------------------- value ranges


@pytest.mark.parametrize(
    ("section", "i", "key", "value", "line"),
    [
        ("facilities", 0, "capacity", -1, "facilities[0].capacity: must be >= 0 (got -1)"),
        (
            "facilities",
            0,
            "capacity",
            math.nan,
            "facilities[0].capacity: must be a number >= 0 (got nan)",
        ),
        (
            "facilities",
            0,
            "capacity",
            math.inf,
            "facilities[0].capacity: must be a finite number >= 0 (got inf)",
        ),
        ("sinks", 0, "demand", -5, "sinks[0].demand: must be >= 0 (got -5)"),
        ("sinks", 0, "demand", math.nan, "sinks[0].demand: must be a number >= 0 (got nan)"),
        ("sinks", 0, "initial_stock", -3, "sinks[0].initial_stock: must be >= 0 (got -3)"),
        ("sinks", 0, "cover_weeks", -1, "sinks[0].cover_weeks: must be >= 0 (got -1)"),
        (
            "sinks",
            0,
            "cover_weeks",
            math.nan,
            "sinks[0].cover_weeks: must be a number >= 0 (got nan)",
        ),
        ("sinks", 0, "growth_pct", -100, "sinks[0].growth_pct: must be > -100 (got -100)"),
        ("facilities", 1, "cover_weeks", -2, "facilities[1].cover_weeks: must be >= 0 (got -2)"),
        (
            "facilities",
            1,
            "output_cap_weeks",
            0,
            "facilities[1].output_cap_weeks: must be > 0 (got 0)",
        ),
        ("routes", 2, "weight", -0.5, "routes[2].weight: must be >= 0 (got -0.5)"),
        ("routes", 2, "capacity", -10, "routes[2].capacity: must be >= 0 (got -10)"),
    ],
)
def test_negative_or_nan_values(section: str, i: int, key: str, value: float, line: str) -> None:
    d = base()
    d[section][i][key] = value
    fails(d, f"small.toml: {line}")


def test_negative_stock_override() -> None:
    d = base()
    d["facilities"][4]["initial_stock"]["magnet"] = -1
    fails(d, "small.toml: facilities[4].initial_stock.magnet: must be >= 0 (got -1)")


def test_negative_cover_per_input() -> None:
    d = base()
    d["facilities"][3]["cover_weeks"] = {"oxide": -2}
    fails(d, "small.toml: facilities[3].cover_weeks.oxide: must be >= 0 (got -2)")


def test_recipe_amount_must_be_positive() -> None:
    d = base()
    d["facilities"][1]["inputs"]["ore"] = 0
    fails(d, "small.toml: facilities[1].inputs.ore: must be > 0 (got 0)")


@pytest.mark.parametrize("days", [0, -7])
def test_lead_time_must_be_positive(days: int) -> None:
    d = base()
    d["routes"][3]["lead_time_days"] = days
    fails(d, f"small.toml: routes[3].lead_time_days: must be > 0 (got {days})")


def test_unclipped_normal_capacity_is_an_error() -> None:
    d = base()
    d["facilities"][0]["capacity"] = {"dist": "normal", "mean": 90_000, "sd": 5_000}
    fails(
        d,
        'small.toml: facilities[0].capacity: must be >= 0, but { dist = "normal", mean = 90000, '
        "sd = 5000 } can draw any value; add low to clip it (low >= 0)",
    )


def test_clipped_normal_capacity_is_fine() -> None:
    d = base()
    d["facilities"][0]["capacity"] = {"dist": "normal", "mean": 90_000, "sd": 5_000, "low": 0}
    sc = Scenario.from_dict(d, source=SRC)
    assert sc.facilities[0].capacity is not None


def test_distribution_reaching_below_zero() -> None:
    d = base()
    d["sinks"][1]["cover_weeks"] = {"dist": "uniform", "low": -2, "high": 4}
    fails(
        d,
        'small.toml: sinks[1].cover_weeks: must be >= 0, but { dist = "uniform", low = -2, '
        "high = 4 } can draw -2",
    )


def test_lognormal_lead_time_is_fine_but_uniform_from_zero_is_not() -> None:
    d = base()
    d["routes"][0]["lead_time_days"] = {"dist": "lognormal", "median": 9, "p90": 20}
    Scenario.from_dict(d, source=SRC)
    d["routes"][0]["lead_time_days"] = {"dist": "uniform", "low": 0, "high": 20}
    fails(
        d,
        'small.toml: routes[0].lead_time_days: must be > 0, but { dist = "uniform", low = 0, '
        "high = 20 } can draw 0",
    )


def test_date_distribution_for_a_number() -> None:
    d = base()
    d["sinks"][0]["demand"] = {"dist": "fixed", "value": dt.date(2030, 1, 1)}
    fails(d, "small.toml: sinks[0].demand: must be a number >= 0, not a distribution of dates")


# --------------------------------------------------------------------- weights


def test_all_zero_weights_warn() -> None:
    d = base()
    d["routes"][6]["weight"] = 0
    d["routes"][7]["weight"] = 0
    line = (
        "small.toml: routes[6].weight: every route bringing 'magnet' to 'us_wind' (routes[6], "
        "routes[7]) has weight 0 and no sourcing_shift opens one, so 'us_wind' never receives "
        "it; give a route a weight > 0 or add a sourcing_shift"
    )
    with pytest.warns(ReesimWarning, match=re.escape(line)):
        Scenario.from_dict(d, source=SRC)
    sc, errs, warns = validate_data(d, SRC)
    assert sc is not None and errs == []
    assert [str(w) for w in warns] == [line]


def test_zero_weights_opened_by_a_sourcing_shift_do_not_warn() -> None:
    d = base()
    d["routes"][6]["weight"] = 0
    d["routes"][7]["weight"] = 0
    d["events"].append(
        {
            "kind": "sourcing_shift",
            "buyer": "us_wind",
            "start": dt.date(2030, 2, 1),
            "weights": {"jp_mag": 1.0},
        }
    )
    _, errs, warns = validate_data(d, SRC)
    assert errs == [] and warns == []


# ---------------------------------------------------------------- routes and recipes


def test_supplier_does_not_make_the_commodity() -> None:
    d = base()
    d["routes"].append(
        {"supplier": "mine", "buyer": "cn_mag", "commodity": "oxide", "lead_time_days": 5}
    )
    fails(
        d,
        "small.toml: routes[10].commodity: supplier 'mine' does not make 'oxide' (it makes: "
        "ore); change the commodity or the supplier",
    )


def test_buyer_does_not_use_the_commodity() -> None:
    d = base()
    d["routes"].append(
        {"supplier": "sep", "buyer": "cn_use", "commodity": "oxide", "lead_time_days": 5}
    )
    fails(
        d,
        "small.toml: routes[10].commodity: buyer 'cn_use' does not use 'oxide' (it uses: "
        "magnet); change the commodity or the buyer",
    )


def test_byproduct_on_a_route() -> None:
    d = base()
    d["routes"].append(
        {"supplier": "sep", "buyer": "cn_mag", "commodity": "lace", "lead_time_days": 5}
    )
    fails(
        d,
        "small.toml: routes[10].commodity: 'lace' is a by-product: it leaves the model where it "
        "is made, so no route can carry it",
    )


def test_byproduct_as_input() -> None:
    d = base()
    d["facilities"][2]["inputs"]["lace"] = 0.1
    fails(
        d,
        "small.toml: facilities[2].inputs.lace: 'lace' is a by-product, which is never stocked, "
        "so no facility can use it as an input",
    )


def test_commodity_both_input_and_output() -> None:
    d = base()
    d["facilities"][2]["inputs"]["magnet"] = 0.1
    fails(
        d,
        "small.toml: facilities[2].inputs.magnet: 'magnet' is both an input and the output of "
        "'cn_mag'; a facility cannot use what it makes",
    )


def test_commodity_both_input_and_coproduct() -> None:
    d = base()
    d["facilities"][1]["coproducts"]["ore"] = 0.5
    fails(
        d,
        "small.toml: facilities[1].inputs.ore: 'ore' is both an input and a co-product of "
        "'sep'; a facility cannot use what it makes",
    )


def test_facility_without_capacity() -> None:
    d = base()
    del d["facilities"][0]["capacity"]
    fails(
        d,
        "small.toml: facilities[0]: missing required field 'capacity' (t/yr of 'ore'); only a "
        'stockpile (stage = "stockpile") goes without',
    )


def test_stockpile_with_inputs() -> None:
    d = base()
    d["facilities"][4]["inputs"] = {"oxide": 1.0}
    fails(
        d,
        "small.toml: facilities[4].inputs: a stockpile has no recipe, but 'eu_store' lists "
        'inputs (oxide); remove them, or give it a stage other than "stockpile"',
    )


def test_cover_for_a_commodity_that_is_not_an_input() -> None:
    d = base()
    d["facilities"][3]["cover_weeks"] = {"ore": 4}
    fails(
        d,
        "small.toml: facilities[3].cover_weeks.ore: 'ore' is not an input of 'jp_mag' (inputs: "
        "oxide); cover_weeks applies to inputs only",
    )


# -------------------------------------------------------------------------- events


def test_fixed_start_before_the_horizon() -> None:
    d = base()
    d["events"][2]["start"] = dt.date(2029, 6, 1)
    fails(
        d,
        "small.toml: events[2].start: must be within the horizon [2030-01-01, 2032-01-01) (got "
        "2029-06-01); move the event or change [time]",
    )


def test_fixed_start_on_the_horizon_end_is_outside() -> None:
    d = base()
    d["events"][9]["start"] = dt.date(2032, 1, 1)
    fails(
        d,
        "small.toml: events[9].start: must be within the horizon [2030-01-01, 2032-01-01) (got "
        "2032-01-01); move the event or change [time]",
    )


def test_end_before_start() -> None:
    d = base()
    d["events"][2]["end"] = dt.date(2030, 5, 1)
    fails(
        d,
        "small.toml: events[2].end: must be after start (got start = 2030-06-01, end = 2030-05-01)",
    )


def test_end_and_duration_together() -> None:
    d = base()
    d["events"][6]["duration_days"] = 30
    fails(d, "small.toml: events[6]: gives both end and duration_days; keep one of them")


def test_sampled_start_beyond_the_horizon_is_allowed() -> None:
    d = base()
    d["events"][0]["start"] = {
        "dist": "uniform",
        "low": dt.date(2031, 6, 1),
        "high": dt.date(2034, 1, 1),
    }
    assert Scenario.from_dict(d, source=SRC).events[0].start.is_date()


def test_number_for_a_date() -> None:
    d = base()
    d["events"][2]["start"] = 30
    fails(d, "small.toml: events[2].start: expected a date like 2026-04-01 (got 30)")


def test_distribution_of_numbers_for_a_date() -> None:
    d = base()
    d["events"][2]["start"] = {"dist": "uniform", "low": 0, "high": 30}
    fails(
        d,
        "small.toml: events[2].start: a date field takes a distribution of dates, e.g. "
        '{ dist = "uniform", low = 2026-04-01, high = 2026-10-01 } (got a uniform distribution '
        "of numbers)",
    )


@pytest.mark.parametrize(
    ("i", "key", "value", "line"),
    [
        (
            0,
            "duration_days",
            {"dist": "lognormal", "median": 180, "p90": 90},
            "events[0].duration_days: p90 must be >= median (got median=180.0, p90=90.0)",
        ),
        (
            0,
            "duration_days",
            {"dist": "uniform", "low": 90, "high": 30},
            "events[0].duration_days: low must be <= high (got low=90.0, high=30.0)",
        ),
        (
            6,
            "delay_days",
            {"dist": "triangular", "low": 30, "mode": 10, "high": 90},
            "events[6].delay_days: need low <= mode <= high (got low=30.0, mode=10.0, high=90.0)",
        ),
        (4, "probability", 1.5, "events[4].probability: must be between 0 and 1 (got 1.5)"),
        (4, "probability", -0.1, "events[4].probability: must be between 0 and 1 (got -0.1)"),
        (
            4,
            "probability",
            {"dist": "bernoulli", "p": 2},
            "events[4].probability.p: must be <= 1 (got 2)",
        ),
        (6, "approval_share", 1.2, "events[6].approval_share: must be between 0 and 1 (got 1.2)"),
        (3, "plateau", 0, "events[3].plateau: must be > 0 and <= 1 (got 0)"),
        (3, "plateau", 1.1, "events[3].plateau: must be > 0 and <= 1 (got 1.1)"),
        (
            3,
            "failure_probability",
            2,
            "events[3].failure_probability: must be between 0 and 1 (got 2)",
        ),
        (4, "factor", -1, "events[4].factor: must be >= 0 (got -1)"),
        (
            5,
            "factor",
            {"dist": "uniform", "low": -0.5, "high": 1},
            'events[5].factor: must be >= 0, but { dist = "uniform", low = -0.5, high = 1 } can draw -0.5',
        ),
        (
            0,
            "duration_days",
            {"dist": "uniform", "low": dt.date(2030, 1, 1), "high": 30},
            "events[0].duration_days: mixes dates and numbers (low=2030-01-01, high=30.0); write all "
            "dates or all numbers",
        ),
    ],
)
def test_bad_distribution_and_event_parameters(i: int, key: str, value: Any, line: str) -> None:
    d = base()
    d["events"][i][key] = value
    fails(d, f"small.toml: {line}")


def test_sourcing_shift_to_a_supplier_without_route() -> None:
    d = base()
    d["events"][2]["weights"] = {"sep": 0.5}
    fails(
        d,
        "small.toml: events[2].weights.sep: no route from 'sep' to 'cn_use' for 'magnet'; a "
        "sourcing shift only reweights existing routes: add one with weight = 0",
    )


def test_sourcing_shift_to_an_unknown_supplier() -> None:
    d = base()
    d["events"][2]["weights"] = {"jp_mg": 0.5}
    fails(
        d, "small.toml: events[2].weights.jp_mg: unknown facility 'jp_mg' (did you mean 'jp_mag'?)"
    )


def test_stockpile_release_of_a_plant() -> None:
    d = base()
    d["events"][1]["stockpile"] = "cn_mag"
    fails(
        d,
        "small.toml: events[1].stockpile: 'cn_mag' is not a stockpile (stage 'magnet'); "
        'stockpile_release needs a facility with stage = "stockpile"',
    )


def test_one_commissioning_per_facility() -> None:
    d = base()
    d["events"].append(copy.deepcopy(d["events"][3]) | {"id": "again"})
    fails(
        d,
        "small.toml: events[10].facility: 'jp_mag' is already commissioned by events[3]; a "
        "facility has one commissioning event (put the uncertainty in its start, ramp_days or "
        "plateau)",
    )


def test_event_ids_default_to_kind_and_index() -> None:
    sc = Scenario.from_dict(base(), source=SRC)
    assert sc.events[1].id == "stockpile_release-1"
    d = base()
    d["settings"]["reference_event"] = "stockpile_release-1"
    assert Scenario.from_dict(d, source=SRC).settings.reference_event == "stockpile_release-1"


# ------------------------------------------------------------- every problem at once


def test_every_problem_is_reported_at_once() -> None:
    d = base()
    d["time"]["period"] = "wek"  # a field error in one section
    d["facilities"][1]["capacty"] = 1  # an unknown key in one entry
    d["routes"][3]["lead_time_days"] = 0  # a range error in another
    d["routes"][4]["supplier"] = "cn_mg"  # a cross-reference among the valid entries
    d["sinks"][0]["demand"] = -1
    found = errors(d)
    assert found == [
        "small.toml: time.period: must be one of day, week, month (got 'wek') (did you mean 'week'?)",
        "small.toml: facilities[1]: unknown key 'capacty' (did you mean 'capacity'?)",
        "small.toml: sinks[0].demand: must be >= 0 (got -1)",
        "small.toml: routes[3].lead_time_days: must be > 0 (got 0)",
        "small.toml: routes[4].supplier: unknown facility 'cn_mg' (did you mean 'cn_mag'?)",
    ]
    with pytest.raises(ScenarioError, match="5 problems found") as info:
        Scenario.from_dict(d, source=SRC)
    assert [str(i) for i in info.value.issues] == found


def test_an_invalid_entry_does_not_make_its_references_unknown() -> None:
    d = base()
    d["facilities"][2]["capacity"] = -1  # cn_mag is invalid, but still declared
    assert errors(d) == ["small.toml: facilities[2].capacity: must be >= 0 (got -1)"]


# ----------------------------------------------------------------- built in Python


def _python_scenario(**changes: Any) -> dict[str, Any]:
    parts: dict[str, Any] = {
        "time": TimeSettings(start=dt.date(2030, 1, 1), end=dt.date(2031, 1, 1)),
        "commodities": [Commodity(id="magnet")],
        "facilities": [Facility(id="plant", region="CN", capacity=1000, output="magnet")],
        "sinks": [Sink(id="user", region="EU", commodity="magnet", demand=100)],
        "routes": [Route(supplier="plant", buyer="user", commodity="magnet", lead_time_days=30)],
        "events": [ExportBan(kind="export_ban", exporter="CN", start=dt.date(2030, 3, 1))],
    }
    parts.update(changes)
    return parts


def test_python_construction_runs_the_same_checks() -> None:
    sc = Scenario(**_python_scenario())
    assert sc.events[0].id == "export_ban-0"
    assert sc.source == "<python>"
    bad = _python_scenario(
        routes=[Route(supplier="plantt", buyer="user", commodity="magnet", lead_time_days=30)]
    )
    with pytest.raises(
        ScenarioError,
        match=re.escape(
            "<python>: routes[0].supplier: unknown facility 'plantt' (did you mean 'plant'?)"
        ),
    ) as info:
        Scenario(**bad)
    assert isinstance(info.value, ValueError)
    assert not isinstance(info.value, ValidationError)


def test_python_construction_reports_field_and_reference_errors_together() -> None:
    bad = _python_scenario(
        sinks=[{"id": "user", "region": "EU", "commodity": "magnet", "demand": -1}],
        routes=[{"supplier": "plant", "buyer": "usr", "commodity": "magnet", "lead_time_days": 30}],
    )
    with pytest.raises(ScenarioError) as info:
        Scenario(**bad)
    assert [str(i) for i in info.value.issues] == [
        "<python>: sinks[0].demand: must be >= 0 (got -1)",
        "<python>: routes[0].buyer: unknown facility or sink 'usr' (did you mean 'user'?)",
    ]


def test_model_validate_raises_scenario_error() -> None:
    d = base()
    d["routes"][3]["lead_time_days"] = 0
    with pytest.raises(
        ScenarioError, match=re.escape("<python>: routes[3].lead_time_days: must be > 0 (got 0)")
    ):
        Scenario.model_validate(d)


def test_assignment_is_checked_too() -> None:
    sc = Scenario.from_dict(base(), source=SRC)
    with pytest.raises(ValueError, match=re.escape("must be > 0 (got 0)")):
        sc.routes[0].lead_time_days = 0


def test_check_after_an_in_place_change() -> None:
    sc = Scenario.from_dict(base(), source=SRC)
    sc.routes.append(Route(supplier="mine", buyer="nowhere", commodity="ore", lead_time_days=3))
    with pytest.raises(
        ScenarioError,
        match=re.escape("small.toml: routes[10].buyer: unknown facility or sink 'nowhere'"),
    ):
        sc.check()
