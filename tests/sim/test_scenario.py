"""Loading scenarios: each bad scenario is refused (or warned about) with the field and the
row named, and never with a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sim.scenario import Problem, ScenarioError, load_scenario, parse_scenario
from tests.sim.helpers import near, tiny


def problems(data: dict[str, Any]) -> list[Problem]:
    """The problems of a scenario: the errors raised, or else the warnings."""
    try:
        return list(parse_scenario(data).warnings)
    except ScenarioError as exc:
        return list(exc.problems)


def errors(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data)
    return [f"{p.path}: {p.message}" for p in caught.value.errors]


def test_the_tiny_scenario_is_valid_without_warnings() -> None:
    """The base every other test bends."""
    assert parse_scenario(tiny()).warnings == ()


def test_unknown_field_names_the_row_and_suggests_the_spelling() -> None:
    """A typo in a caregiver's row: the path names station "st", row 0, and the fix."""
    data = tiny()
    data["district"]["stations"][0]["caregivers"][0]["shfits"] = []
    (msg,) = errors(data)
    assert msg.startswith('district.stations[0 "st"].caregivers[0 "王芳"]: unknown field "shfits"')
    assert 'did you mean "shifts"' in msg


def test_unknown_top_level_field() -> None:
    """Unknown fields are refused at the top too."""
    data = tiny()
    data["weather"] = "hot"
    (msg,) = errors(data)
    assert 'unknown field "weather"' in msg


def test_station_without_caregivers() -> None:
    """No team, no day: an error on the station's caregivers."""
    data = tiny()
    data["district"]["stations"][0]["caregivers"] = []
    assert errors(data) == [
        'district.stations[0 "st"].caregivers: a station needs at least one caregiver'
    ]


def test_fewer_than_three_caregivers_is_a_warning() -> None:
    """DOMAIN.md: at least 3 full-time caregivers; the day still runs with 2."""
    data = tiny()
    del data["district"]["stations"][0]["caregivers"][2]
    (w,) = problems(data)
    assert w.severity == "warning" and "at least 3" in w.message


def test_elder_outside_every_circle_is_a_warning() -> None:
    """4 km out (the e-bike circle is 2.5 km): the day runs, the elder is named."""
    data = tiny()
    data["elders"]["rows"][1]["location"] = near(east_m=4000)
    (w,) = problems(data)
    assert w.severity == "warning"
    assert w.path == 'elders.rows[1 "E2"]' and "outside every station's service circle" in w.message


def test_elder_far_from_every_station_is_an_error() -> None:
    """80 km out is a coordinate mistake, not an elder of this station."""
    data = tiny()
    data["elders"]["rows"][1]["location"] = near(north_m=80_000)
    (msg,) = errors(data)
    assert msg.startswith('elders.rows[1 "E2"]: 80 km from the nearest station')


def test_overlapping_shifts() -> None:
    """08:00-17:00 and 16:00-20:00 overlap: the second shift is named."""
    data = tiny()
    data["district"]["stations"][0]["caregivers"][0]["shifts"].append(
        {"start": "16:00", "end": "20:00"}
    )
    (msg,) = errors(data)
    assert msg.startswith('district.stations[0 "st"].caregivers[0].shifts[1]: overlaps shifts[0]')


def test_overnight_shift_overlapping_the_morning() -> None:
    """20:00-09:00 runs into the 08:00 shift the next (wrapped) morning."""
    data = tiny()
    data["district"]["stations"][0]["caregivers"][0]["shifts"].append(
        {"start": "20:00", "end": "09:00", "on_call": True}
    )
    (msg,) = errors(data)
    assert "shifts[1]: overlaps shifts[0] (08:00-17:00)" in msg


def test_call_rate_of_zero() -> None:
    """A process whose every hourly rate is 0 has nothing to judge."""
    data = tiny()
    data["calls"] = {"kind": "generate", "rate_per_1000_per_hour": [0] * 24}
    (msg,) = errors(data)
    assert msg.startswith("calls.rate_per_1000_per_hour: every hourly rate is 0")


def test_rates_must_cover_24_hours() -> None:
    """23 rates: the schema names the field."""
    data = tiny()
    data["calls"] = {"kind": "generate", "rate_per_1000_per_hour": [1] * 23}
    (msg,) = errors(data)
    assert msg.startswith("calls.rate_per_1000_per_hour:") and "24" in msg


