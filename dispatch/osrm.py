"""Travel times from an OSRM-compatible table API, falling back to great-circle on errors.

dispatch/ does no I/O: the caller passes `fetch`, a function that GETs a URL and returns the
decoded JSON (the server wraps its HTTP client; tests pass a fake). Any error — network,
HTTP, a non-"Ok" code, a null cell, a wrong shape — falls back to the default model for that
whole request, so a plan is never blocked by the map service.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from dispatch.geo import GeoPoint
from dispatch.travel import GreatCircleTravel, TravelMode, TravelTimeModel

Fetch = Callable[[str], Any]

DEFAULT_PROFILES: Mapping[TravelMode, str] = MappingProxyType(
    {TravelMode.WALK: "foot", TravelMode.EBIKE: "bike", TravelMode.CAR: "driving"}
)


def table_url(
    base_url: str,
    profile: str,
    origins: Sequence[GeoPoint],
    destinations: Sequence[GeoPoint],
) -> str:
    """The OSRM `table` request for origins × destinations (lng,lat order, as OSRM wants)."""
    points = list(origins) + list(destinations)
    coords = ";".join(f"{p.lng:.6f},{p.lat:.6f}" for p in points)
    src = ";".join(str(i) for i in range(len(origins)))
    dst = ";".join(str(len(origins) + j) for j in range(len(destinations)))
    return (
        f"{base_url.rstrip('/')}/table/v1/{profile}/{coords}"
        f"?sources={src}&destinations={dst}&annotations=duration"
    )


def parse_table(payload: Any, n_origins: int, n_destinations: int) -> list[list[int]]:
    """Integer seconds from an OSRM table response; ValueError when it is not usable."""
    if not isinstance(payload, Mapping) or payload.get("code") != "Ok":
        code = payload.get("code") if isinstance(payload, Mapping) else type(payload).__name__
        raise ValueError(f"OSRM table failed: {code}")
    rows = payload.get("durations")
    if not isinstance(rows, list) or len(rows) != n_origins:
        raise ValueError("OSRM durations have the wrong shape")
    out: list[list[int]] = []
    for row in rows:
        if not isinstance(row, list) or len(row) != n_destinations:
            raise ValueError("OSRM durations have the wrong shape")
        cells = []
        for x in row:
            if not isinstance(x, int | float) or not math.isfinite(x) or x < 0:
                raise ValueError("OSRM returned no route for a pair")
            cells.append(math.ceil(x))
        out.append(cells)
    return out


class OsrmTravel(TravelTimeModel):
    """Road travel times from OSRM plus the fixed overhead; great-circle when OSRM fails."""

    def __init__(
        self,
        base_url: str,
        fetch: Fetch,
        *,
        fallback: GreatCircleTravel | None = None,
        profiles: Mapping[TravelMode, str] = DEFAULT_PROFILES,
    ) -> None:
        self.base_url = base_url
        self.fetch = fetch
        self.fallback = fallback if fallback is not None else GreatCircleTravel()
        self.profiles = profiles
        self.failures = 0  # how many requests fell back (for a metric)

    def matrix(
        self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint], mode: TravelMode
    ) -> list[list[int]]:
        """Seconds from every origin to every destination; falls back on any error."""
        if not origins or not destinations:
            return [[] for _ in origins]
        try:
            url = table_url(self.base_url, self.profiles[mode], origins, destinations)
            road = parse_table(self.fetch(url), len(origins), len(destinations))
        except Exception:  # noqa: BLE001 - any failure of the map service means: fall back
            self.failures += 1
            return self.fallback.matrix(origins, destinations, mode)
        overhead = self.fallback.params.overhead_s
        return [
            [0 if a == b else s + overhead for b, s in zip(destinations, row, strict=True)]
            for a, row in zip(origins, road, strict=True)
        ]
