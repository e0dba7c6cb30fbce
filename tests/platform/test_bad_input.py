"""Bad input the whole API shares: a clear 4xx, never a 500, nothing half-written."""

from __future__ import annotations

import pytest

from tests.conftest import BACKENDS
from tests.support.api import Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

HUGE = 10**20


async def test_null_cannot_punch_a_hole_in_a_caregiver(api: Api) -> None:
    """`skills: null` used to commit and then break every read and every dispatch."""
    cid = api.ids["cg_a"]
    for field in ("skills", "name", "shifts", "travel_mode"):
        status, body = await api.call(
            "PATCH", f"/api/v1/caregivers/{cid}", "operator", json={field: None}
        )
        assert status == 422 and body["code"] == "validation_error", (field, body)
    cg = await api.call("GET", f"/api/v1/caregivers/{cid}", "operator", expect=200)
    assert isinstance(cg["skills"], list) and cg["name"]


async def test_null_clears_only_what_may_be_cleared(api: Api) -> None:
    eid = api.ids["elder"]
    status, body = await api.call("PATCH", f"/api/v1/elders/{eid}", "operator", json={"name": None})
    assert status == 422
    e = await api.call(
        "PATCH", f"/api/v1/elders/{eid}", "operator", expect=200, json={"household_id": None}
    )
    assert e["household_id"] is None and e["name"]


@pytest.mark.parametrize(
    "method,path,role,body",
    [
        ("POST", "/api/v1/help-calls", "family", {"call_type": "emergency", "elder_id": HUGE}),
        ("GET", f"/api/v1/incidents?elder_id={HUGE}", "operator", None),
        ("GET", f"/api/v1/elders?station_id={HUGE}", "operator", None),
    ],
)
async def test_numbers_too_large_for_the_store_are_422(
    api: Api, method: str, path: str, role: str, body: dict[str, object] | None
) -> None:
    headers = {"Idempotency-Key": "k-huge-0001"} if method == "POST" else None
    status, answer = await api.call(method, path, role, json=body, headers=headers)
    assert status == 422 and answer["code"] == "number_out_of_range", answer


@pytest.mark.parametrize("lat", [True, "39.9", None, [39.9], {"v": 39.9}])
async def test_location_coordinates_are_strict_numbers(api: Api, lat: object) -> None:
    """`true` and "39.9" used to be read as 1.0 and 39.9 (pydantic's lax mode)."""
    body = {
        "call_type": "emergency",
        "location": {"lat": lat, "lng": 116.44, "coord_system": "gcj02"},
    }
    status, answer = await api.call(
        "POST",
        "/api/v1/help-calls",
        "elder",
        json=body,
        headers={"Idempotency-Key": "k-strict-loc-1"},
    )
    assert status == 422 and answer["code"] == "validation_error", answer
    assert (await api.call("GET", "/api/v1/incidents", "operator", expect=200))["items"] == []


async def test_integer_coordinates_are_fine(api: Api) -> None:
    body = {"call_type": "emergency", "location": {"lat": 40, "lng": 116, "coord_system": "gcj02"}}
    inc = await api.call(
        "POST",
        "/api/v1/help-calls",
        "elder",
        json=body,
        headers={"Idempotency-Key": "k-int-loc-1"},
        expect=201,
    )
    assert inc["location"]["lat"] != 0


async def test_unknown_skills_on_a_caregiver_are_refused_whole(api: Api) -> None:
    """Found by the schema fuzz: a change of skills with names the station does not know
    answered 500. It is a 422 naming the field, and the record is unchanged."""
    cid = api.ids["cg_a"]
    before = await api.call("GET", f"/api/v1/caregivers/{cid}", "operator", expect=200)
    status, problem = await api.call(
        "PATCH", f"/api/v1/caregivers/{cid}", "operator", json={"skills": ["", "Ù", "first_aid"]}
    )
    assert status == 422 and problem["code"] == "validation_error"
    assert problem["errors"][0]["loc"] == ["skills"]
    after = await api.call("GET", f"/api/v1/caregivers/{cid}", "operator", expect=200)
    assert after["skills"] == before["skills"]


async def test_a_nul_character_in_a_name_is_refused_not_a_crash(api: Api) -> None:
    """Found by the schema fuzz on PostgreSQL (which stores no NUL in text): 422, nothing
    written, on both stores alike."""
    s = api.ids["station"]
    item = {
        "code": "nul-test",
        "name_zh": "测试",
        "name_en": "a\x00b",
        "category": "生活照料",
        "price_fen": 1000,
        "duration_min": 30,
    }
    status, _ = await api.call("POST", f"/api/v1/stations/{s}/service-items", "operator", json=item)
    assert status in (201, 422)  # SQLite keeps the NUL; PostgreSQL refuses it
    if status == 422:
        menu = await api.call("GET", f"/api/v1/stations/{s}/service-items", "operator", expect=200)
        assert "nul-test" not in str(menu)
