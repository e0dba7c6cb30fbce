"""Stations, caregivers, elders and family bindings."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field, field_validator, model_validator

from schemas.common import Location, Model, Patch, Point, Push, StationPush

# A station's district when none is given (the column's default too).
DEFAULT_DISTRICT = "朝阳区"

SKILLS = (
    "first_aid",
    "bathing",
    "nursing",
    "rehab",
    "meal_delivery",
    "housekeeping",
    "haircut",
    "companion",
    "medication",
    "dementia_care",
    # Specialists a station or its provider registers for the menu items that need them: a
    # repair technician, the clinic's doctor (上门巡诊), a lawyer or notary.
    "repair",
    "medical",
    "legal",
)


class CareLevel(StrEnum):
    SELF_CARE = "自理"
    SEMI_DEPENDENT = "半失能"
    DEPENDENT = "失能"


class Living(StrEnum):
    ALONE = "alone"  # 独居
    EMPTY_NEST = "empty_nest"  # 空巢
    WITH_DISABLED_CHILD = "with_disabled_child"
    WITH_FAMILY = "with_family"


CATEGORIES = (
    "三无",
    "低保",
    "低保边缘",
    "特困",
    "五保",
    "重点优抚",
    "伤残军人",
    "劳动模范",
    "计生困难",
    "高龄",
    "百岁",
)


class OpeningHours(Model):
    weekdays: list[int] = Field(default=[0, 1, 2, 3, 4], description="0 = Monday")
    open: str = Field(default="09:00", pattern=r"^\d\d:\d\d$")
    close: str = Field(default="17:00", pattern=r"^\d\d:\d\d$")


class Kitchen(Model):
    """The kitchen lunches leave from, and its rules as data: how many boxes one courier's
    trip carries and how long food may travel and still arrive hot."""

    name: str = Field(min_length=1, max_length=100)
    location: Location
    box_capacity: int = Field(default=12, ge=1, le=100, strict=True)
    max_minutes_to_door: int = Field(default=30, ge=5, le=120, strict=True)


class StationIn(Model):
    name: str = Field(min_length=1, max_length=100)
    district: str = Field(default=DEFAULT_DISTRICT, max_length=50)
    street: str = Field(default="", max_length=50)
    address: str = Field(default="", max_length=200)
    location: Location
    circle_minutes: int = Field(default=15, ge=5, le=60)
    opening_hours: OpeningHours = OpeningHours()
    kitchen: Kitchen | None = None
    phone: str | None = None


class StationPatch(Patch):
    nullable = frozenset({"phone"})

    name: str | None = Field(default=None, min_length=1, max_length=100)
    address: str | None = Field(default=None, max_length=200)
    location: Location | None = None
    circle_minutes: int | None = Field(default=None, ge=5, le=60)
    opening_hours: OpeningHours | None = None
    kitchen: Kitchen | None = None
    phone: str | None = None
    active: bool | None = None


class StationOut(Model):
    id: int
    name: str
    district: str
    street: str
    address: str
    location: Point
    circle_minutes: int
    circle_radius_m: float
    opening_hours: OpeningHours
    kitchen: dict[str, object] | None
    phone: str | None
    active: bool


class Shift(Model):
    weekday: int = Field(ge=0, le=6)
    start: str = Field(pattern=r"^\d\d:\d\d$")
    end: str = Field(pattern=r"^\d\d:\d\d$")


class OnCall(Model):
    """A night on-call slot: the weekday its evening starts on; an end at or before the start
    runs into the next morning. A help call in it is offered to the caregiver at home."""

    weekday: int = Field(ge=0, le=6)
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    @model_validator(mode="after")
    def not_empty(self) -> OnCall:
        if self.start == self.end:
            raise ValueError("an on-call slot cannot start and end at the same time")
        return self


class Certificate(Model):
    name: str = Field(min_length=1, max_length=50)
    number: str = Field(default="", max_length=40)
    expires: str | None = Field(default=None, pattern=r"^\d{4}-\d\d-\d\d$")


class CaregiverIn(Model):
    station_id: int
    name: str = Field(min_length=1, max_length=50)
    phone: str
    username: str | None = Field(default=None, min_length=3, max_length=64)
    password: str = Field(min_length=8, max_length=200)
    skills: list[str] = Field(default_factory=list)
    certificates: list[Certificate] = Field(default_factory=list)
    travel_mode: str = Field(default="ebike", pattern="^(walk|ebike|car)$")
    shifts: list[Shift] = Field(default_factory=list)
    home: Location | None = None

    @field_validator("skills")
    @classmethod
    def known_skills(cls, v: list[str]) -> list[str]:
        unknown = sorted(set(v) - set(SKILLS))
        if unknown:
            raise ValueError(f"unknown skills: {unknown}; known: {list(SKILLS)}")
        return sorted(set(v))


class OperatorIn(Model):
    station_id: int
    display_name: str = Field(min_length=1, max_length=50)
    username: str = Field(min_length=3, max_length=64)
    phone: str | None = None
    password: str = Field(min_length=8, max_length=200)


class CaregiverPatch(Patch):
    name: str | None = Field(default=None, min_length=1, max_length=50)
    phone: str | None = None
    skills: list[str] | None = None
    certificates: list[Certificate] | None = None
    travel_mode: str | None = Field(default=None, pattern="^(walk|ebike|car)$")
    shifts: list[Shift] | None = None
    on_call: list[OnCall] | None = Field(default=None, max_length=14)

    @field_validator("skills")
    @classmethod
    def known_skills(cls, v: list[str] | None) -> list[str] | None:
        """The same list as a new caregiver's: refused with the known ones named (422)."""
        return None if v is None else CaregiverIn.known_skills(v)


