"""Loading scenarios: files, built-in names, dicts, ``extends``, syntax errors, schema."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import warnings
from pathlib import Path

import pytest

from reesim.errors import ScenarioError
from reesim.scenario import (
    Scenario,
    list_builtin,
    load_scenario,
    read_scenario_data,
    scenario_json_schema,
    validate_file,
)

DATA = Path(__file__).parent / "data"


@pytest.fixture
def in_data(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from tests/data so that file names in messages are short and exact."""
    monkeypatch.chdir(DATA)
    return DATA


# ----------------------------------------------------------------------- built-ins


def test_list_builtin_includes_default() -> None:
    found = dict(list_builtin())
    assert "default" in found
    assert "export ban" in found["default"]
    assert list_builtin() == sorted(list_builtin())


def test_default_scenario_loads_without_errors_or_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sc = load_scenario("default")
    assert sc.name == "default"
    assert sc.source == "default.toml (built-in)"
    assert validate_file("default") == ([], [])
    assert sc.settings.reference_event in {e.id for e in sc.events}


@pytest.mark.parametrize("name", [name for name, _ in list_builtin()])
def test_every_builtin_validates(name: str) -> None:
    errors, _ = validate_file(name)
    assert errors == []


def test_unknown_builtin_name_suggests_one() -> None:
    with pytest.raises(
        ScenarioError,
        match=re.escape(
            "defualt: no scenario file or built-in named 'defualt' (did you mean 'default'?)"
        ),
    ):
        load_scenario("defualt")


def test_missing_file() -> None:
    with pytest.raises(ScenarioError, match=re.escape("nowhere/missing.toml: file not found")):
        load_scenario("nowhere/missing.toml")


# --------------------------------------------------------------------------- files


def test_load_a_file_by_str_and_by_path(in_data: Path) -> None:
    by_str = load_scenario("small.toml")
    by_path = load_scenario(in_data / "small.toml")
    assert by_str == by_path
    assert by_str.name == "small"
    assert by_str.source == "small.toml"
    assert len(by_str.facilities) == 5 and len(by_str.routes) == 10


def test_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    text = (DATA / "small.toml").read_text(encoding="utf-8").replace('name = "small"\n', "")
    path = tmp_path / "no_name.toml"
    path.write_text(text, encoding="utf-8")
    assert load_scenario(path).name == "no_name"
    assert load_scenario(path, name_hint="given").name == "given"


def test_toml_syntax_error_names_file_and_line(in_data: Path) -> None:
    with pytest.raises(
        ScenarioError,
        match=re.escape("bad_syntax.toml: TOML syntax error at line 7, column 9: invalid value"),
    ):
        load_scenario("bad_syntax.toml")
    errors, warns = validate_file("bad_syntax.toml")
    assert [str(e) for e in errors] == [
        "bad_syntax.toml: TOML syntax error at line 7, column 9: invalid value"
    ]
    assert warns == []


