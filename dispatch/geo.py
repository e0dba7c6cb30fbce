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
