"""China's three coordinate systems; the store keeps GCJ-02.

WGS-84 is what GPS and ``wx.getLocation`` give by default, GCJ-02 is what WeChat's and
Chinese maps draw (and what Amap and Tencent navigation links take), BD-09 is Baidu's.
The transform itself is pure and lives in ``dispatch/geo.py`` (the simulator uses it too);
this module is the server's edge: the client's system in, GCJ-02 stored, and back.
"""

from __future__ import annotations

import math
from enum import StrEnum

from dispatch.geo import (
    bd09_to_gcj02,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    wgs84_to_gcj02,
)

__all__ = [
    "CoordSystem",
    "bd09_to_gcj02",
    "distance_m",
    "from_store",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "to_store",
    "wgs84_to_gcj02",
]


class CoordSystem(StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


def to_store(lat: float, lng: float, system: CoordSystem) -> tuple[float, float]:
    """Convert a client's coordinate into the stored GCJ-02."""
    if system is CoordSystem.GCJ02:
        return lat, lng
    if system is CoordSystem.WGS84:
        return wgs84_to_gcj02(lat, lng)
    return bd09_to_gcj02(lat, lng)


def from_store(lat: float, lng: float, system: CoordSystem) -> tuple[float, float]:
    if system is CoordSystem.GCJ02:
        return lat, lng
    if system is CoordSystem.WGS84:
        return gcj02_to_wgs84(lat, lng)
    return gcj02_to_bd09(lat, lng)


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres."""
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(min(1.0, h)))