def test_swapped_lat_lng() -> None:
    """(116.4, 39.9) is (lng, lat): said so, on the station's location."""
    data = tiny()
    data["district"]["stations"][0]["location"] = {"lat": 116.4436, "lng": 39.9219}
    msgs = errors(data)
    assert any(m.startswith('district.stations[0 "st"].location:') and "swapped" in m for m in msgs)


def test_outside_china() -> None:
    """London is no place for a GCJ-02 scenario."""
    data = tiny()
    data["elders"]["rows"][0]["location"] = {"lat": 51.5, "lng": -0.12}
    (msg,) = errors(data)
    assert msg.startswith('elders.rows[0 "E1"].location:') and "outside China" in msg


def _bd09(p: dict[str, float]) -> dict[str, float]:
    """The BD-09 reading of a GCJ-02 point (Baidu's offset, about 0.006° north, 0.0065° east)."""
    import math

    x, y = p["lng"], p["lat"]
    z = math.sqrt(x * x + y * y) + 0.00002 * math.sin(y * math.pi * 3000 / 180)
    t = math.atan2(y, x) + 0.000003 * math.cos(x * math.pi * 3000 / 180)
    return {"lat": z * math.sin(t) + 0.006, "lng": z * math.cos(t) + 0.0065}


def test_elders_in_bd09_beside_a_gcj02_station_are_warned_about() -> None:
    """Elders copied from Baidu's map, station from Amap's: each sits ~ 800 m north-east of
    where it should; the warning names the coordinate system."""
    data = tiny()
    ring = [near(300, 0), near(-300, 0), near(0, 300), near(0, -300)]
    data["elders"]["rows"] = [{"id": f"E{k}", "location": _bd09(p)} for k, p in enumerate(ring)]
    data["calls"]["rows"][0]["elder"] = "E0"
    (w,) = [p for p in problems(data) if p.path == "coord_system"]
    assert w.severity == "warning" and "BD-09" in w.message


def test_elders_in_wgs84_beside_a_gcj02_station_are_warned_about() -> None:
    """Elders taken from raw GPS (WGS-84) while the station is GCJ-02: about 550 m
    south-west of where they should be; the warning names WGS-84."""
    from server.geo import gcj02_to_wgs84

    data = tiny()
    ring = [near(300, 0), near(-300, 0), near(0, 300), near(0, -300)]
    rows = []
    for k, p in enumerate(ring):
        lat, lng = gcj02_to_wgs84(p["lat"], p["lng"])
        rows.append({"id": f"E{k}", "location": {"lat": lat, "lng": lng}})
    data["elders"]["rows"] = rows
    data["calls"]["rows"][0]["elder"] = "E0"
    (w,) = [p for p in problems(data) if p.path == "coord_system"]
    assert w.severity == "warning" and "WGS-84" in w.message


def test_elders_around_their_station_raise_no_coordinate_warning() -> None:
    """The same ring, in GCJ-02: nothing to say."""
    data = tiny()
    ring = [near(300, 0), near(-300, 0), near(0, 300), near(0, -300)]
    data["elders"]["rows"] = [{"id": f"E{k}", "location": p} for k, p in enumerate(ring)]
    data["calls"]["rows"][0]["elder"] = "E0"
    assert problems(data) == []


def test_a_call_for_an_unknown_elder() -> None:
    """References between lists are checked, with the row named by its elder."""
    data = tiny()
    data["calls"]["rows"][0]["elder"] = "E9"
    assert errors(data) == ['calls.rows[0 elder "E9"].elder: no elder "E9"']


def test_a_sick_caregiver_who_does_not_exist() -> None:
    """Caregivers are STATION.N; st has three."""
    data = tiny()
    data["disruptions"] = [{"kind": "sick", "caregiver": "st.4", "at": "10:00"}]
    (msg,) = errors(data)
    assert msg.startswith("disruptions[0 sick].caregiver:") and '"st.4"' in msg


def test_unknown_skill() -> None:
    """Skills come from the registry's list."""
    data = tiny()
    data["district"]["stations"][0]["caregivers"][0]["skills"] = ["juggling"]
    (msg,) = errors(data)
    assert 'caregivers[0 "王芳"].skills' in msg and "juggling" in msg


def test_unknown_menu_item() -> None:
    """A booking of something the menu does not have."""
    data = tiny()
    data["bookings"] = {
        "kind": "list",
        "rows": [{"elder": "E1", "item": "massage", "start": "09:00", "end": "11:00"}],
    }
    (msg,) = errors(data)
    assert msg.startswith('bookings.rows[0 elder "E1"].item: "massage" is not on the menu')


