"""Points on the earth and the great-circle distance between them."""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8

# A generous box around China (GCJ-02 is only defined there); used to spot bad coordinates.
_CHINA_LAT = (3.0, 54.0)
_CHINA_LNG = (73.0, 136.0)


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A point in degrees, GCJ-02 as stored."""

    lat: float
    lng: float

    def is_valid(self) -> bool:
        """True when the point is a finite latitude/longitude pair."""
        return (
            math.isfinite(self.lat)
            and math.isfinite(self.lng)
            and -90.0 <= self.lat <= 90.0
            and -180.0 <= self.lng <= 180.0
        )


def haversine_m(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance in metres."""
    p1 = math.radians(a.lat)
    p2 = math.radians(b.lat)
    dp = p2 - p1
    dl = math.radians(b.lng - a.lng)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def plausible_location(p: GeoPoint, centre: GeoPoint | None = None, max_m: float = 50_000) -> bool:
    """True when a point is valid, inside China, and (if given) within max_m of the centre.

    Catches swapped lat/lng, (0, 0) "null island" and points far out at sea.
    """
    if not p.is_valid():
        return False
    if not (_CHINA_LAT[0] <= p.lat <= _CHINA_LAT[1] and _CHINA_LNG[0] <= p.lng <= _CHINA_LNG[1]):
        return False
    return centre is None or haversine_m(p, centre) <= max_m


# ----- China's coordinate systems ---------------------------------------------------------------
# WGS-84 is what GPS and ``wx.getLocation`` give by default, GCJ-02 is what WeChat's and Chinese
# maps draw (the store keeps it), BD-09 is Baidu's. The GCJ-02 offset is a published
# obfuscation; the transform below is the widely used open re-implementation (accurate to about
# a metre, inverse by iteration). No maintained library on PyPI does this better. Pure, so the
# server and the simulator share it.

_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0


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
