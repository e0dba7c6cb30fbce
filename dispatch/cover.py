"""Emergency cover: minutes of the day in which a high-risk elder had nobody within 20 minutes.

A caregiver covers an elder at a moment when they could reach the elder within the target:
time to break off (or finish work that cannot be interrupted, or finish the ride they are
on) plus travel from where they will be. The plan is followed as planned; off shift covers
nobody.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dispatch.geo import GeoPoint
from dispatch.model import Caregiver, DayPlan, DaySnapshot, PlanParams, Route, Task
from dispatch.travel import GreatCircleTravel, TravelTimeModel


@dataclass(frozen=True)
class HighRiskElder:
    """An elder to keep covered: living alone and dependent, or with recent calls."""

    elder_id: int
    location: GeoPoint
    reason: str = ""


@dataclass(frozen=True)
class CoverReport:
    """Minutes in which some elder was uncovered, elder-minutes, and per elder."""

    uncovered_minutes: int  # minutes in which at least one high-risk elder was uncovered
    elder_minutes: int  # the sum over elders of their uncovered minutes
    by_elder: tuple[tuple[int, int], ...]  # (elder_id, uncovered minutes)
    day_start_s: int
    day_end_s: int
    step_s: int


def _position(
    c: Caregiver,
    r: Route | None,
    tasks: dict[str, Task],
    home: GeoPoint,
    t: int,
    break_off_s: int,
) -> tuple[GeoPoint, int] | None:
    """Where the caregiver will be free from, and how long until then, at time t."""
    if t < c.shift_start_s or t > c.shift_end_s:
        return None
    here = home
    if r is None:
        return here, 0
    for v in r.visits:
        task = tasks[v.task_id]
        if t < v.start_s - v.travel_s:
            return here, 0
        if t < v.start_s:
            return task.location, v.start_s - t  # riding there; conservative
        if t < v.end_s:
            return task.location, (break_off_s if task.interruptible else v.end_s - t)
        here = task.location
    if r.visits and t < r.end_s:
        return home, r.end_s - t  # riding back to the end of the route
    return home if r.visits else here, 0


def emergency_cover(
    plan: DayPlan,
    snapshot: DaySnapshot,
    elders: Sequence[HighRiskElder],
    *,
    params: PlanParams | None = None,
    travel: TravelTimeModel | None = None,
    target_s: int = 1200,
    break_off_s: int = 60,
    step_s: int = 60,
) -> CoverReport:
    """Count the minutes in which some high-risk elder had no caregiver within `target_s`."""
    team = snapshot.caregivers
    if not elders:
        return CoverReport(0, 0, (), 0, 0, step_s)
    if not team:
        return CoverReport(0, 0, tuple((e.elder_id, 0) for e in elders), 0, 0, step_s)
    params = params if params is not None else PlanParams()
    model: TravelTimeModel = travel if travel is not None else GreatCircleTravel(params.travel)
    tasks = {t.task_id: t for t in snapshot.tasks}
    routes = {r.caregiver_id: r for r in plan.routes}
    places: list[GeoPoint] = [snapshot.station]
    places += [c.home for c in team if c.home is not None]
    places += [t.location for t in tasks.values()]
    index = {p: k for k, p in enumerate(dict.fromkeys(places))}
    uniq = list(index)
    to_elder = {
        m: model.matrix(uniq, [e.location for e in elders], m) for m in {c.mode for c in team}
    }
    start = min(c.shift_start_s for c in team)
    end = max(c.shift_end_s for c in team)
    uncovered = [0] * len(elders)
    some = 0
    for t in range(start, end, step_s):
        best = [10**9] * len(elders)
        for c in team:
            pos = _position(
                c, routes.get(c.caregiver_id), tasks, c.home or snapshot.station, t, break_off_s
            )
            if pos is None:
                continue
            row = to_elder[c.mode][index[pos[0]]]
            for k in range(len(elders)):
                eta = pos[1] + row[k]
                if eta < best[k]:
                    best[k] = eta
        missed = [k for k in range(len(elders)) if best[k] > target_s]
        for k in missed:
            uncovered[k] += 1
        some += 1 if missed else 0
    per = tuple((e.elder_id, u * step_s // 60) for e, u in zip(elders, uncovered, strict=True))
    return CoverReport(some * step_s // 60, sum(uncovered) * step_s // 60, per, start, end, step_s)
