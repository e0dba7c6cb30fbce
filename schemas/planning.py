"""Requests, responses and pushes of planning: day plans and lunch routes.

A stored plan's ``summary`` is a ``PlanSummary`` (and a lunch routing's a ``MealPlanSummary``)
as JSON; the console and the caregiver's page read them as they are stored.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import Field

from schemas.common import Model, Push, StationPush


class PlanRequest(Model):
    """Plan (or re-plan) a station's day: which day (today when left out) and how long the
    solver may search."""

    day: date | None = None
    time_limit_s: float = Field(default=5.0, gt=0, le=60)


class VisitOut(Model):
    """A task in a caregiver's route: seconds after local midnight."""

    task_id: str
    caregiver_id: int
    start_s: int
    end_s: int
    travel_s: int


class RouteOut(Model):
    """One caregiver's day in a plan."""

    caregiver_id: int
    start_s: int
    end_s: int
    travel_s: int
    visits: list[VisitOut]


class UnassignedOut(Model):
    """A task left out of a plan: a stable code and the reason for people (in Chinese, as the
    dispatcher says it); ``distance_m`` (from the station) only for an unreachable place."""

    task_id: str
    why: str
    text: str
    distance_m: int | None = None


class PlanDiffOut(Model):
    """What changed against the plan before, one entry per task."""

    added: list[tuple[str, int]]  # (task_id, caregiver_id)
    removed: list[tuple[str, int]]  # (task_id, former caregiver_id)
    moved: list[tuple[str, int, int]]  # (task_id, from, to)
    retimed: list[tuple[str, int, int, int]]  # (task_id, caregiver, old, new start)


class ElderCoverOut(Model):
    elder_id: int
    minutes: int


class CoverOut(Model):
    """Emergency cover of a plan: minutes in which some high-risk elder had nobody within 20
    minutes."""

    uncovered_minutes: int
    elder_minutes: int
    elders: int
    by_elder: list[ElderCoverOut]
    day_start_s: int
    day_end_s: int


class PlanSummary(Model):
    """A day plan as stored and shown: routes, what was left out, the change, the cover."""

    routes: list[RouteOut]
    unassigned: list[UnassignedOut]
    diff: PlanDiffOut
    seconds: float
    cover: CoverOut | None


class MealStopOut(Model):
    """A stop on a lunch round: ``pickup`` at the kitchen or ``deliver`` at the door."""

    kind: str
    task_id: str
    at_s: int
    load_after: int


class MealRouteOut(Model):
    """One courier's lunch round(s)."""

    courier_id: int
    stops: list[MealStopOut]
    travel_s: int
    start_s: int
    end_s: int


class MealUnassignedOut(Model):
    """A delivery that cannot be made, and why."""

    task_id: str
    why: str
    text: str


class MealPlanSummary(Model):
    """Lunch routes as stored and shown."""

    routes: list[MealRouteOut]
    unassigned: list[MealUnassignedOut]
    max_kitchen_to_door_s: int
    seconds: float


class PlanUpdated(StationPush):
    """To the station's operators: a new day plan is in force."""

    TYPE: ClassVar[str] = "plan.updated"

    plan_id: int
    day: str
    trigger: str
    travel_s: int
    unassigned: list[UnassignedOut]
    cover: CoverOut | None


class PlanChanged(Push):
    """To a caregiver whose day changed: their visits in the new plan."""

    TYPE: ClassVar[str] = "plan.changed"

    day: str
    visits: list[VisitOut]


class MealsRouted(StationPush):
    """To the station's operators: the lunch routes are made."""

    TYPE: ClassVar[str] = "meals.routed"

    meal_plan_id: int
    day: str
    unassigned: list[MealUnassignedOut]
    max_kitchen_to_door_s: int


class MealRouteChanged(Push):
    """To a courier: their lunch round."""

    TYPE: ClassVar[str] = "meal_route.changed"

    day: str
    courier_id: int
    stops: list[MealStopOut]
    travel_s: int
    start_s: int
    end_s: int


# Every push this module defines (schemas/pushes.py lists them all).
PUSHES: tuple[type[Push], ...] = (
    PlanUpdated,
    PlanChanged,
    MealsRouted,
    MealRouteChanged,
)
