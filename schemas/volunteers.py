"""Request and response models of the volunteer API (志愿者/邻里互助/时间银行): the registry,
volunteers in an elder's escalation chain, simple tasks, hours and the time-bank ledger."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from schemas.common import Model

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
PHONE = r"^1\d{10}$"


class VolunteerTaskKind(StrEnum):
    CHAT = "chat"  # 聊天陪伴
    DOOR_KNOCK = "door_knock"  # 爱心敲门
    SHOPPING = "shopping"  # 代购


class VolunteerTaskStatus(StrEnum):
    """``assigned`` to a volunteer; ``done`` when they report the minutes; ``confirmed`` by
    the elder or the station (the hours are then earned); or ``cancelled``."""

    ASSIGNED = "assigned"
    DONE = "done"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class EntryKind(StrEnum):
    EARNED = "earned"
    SPENT = "spent"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"


class Availability(Model):
    weekday: int = Field(ge=0, le=6)
    start: str = Field(pattern=HHMM)
    end: str = Field(pattern=HHMM)


class Training(Model):
    name: str = Field(min_length=1, max_length=60)
    on: date


class VolunteerIn(Model):
    name: str = Field(min_length=1, max_length=50)
    phone: str = Field(pattern=PHONE)
    skills: list[str] = Field(default_factory=list, max_length=20)
    trainings: list[Training] = Field(default_factory=list, max_length=20)
    agreement_no: str | None = Field(default=None, min_length=1, max_length=40)  # 看护协议
    agreement_expires: date | None = None
    availability: list[Availability] = Field(default_factory=list, max_length=21)
    notes: str = Field(default="", max_length=200)


class VolunteerOut(Model):
    id: int
    station_id: int
    name: str
    phone: str
    skills: list[str]
    trainings: list[Training]
    agreement_no: str | None
    agreement_expires: date | None
    availability: list[Availability]
    active: bool


class ChainLinkIn(Model):
    volunteer_id: int = Field(ge=1)


class ChainLinkOut(Model):
    elder_id: int
    volunteer_id: int
    name: str


class VolunteerTaskIn(Model):
    volunteer_id: int = Field(ge=1)
    elder_id: int = Field(ge=1)
    kind: VolunteerTaskKind
    day: date
    notes: str = Field(default="", max_length=200)


class TaskDoneIn(Model):
    minutes: int = Field(ge=1, le=12 * 60, strict=True)
    notes: str = Field(default="", max_length=200)


class VolunteerTaskOut(Model):
    id: int
    volunteer_id: int
    elder_id: int
    kind: VolunteerTaskKind
    day: date
    status: VolunteerTaskStatus
    minutes: int | None
    confirmed_by: int | None
    confirmed_at: datetime | None
    already_confirmed: bool = False


class SpendIn(Model):
    minutes: int = Field(ge=1, le=100 * 60, strict=True)
    memo: str = Field(min_length=1, max_length=200)


class TransferIn(Model):
    """Hours given to a family member who is an elder on the registry (their account then
    buys help from other volunteers)."""

    minutes: int = Field(ge=1, le=100 * 60, strict=True)
    to_elder_id: int = Field(ge=1)
    relation: str = Field(min_length=1, max_length=20)


class LedgerEntryOut(Model):
    id: int
    account: str
    kind: EntryKind
    minutes: int  # signed: earned and received positive, spent and given negative
    memo: str
    at: datetime


class StatementOut(Model):
    account: str
    earned_min: int
    spent_min: int
    transferred_out_min: int
    received_min: int
    balance_min: int
    entries: list[LedgerEntryOut]