class CaregiverOut(Model):
    id: int
    user_id: int
    station_id: int
    name: str
    phone: str | None
    skills: list[str]
    certificates: list[dict[str, object]]
    travel_mode: str
    shifts: list[dict[str, object]]
    on_call: list[dict[str, object]] = Field(default_factory=list)
    on_duty: bool
    location: Point | None
    located_at: datetime | None
    active: bool
    status: str = "off_duty"


class DutyIn(Model):
    on_duty: bool


class LocationIn(Model):
    location: Location


class Contact(Model):
    name: str = Field(min_length=1, max_length=50)
    relation: str = Field(min_length=1, max_length=20)
    phone: str
    order: int = Field(default=1, ge=1, le=20)


class Neighbour(Model):
    name: str = Field(min_length=1, max_length=50)
    phone: str
    agreement_no: str = Field(default="", max_length=40)


class ElderIn(Model):
    station_id: int
    name: str = Field(min_length=1, max_length=50)
    id_number: str
    phone: str | None = None
    landline: str | None = Field(default=None, description="座机: 010-65550000 or 65550000")
    address: str = Field(min_length=1, max_length=200)
    access_notes: str = Field(default="", max_length=200)
    location: Location
    living: Living = Living.WITH_FAMILY
    categories: list[str] = Field(default_factory=list)
    care_level: CareLevel = CareLevel.SELF_CARE
    household_id: str | None = Field(default=None, max_length=40)
    hukou_in_district: bool = True
    residence_in_district: bool = True
    contacts: list[Contact] = Field(default_factory=list)
    neighbours: list[Neighbour] = Field(default_factory=list)
    health_notes: str = Field(default="", max_length=2000)
    medicines: str = Field(default="", max_length=2000)
    diet_notes: str = Field(default="", max_length=200)
    key_holder: str = Field(default="", max_length=100)
    preferred_caregiver_id: int | None = None
    high_risk: bool = False

    @field_validator("categories")
    @classmethod
    def known_categories(cls, v: list[str]) -> list[str]:
        unknown = sorted(set(v) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown categories: {unknown}")
        return sorted(set(v))


class ElderPatch(Patch):
    nullable = frozenset({"phone", "landline", "household_id", "preferred_caregiver_id"})

    name: str | None = Field(default=None, min_length=1, max_length=50)
    phone: str | None = None
    landline: str | None = None
    address: str | None = Field(default=None, min_length=1, max_length=200)
    access_notes: str | None = Field(default=None, max_length=200)
    location: Location | None = None
    living: Living | None = None
    categories: list[str] | None = None
    care_level: CareLevel | None = None
    household_id: str | None = None
    contacts: list[Contact] | None = None
    neighbours: list[Neighbour] | None = None
    health_notes: str | None = Field(default=None, max_length=2000)
    medicines: str | None = Field(default=None, max_length=2000)
    diet_notes: str | None = Field(default=None, max_length=200)
    key_holder: str | None = Field(default=None, max_length=100)
    preferred_caregiver_id: int | None = None
    high_risk: bool | None = None


class ElderOut(Model):
    id: int
    station_id: int
    name: str
    sex: str
    birth_date: str | None = Field(
        description="only in revealed views: with the masked ID "
        "number it would give the whole number back"
    )
    age: int
    id_number: str = Field(description="masked as 110***********002X unless revealed")
    phone: str | None = Field(description="masked as 138****8000 unless revealed")
    landline: str | None = Field(
        default=None, description="the fixed line, masked as 010****0000 unless revealed"
    )
    address: str
    access_notes: str
    location: Point
    location_pending: bool = Field(
        default=False,
        description="imported without a point: it stands at the station until one is set",
    )
    living: str
    categories: list[str]
    care_level: str
    household_id: str | None
    contacts: list[dict[str, object]]
    neighbours: list[dict[str, object]]
    health_notes: str
    medicines: str
    diet_notes: str
    key_holder: str
    preferred_caregiver_id: int | None
    high_risk: bool
    active: bool
    masked: bool


class BindingStatus(StrEnum):
    """A family member's binding to an elder: asked for, confirmed by the elder or the
    station, or revoked (a revoked binding may be asked for again)."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    REVOKED = "revoked"


class BindingRequest(Model):
    elder_name: str = Field(min_length=1, max_length=50)
    elder_phone_or_id_last4: str = Field(
        min_length=4,
        max_length=20,
        description="the elder's mobile, or the last 4 characters of the ID number",
    )
    relation: str = Field(min_length=1, max_length=20)


class BindingOut(Model):
    id: int
    family_user_id: int
    elder_id: int
    elder_name: str
    relation: str
    status: BindingStatus
    requested_at: datetime
    confirmed_at: datetime | None


class LinkCodeOut(Model):
    link_code: str = Field(description="16 hex characters (64 bits), used once")
    expires_at: datetime | None = Field(default=None, description="24 hours after issue")


class OperatorOut(Model):
    user_id: int
    station_id: int


class ActiveOut(Model):
    id: int
    active: bool


class DutyOut(Model):
    caregiver_id: int
    on_duty: bool


class CaregiverLocationOut(Model):
    caregiver_id: int
    lat: float
    lng: float


class CaregiverPage(Model):
    items: list[CaregiverOut]
    total: int
    page: int
    page_size: int


class ElderPage(Model):
    items: list[ElderOut]
    total: int
    page: int
    page_size: int


class PageQuery(Model):
    """A page of caregivers or elders, searched and filtered."""

    q: str | None = Field(default=None, max_length=50)
    page: int = Field(default=1, ge=1, le=100000)
    page_size: int = Field(default=20, ge=1, le=100)
    active: bool | None = None
    station_id: int | None = None
    high_risk: bool | None = None
    living: str | None = None
    location_pending: bool | None = Field(
        default=None, description="elders imported without a point, still to be located"
    )


# ----- pushes ---------------------------------------------------------------------------------


class BindingRequested(StationPush):
    """To the station's operators and the elder: a family member asked to be bound."""

    TYPE: ClassVar[str] = "binding.requested"

    binding_id: int
    elder_id: int
    relation: str


class BindingRevoked(Push):
    """To the family member: their binding was revoked or their request turned down."""

    TYPE: ClassVar[str] = "binding.revoked"

    binding_id: int
    elder_id: int


class BindingConfirmed(Push):
    """To the family member: their binding was confirmed."""

    TYPE: ClassVar[str] = "binding.confirmed"

    binding_id: int
    elder_id: int


class CaregiverDuty(StationPush):
    """To the station's operators: a caregiver went on or off duty."""

    TYPE: ClassVar[str] = "caregiver.duty"

    caregiver_id: int
    on_duty: bool


class CaregiverLocation(StationPush):
    """To the station's operators: where a caregiver is now (stored coordinates)."""

    TYPE: ClassVar[str] = "caregiver.location"

    caregiver_id: int
    lat: float
    lng: float


# Every push this module defines (schemas/pushes.py lists them all).
PUSHES: tuple[type[Push], ...] = (
    BindingRequested,
    BindingConfirmed,
    BindingRevoked,
    CaregiverDuty,
    CaregiverLocation,
)
