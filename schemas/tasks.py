"""Requests, responses and pushes of tasks: the caregiver's visits and steps."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from schemas.common import Location, Model, Push, StationPush, StepIn, StepMarks


class TaskStatus(StrEnum):
    """A task's life: made open, given to a caregiver by a plan, then the caregiver's steps."""

    OPEN = "open"  # nobody's yet (or a later plan left it out)
    PLANNED = "planned"  # in a caregiver's day plan
    EN_ROUTE = "en_route"  # the caregiver set off
    IN_PROGRESS = "in_progress"  # the caregiver is at the door
    DONE = "done"
    CANCELLED = "cancelled"


class TaskStartIn(StepIn):
    """Setting off (or picking a meal up): an empty body, or the time on the phone."""


class TaskArriveIn(StepIn):
    """The caregiver's phone at the door: its fix, checked against the elder's geofence."""

    location: Location


class TaskCompleteIn(StepIn):
    """What the caregiver reports at the end of a task. For a booking the times default to the
    arrival and now; `door_code` is the code on the elder's door card or phone. For a meal
    delivery `hot` says whether the food arrived hot. An operator completing on a caregiver's
    behalf gives a `reason`."""

    notes: str = Field(default="", max_length=1000)
    door_code: str | None = Field(default=None, max_length=12)
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    hot: bool | None = None
    reason: str | None = Field(default=None, min_length=2, max_length=200)


class TaskOut(StepMarks):
    """One of a caregiver's tasks as the phone page shows it."""

    id: int
    kind: str
    title: str
    status: TaskStatus
    elder_id: int | None
    elder_name: str | None
    address: str | None
    access_notes: str | None
    lat: float | None
    lng: float | None
    window_start: datetime | None
    window_end: datetime | None
    planned_start: datetime | None
    duration_s: int
    notes: str
    plan_position: int | None
    booking_id: int | None
    item_code: str | None
    started_at: datetime | None
    arrived_at: datetime | None
    arrival_distance_m: float | None
    within_geofence: bool | None
    completed_at: datetime | None
    outcome: str
    on_time: bool | None
    food_hot: bool | None
    record_id: int | None


class MyTasksOut(Model):
    day: date
    plan_id: int | None
    tasks: list[TaskOut]


class TaskCompleted(StationPush):
    """To the station's operators: a caregiver (or an operator on their behalf) finished a
    task; ``record_id`` is the service record of a booking's visit."""

    TYPE: ClassVar[str] = "task.completed"

    task_id: int
    kind: str
    elder_id: int | None
    source_ref: str | None
    record_id: int | None


# Every push this module defines (schemas/pushes.py lists them all).
PUSHES: tuple[type[Push], ...] = (TaskCompleted,)