def test_meals_without_a_kitchen() -> None:
    """Lunch needs a kitchen somewhere."""
    data = tiny()
    data["meals"] = {"kind": "list", "rows": [{"elder": "E1"}]}
    assert errors(data) == ["meals.rows: meals are ordered but no station has a kitchen"]


def test_calls_when_nobody_is_on_duty_are_a_warning() -> None:
    """A day team and a round-the-clock rate: the night hours are listed."""
    data = tiny()
    data["calls"] = {"kind": "generate", "rate_per_1000_per_hour": [1] * 24}
    (w,) = problems(data)
    assert w.severity == "warning" and "00:00" in w.message and "08:00" not in w.message


def test_wrong_kind_of_list() -> None:
    """The tag says which shape: a made-up one is named."""
    data = tiny()
    data["elders"]["kind"] = "import"
    (msg,) = errors(data)
    assert msg.startswith("elders:") and "'list', 'generate'" in msg


def test_a_file_that_is_not_json(tmp_path: Path) -> None:
    """Line and column of the JSON error."""
    path = tmp_path / "bad.json"
    path.write_text('{"name": "x",\n  oops}', encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert "not JSON at line 2" in caught.value.text()


def test_a_missing_file(tmp_path: Path) -> None:
    """Cannot read: a ScenarioError, not an OSError."""
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "none.json")
    assert "cannot read" in caught.value.text()


def test_the_printable_form_lists_every_problem(tmp_path: Path) -> None:
    """Two errors, both printed under the file's name."""
    data = tiny()
    data["district"]["stations"][0]["caregivers"] = []
    data["calls"]["rows"][0]["elder"] = "E9"
    path = tmp_path / "two.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    text = caught.value.text().splitlines()
    assert text[0] == f"{path}: 2 errors, the day cannot run"
    assert len(text) == 3 and all(line.startswith("  error: ") for line in text[1:])


def test_wgs84_scenarios_are_converted_to_gcj02() -> None:
    """A scenario may be written in WGS-84: its points are moved by the GCJ-02 offset."""
    from sim.scenario import geo

    data = tiny()
    data["coord_system"] = "wgs84"
    s = parse_scenario(data).scenario
    p = geo(s, s.district.stations[0].location)
    assert 0.0005 < p.lat - 39.9219 < 0.003 and 0.004 < p.lng - 116.4436 < 0.008


def test_a_rate_that_would_draw_a_flood_of_calls() -> None:
    """1,000 per 1,000 elders per hour (the most an hour may have) for 50 elders all day
    is 1,200 calls, fine; with a surge of 20 on top it is 24,000: refused as a typo."""
    data = tiny()
    data["calls"] = {"kind": "generate", "rate_per_1000_per_hour": [1000] * 24}
    data["elders"] = {"kind": "generate", "count": 50, "scattered_share": 1}
    data["district"]["stations"][0]["caregivers"][0]["shifts"] = [
        {"start": "00:00", "end": "24:00"}
    ]
    assert parse_scenario(data).warnings == ()
    data["disruptions"] = [{"kind": "surge", "start": "10:00", "end": "11:00", "factor": 20}]
    (msg,) = errors(data)
    assert msg.startswith("calls.rate_per_1000_per_hour: about 24,000 calls a day")


def test_bookings_the_booking_service_will_refuse_are_warnings() -> None:
    """A bath in a 60-minute window (it takes 90) and a chat overlapping an earlier chat of the
    same elder: the day runs, and validate says why those visits will be missed."""
    data = tiny()
    data["bookings"] = {
        "kind": "list",
        "rows": [
            {"elder": "E1", "item": "bath-help", "start": "09:00", "end": "10:00"},
            {"elder": "E2", "item": "chat", "start": "09:00", "end": "11:00"},
            {"elder": "E2", "item": "chat", "start": "10:30", "end": "12:30"},
            {"elder": "E2", "item": "chat", "start": "11:00", "end": "13:00"},
        ],
    }
    short, double = (str(p) for p in problems(data))
    assert short.startswith('warning: bookings.rows[0 elder "E1"].end: the window is shorter')
    assert double.startswith(
        'warning: bookings.rows[2 elder "E2"].start: overlaps bookings.rows[1]'
    )
