"""Request and response models of the services API (menu, bookings, recurring rules, meals)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, Field, field_validator, model_validator

from schemas.common import Location, Model, Patch
from schemas.registry import SKILLS


class Category(StrEnum):
    """Service categories as the seeds group them."""

    DAILY_CARE = "生活照料"
    MEALS = "助餐"
    HOUSEKEEPING = "家政"
    HEALTH = "医疗保健"
    COMFORT = "精神慰藉"
    LEGAL = "法律维权"
    DAY_CARE = "日间托老"
    EMERGENCY = "紧急救助"


class BookingStatus(StrEnum):
    """A booking's life: requested, planned once a day plan gives its task to a caregiver (and
    back when a later plan leaves it out), then completed or cancelled."""

    REQUESTED = "requested"
    PLANNED = "planned"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class MealOrderStatus(StrEnum):
    """A meal order's life: ordered until the cut-off (or cancelled before it); at the cut-off
    a delivery order becomes a delivery task (delivering) and is delivered with it."""

    ORDERED = "ordered"
    CANCELLED = "cancelled"
    DELIVERING = "delivering"
    DELIVERED = "delivered"


HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class HoursIn(Model):
    days: list[int] = Field(default=[0, 1, 2, 3, 4, 5, 6], min_length=1, max_length=7)
    opens: str = Field(default="08:00", pattern=HHMM)
    closes: str = Field(default="18:00", pattern=HHMM)

    @field_validator("days")
    @classmethod
    def weekdays(cls, v: list[int]) -> list[int]:
        if any(d < 0 or d > 6 for d in v):
            raise ValueError("days are 0 (Monday) to 6 (Sunday)")
        return sorted(set(v))

    @model_validator(mode="after")
    def ordered(self) -> HoursIn:
        if self.closes <= self.opens:
            raise ValueError("closes must be after opens")
        return self


class ItemIn(Model):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    name_zh: str = Field(min_length=1, max_length=60)
    name_en: str = Field(min_length=1, max_length=80)
    category: Category
    price_fen: int = Field(ge=0, le=10_000_000, strict=True)
    duration_min: int = Field(gt=0, le=24 * 60)
    skill: str | None = Field(default=None, max_length=40)
    certificate: str | None = Field(default=None, max_length=40)
    subsidy_payable: bool = True
    hours: HoursIn = HoursIn()
    allowed_classes: list[str] = Field(default_factory=list, max_length=20)
    active: bool = True

    @field_validator("skill")
    @classmethod
    def a_skill_someone_can_hold(cls, v: str | None) -> str | None:
        return _held_skill(v)


def _held_skill(v: str | None) -> str | None:
    """An item needing a skill no caregiver can be registered with could never be planned:
    every booking of it would wait for ever."""
    if v is not None and v not in SKILLS:
        raise ValueError(f"unknown skill {v!r}; known: {list(SKILLS)}")
    return v


class ItemPatch(Patch):
    nullable = frozenset({"skill", "certificate"})

    name_zh: str | None = Field(default=None, min_length=1, max_length=60)
    name_en: str | None = Field(default=None, min_length=1, max_length=80)
    price_fen: int | None = Field(default=None, ge=0, le=10_000_000, strict=True)
    duration_min: int | None = Field(default=None, gt=0, le=24 * 60)
    skill: str | None = None
    certificate: str | None = None
    subsidy_payable: bool | None = None
    hours: HoursIn | None = None
    allowed_classes: list[str] | None = None
    active: bool | None = None

    @field_validator("skill")
    @classmethod
    def a_skill_someone_can_hold(cls, v: str | None) -> str | None:
        return _held_skill(v)


class ItemOut(Model):
    code: str
    name_zh: str
    name_en: str
    category: str
    price_fen: int
    duration_min: int
    skill: str | None
    certificate: str | None
    subsidy_payable: bool
    hours: HoursIn
    allowed_classes: list[str]
    active: bool


class MenuLine(ItemOut):
    """A menu line as the elder sees it: with what the subsidy would cover now."""

    subsidy_fen: int
    self_pay_fen: int
    bookable: bool


class BookingIn(Model):
    item_code: str = Field(min_length=1, max_length=40)
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    asap: bool = False
    notes: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def window_or_asap(self) -> BookingIn:
        if self.asap == (self.start is not None or self.end is not None):
            raise ValueError("give either start and end, or asap: true")
        if not self.asap and (self.start is None or self.end is None):
            raise ValueError("start and end are both required")
        return self


class BookingOut(Model):
    id: int
    elder_id: int
    item_code: str
    status: BookingStatus
    start: datetime
    end: datetime
    asap: bool
    notes: str
    price_fen: int
    subsidy_fen: int
    self_pay_fen: int
    task_id: int | None


class CompleteIn(Model):
    started_at: AwareDatetime
    ended_at: AwareDatetime
    arrival: Location | None = None
    door_code: str | None = Field(default=None, max_length=12)
    notes: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def ordered(self) -> CompleteIn:
        if self.ended_at <= self.started_at:
            raise ValueError("ended_at must be after started_at")
        return self


class Frequency(StrEnum):
    """Weekly on weekdays (every n weeks); monthly or quarterly on a day of the month (the
    village clinic's monthly call, the quarterly health check)."""

    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"  # on starts_on's month, day month_day (a birthday)


class RecurrenceIn(Model):
    item_code: str = Field(min_length=1, max_length=40)
    weekdays: list[int] = Field(default_factory=list, max_length=7)
    start: str = Field(pattern=HHMM)
    end: str = Field(pattern=HHMM)
    starts_on: date
    until: date | None = None
    every_weeks: int = Field(default=1, ge=1, le=8)
    frequency: Frequency = Frequency.WEEKLY
    month_day: int | None = Field(default=None, ge=1, le=31)  # past the month's end: its last
    # weekly: skipped on a non-working day; monthly or quarterly: moved to the next working day
    skip_non_workdays: bool = False
    notes: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def pattern(self) -> RecurrenceIn:
        if self.frequency is Frequency.WEEKLY and not self.weekdays:
            raise ValueError("a weekly rule needs weekdays")
        if self.frequency is not Frequency.WEEKLY and self.month_day is None:
            raise ValueError("a monthly or quarterly rule needs month_day")
        return self


class RecurrencePatch(Patch):
    """A change to a rule; future bookings of the old pattern are cancelled and re-made."""

    nullable = frozenset({"until"})

    weekdays: list[int] | None = Field(default=None, min_length=1, max_length=7)
    start: str | None = Field(default=None, pattern=HHMM)
    end: str | None = Field(default=None, pattern=HHMM)
    until: date | None = None
    every_weeks: int | None = Field(default=None, ge=1, le=8)
    skip_non_workdays: bool | None = None
    notes: str | None = Field(default=None, max_length=200)


class RecurrenceOut(Model):
    id: int
    elder_id: int
    item_code: str
    weekdays: list[int]
    start: str
    end: str
    starts_on: date
    until: date | None
    every_weeks: int
    frequency: Frequency
    month_day: int | None
    skip_non_workdays: bool
    notes: str
    active: bool
    version: int


class MaterialiseIn(Model):
    days: int = Field(default=14, ge=1, le=60)


class DishIn(Model):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    name_zh: str = Field(min_length=1, max_length=60)
    price_fen: int = Field(ge=0, le=100_000, strict=True)
    tags: list[str] = Field(default_factory=list, max_length=20)


class MenuIn(Model):
    dishes: list[DishIn] = Field(min_length=1, max_length=30)
    cutoff: str = Field(default="09:30", pattern=HHMM)
    lunch_opens: str = Field(default="11:00", pattern=HHMM)
    lunch_closes: str = Field(default="12:30", pattern=HHMM)


class MealOrderIn(Model):
    day: date
    mode: Literal["dine_in", "delivery"]
    dishes: list[str] = Field(min_length=1, max_length=10)
    notes: str = Field(default="", max_length=200)


class DoorKnockIn(Model):
    """A weekly door-knock visit (爱心敲门) for every active elder who lives alone."""

    weekday: int = Field(ge=0, le=6)
    start: str = Field(default="10:00", pattern=HHMM)
    end: str = Field(default="10:30", pattern=HHMM)
    starts_on: date


class Festival(Model):
    name_zh: str = Field(min_length=1, max_length=20)
    on: date


class FestivalVisitsIn(Model):
    """Birthday visits (yearly, from each elder's file) and festival visits (the dates given:
    lunar festivals move every year) for every active elder of the station, or those in the
    categories given (高龄, 独居 ...)."""

    birthdays: bool = True
    festivals: list[Festival] = Field(default_factory=list, max_length=20)
    categories: list[str] = Field(default_factory=list, max_length=10)
    start: str = Field(default="10:00", pattern=HHMM)
    end: str = Field(default="10:30", pattern=HHMM)
    starts_on: date


class MealOrderOut(Model):
    """An elder's meal order for one day."""

    id: int
    day: date
    mode: Literal["dine_in", "delivery"]
    dishes: list[str]
    total_fen: int
    status: MealOrderStatus
    diet_warnings: list[str]


class DayQuery(Model):
    """``?day=2026-11-24``."""

    day: date


class StationMealOrderOut(MealOrderOut):
    """A meal order on the station's list for the kitchen: whose it is."""

    elder_id: int
    elder_name: str
    notes: str
