"""Elders imported without a point are listed as needing a location until an operator sets
it; a pluggable geocoder locates what it can."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from server.identity import make_id_number
from server.registry.flows.imports import import_elders
from tests.conftest import BACKENDS
from tests.support.api import Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

A = make_id_number("110105", date(1941, 2, 3), 21)
B = make_id_number("110105", date(1942, 4, 5), 22)


class StreetMap:
    """A geocoder that knows one street."""

    async def locate(self, address: str) -> tuple[float, float] | None:
        return (39.931, 116.452) if address.startswith("金台路") else None


async def test_unlocated_elders_are_listed_until_their_location_is_set(
    api: Api, tmp_path: Path
) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text(
        f"姓名,身份证号,住址\n孙玉兰,{A},金台路3号\n周建国,{B},团结湖北路9号\n", encoding="utf-8"
    )
    report = await import_elders(
        api.platform, listing, station_id=api.ids["station"], geocoder=StreetMap()
    )
    assert (report.created, [r.values["name"] for r in report.needs_location]) == (2, ["周建国"])
    page = await api.call("GET", "/api/v1/elders?location_pending=true", "operator", expect=200)
    assert [e["name"] for e in page["items"]] == ["周建国"]
    assert page["items"][0]["location_pending"] is True
    located = await api.call("GET", "/api/v1/elders?q=孙玉兰", "operator", expect=200)
    point = located["items"][0]["location"]
    assert (point["lat"], point["lng"]) == (39.931, 116.452)
    assert located["items"][0]["location_pending"] is False
    eid = page["items"][0]["id"]
    await api.call(
        "PATCH",
        f"/api/v1/elders/{eid}",
        "operator",
        json={"location": {"lat": 39.925, "lng": 116.46, "coord_system": "gcj02"}},
        expect=200,
    )
    page = await api.call("GET", "/api/v1/elders?location_pending=true", "operator", expect=200)
    assert page["items"] == []
    # Imported again: the location set by hand stays.
    again = await import_elders(api.platform, listing, station_id=api.ids["station"])
    assert (again.created, again.updated, again.needs_location) == (0, 0, [])
