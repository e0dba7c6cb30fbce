"""Shared pieces of the API contract."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, model_validator

T = TypeVar("T")


class Model(BaseModel):
    """Base for every request and response: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class StepIn(Model):
    """A step a phone may have queued while offline: the time it happened on the device.

    Sent with an Idempotency-Key, the step is applied once however often it is retried, and
    recorded at ``device_time`` when that is plausible (else at the server's time, flagged)."""

    device_time: AwareDatetime | None = Field(
        default=None, description="when the person took the step, by the phone's clock"
    )


class StepMarks(Model):
    """How a step sent with a device time was recorded (all empty for an ordinary step)."""

    device_time: AwareDatetime | None = None
    recorded_at: AwareDatetime | None = None
    late: bool = Field(default=False, description="it happened well before the server heard")
    device_time_flagged: str | None = Field(
        default=None,
        description="future, before_start or too_old: the device time was implausible and "
        "the step was recorded at the server's time",
    )


class I18nText(Model):
    """A text for a person, in both languages: its key and parameters (for clients with their
    own catalogue) and both renderings. Free text typed by a person has no key."""

    key: str | None
    params: dict[str, Any]
    zh: str
    en: str


class Push(Model):
    """The payload of one pushed message type. ``TYPE`` is its ``type`` on the wire; every
    type has one model, listed in ``schemas/pushes.py`` and in the OpenAPI document."""

    TYPE: ClassVar[str]


class Patch(Model):
    """Base for partial updates: a field left out is unchanged; ``null`` clears a field only
    where clearing means something (``nullable``), and is refused everywhere else, so a
    PATCH can never write a hole into a column the rest of the system relies on."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_null_holes(cls, data: Any) -> Any:
        if isinstance(data, dict):
            bad = sorted(
                k
                for k, v in data.items()
                if v is None and k in cls.model_fields and k not in cls.nullable
            )
            if bad:
                raise ValueError(f"these fields cannot be cleared with null: {bad}")
        return data


class CoordSystemName(StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


class Location(Model):
    """A point on the map, with the coordinate system the client used.

    Coordinates are strict JSON numbers (integers allowed): ``true`` or ``"39.9"`` is a
    client bug, and guessing a number from it would put a caregiver on the wrong street."""

    lat: float = Field(ge=-90, le=90, strict=True, allow_inf_nan=False)
    lng: float = Field(ge=-180, le=180, strict=True, allow_inf_nan=False)
    coord_system: CoordSystemName = Field(
        description="wgs84 (GPS, wx.getLocation default), gcj02 (WeChat/Amap/Tencent maps) or bd09"
    )
    accuracy_m: float | None = Field(default=None, ge=0, strict=True, allow_inf_nan=False)


class Point(Model):
    """A stored point, always GCJ-02."""

    lat: float
    lng: float
    coord_system: CoordSystemName = CoordSystemName.GCJ02


class Page(Model, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


class Problem(Model):
    """RFC 9457 problem details, with a stable machine code."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    code: str


class TimelineEvent(Model):
    at: datetime
    kind: str
    actor_user_id: int | None = None
    data: dict[str, object] = Field(default_factory=dict)


def _iso(value: datetime) -> str:
    return value.isoformat()


# A time as pushed messages carry it: ISO 8601 with its offset (``+00:00``), as the pages
# and the caregivers' phones have always read it.
PushTime = Annotated[datetime, PlainSerializer(_iso, return_type=str, when_used="json")]


class StationPush(Push):
    """A station-wide message (fanned out to each of the station's operators): it names its
    station, since an admin gets every station's messages and a console shows only its own."""

    station_id: int


class Envelope(Model):
    """Every message pushed on the WebSocket: its per-recipient number, its type, when, and
    the payload of that type (one ``Push`` model per type, listed in ``schemas/pushes.py``)."""

    seq: int
    type: str
    at: datetime
    payload: dict[str, object]
