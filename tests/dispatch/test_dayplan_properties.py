"""Property tests: every plan respects windows, skills, shifts and travel; nothing is lost."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.dayplan import plan_day
from dispatch.model import MINUTE, Caregiver, DayPlan, DaySnapshot, PlanParams, Priority, Task
from dispatch.routing import SolverParams
from dispatch.travel import GreatCircleTravel
from tests.dispatch.helpers import STATION, at

SKILLS = ["bath", "first_aid", "nursing"]
FAST = PlanParams(
    solver=SolverParams(
        first_solutions=("PARALLEL_CHEAPEST_INSERTION",), time_limit_s=1.0, solution_limit=30
    )
)


@st.composite
def caregivers(draw: st.DrawFn) -> tuple[Caregiver, ...]:
    """Zero to three caregivers with random shifts, skills and lunch."""
    out = []
    for cid in range(draw(st.integers(0, 3))):
        start = draw(st.integers(7 * 4, 10 * 4)) * 15 * MINUTE
        length = draw(st.integers(0, 9 * 4)) * 15 * MINUTE
        skills = frozenset(draw(st.lists(st.sampled_from(SKILLS), max_size=2)))
        c = Caregiver(cid + 1, f"c{cid}", start, start + length, skills)
        if draw(st.booleans()):
            c = Caregiver(cid + 1, f"c{cid}", start, start + length, skills, lunch=None)
        out.append(c)
    return tuple(out)


@st.composite
def tasks(draw: st.DrawFn) -> tuple[Task, ...]:
    """Zero to eight tasks within 3 km, random windows, durations, skills, priorities."""
    out = []
    for k in range(draw(st.integers(0, 8))):
        e = draw(st.integers(7 * 4, 17 * 4)) * 15 * MINUTE
        width = draw(st.integers(0, 6 * 4)) * 15 * MINUTE
        out.append(
            Task(
                f"t{k}",
                k,
                at(draw(st.floats(-3, 3)), draw(st.floats(-3, 3))),
                e,
                e + width,
                draw(st.integers(1, 6)) * 15 * MINUTE,
                frozenset(draw(st.lists(st.sampled_from(SKILLS), max_size=1))),
                draw(st.sampled_from(list(Priority)[:4])),
                preferred_caregiver=draw(st.none() | st.integers(1, 3)),
            )
        )
    return tuple(out)


def check_plan(snap: DaySnapshot, plan: DayPlan) -> None:
    """Assert the plan is one a caregiver could actually ride."""
    travel = GreatCircleTravel(FAST.travel)
    by_id = {t.task_id: t for t in snap.tasks}
    team = {c.caregiver_id: c for c in snap.caregivers}
    planned = [v.task_id for r in plan.routes for v in r.visits]
    assert len(planned) == len(set(planned)), "a task planned twice"
    left = {u.task_id for u in plan.unassigned}
    assert set(planned) | left == set(by_id), "a task lost"
    assert not set(planned) & left, "a task both planned and unassigned"
    for r in plan.routes:
        c = team[r.caregiver_id]
        prev = STATION
        prev_end = c.shift_start_s
        for v in r.visits:
            t = by_id[v.task_id]
            assert t.required_skills <= c.skills, f"{t.task_id}: skill"
            assert t.earliest_s <= v.start_s <= t.latest_s, f"{t.task_id}: window"
            assert v.end_s == v.start_s + t.duration_s
            assert v.travel_s == travel.seconds(prev, t.location, c.mode)
            assert prev_end + v.travel_s <= v.start_s, f"{t.task_id}: no time to get there"
            prev, prev_end = t.location, v.end_s
        if r.visits:
            back = travel.seconds(prev, STATION, c.mode)
            assert prev_end + back <= c.shift_end_s, "back after the shift"
            assert r.start_s >= c.shift_start_s


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(caregivers(), tasks())
def test_every_plan_is_valid(team: tuple[Caregiver, ...], todo: tuple[Task, ...]) -> None:
    """Random small stations: the plan respects windows, skills, shifts; nothing is lost."""
    snap = DaySnapshot(STATION, team, todo)
    check_plan(snap, plan_day(snap, FAST))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(caregivers(), tasks())
def test_lunch_is_kept(team: tuple[Caregiver, ...], todo: tuple[Task, ...]) -> None:
    """A caregiver with a lunch break inside their shift has a 30-minute gap in the window."""
    snap = DaySnapshot(STATION, team, todo)
    plan = plan_day(snap, FAST)
    for r in plan.routes:
        c = next(c for c in team if c.caregiver_id == r.caregiver_id)
        lunch = c.lunch
        if lunch is None or not r.visits:
            continue
        if not (
            c.shift_start_s <= lunch.earliest_s
            and lunch.latest_s + lunch.duration_s <= c.shift_end_s
        ):
            continue
        ls = r.lunch_start_s
        assert ls is not None, f"no lunch for {c.caregiver_id}"
        assert lunch.earliest_s <= ls <= lunch.latest_s
        le = ls + lunch.duration_s
        for v in r.visits:
            assert v.end_s <= ls or v.start_s >= le, "visit during lunch"
        # The time around the break still holds the ride it interrupts.
        before = [v for v in r.visits if v.end_s <= ls]
        after = [v for v in r.visits if v.start_s >= le]
        prev_end = before[-1].end_s if before else c.shift_start_s
        if after:
            assert after[0].start_s - prev_end >= after[0].travel_s + lunch.duration_s
        else:
            back = r.end_s - r.visits[-1].end_s
            assert c.shift_end_s - prev_end >= back + lunch.duration_s
