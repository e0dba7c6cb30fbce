"""Day plans on tiny instances a person can check by hand, and bad input."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dispatch.dayplan import insert_emergency, plan_day
from dispatch.geo import GeoPoint
from dispatch.model import (
    HOUR,
    DayPlan,
    DaySnapshot,
    Priority,
    Route,
    UnassignedWhy,
    latest_start_s,
)
from tests.dispatch.helpers import PARAMS, STATION, at, caregiver, task


def why(plan: object, tid: str) -> UnassignedWhy | None:
    """The reason a task is unassigned, or None when it is planned."""
    for u in plan.unassigned:  # type: ignore[attr-defined]
        if u.task_id == tid:
            return u.why  # type: ignore[no-any-return]
    return None


def test_a_window_that_forces_the_order() -> None:
    """One caregiver; B must start by 9:10, A not before 10:00. B goes first though listed second."""
    snap = DaySnapshot(
        STATION,
        (caregiver(1),),
        (task("A", 1, 0, 10, 10.5), task("B", -1, 0, 9, 9 + 10 / 60)),
    )
    plan = plan_day(snap, PARAMS)
    assert [v.task_id for v in plan.routes[0].visits] == ["B", "A"]
    assert plan.unassigned == ()


def test_a_skill_only_one_has() -> None:
    """Only caregiver 2 can bathe; the bath goes to 2 even though 1 is just as close."""
    snap = DaySnapshot(
        STATION,
        (caregiver(1), caregiver(2, skills=frozenset({"bath"}))),
        (task("bath", 0.5, 0.5, required_skills=frozenset({"bath"})),),
    )
    assert plan_day(snap, PARAMS).assignment() == {"bath": 2}


def test_two_caregivers_one_busy() -> None:
    """Caregiver 1 goes off shift at 10:00; the 11:00 visit goes to caregiver 2."""
    snap = DaySnapshot(
        STATION, (caregiver(1, 8, 10), caregiver(2, 8, 17)), (task("late", 1, 1, 11, 11.5),)
    )
    assert plan_day(snap, PARAMS).assignment() == {"late": 2}


def test_priority_decides_what_is_dropped() -> None:
    """One caregiver, two 2-hour visits 4 km apart at the same time: the essential one stays."""
    snap = DaySnapshot(
        STATION,
        (caregiver(1, 8, 12),),
        (
            task("low", -2, 0, 9, 9.1, 120, priority=Priority.LOW),
            task("essential", 2, 0, 9, 9.1, 120, priority=Priority.ESSENTIAL),
        ),
    )
    plan = plan_day(snap, PARAMS)
    assert plan.assignment() == {"essential": 1}
    assert why(plan, "low") is UnassignedWhy.NO_ROOM


def test_continuity_prefers_the_usual_caregiver() -> None:
    """Two identical caregivers; the elder's usual caregiver (2) gets the visit."""
    snap = DaySnapshot(
        STATION, (caregiver(1), caregiver(2)), (task("visit", 1, 0, preferred_caregiver=2),)
    )
    assert plan_day(snap, PARAMS).assignment() == {"visit": 2}


def test_pinned_task_stays_first_with_its_caregiver() -> None:
    """A task en route with caregiver 1 stays with 1, first, though 2 would be as good."""
    snap = DaySnapshot(
        STATION,
        (caregiver(1), caregiver(2)),
        (task("other", 0.2, 0, 9, 17), task("enroute", 2, 2, 9, 17, pinned_to=1)),
        now_s=9 * HOUR,
    )
    plan = plan_day(snap, PARAMS)
    route = next(r for r in plan.routes if r.caregiver_id == 1)
    assert route.visits[0].task_id == "enroute"


def test_lunch_break_leaves_a_half_hour_gap() -> None:
    """Back-to-back visits all day: somewhere between 11:30 and 13:30 there is a 30-min gap."""
    tasks = tuple(task(f"t{i}", 0.3 * (i % 3), 0.3, 9, 16, 40) for i in range(8))
    snap = DaySnapshot(STATION, (caregiver(1, 9, 17, lunch=True),), tasks)
    plan = plan_day(snap, PARAMS)
    visits = plan.routes[0].visits
    assert len(visits) >= 6
    gaps = [
        (a.end_s, b.start_s - b.travel_s)
        for a, b in zip(visits, visits[1:], strict=False)
        if b.start_s - b.travel_s - a.end_s >= 30 * 60
    ]
    assert any(s >= 11.5 * HOUR and e <= 14 * HOUR for s, e in gaps) or (
        visits[0].start_s - visits[0].travel_s >= 12 * HOUR or visits[-1].end_s <= 11.5 * HOUR
    )


