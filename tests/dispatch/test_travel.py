"""Travel model: great-circle distance, detour, speeds, overhead, the service circle."""

from __future__ import annotations

import pytest

from dispatch.geo import GeoPoint, haversine_m, plausible_location
from dispatch.travel import (
    GreatCircleTravel,
    TravelMode,
    TravelParams,
    service_circle_radius_m,
)

STATION = GeoPoint(39.9219, 116.4436)  # Chaoyang, Beijing


def test_haversine_one_degree_of_latitude_is_about_111_km() -> None:
    """One degree of latitude is about 111.2 km anywhere."""
    d = haversine_m(GeoPoint(39.0, 116.0), GeoPoint(40.0, 116.0))
    assert 111_000 < d < 111_400


def test_same_point_costs_nothing() -> None:
    """No trip, no overhead."""
    assert GreatCircleTravel().seconds(STATION, STATION, TravelMode.WALK) == 0


def test_one_km_by_ebike() -> None:
    """1 km straight × 1.3 detour ÷ 4.2 m/s ≈ 310 s, + 120 s overhead."""
    b = GeoPoint(STATION.lat + 1000 / 111_195, STATION.lng)
    s = GreatCircleTravel().seconds(STATION, b, TravelMode.EBIKE)
    assert 428 <= s <= 432


def test_matrix_shape_and_integers() -> None:
    """Rows are origins, columns destinations, all integer seconds."""
    pts = [STATION, GeoPoint(39.93, 116.45), GeoPoint(39.91, 116.44)]
    m = GreatCircleTravel().matrix(pts, pts[:2], TravelMode.CAR)
    assert len(m) == 3 and all(len(r) == 2 for r in m)
    assert all(isinstance(x, int) for r in m for x in r)
    assert m[0][0] == 0 and m[1][1] == 0


def test_circle_radius_is_consistent_with_the_model() -> None:
    """A point at the circle's edge is reached in 15 minutes (within a second)."""
    p = TravelParams()
    r = service_circle_radius_m(p, TravelMode.EBIKE)
    edge = GeoPoint(STATION.lat + r / 111_195, STATION.lng)
    s = GreatCircleTravel(p).seconds(STATION, edge, TravelMode.EBIKE)
    assert abs(s - 900) <= 2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"detour_factor": 0.5},
        {"overhead_s": -1},
        {"speeds_mps": {TravelMode.WALK: 1.0}},
        {"speeds_mps": {TravelMode.WALK: 1.0, TravelMode.EBIKE: 0.0, TravelMode.CAR: 5.0}},
    ],
)
def test_bad_params_are_refused(kwargs: dict[str, object]) -> None:
    """Parameters validate themselves."""
    with pytest.raises(ValueError):
        TravelParams(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "point, ok",
    [
        (STATION, True),
        (GeoPoint(0.0, 0.0), False),  # null island, in the sea
        (GeoPoint(116.44, 39.92), False),  # lat and lng swapped
        (GeoPoint(float("nan"), 116.0), False),
        (GeoPoint(30.0, 125.0), True),  # East China Sea, but far from the centre check below
    ],
)
def test_plausible_location(point: GeoPoint, ok: bool) -> None:
    """Coordinates outside China or not numbers are not plausible."""
    assert plausible_location(point) is ok


def test_far_from_the_station_is_not_plausible() -> None:
    """A point 800 km from the station is not one of its elders' homes."""
    assert not plausible_location(GeoPoint(30.0, 125.0), STATION)
