"""KPIs from hand-made logs: each case small enough to check with a pencil."""

from __future__ import annotations

from typing import Any

import pytest

from sim.bound import bounds
from sim.day import Day
from sim.kpis import Kpis, compute, percentile
from sim.log import Activity, CallStep, Recorder, RunLog, Segment, TaskKind, TaskStep
from tests.sim.helpers import arrivals, day_of, four_calls, tiny

H = 3600


STANDARD: dict[str, int | None] = {"H0001": 8, "H0002": 19, "H0003": 25, "H0004": 30}


def judged(minutes: dict[str, int | None]) -> Kpis:
    """The KPIs of four_calls() with the calls on scene after these minutes."""
    day = four_calls()
    return compute(day, arrivals(day, minutes), bounds(day))


def test_three_calls_8_19_25_minutes_two_thirds_in_time() -> None:
    """On scene after 8, 19 and 25 minutes: 2 of the 3 reachable calls within 20."""
    k = judged(STANDARD)
    c = k.calls
    assert (c.reachable, c.on_scene_in_time_reachable, c.pct_of_reachable) == (3, 2, 66.67)


def test_the_unreachable_call_is_reported_apart() -> None:
    """The 8-km call counts in 'of all' (2 of 4) but not among the reachable or late."""
    k = judged(STANDARD)
    c = k.calls
    assert (c.unreachable, c.pct_of_all, c.late_arrivals) == (1, 50.0, 1)
    assert (c.unreachable_on_scene_in_time, c.unreachable_response_s.max) == (0, 1800)


def test_a_call_never_reached_is_a_late_arrival() -> None:
    """No arrival at all: late, counted as 'never', and out of the response times."""
    k = judged({"H0001": 8, "H0002": None, "H0003": 12, "H0004": None})
    c = k.calls
    assert (c.late_arrivals, c.arrived_late, c.never_arrived) == (1, 0, 1)
    assert c.response_s.n == 2


def test_response_percentiles_are_nearest_rank() -> None:
    """8, 19, 25 and 30 minutes: p50 is the 2nd (19), p90 and p99 the 4th (30)."""
    k = judged(STANDARD)
    r = k.calls.response_s
    assert (r.p50, r.p90, r.p99, r.max) == (19 * 60, 30 * 60, 30 * 60, 30 * 60)


def test_percentile_of_ten_values() -> None:
    """1..10: p90 is 9, p99 is 10, p50 is 5."""
    values = list(range(1, 11))
    assert [percentile(values, p) for p in (50, 90, 99)] == [5, 9, 10]


def test_acceptance_offers_and_escalations() -> None:
    """The first offer times out (60 s), the operator alarm fires at 90 s, the second
    caregiver accepts at 100 s: 2 offers, acceptance after 100 s, one alarm."""
    day = day_of(tiny())
    call = day.calls[0]
    rec = Recorder()
    t = call.at_s
    rec.call(call.id, t, CallStep.PRESSED)
    rec.call(call.id, t + 1, CallStep.OFFERED, "st.1")
    rec.call(call.id, t + 61, CallStep.TIMED_OUT, "st.1")
    rec.call(call.id, t + 62, CallStep.OFFERED, "st.2")
    rec.call(call.id, t + 90, CallStep.ESCALATED, detail="operator_alarm")
    rec.call(call.id, t + 100, CallStep.ACCEPTED, "st.2")
    rec.call(call.id, t + 500, CallStep.ARRIVED, "st.2")
    rec.call(call.id, t + 900, CallStep.RESOLVED, "st.2")
    c = compute(day, rec.freeze("hand", 1), bounds(day)).calls
    assert (c.offers_mean, c.offers_max, c.time_to_accept_s.p50) == (2.0, 2, 100)
    assert c.escalations == {"operator_alarm": 1}


def visit_day() -> Day:
    data = tiny()
    data["bookings"] = {
        "kind": "list",
        "rows": [
            {"elder": "E1", "item": "chat", "start": "09:00", "end": "11:00"},
            {"elder": "E2", "item": "chat", "start": "09:00", "end": "11:00"},
            {"elder": "E2", "item": "bath-help", "start": "14:00", "end": "16:00"},
        ],
    }
    return day_of(data)