@pytest.mark.parametrize(
    "bad, expected",
    [
        (task("sea", 0, 0), UnassignedWhy.BAD_LOCATION),
        (task("window", 1, 1, 12, 11), UnassignedWhy.BAD_WINDOW),
        (task("closed", 1, 1, 8, 9), UnassignedWhy.WINDOW_CLOSED),
        (
            task("skill", 1, 1, required_skills=frozenset({"nasal_feeding"})),
            UnassignedWhy.NO_QUALIFIED,
        ),
        (task("night", 1, 1, 20, 21), UnassignedWhy.NO_SHIFT),
        (task("ghost", 1, 1, pinned_to=99), UnassignedWhy.PIN_INVALID),
    ],
)
def test_bad_task_is_reported_not_raised(bad: object, expected: UnassignedWhy) -> None:
    """Each kind of bad task is reported with its reason; the good task is still planned."""
    if getattr(bad, "task_id", "") == "sea":
        bad = replace(bad, location=GeoPoint(0.0, 0.0))  # type: ignore[type-var]
    snap = DaySnapshot(STATION, (caregiver(1),), (task("good", 1, 0), bad), now_s=10 * HOUR)  # type: ignore[arg-type]
    plan = plan_day(snap, PARAMS)
    assert why(plan, bad.task_id) is expected  # type: ignore[attr-defined]
    assert plan.assignment() == {"good": 1}
    assert all(u.text for u in plan.unassigned)


def test_duplicate_task_is_reported_once() -> None:
    """The same task id twice: the first is planned, the second reported as a duplicate."""
    snap = DaySnapshot(STATION, (caregiver(1),), (task("t", 1, 0), task("t", 2, 0)))
    plan = plan_day(snap, PARAMS)
    assert plan.assignment() == {"t": 1}
    assert [(u.task_id, u.why) for u in plan.unassigned] == [("t", UnassignedWhy.DUPLICATE)]


def test_empty_team() -> None:
    """No caregivers: every task is reported, no exception."""
    plan = plan_day(DaySnapshot(STATION, (), (task("a", 1, 0),)), PARAMS)
    assert plan.routes == () and why(plan, "a") is UnassignedWhy.NO_TEAM


def test_empty_day() -> None:
    """No tasks: empty routes for everyone."""
    plan = plan_day(DaySnapshot(STATION, (caregiver(1), caregiver(2)), ()), PARAMS)
    assert [r.visits for r in plan.routes] == [(), ()] and plan.unassigned == ()


def test_shift_with_no_time() -> None:
    """A shift that ends when it starts takes nothing; the other caregiver does the work."""
    snap = DaySnapshot(STATION, (caregiver(1, 9, 9), caregiver(2)), (task("a", 1, 0, 9, 12),))
    assert plan_day(snap, PARAMS).assignment() == {"a": 2}


