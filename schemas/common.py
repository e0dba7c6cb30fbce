"""Shared pieces of the API contract."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Model(BaseModel):
    """Base for every request and response: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CoordSystemName(StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


class Location(Model):
    """A point on the map, with the coordinate system the client used."""

    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    coord_system: CoordSystemName = Field(
        description="wgs84 (GPS, wx.getLocation default), gcj02 (WeChat/Amap/Tencent maps) or bd09")
    accuracy_m: float | None = Field(default=None, ge=0)


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