def visit_log(day: Day, starts: dict[str, int | None]) -> RunLog:
    rec = Recorder()
    for c in day.calls:
        rec.call(c.id, c.at_s, CallStep.CLOSED)
    for v in day.visits:
        s = starts[v.id]
        if s is None:
            rec.task(v.id, TaskKind.VISIT, 7 * H, TaskStep.MISSED, detail="no_qualified_caregiver")
            continue
        rec.task(v.id, TaskKind.VISIT, 7 * H, TaskStep.PLANNED, "st.1", 9 * H)
        rec.task(v.id, TaskKind.VISIT, s, TaskStep.STARTED, "st.1")
        rec.task(v.id, TaskKind.VISIT, s + 3600, TaskStep.DONE, "st.1")
    return rec.freeze("hand", 1)


def test_a_visit_is_late_after_fifteen_minutes_past_its_latest_start() -> None:
    """A 60-minute chat booked 09:00-11:00 must start by 10:00 to end inside its window:
    starting 10:14 is not late, 10:16 is."""
    day = visit_day()
    log = visit_log(day, {"V0001": 10 * H + 14 * 60, "V0002": 10 * H + 16 * 60, "V0003": None})
    v = compute(day, log, bounds(day)).visits
    assert (v.total, v.done, v.late_15) == (3, 2, 1)


def test_missed_visits_are_counted_by_reason() -> None:
    """The bath nobody is qualified for: one missed, with its reason."""
    day = visit_day()
    log = visit_log(day, {"V0001": 9 * H, "V0002": 9 * H, "V0003": None})
    v = compute(day, log, bounds(day)).visits
    assert v.missed_by_reason == {"no_qualified_caregiver": 1}


def meal_day() -> Day:
    data = tiny()
    data["district"]["stations"][0]["kitchen"] = {"name": "厨房"}  # lunch 11:00-12:30, 30 min
    data["meals"] = {"kind": "list", "rows": [{"elder": "E1"}, {"elder": "E2"}]}
    return day_of(data)


def test_meals_inside_the_window_and_within_thirty_minutes() -> None:
    """M1 leaves 11:00, arrives 11:20 (both good); M2 leaves 11:00, arrives 12:40 (late for
    the window and cold)."""
    day = meal_day()
    rec = Recorder()
    for c in day.calls:
        rec.call(c.id, c.at_s, CallStep.CLOSED)
    for m, done in (("M0001", 11 * H + 20 * 60), ("M0002", 12 * H + 40 * 60)):
        rec.task(m, TaskKind.MEAL, 11 * H, TaskStep.PICKED_UP, "st.1")
        rec.task(m, TaskKind.MEAL, done, TaskStep.DONE, "st.1")
    meals = compute(day, rec.freeze("hand", 1), bounds(day)).meals
    assert (meals.delivered, meals.in_window, meals.within_door_limit) == (2, 1, 1)


def test_travel_work_and_overtime_per_caregiver() -> None:
    """st.1 (08:00-17:00) rides 10 minutes and works 60 minutes from 16:30: 70 minutes of
    work, 10 of travel, 30 after the shift."""
    day = day_of(tiny())
    rec = Recorder()
    rec.call(day.calls[0].id, day.calls[0].at_s, CallStep.CLOSED)
    rec.segment(Segment("st.1", 16 * H + 20 * 60, 16 * H + 30 * 60, Activity.TRAVEL))
    rec.segment(Segment("st.1", 16 * H + 30 * 60, 17 * H + 30 * 60, Activity.VISIT))
    st1 = compute(day, rec.freeze("hand", 1), bounds(day)).caregivers[0]
    assert (st1.travel_min, st1.working_min, st1.overtime_min) == (10.0, 70.0, 30.0)