def test_same_seed_same_plan() -> None:
    """Same inputs, same seed, a solution limit: the same plan twice."""
    tasks = tuple(task(f"t{i}", (i % 4) - 1.5, (i // 4) - 1.0, 8, 16, 30) for i in range(12))
    snap = DaySnapshot(STATION, (caregiver(1), caregiver(2), caregiver(3)), tasks)
    a, b = plan_day(snap, PARAMS), plan_day(snap, PARAMS)
    assert a.routes == b.routes and a.unassigned == b.unassigned


def test_replan_without_change_is_an_empty_diff() -> None:
    """Planning again from the plan in force changes nothing."""
    tasks = tuple(task(f"t{i}", (i % 3) - 1, (i // 3) - 1, 8, 16, 30) for i in range(6))
    snap = DaySnapshot(STATION, (caregiver(1), caregiver(2)), tasks)
    first = plan_day(snap, PARAMS)
    again = plan_day(replace(snap, previous=first), PARAMS)
    assert again.assignment() == first.assignment()
    assert not again.diff.moved and not again.diff.added and not again.diff.removed


def test_emergency_goes_first_and_the_rest_is_repaired() -> None:
    """A help call at 10:00 goes first to caregiver 1; nothing is lost, changes are a diff."""
    tasks = tuple(task(f"t{i}", (i % 3) - 1, (i // 3) - 1, 10, 16, 30) for i in range(6))
    team = (caregiver(1), caregiver(2))
    plan = plan_day(DaySnapshot(STATION, team, tasks), PARAMS)
    now = 10 * HOUR
    em = task("help", 0.5, 0.5, 10, 10.3, 30)
    after = insert_emergency(DaySnapshot(STATION, team, tasks, now, plan), em, 1, PARAMS)
    route1 = next(r for r in after.routes if r.caregiver_id == 1)
    assert route1.visits[0].task_id == "help"
    assert ("help", 1) in after.diff.added
    planned = set(after.assignment()) | {u.task_id for u in after.unassigned}
    assert planned == {t.task_id for t in tasks} | {"help"}


def test_emergency_waits_for_work_that_cannot_be_broken_off() -> None:
    """Caregiver 1 is mid-bath (pinned, not interruptible): the bath first, then the call."""
    bath = task("bath", 0.2, 0, 9, 17, 40, pinned_to=1, interruptible=False)
    team = (caregiver(1),)
    now = 10 * HOUR
    snap = DaySnapshot(STATION, team, (bath,), now)
    after = insert_emergency(snap, task("help", 0.5, 0.5, 10, 10.3, 30), 1, PARAMS)
    bath_v, help_v = after.routes[0].visits
    assert (bath_v.task_id, help_v.task_id) == ("bath", "help")
    assert bath_v.start_s == now + bath_v.travel_s
    # The call is reached right after the bath: no waiting, no double-counted bath.
    assert help_v.start_s == bath_v.end_s + help_v.travel_s


def test_near_tasks_keep_their_caregiver_when_a_task_is_added() -> None:
    """A new booking arrives at 8:00; visits starting before 10:00 stay with their caregiver."""
    tasks = tuple(
        task(f"t{i}", (i % 3) - 1, (i // 3) - 0.5, 8.5 + i * 0.5, 9 + i * 0.5, 20) for i in range(6)
    )
    team = (caregiver(1), caregiver(2))
    first = plan_day(DaySnapshot(STATION, team, tasks), PARAMS)
    added = (*tasks, task("new", 0.5, 0.5, 9, 12, 30))
    again = plan_day(DaySnapshot(STATION, team, added, 8 * HOUR, first), PARAMS)
    for pv in (v for r in first.routes for v in r.visits):
        if pv.start_s <= 10 * HOUR:
            assert again.assignment().get(pv.task_id) == pv.caregiver_id
    assert ("new", again.assignment()["new"]) in again.diff.added


def test_emergency_breaks_off_interruptible_work() -> None:
    """Caregiver 1 is chatting with an elder (pinned, may be broken off): the help call goes
    first, the chat is re-planned after it or reported, never before it."""
    chat = task("chat", 0.2, 0, 9, 12, 40, pinned_to=1, interruptible=True)
    snap = DaySnapshot(STATION, (caregiver(1),), (chat,), 10 * HOUR)
    after = insert_emergency(snap, task("help", 0.5, 0.5, 10, 10.3, 30), 1, PARAMS)
    order = [v.task_id for v in after.routes[0].visits]
    assert order[0] == "help"
    assert "chat" in order[1:] or any(u.task_id == "chat" for u in after.unassigned)


def test_pinned_work_of_a_caregiver_with_a_known_location() -> None:
    """Caregiver 1 is out at a known place, en route to a visit; the place they leave behind
    is not a visit, and the rest of the day is still planned."""
    cg = replace(caregiver(1), location=at(1, 1))
    tasks = (task("enroute", 1.2, 1.2, 9, 17, pinned_to=1), task("later", -1, 0, 9, 17))
    plan = plan_day(DaySnapshot(STATION, (cg,), tasks, 10 * HOUR), PARAMS)
    assert [v.task_id for v in plan.routes[0].visits] == ["enroute", "later"]
    assert plan.unassigned == ()


def test_displaced_tasks_go_to_an_idle_colleague_not_dropped() -> None:
    """Caregiver 1 has six visits from 10:00, one every 45 minutes; caregiver 2 is idle. A
    90-minute help call at 10:00 goes to 1: the first visits no longer fit 1's day and must
    move to 2, never be dropped (stability used to cost more than dropping them)."""
    team = (caregiver(1), caregiver(2, 8, 17))
    tasks = tuple(
        task(f"t{i}", 0.2 * i, 0.1, 10 + i * 0.75, 10.5 + i * 0.75, 40, preferred_caregiver=1)
        for i in range(6)
    )
    before = plan_day(DaySnapshot(STATION, team, tasks), PARAMS)
    em = task("help", 0.5, 0.5, 10, 10.3, 90)
    after = insert_emergency(DaySnapshot(STATION, team, tasks, 10 * HOUR, before), em, 1, PARAMS)
    assert after.unassigned == ()
    assert after.assignment()["help"] == 1
    assert {t for t, c in after.assignment().items() if c == 2}  # someone moved to 2
    assert all(m[2] == 2 for m in after.diff.moved)


def test_a_near_task_moves_rather_than_is_dropped() -> None:
    """A LOW-priority visit at 10:00 was planned for caregiver 1, who now has to leave at
    9:30. Caregiver 2 is free: the visit moves to 2 (moving a near task costs less than
    dropping it, whatever the stability weight)."""
    visit = task("low", 1, 0, 10, 10.5, 30, priority=Priority.LOW)
    first = plan_day(DaySnapshot(STATION, (caregiver(1),), (visit,)), PARAMS)
    assert first.assignment() == {"low": 1}
    shortened = (caregiver(1, 8, 9.5), caregiver(2))
    again = plan_day(DaySnapshot(STATION, shortened, (visit,), 9 * HOUR, first), PARAMS)
    assert again.assignment() == {"low": 2}
    assert again.diff.moved == (("low", 1, 2),)


def test_a_plan_in_force_that_knows_no_task_is_no_worse_than_a_cold_start() -> None:
    """The plan in force has no visits (it was made before today's 30 bookings came in).
    Re-planning from it must be as good as planning from scratch: it used to count as a warm
    start and only be polished, 16% more travel on this day."""
    from bench.station import generate_station

    snap = generate_station(3, 30)
    # Stopped by the solution count, not the clock: a loaded machine must not decide it.
    params = replace(PARAMS, solver=replace(PARAMS.solver, time_limit_s=60.0))
    cold = plan_day(snap, params)
    empty = DayPlan(tuple(Route(c.caregiver_id, (), 0, 0, 0) for c in snap.caregivers), (), 0, 0, 0)
    warm = plan_day(replace(snap, previous=empty), params)
    assert len(warm.unassigned) <= len(cold.unassigned)
    assert warm.travel_s <= cold.travel_s * 1.02


def test_max_work_counts_what_was_done_before_a_replan() -> None:
    """Caregiver 1 may work 4 hours and set out at about 8:00. Re-planned at 12:00 with the
    morning's visits done, there is no working time left: nothing more is planned (the
    4 hours used to be counted again from noon)."""
    cg = replace(caregiver(1, 8, 18), max_work_s=4 * HOUR)
    tasks = tuple(task(f"t{i}", 0.3 * (i % 3), 0.3, 8, 18, 30) for i in range(14))
    morning = plan_day(DaySnapshot(STATION, (cg,), tasks), PARAMS)
    done = {v.task_id for v in morning.routes[0].visits}
    assert done and morning.routes[0].start_s < 8.5 * HOUR
    left = tuple(t for t in tasks if t.task_id not in done)
    noon = plan_day(DaySnapshot(STATION, (cg,), left, 12 * HOUR, morning), PARAMS)
    assert noon.routes[0].visits == ()
    assert {u.why for u in noon.unassigned} == {UnassignedWhy.NO_ROOM}


def test_workload_is_balanced_in_minutes_not_visits() -> None:
    """Two 2-hour baths and two 10-minute checks at one block of flats, two caregivers.
    One caregiver doing everything rides least; balancing visit counts would allow two
    baths for one and two checks for the other. Balanced in minutes, each gets one bath."""
    tasks = (
        task("bath1", 1, 0, 8, 14, 120),
        task("bath2", 1, 0, 8, 14, 120),
        task("check1", 1, 0, 8, 14, 10),
        task("check2", 1, 0, 8, 14, 10),
    )
    plan = plan_day(DaySnapshot(STATION, (caregiver(1), caregiver(2)), tasks), PARAMS)
    assert plan.unassigned == ()
    baths = [sum(v.task_id.startswith("bath") for v in r.visits) for r in plan.routes]
    assert baths == [1, 1]


def test_a_point_far_out_at_sea_is_unreachable_with_its_distance() -> None:
    """A station on the Dalian coast and a task 20 km out in the Bohai: not "no room in the
    plan" but unreachable, with the distance for the operator."""
    coast = GeoPoint(38.95, 121.6)
    sea = replace(task("sea", 0, 0), location=GeoPoint(38.95, 121.83))
    near_coast = replace(task("ok", 0, 0), location=GeoPoint(38.951, 121.601))
    plan = plan_day(DaySnapshot(coast, (caregiver(1),), (sea, near_coast)), PARAMS)
    assert plan.assignment() == {"ok": 1}
    [u] = plan.unassigned
    assert u.why is UnassignedWhy.UNREACHABLE and u.why.value == "unreachable_location"
    assert u.distance_m is not None and 19_000 < u.distance_m < 21_000
    assert "19.9公里" in u.text


def test_fallback_plan_keeps_the_plan_in_force_and_respects_windows_and_skills() -> None:
    """Without the solver (it timed out): the plan in force stays as it was, a help call
    pinned to caregiver 1 goes first, and what no longer fits is reported, never lost."""
    from dispatch.dayplan import emergency_snapshot, fallback_plan

    team = (caregiver(1), caregiver(2, skills=frozenset({"bath"})))
    tasks = (
        task("a", 1, 0, 10, 12, 30),
        task("b", -1, 0, 10, 16, 30),
        task("bath", 0.5, 0.5, 9, 17, 45, required_skills=frozenset({"bath"})),
    )
    first = plan_day(DaySnapshot(STATION, team, tasks), PARAMS)
    same = fallback_plan(DaySnapshot(STATION, team, tasks, 8 * HOUR, first), PARAMS)
    assert same.assignment() == first.assignment() and same.unassigned == ()
    snap, _ = emergency_snapshot(
        DaySnapshot(STATION, team, tasks, 10 * HOUR, first), task("help", 0.5, 0.5, 10, 10.3, 30), 1
    )
    plan = fallback_plan(snap, PARAMS)
    one = next(r for r in plan.routes if r.caregiver_id == 1)
    assert one.visits[0].task_id == "help"
    assert plan.assignment()["bath"] == 2
    by_id = {t.task_id: t for t in snap.tasks}
    for r in plan.routes:
        for v in r.visits:
            t = by_id[v.task_id]
            if t.pinned_to is None:
                assert t.earliest_s <= v.start_s <= t.latest_s
    assert set(plan.assignment()) | {u.task_id for u in plan.unassigned} == set(by_id)


def test_booked_work_starts_in_time_to_end_inside_its_window() -> None:
    """A 60-minute visit booked 10:00-12:00 starts by 11:00; a 15-minute task due in 10
    minutes starts when its window opens."""
    assert latest_start_s(10 * HOUR, 12 * HOUR, HOUR) == 11 * HOUR
    assert latest_start_s(10 * HOUR, 10 * HOUR + 600, 900) == 10 * HOUR


def test_the_baseline_takes_visits_strictly_in_booking_order() -> None:
    """One caregiver; task 2 (booked first, any time, two hours) and task 10 (booked later,
    must start by 09:00). The fallback plan takes the urgent one first and fits both; the
    phone-and-paper baseline gives the day to task 2 first (booking order: 2 before 10, by
    number) and has no room left for task 10."""
    from dispatch.dayplan import fallback_plan

    snap = DaySnapshot(
        STATION, (caregiver(1),), (task("2", 1, 0, 8, 17, 120), task("10", -1, 0, 8, 9, 60))
    )
    assert set(fallback_plan(snap, PARAMS).assignment()) == {"2", "10"}
    booked = fallback_plan(snap, PARAMS, booking_order=True)
    assert [v.task_id for v in booked.routes[0].visits] == ["2"]
    assert [u.task_id for u in booked.unassigned] == ["10"]


def test_work_that_runs_past_a_shift_does_not_empty_the_whole_plan() -> None:
    """At 16:40 caregiver 1 is at a bath that cannot be broken off until 17:30, 3 km out,
    past her 17:00 end, with a ride home still to do. Before, her day had no feasible end,
    so the solver found no plan at all and every task of the station was left unassigned
    (seen on the simulator's five-station day: 69 tasks). Her bath stays hers; the rest of
    the day goes to caregiver 2."""
    bath = task("bath", 3, 0, 16, 18, 90, pinned_to=1, interruptible=False)
    rest = tuple(task(f"t{k}", 0.2 * k, 0.3, 16.5, 19, 20) for k in range(1, 4))
    team = (caregiver(1, 8, 17), caregiver(2, 12, 20))
    snap = DaySnapshot(STATION, team, (bath, *rest), now_s=int(16.67 * HOUR))
    plan = plan_day(snap, PARAMS)
    assert plan.unassigned == ()
    by_cg = {r.caregiver_id: [v.task_id for v in r.visits] for r in plan.routes}
    assert by_cg[1] == ["bath"]
    assert sorted(by_cg[2]) == ["t1", "t2", "t3"]
