"""The OSRM table adapter against a fake that speaks the table protocol, and its fallback."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from dispatch.geo import GeoPoint
from dispatch.osrm import OsrmTravel, parse_table, table_url
from dispatch.travel import GreatCircleTravel, TravelMode
from tests.dispatch.helpers import STATION, at

PTS = [STATION, at(1, 0), at(0, 2)]


class FakeOsrm:
    """Answers /table/v1/{profile}/{lng,lat;...}?sources=..&destinations=.. like OSRM does:
    duration = 100 s per 0.01° of Manhattan distance, in the order asked."""

    def __init__(self, code: str = "Ok", null_cell: bool = False) -> None:
        self.code, self.null_cell, self.urls = code, null_cell, []  # type: ignore[var-annotated]

    def __call__(self, url: str) -> Any:
        self.urls.append(url)
        u = urlparse(url)
        m = re.match(r"^/table/v1/(\w+)/(.+)$", u.path)
        assert m, url
        pts = [tuple(map(float, c.split(","))) for c in m.group(2).split(";")]
        q = parse_qs(u.query)
        src = [int(i) for i in q["sources"][0].split(";")]
        dst = [int(i) for i in q["destinations"][0].split(";")]
        durs: list[list[float | None]] = [
            [100 * (abs(pts[i][0] - pts[j][0]) + abs(pts[i][1] - pts[j][1])) / 0.01 for j in dst]
            for i in src
        ]
        if self.null_cell:
            durs[0][-1] = None
        return {"code": self.code, "durations": durs}


def test_url_is_lng_lat_with_sources_and_destinations() -> None:
    """OSRM wants lng,lat and indices into the joint list."""
    url = table_url("http://osrm:5000/", "bike", [GeoPoint(39.9, 116.4)], [GeoPoint(40.0, 116.5)])
    assert url.startswith(
        "http://osrm:5000/table/v1/bike/116.400000,39.900000;116.500000,40.000000"
    )
    assert "sources=0&destinations=1" in url


def test_road_times_plus_overhead() -> None:
    """Road durations from the fake, plus the 120 s overhead; 0 to the same point."""
    fake = FakeOsrm()
    m = OsrmTravel("http://osrm", fake).matrix(PTS, PTS, TravelMode.EBIKE)
    assert m[0][0] == 0 and m[1][1] == 0
    assert m[0][1] > 120 and m[0][1] == m[1][0]
    assert "/table/v1/bike/" in fake.urls[0]


@pytest.mark.parametrize("fake", [FakeOsrm(code="NoTable"), FakeOsrm(null_cell=True)])
def test_errors_fall_back_to_great_circle(fake: FakeOsrm) -> None:
    """An error code or a pair without a route: the whole request falls back."""
    osrm = OsrmTravel("http://osrm", fake)
    m = osrm.matrix(PTS, PTS, TravelMode.WALK)
    assert m == GreatCircleTravel().matrix(PTS, PTS, TravelMode.WALK)
    assert osrm.failures == 1


def test_network_error_falls_back() -> None:
    """fetch raising (timeout, connection refused) falls back too."""

    def down(url: str) -> Any:
        raise OSError("connection refused")

    m = OsrmTravel("http://osrm", down).matrix(PTS[:1], PTS, TravelMode.CAR)
    assert m == GreatCircleTravel().matrix(PTS[:1], PTS, TravelMode.CAR)


def test_parse_rejects_wrong_shape() -> None:
    """A table with the wrong number of rows is not used."""
    with pytest.raises(ValueError):
        parse_table({"code": "Ok", "durations": [[1.0]]}, 2, 1)
