"""Request and response models of the day-care API (日间托老): the station's programme (opening
hours and capacity), enrolments for days of the week with a waiting list, and each day's
attendance list."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from schemas.common import Model

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class EnrolmentStatus(StrEnum):
    """An enrolment is ``waiting`` while a day it asks for is full, ``enrolled`` once every
    day has a place, ``ended`` when the elder leaves the programme."""

    WAITING = "waiting"
    ENROLLED = "enrolled"
    ENDED = "ended"


class AttendanceStatus(StrEnum):
    """A day's attendance: ``expected`` until the elder is checked in (``present``) and out
    (``left``); an absence the family or elder told the station of is ``excused``; an
    elder who neither came nor sent word by the roll call is ``absent`` (a welfare check)."""

    EXPECTED = "expected"
    PRESENT = "present"
    LEFT = "left"
    EXCUSED = "excused"
    ABSENT = "absent"


def _days(v: list[int]) -> list[int]:
    if any(d < 0 or d > 6 for d in v):
        raise ValueError("days are 0 (Monday) to 6 (Sunday)")
    return sorted(set(v))


class ProgrammeIn(Model):
    """The station's day-care programme: the seeds' Monday to Friday, 9:00-17:00."""

    days: list[int] = Field(default=[0, 1, 2, 3, 4], min_length=1, max_length=7)
    opens: str = Field(default="09:00", pattern=HHMM)
    closes: str = Field(default="17:00", pattern=HHMM)
    capacity: int = Field(ge=1, le=500, strict=True)
    lunch_dish: str | None = Field(default=None, max_length=40)  # the menu's first dish if None
    roll_call_min: int = Field(default=60, ge=0, le=240)  # minutes after opening

    @field_validator("days")
    @classmethod
    def weekdays(cls, v: list[int]) -> list[int]:
        return _days(v)

    @model_validator(mode="after")
    def ordered(self) -> ProgrammeIn:
        if self.closes <= self.opens:
            raise ValueError("closes must be after opens")
        return self


class ProgrammeOut(Model):
    station_id: int
    days: list[int]
    opens: str
    closes: str
    capacity: int
    lunch_dish: str | None
    roll_call_min: int


class EnrolmentIn(Model):
    weekdays: list[int] = Field(min_length=1, max_length=7)
    starts_on: date
    lunch: bool = True
    notes: str = Field(default="", max_length=200)

    @field_validator("weekdays")
    @classmethod
    def days(cls, v: list[int]) -> list[int]:
        return _days(v)


class EnrolmentOut(Model):
    id: int
    station_id: int
    elder_id: int
    weekdays: list[int]
    starts_on: date
    lunch: bool
    status: EnrolmentStatus
    full_days: list[int]  # the days that kept it waiting when it was made
    waiting_position: int | None
    notes: str


class AttendanceOut(Model):
    id: int
    elder_id: int
    elder_name: str
    day: date
    status: AttendanceStatus
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    meal_order_id: int | None
    lunch: str  # ordered, none, too_late, no_menu, cancelled
    task_id: int | None


class DayOut(Model):
    station_id: int
    day: date
    open: bool
    capacity: int
    attendance: list[AttendanceOut]


class AbsenceIn(Model):
    reason: str = Field(default="", max_length=200)
