"""China's three coordinate systems; the store keeps GCJ-02.

WGS-84 is what GPS and ``wx.getLocation`` give by default, GCJ-02 is what WeChat's and
Chinese maps draw (and what Amap and Tencent navigation links take), BD-09 is Baidu's.
The GCJ-02 offset is a published obfuscation; the transform below is the widely used
open re-implementation (accurate to about a metre, inverse by iteration). No maintained
library on PyPI does this better, so it lives here with its tests.
"""

from __future__ import annotations

import math
from enum import StrEnum

_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0


class CoordSystem(StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


def in_china(lat: float, lng: float) -> bool:
    """The rough box inside which GCJ-02 differs from WGS-84."""
    return 72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271


def _dlat(x: float, y: float) -> float:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return r


def _dlng(x: float, y: float) -> float:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    if not in_china(lat, lng):
        return lat, lng
    dlat = _dlat(lng - 105.0, lat - 35.0)
    dlng = _dlng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lat + dlat, lng + dlng


def gcj02_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    """Inverse by fixed-point iteration (converges to < 1e-7 degrees in a few steps)."""
    wlat, wlng = lat, lng
    for _ in range(10):
        glat, glng = wgs84_to_gcj02(wlat, wlng)
        dlat, dlng = glat - lat, glng - lng
        wlat, wlng = wlat - dlat, wlng - dlng
        if abs(dlat) < 1e-8 and abs(dlng) < 1e-8:
            break
    return wlat, wlng


def bd09_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    x, y = lng - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.sin(theta), z * math.cos(theta)


def gcj02_to_bd09(lat: float, lng: float) -> tuple[float, float]:
    z = math.sqrt(lng * lng + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


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
