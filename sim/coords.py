"""China's coordinate systems for scenario files: conversion to GCJ-02 and the checks that
catch a point in the wrong system, with lat and lng swapped, or outside China.

The transform is the widely used open re-implementation of the GCJ-02 offset, the same as
server/geo.py's (a test checks they agree); it is repeated here because the simulator's pure
half imports nothing of the server.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from dispatch.geo import GeoPoint, haversine_m

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


def bd09_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    x, y = lng - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.sin(theta), z * math.cos(theta)


def to_gcj02(lat: float, lng: float, system: str) -> GeoPoint:
    """A point given in `system` ("wgs84", "gcj02" or "bd09") as GCJ-02."""
    if system == "wgs84":
        return GeoPoint(*wgs84_to_gcj02(lat, lng))
    if system == "bd09":
        return GeoPoint(*bd09_to_gcj02(lat, lng))
    return GeoPoint(lat, lng)


def point_problem(lat: float, lng: float) -> str | None:
    """What is wrong with a single point, or None: outside China, or lat/lng swapped."""
    if in_china(lat, lng):
        return None
    if in_china(lng, lat):
        return f"lat {lat:g} and lng {lng:g} look swapped (China is lat 1-56, lng 72-138)"
    return f"({lat:g}, {lng:g}) is outside China: GCJ-02 scenarios are in China"


def east_north_m(origin: GeoPoint, p: GeoPoint) -> tuple[float, float]:
    """The offset of p from origin in metres east and north (flat-earth, fine within 50 km)."""
    north = haversine_m(origin, GeoPoint(p.lat, origin.lng)) * (1 if p.lat >= origin.lat else -1)
    east = haversine_m(origin, GeoPoint(origin.lat, p.lng)) * (1 if p.lng >= origin.lng else -1)
    return east, north


@dataclass(frozen=True)
class Shift:
    """A consistent displacement that matches a coordinate system's offset."""

    system: str  # "wgs84" or "bd09": the system the displaced points look to be in
    metres: float


def _offsets(at: GeoPoint) -> dict[str, tuple[float, float]]:
    """How far a GCJ-02 point moves if it is read as if it were WGS-84 or BD-09 (east, north)."""
    as_wgs = GeoPoint(*wgs84_to_gcj02(at.lat, at.lng))  # GCJ = WGS + this offset
    wgs_e, wgs_n = east_north_m(at, as_wgs)
    as_bd = GeoPoint(*bd09_to_gcj02(at.lat, at.lng))  # GCJ = BD - this offset
    bd_e, bd_n = east_north_m(as_bd, at)
    # A point really in WGS-84 but read as GCJ-02 sits `wgs` short of where it should;
    # one really in BD-09 sits `bd` beyond.
    return {"wgs84": (-wgs_e, -wgs_n), "bd09": (bd_e, bd_n)}


def displaced_like(
    anchors: Sequence[GeoPoint], clouds: Sequence[Sequence[GeoPoint]], tolerance_m: float = 80
) -> Shift | None:
    """Whether the points around every anchor (a station) are displaced from it by the
    offset of another coordinate system, as happens when stations and elders were copied
    from different maps. Each anchor's cloud centroid is compared with the offset; every
    anchor with a cloud of 3 or more points must agree. None when nothing looks shifted."""
    usable = [(a, c) for a, c in zip(anchors, clouds, strict=True) if len(c) >= 3]
    if not usable:
        return None
    for system in ("wgs84", "bd09"):
        gaps: dict[int, list[float]] = {1: [], -1: []}
        for anchor, cloud in usable:
            lat = sum(p.lat for p in cloud) / len(cloud)
            lng = sum(p.lng for p in cloud) / len(cloud)
            east, north = east_north_m(anchor, GeoPoint(lat, lng))
            oe, on = _offsets(anchor)[system]
            for sign in gaps:  # the elders shifted, or the station shifted the other way
                gaps[sign].append(math.hypot(east - sign * oe, north - sign * on))
        if any(max(g) <= tolerance_m for g in gaps.values()):
            oe, on = _offsets(usable[0][0])[system]
            return Shift(system, math.hypot(oe, on))
    return None
