"""Emergency cover: minutes in which a high-risk elder had nobody within 20 minutes."""

from __future__ import annotations

from dispatch.cover import HighRiskElder, emergency_cover
from dispatch.dayplan import plan_day, plan_day_with_cover
from dispatch.model import DaySnapshot
from tests.dispatch.helpers import PARAMS, STATION, at, caregiver, task


def test_elder_next_to_the_station_is_always_covered() -> None:
    """One idle caregiver at the station, an elder 500 m away: never uncovered."""
    snap = DaySnapshot(STATION, (caregiver(1, 8, 12),), ())
    plan = plan_day(snap, PARAMS)
    rep = emergency_cover(plan, snap, [HighRiskElder(1, at(0.5, 0))])
    assert rep.uncovered_minutes == 0 and rep.by_elder == ((1, 0),)


def test_far_elder_is_uncovered_all_shift() -> None:
    """An elder 8 km away (about 42 min by e-bike) is uncovered for the whole 4-hour shift."""
    snap = DaySnapshot(STATION, (caregiver(1, 8, 12),), ())
    rep = emergency_cover(plan_day(snap, PARAMS), snap, [HighRiskElder(1, at(8, 0))])
    assert rep.uncovered_minutes == 240


def test_a_long_bath_far_away_uncovers_the_elder() -> None:
    """The only caregiver gives a 2-hour bath (cannot be broken off) 4 km east; the elder
    1 km west is uncovered from leaving for the bath until halfway home (~2.5 h)."""
    bath = task("bath", 4, 0, 9, 9, 120, interruptible=False)
    snap = DaySnapshot(STATION, (caregiver(1, 8, 12),), (bath,))
    plan = plan_day(snap, PARAMS)
    rep = emergency_cover(plan, snap, [HighRiskElder(1, at(-1, 0))])
    assert 140 <= rep.uncovered_minutes <= 165


def test_no_elders_no_minutes() -> None:
    """Nobody flagged: nothing to report."""
    snap = DaySnapshot(STATION, (caregiver(1),), ())
    assert emergency_cover(plan_day(snap, PARAMS), snap, []).uncovered_minutes == 0


def test_plan_with_cover_returns_a_complete_plan_and_its_report() -> None:
    """Two caregivers, visits east and west, a high-risk elder west: the chosen plan serves
    every visit, and its report matches a fresh count."""
    tasks = (
        task("east1", 3, 0, 9, 12, 60),
        task("east2", 3, 0.3, 9, 12, 60),
        task("west", -1, 0, 9, 12, 30),
    )
    snap = DaySnapshot(STATION, (caregiver(1, 8, 13), caregiver(2, 8, 13)), tasks)
    elders = [HighRiskElder(7, at(-1.5, 0))]
    plan, rep = plan_day_with_cover(snap, elders, PARAMS)
    assert plan.unassigned == ()
    assert rep == emergency_cover(plan, snap, elders)


def test_plan_with_cover_without_elders_is_the_plain_plan() -> None:
    """No high-risk elders: the plain plan and an empty report."""
    snap = DaySnapshot(STATION, (caregiver(1),), (task("a", 1, 0),))
    plan, rep = plan_day_with_cover(snap, [], PARAMS)
    assert plan.assignment() == {"a": 1} and rep.uncovered_minutes == 0