def test_syntax_error_at_the_end_of_a_file(tmp_path: Path) -> None:
    path = tmp_path / "open.toml"
    path.write_text('name = "x"\nlist = [1,\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"open\.toml: TOML syntax error at line 3"):
        load_scenario(path)


def test_validate_file_reports_every_error(in_data: Path) -> None:
    errors, warns = validate_file("bad_many.toml")
    assert [str(e) for e in errors] == [
        "bad_many.toml: time.period: must be one of day, week, month (got 'wek') "
        "(did you mean 'week'?)",
        "bad_many.toml: facilities[1]: unknown key 'capacty' (did you mean 'capacity'?)",
        "bad_many.toml: sinks[3].demand: must be >= 0 (got -100)",
        "bad_many.toml: routes[4].lead_time_days: must be > 0 (got 0)",
        "bad_many.toml: routes[10].supplier: unknown facility 'jp_mg' (did you mean 'jp_mag'?)",
    ]
    assert warns == []
    with pytest.raises(ScenarioError, match="5 problems found"):
        load_scenario("bad_many.toml")


def test_load_a_dict() -> None:
    data = read_scenario_data(DATA / "small.toml").data
    del data["name"]
    sc = load_scenario(data)
    assert sc.source == "<python>" and sc.name == "scenario"
    assert load_scenario(data, name_hint="mine").name == "mine"


def test_a_dict_may_extend_a_builtin() -> None:
    sc = load_scenario({"extends": "default", "time": {"end": dt.date(2030, 1, 1)}})
    default = load_scenario("default")
    assert sc.time.end == dt.date(2030, 1, 1)
    assert sc.time.start == default.time.start
    assert sc.facilities == default.facilities


# ------------------------------------------------------------------------- extends


def test_extends_deep_merges_tables_and_entries(in_data: Path) -> None:
    parent = load_scenario("small.toml")
    child = load_scenario("child_small.toml")
    assert child.name == "child"
    assert child.description == parent.description
    # [time] and [settings]: only the keys the child sets change.
    assert child.time.start == parent.time.start and child.time.period == parent.time.period
    assert child.time.end == dt.date(2033, 1, 1)
    assert child.settings.shortage_threshold == 0.95
    assert child.settings.reference_event == "ban"
    # An entry with a known id is merged into the parent's entry.
    jp = next(f for f in child.facilities if f.id == "jp_mag")
    jp_parent = next(f for f in parent.facilities if f.id == "jp_mag")
    assert jp.capacity == 12_000
    assert jp.model_dump(exclude={"capacity"}) == jp_parent.model_dump(exclude={"capacity"})
    sep = next(f for f in child.facilities if f.id == "sep")
    assert sep.inputs == {"ore": 5.0} and sep.coproducts == {"lace": 4.1}
    # Routes matched by id and by (supplier, buyer, commodity).
    release = next(r for r in child.routes if r.id == "release_route")
    assert release.lead_time_days == 3 and release.supplier == "eu_store"
    # A distribution is replaced whole, not merged key by key.
    assert child.events[0].duration_days.model_dump() == {
        "dist": "uniform",
        "low": 90.0,
        "high": 365.0,
    }
    # An event declared without an id is matched by its default id.
    assert child.events[1].id == "stockpile_release-1"
    assert child.events[1].rate_per_year == 3_000


def test_extends_remove_and_append(in_data: Path) -> None:
    parent = load_scenario("small.toml")
    child = load_scenario("child_small.toml")
    assert [s.id for s in child.sinks] == ["cn_use", "eu_ev", "jp_ev"]
    removed = {("cn_mag", "us_wind"), ("jp_mag", "us_wind")}
    kept = [r.key for r in parent.routes if (r.supplier, r.buyer) not in removed]
    assert [r.key for r in child.routes] == [*kept, "jp_mag->jp_ev:magnet"]
    assert len(child.events) == len(parent.events)


def test_messages_name_the_file_that_set_the_field(in_data: Path) -> None:
    errors, _ = validate_file("child_bad.toml")
    assert [str(e) for e in errors] == [
        "small.toml: routes[0].supplier: unknown facility 'mine': child_bad.toml removes it; "
        "remove or change what refers to it too",
        "child_bad.toml: routes[3].lead_time_days: must be > 0 (got -3)",
        "small.toml: events[8].facilities[0]: unknown facility 'mine': child_bad.toml removes "
        "it; remove or change what refers to it too",
    ]


def test_remove_of_an_unknown_entry(tmp_path: Path) -> None:
    shutil.copy(DATA / "small.toml", tmp_path / "small.toml")
    child = tmp_path / "child.toml"
    child.write_text('extends = "small.toml"\n[[sinks]]\nid = "us_wnd"\nremove = true\n', "utf-8")
    with pytest.raises(
        ScenarioError,
        match=re.escape(
            "child.toml: sinks[0]: remove = true, but the parent has no entry 'us_wnd' to remove "
            "(did you mean 'us_wind'?)"
        ),
    ):
        load_scenario(child)


def test_extends_cycle_names_the_chain(in_data: Path) -> None:
    with pytest.raises(
        ScenarioError,
        match=re.escape(
            "cycle_b.toml: extends: extends cycle: cycle_a.toml -> cycle_b.toml -> cycle_a.toml; "
            "one of these files must not extend another"
        ),
    ):
        load_scenario("cycle_a.toml")


def test_a_file_extending_itself(tmp_path: Path) -> None:
    path = tmp_path / "self.toml"
    path.write_text('extends = "self.toml"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"extends cycle: .*self\.toml -> .*self\.toml;"):
        load_scenario(path)


def test_extends_a_builtin(in_data: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        child = load_scenario("child_default.toml")
    default = load_scenario("default")
    assert child.name == "child_default"
    assert child.time.end == dt.date(2031, 1, 1) and child.time.start == default.time.start
    assert child.routes == default.routes and child.events == default.events


def test_extends_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "orphan.toml"
    path.write_text('extends = "nope.toml"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"orphan\.toml: extends: file 'nope\.toml' not found"):
        load_scenario(path)


def test_extends_an_unknown_builtin(tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text('extends = "defalt"\n', encoding="utf-8")
    with pytest.raises(
        ScenarioError,
        match=re.escape(
            "extends: no built-in scenario 'defalt' (did you mean 'default'?); a file needs a .toml suffix"
        ),
    ):
        load_scenario(path)


def test_extends_resolves_relative_to_the_child(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    shutil.copy(DATA / "small.toml", tmp_path / "base" / "small.toml")
    child = tmp_path / "child.toml"
    child.write_text('extends = "base/small.toml"\nname = "c"\n', encoding="utf-8")
    here = os.getcwd()
    assert Path(here) != tmp_path  # the parent is found from the child's folder, not the cwd
    assert load_scenario(child).routes == load_scenario(tmp_path / "base" / "small.toml").routes


def test_provenance_of_merged_fields(in_data: Path) -> None:
    read = read_scenario_data("child_small.toml")
    assert read.source == "child_small.toml"
    assert read.provenance[("time", "end")] == "child_small.toml"
    assert read.provenance[("time", "start")] == "small.toml"
    jp = [f["id"] for f in read.data["facilities"]].index("jp_mag")
    assert read.provenance[("facilities", jp, "capacity")] == "child_small.toml"
    assert read.provenance[("facilities", jp, "region")] == "small.toml"
    assert read.removed == {"us_wind": "child_small.toml"}


# -------------------------------------------------------------------------- schema


def test_json_schema_describes_the_file() -> None:
    schema = scenario_json_schema()
    json.dumps(schema)  # serialisable as it is
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"time", "commodities", "facilities", "sinks", "routes", "events"} <= set(
        schema["properties"]
    )
    assert set(schema["required"]) == {"time", "commodities"}
    route = schema["$defs"]["Route"]
    assert "lead_time_days" in route["properties"] and route["additionalProperties"] is False
    assert {"ExportBan", "StockpileRelease", "LogNormal"} <= set(schema["$defs"])


def test_scenario_round_trips_through_its_dump(in_data: Path) -> None:
    sc = load_scenario("small.toml")
    again = Scenario.from_dict(sc.model_dump(exclude_none=True), source="dump")
    assert again == sc
