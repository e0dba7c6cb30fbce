"""Shared helpers for the dispatcher tests: a station, points around it, quick solver params."""

from __future__ import annotations

import zlib

from dispatch.geo import GeoPoint
from dispatch.model import HOUR, MINUTE, Caregiver, PlanParams, Task
from dispatch.routing import SolverParams

STATION = GeoPoint(39.9219, 116.4436)
KM_LAT = 1 / 111.195
KM_LNG = 1 / 85.3  # at 40°N

QUICK = SolverParams(
    first_solutions=("PARALLEL_CHEAPEST_INSERTION", "PATH_CHEAPEST_ARC"),
    time_limit_s=2.0,
    solution_limit=100,
)
PARAMS = PlanParams(solver=QUICK)


def at(east_km: float, north_km: float) -> GeoPoint:
    """A point east_km east and north_km north of the station."""
    return GeoPoint(STATION.lat + north_km * KM_LAT, STATION.lng + east_km * KM_LNG)


def caregiver(
    cid: int,
    start_h: float = 8,
    end_h: float = 17,
    skills: frozenset[str] = frozenset(),
    lunch: bool = False,
) -> Caregiver:
    """An e-bike caregiver starting and ending at the station (no lunch unless asked)."""
    kw = {} if lunch else {"lunch": None}
    return Caregiver(
        cid,
        f"护理员{cid}",
        int(start_h * HOUR),
        int(end_h * HOUR),
        skills,
        **kw,  # type: ignore[arg-type]
    )


def task(
    tid: str,
    east_km: float,
    north_km: float,
    from_h: float = 8,
    to_h: float = 17,
    minutes: int = 30,
    **kw: object,
) -> Task:
    """A task at a point near the station, window in hours, duration in minutes."""
    return Task(
        tid,
        zlib.crc32(tid.encode()) % 10_000,
        at(east_km, north_km),
        int(from_h * HOUR),
        int(to_h * HOUR),
        minutes * MINUTE,
        **kw,  # type: ignore[arg-type]
    )
