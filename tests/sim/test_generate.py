"""Generating the day: deterministic for (scenario, seed), streams that do not disturb one
another, and the pieces (places, shifts, disruptions, draws) as the scenario says."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatch.geo import GeoPoint, haversine_m
from schemas.hotline import PressOutcome
from sim.day import Day, stream
from sim.generate import apportion, generate, in_disc
from sim.scenario import load_scenario
from tests.sim.helpers import CENTRE, day_of, near, scenario, tiny

SIMS = Path(__file__).resolve().parents[2] / "sims"


def demo_day(seed: int) -> Day:
    return generate(load_scenario(SIMS / "canghong.json").scenario, seed)


def test_same_seed_same_day() -> None:
    """Two generations of the demo with seed 7 are equal, field by field."""
    assert demo_day(7) == demo_day(7)


def test_different_seed_different_calls() -> None:
    """Seeds 1 and 2 give different help calls."""
    a, b = demo_day(1), demo_day(2)
    assert [(c.at_s, c.elder_id) for c in a.calls] != [(c.at_s, c.elder_id) for c in b.calls]


def test_more_calls_do_not_move_the_elders() -> None:
    """Doubling the call rate leaves elders, caregivers and visits exactly as they were."""
    data = tiny()
    data["elders"] = {"kind": "generate", "count": 50, "scattered_share": 1.0}
    data["bookings"] = {"kind": "generate", "count": 10}
    data["calls"] = {"kind": "generate", "rate_per_1000_per_hour": [0] * 8 + [5] * 9 + [0] * 7}
    one = day_of(data, 3)
    data["calls"]["rate_per_1000_per_hour"] = [0] * 8 + [10] * 9 + [0] * 7
    two = day_of(data, 3)
    assert (one.elders, one.caregivers, one.visits) == (two.elders, two.caregivers, two.visits)
    assert len(two.calls) > len(one.calls)


def test_apportion_adds_up() -> None:
    """100 split 3:2:1 is 50, 33, 17 (largest remainder goes to the 16.7)."""
    assert apportion(100, [3, 2, 1]) == [50, 33, 17]


def test_points_in_a_disc_stay_inside() -> None:
    """1,000 draws within 150 m of the centre."""
    rng = stream(1, "test")
    c = GeoPoint(CENTRE["lat"], CENTRE["lng"])
    assert max(haversine_m(c, in_disc(rng, c, 150)) for _ in range(1000)) <= 150.5


def test_compounds_get_their_share() -> None:
    """Sizes 3 and 1, nothing scattered: 30 and 10 of 40 elders."""
    data = tiny()
    data["elders"] = {
        "kind": "generate",
        "count": 40,
        "scattered_share": 0,
        "compounds": [
            {"name": "A", "centre": near(200, 0), "size": 3},
            {"name": "B", "centre": near(-200, 0), "size": 1},
        ],
    }
    data["calls"]["rows"][0]["elder"] = "E0001"
    day = day_of(data)
    assert [e.compound for e in day.elders].count("A") == 30
    assert [e.compound for e in day.elders].count("B") == 10


def test_an_overnight_shift_wraps_within_the_day() -> None:
    """20:00-08:00 on call is on duty 00:00-08:00 and 20:00-24:00 of the simulated day."""
    data = tiny()
    data["district"]["stations"][0]["caregivers"][2]["shifts"] = [
        {"start": "20:00", "end": "08:00", "on_call": True}
    ]
    c = day_of(data).caregivers[2]
    assert [(s.start_s, s.end_s, s.on_call) for s in c.shifts] == [
        (0, 8 * 3600, True),
        (20 * 3600, 24 * 3600, True),
    ]
    assert c.on_duty(3 * 3600) and not c.on_duty(12 * 3600)


def test_off_sick_ends_the_duty() -> None:
    """st.2 off sick at 10:00: on duty at 09:59, not at 10:00."""
    data = tiny()
    data["disruptions"] = [{"kind": "sick", "caregiver": "st.2", "at": "10:00"}]
    c = day_of(data).caregiver_by_id["st.2"]
    assert c.on_duty(10 * 3600 - 1) and not c.on_duty(10 * 3600)


@pytest.mark.parametrize(
    ("at_h", "until_h"),
    [
        (12.0, 24),  # the day shift runs into night call: one stretch to midnight
        (21.0, 24),  # night call to the end of the simulated day
        (3.0, 8),  # night call from midnight
        (10.5, None),  # between the night and the day shift: off duty
    ],
)
def test_a_stretch_of_duty_runs_through_spans_that_meet(at_h: float, until_h: int | None) -> None:
    """11:00-20:00, then 20:00-08:00 on call: on duty 00:00-08:00 and 11:00-24:00."""
    data = tiny()
    data["district"]["stations"][0]["caregivers"][2]["shifts"] = [
        {"start": "11:00", "end": "20:00"},
        {"start": "20:00", "end": "08:00", "on_call": True},
    ]
    c = day_of(data).caregivers[2]
    assert c.duty_until(round(at_h * 3600)) == (None if until_h is None else until_h * 3600)


def test_a_stretch_of_duty_ends_when_she_falls_sick() -> None:
    """st.2 (08:00-17:00) off sick at 10:00: at 09:00 her duty ends at 10:00."""
    data = tiny()
    data["disruptions"] = [{"kind": "sick", "caregiver": "st.2", "at": "10:00"}]
    c = day_of(data).caregiver_by_id["st.2"]
    assert c.duty_until(9 * 3600) == 10 * 3600


def test_listed_calls_and_repeats() -> None:
    """A listed press with a repeat 90 s later: two presses, the second names the first."""
    data = tiny()
    data["calls"]["rows"][0]["repeat_after_s"] = 90
    first, again = day_of(data).calls
    assert (first.at_s, again.at_s, again.repeat_of) == (36000, 36090, first.id)
    assert first.real_emergency and not again.real_emergency


def test_a_listed_false_alarm_is_no_real_emergency() -> None:
    """false_alarm: an accidental press, outside the 20-minute count."""
    data = tiny()
    data["calls"]["rows"][0]["false_alarm"] = True
    (call,) = day_of(data).calls
    assert call.outcome is PressOutcome.ACCIDENTAL and not call.real_emergency


def test_offer_answers_are_the_same_for_the_same_question() -> None:
    """The same caregiver asked about the same call answers the same way, whatever else
    was asked before (common random numbers across policies)."""
    day = day_of(tiny())
    call = day.calls[0].id
    first = day.offer_answer("st.1", call)
    day.offer_answer("st.2", call)
    assert day.offer_answer("st.1", call) == first


def test_a_caregiver_who_never_answers() -> None:
    """accept 0 and decline 0: every offer times out."""
    data = tiny()
    data["district"]["stations"][0]["caregivers"][0]["answers"] = {"accept": 0, "decline": 0}
    day = day_of(data)
    assert {day.offer_answer("st.1", "H0001", k).answer for k in range(1, 20)} == {"none"}


def test_a_slow_area_multiplies_trips_touching_it() -> None:
    """Factor 2 around the elder from 09:00 to 11:00: the 10:00 trip takes twice as long
    (without noise), the 12:00 one does not."""
    data = tiny()
    data["disruptions"] = [
        {"kind": "slow_area", "centre": near(0, 600), "radius_m": 100, "factor": 2,
         "start": "09:00", "end": "11:00"}
    ]  # fmt: skip
    day = day_of(data)
    st, elder = day.stations[0].location, day.calls[0].location
    plain = day.travel_model().seconds(st, elder, day.caregivers[0].mode)
    assert day.trip_s("st.1", st, elder, 10 * 3600, "k") == 2 * plain
    assert day.trip_s("st.1", st, elder, 12 * 3600, "k") == plain


def test_bookings_fall_inside_the_station_hours() -> None:
    """200 generated visits, every window inside 08:00-18:00."""
    data = tiny()
    data["bookings"] = {"kind": "generate", "count": 200}
    day = day_of(data)
    assert all(8 * 3600 <= v.window_start_s < v.window_end_s <= 18 * 3600 for v in day.visits)


def test_no_elder_is_booked_twice_at_overlapping_times() -> None:
    """The booking service refuses a window that overlaps another booking of the same elder
    (booking.double_booked), so the generator never draws one: the five-station day's 400
    visits (30 of which used to overlap) and a crowded day of 12 visits for 2 elders."""
    five = generate(load_scenario(SIMS / "chaoyang-five.json").scenario, 1)
    data = tiny()
    data["bookings"] = {"kind": "generate", "count": 12}
    for day in (five, day_of(data)):
        by_elder: dict[str, list[tuple[int, int]]] = {}
        for v in day.visits:
            mine = by_elder.setdefault(v.elder_id, [])
            assert not any(a < v.window_end_s and v.window_start_s < b for a, b in mine), v.id
            mine.append((v.window_start_s, v.window_end_s))
    assert len(five.visits) == 400


def test_meals_are_one_per_elder_at_kitchen_stations() -> None:
    """30 meals among 40 elders: 30 distinct elders."""
    data = tiny()
    data["district"]["stations"][0]["kitchen"] = {"name": "厨房"}
    data["elders"] = {"kind": "generate", "count": 40, "scattered_share": 1}
    data["calls"]["rows"][0]["elder"] = "E0001"
    data["meals"] = {"kind": "generate", "count": 30}
    meals = day_of(data).meals
    assert len({m.elder_id for m in meals}) == 30


def test_the_five_station_day_has_the_issue_s_figures() -> None:
    """About 2,000 elders, 25 caregivers, 400 visits, 250 meals (the calls are drawn)."""
    day = generate(load_scenario(SIMS / "chaoyang-five.json").scenario, 1)
    counts = (len(day.elders), len(day.caregivers), len(day.visits), len(day.meals))
    assert counts == (2000, 25, 400, 250)


def test_the_day_converts_to_instants_in_shanghai() -> None:
    """10:00 local on 2026-11-23 is 02:00 UTC."""
    day = day_of(tiny())
    assert day.at(10 * 3600).isoformat() == "2026-11-23T02:00:00+00:00"


def test_solver_limits_are_work_not_time() -> None:
    """The day plan stops after its solution count; regions (time-sliced) are off."""
    day = generate(scenario(tiny()), 1)
    p = day.solver_params("day_plan")
    assert p.solution_limit == 200 and p.regions is False
