"""Travel-time models: integer-second matrices between points for a mode of travel."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Protocol

from dispatch.geo import GeoPoint, haversine_m


class TravelMode(StrEnum):
    """How a caregiver moves around the neighbourhood."""

    WALK = "walk"
    EBIKE = "ebike"
    CAR = "car"


def _default_speeds() -> Mapping[TravelMode, float]:
    return MappingProxyType({TravelMode.WALK: 1.2, TravelMode.EBIKE: 4.2, TravelMode.CAR: 6.0})


@dataclass(frozen=True)
class TravelParams:
    """Detour factor over the straight line, speed per mode (m/s), fixed overhead (s).

    The overhead (parking, stairs, the door) is added to every trip between two different
    places; a trip to the same place costs nothing.
    """

    detour_factor: float = 1.3
    speeds_mps: Mapping[TravelMode, float] = field(default_factory=_default_speeds)
    overhead_s: int = 120

    def __post_init__(self) -> None:
        if not (math.isfinite(self.detour_factor) and self.detour_factor >= 1.0):
            raise ValueError(f"detour_factor must be >= 1, got {self.detour_factor}")
        if self.overhead_s < 0:
            raise ValueError(f"overhead_s must be >= 0, got {self.overhead_s}")
        for mode in TravelMode:
            speed = self.speeds_mps.get(mode)
            if speed is None:
                raise ValueError(f"speeds_mps lacks a speed for {mode.value}")
            if not (math.isfinite(speed) and speed > 0):
                raise ValueError(f"speed for {mode.value} must be > 0, got {speed}")
        # Freeze the mapping so the params stay hashable-in-spirit and immutable.
        object.__setattr__(self, "speeds_mps", MappingProxyType(dict(self.speeds_mps)))

    # A mapping proxy cannot be pickled; the server hands params to a worker process.
    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "speeds_mps": dict(self.speeds_mps)}

    def __setstate__(self, state: dict[str, object]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "speeds_mps", MappingProxyType(dict(self.speeds_mps)))


class TravelTimeModel(Protocol):
    """Anything that gives integer-second travel times between points."""

    def matrix(
        self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint], mode: TravelMode
    ) -> list[list[int]]:
        """Seconds from every origin (rows) to every destination (columns)."""
        ...


DEFAULT_TRAVEL_PARAMS = TravelParams()


class GreatCircleTravel(TravelTimeModel):
    """Great-circle distance × detour factor ÷ speed + overhead, rounded up to whole seconds."""

    def __init__(self, params: TravelParams = DEFAULT_TRAVEL_PARAMS) -> None:
        self.params = params

    def seconds(self, a: GeoPoint, b: GeoPoint, mode: TravelMode) -> int:
        """Seconds from a to b."""
        metres = haversine_m(a, b)
        if metres < 1.0:
            return 0
        p = self.params
        return math.ceil(metres * p.detour_factor / p.speeds_mps[mode]) + p.overhead_s

    def matrix(
        self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint], mode: TravelMode
    ) -> list[list[int]]:
        """Seconds from every origin (rows) to every destination (columns)."""
        return [[self.seconds(a, b, mode) for b in destinations] for a in origins]


def service_circle_radius_m(params: TravelParams, mode: TravelMode, minutes: float = 15) -> float:
    """Straight-line radius reachable within `minutes` by `mode` under the same model."""
    budget = minutes * 60.0 - params.overhead_s
    if budget <= 0:
        return 0.0
    return budget * params.speeds_mps[mode] / params.detour_factor


class MatrixTravel(TravelTimeModel):
    """Travel times looked up in matrices fetched beforehand (road times from OSRM, say),
    per mode; a pair of points not in them comes from the fallback (great-circle).

    Plain data, so it can be handed to a worker process; `prefetch` fills it.
    """

    def __init__(
        self,
        points: Sequence[GeoPoint],
        matrices: Mapping[TravelMode, list[list[int]]],
        fallback: GreatCircleTravel | None = None,
    ) -> None:
        self.index = {p: k for k, p in enumerate(points)}
        self.matrices = dict(matrices)
        self.fallback = fallback if fallback is not None else GreatCircleTravel()

    def matrix(
        self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint], mode: TravelMode
    ) -> list[list[int]]:
        """Seconds from every origin (rows) to every destination (columns)."""
        m = self.matrices.get(mode)
        cols = [self.index.get(b) for b in destinations]
        out: list[list[int]] = []
        for a in origins:
            i = self.index.get(a)
            if m is None or i is None:
                out.append([self.fallback.seconds(a, b, mode) for b in destinations])
                continue
            row = m[i]
            out.append(
                [
                    row[j] if j is not None else self.fallback.seconds(a, b, mode)
                    for b, j in zip(destinations, cols, strict=True)
                ]
            )
        return out


def prefetch(
    model: TravelTimeModel,
    points: Sequence[GeoPoint],
    modes: Sequence[TravelMode],
    *,
    fallback: GreatCircleTravel | None = None,
    block: int = 100,
) -> MatrixTravel:
    """Every pair of `points` for each mode, asked of `model` in blocks of at most `block`
    origins × `block` destinations (map services limit a table's size; an OSRM model falls
    back to great-circle for a block it cannot answer)."""
    pts = list(dict.fromkeys(p for p in points if p.is_valid()))
    mats: dict[TravelMode, list[list[int]]] = {}
    for mode in dict.fromkeys(modes):
        full = [[0] * len(pts) for _ in pts]
        for i0 in range(0, len(pts), block):
            for j0 in range(0, len(pts), block):
                part = model.matrix(pts[i0 : i0 + block], pts[j0 : j0 + block], mode)
                for di, row in enumerate(part):
                    full[i0 + di][j0 : j0 + len(row)] = [int(x) for x in row]
        mats[mode] = full
    return MatrixTravel(pts, mats, fallback)
