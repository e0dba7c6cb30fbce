"""China's coordinate systems for scenario files: conversion to GCJ-02 and the checks that
catch a point in the wrong system, with lat and lng swapped, or outside China.

The transform itself is dispatch/geo.py's, the one the server uses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from dispatch.geo import GeoPoint, bd09_to_gcj02, haversine_m, in_china, wgs84_to_gcj02


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