def test_completeness_names_what_has_no_outcome() -> None:
    """The call is pressed but never ends; a record names a call the day does not have."""
    day = day_of(tiny())
    rec = Recorder()
    rec.call("H0001", 36000, CallStep.PRESSED)
    rec.call("H0099", 36000, CallStep.PRESSED)
    c = compute(day, rec.freeze("hand", 1), bounds(day)).completeness
    assert (c.calls_without_outcome, c.unknown_ids, c.ok) == (("H0001",), ("H0099",), False)


def test_completeness_is_ok_when_everything_ended() -> None:
    """Every call resolved: nothing to report."""
    day = four_calls()
    log = arrivals(day, {"H0001": 8, "H0002": 19, "H0003": 25, "H0004": 30})
    assert compute(day, log, bounds(day)).completeness.ok


def one_carer_with_risk() -> dict[str, Any]:
    """One caregiver 08:00-17:00 at the station; E1 (600 m north) is high-risk."""
    data = tiny()
    del data["district"]["stations"][0]["caregivers"][1:]
    data["elders"]["rows"][0]["high_risk"] = True
    return data


def test_cover_counts_the_hours_nobody_is_on_duty() -> None:
    """Idle at the station all shift: E1 is covered 08:00-17:00, uncovered the other 900
    minutes of the day."""
    day = day_of(one_carer_with_risk())
    rec = Recorder()
    rec.call("H0001", 36000, CallStep.CLOSED)
    cover = compute(day, rec.freeze("hand", 1), bounds(day)).cover
    assert (cover.high_risk_elders, cover.uncovered_minutes, cover.elder_minutes) == (1, 900, 900)


def test_cover_counts_a_bath_that_cannot_be_left() -> None:
    """A non-interruptible hour at E1's own door from 10:00: nobody can come until
    end − 20 min, so 10:00-10:40 is uncovered too (40 more minutes)."""
    day = day_of(one_carer_with_risk())
    rec = Recorder()
    rec.call("H0001", 36000, CallStep.CLOSED)
    where = day.elders[0].location
    rec.segment(Segment("st.1", 10 * H, 11 * H, Activity.VISIT, "x", where, interruptible=False))
    cover = compute(day, rec.freeze("hand", 1), bounds(day)).cover
    assert cover.uncovered_minutes == 940


def test_cover_ignores_work_that_can_be_broken_off() -> None:
    """The same hour, interruptible: a minute to leave, so nothing more is uncovered."""
    day = day_of(one_carer_with_risk())
    rec = Recorder()
    rec.call("H0001", 36000, CallStep.CLOSED)
    where = day.elders[0].location
    rec.segment(Segment("st.1", 10 * H, 11 * H, Activity.VISIT, "x", where, interruptible=True))
    assert compute(day, rec.freeze("hand", 1), bounds(day)).cover.uncovered_minutes == 900


@pytest.mark.parametrize(("ref", "uncovered"), [("base", 900), ("V1", 946)])
def test_cover_counts_a_ride_back_to_base_as_free_where_she_left(ref: str, uncovered: int) -> None:
    """An hour's ride from 10:00, from E1's door to the station (E1 is 306 s from there).
    Riding back to base with nothing to do she is free at once from E1's door (the driver
    sends her from there): nothing more is uncovered. Riding to work she is free only on
    arrival at 11:00: until 10:45 that is more than 20 minutes away (46 more minutes)."""
    day = day_of(one_carer_with_risk())
    rec = Recorder()
    rec.call("H0001", 36000, CallStep.CLOSED)
    door, station = day.elders[0].location, day.stations[0].location
    rec.segment(Segment("st.1", 10 * H, 11 * H, Activity.TRAVEL, ref, station, door))
    assert compute(day, rec.freeze("hand", 1), bounds(day)).cover.uncovered_minutes == uncovered


def test_flat_names_for_comparing_runs() -> None:
    """The flat view has the headline figures under stable names."""
    flat = judged(STANDARD).flat()
    assert flat["calls.pct_of_reachable"] == 66.67
    assert flat["calls.response_s.p90"] == 1800
    assert "caregivers.overtime_min_total" in flat
