"""The registry: create, read, update, deactivate, search, paginate; masking and tenants."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from server.identity import make_id_number
from server.store.tables import audit_log
from tests.conftest import BACKENDS
from tests.support.api import Api, near

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

VALID_ID = "11010519491231002X"


def elder_body(api: Api, **over: Any) -> dict[str, Any]:
    lat, lng = near(300, 300)
    body = {
        "station_id": api.ids["station"],
        "name": "周淑珍",
        "id_number": VALID_ID,
        "phone": "+86 138 0013 8000",
        "address": "北京市朝阳区延静里5号楼",
        "living": "alone",
        "location": {"lat": lat, "lng": lng, "coord_system": "gcj02"},
        "categories": ["低保"],
        "care_level": "失能",
        "contacts": [{"name": "周小明", "relation": "儿子", "phone": "13912345678", "order": 1}],
    }
    body.update(over)
    return body


async def test_create_masks_id_and_phone(api: Api) -> None:
    e = await api.call("POST", "/api/v1/elders", "operator", json=elder_body(api), expect=201)
    assert e["id_number"] == "110***********002X"
    assert e["phone"] == "138****8000"
    assert e["contacts"][0]["phone"] == "139****5678"
    assert e["birth_date"] is None and e["age"] >= 70 and e["sex"] == "F"


async def test_masked_views_cannot_rebuild_the_id_number(api: Api) -> None:
    """The old mask hid exactly the birth date and the response showed it next to it."""
    e = await api.call("POST", "/api/v1/elders", "operator", json=elder_body(api), expect=201)
    views = [
        e,
        await api.call("GET", f"/api/v1/elders/{e['id']}", "operator", expect=200),
        (await api.call("GET", "/api/v1/elders?q=周淑珍", "operator", expect=200))["items"][0],
    ]
    for view in views:
        text = str(view)
        assert "1949-12-31" not in text and "19491231" not in text and "110105" not in text
    full = await api.call("GET", f"/api/v1/elders/{e['id']}?reveal=1", "operator", expect=200)
    assert full["birth_date"] == "1949-12-31" and full["id_number"] == VALID_ID


async def test_reveal_is_audited_without_values(api: Api) -> None:
    e = await api.call("POST", "/api/v1/elders", "operator", json=elder_body(api), expect=201)
    full = await api.call("GET", f"/api/v1/elders/{e['id']}?reveal=1", "operator", expect=200)
    assert full["id_number"] == VALID_ID and full["phone"] == "13800138000"
    async with api.platform.store.read() as conn:
        rows = (await conn.execute(select(audit_log).where(audit_log.c.action == "reveal"))).all()
    assert len(rows) == 1 and rows[0].actor_user_id == api.ids["operator"]
    assert VALID_ID not in str(rows[0].detail)


async def test_family_cannot_reveal(api: Api) -> None:
    e = await api.call("GET", f"/api/v1/elders/{api.ids['elder']}?reveal=1", "family", expect=200)
    assert e["masked"] is True


@pytest.mark.parametrize(
    "field,value,code",
    [
        ("id_number", "110105194912310021", "invalid_id_number"),  # wrong check digit
        ("id_number", "11010519491331002X", "invalid_id_number"),  # month 13
        ("id_number", "1101051949123100", "invalid_id_number"),
        ("phone", "12345", "invalid_phone"),
        ("phone", "23800138000", "invalid_phone"),
    ],
)
async def test_bad_identity_data_is_refused(api: Api, field: str, value: str, code: str) -> None:
    status, body = await api.call(
        "POST", "/api/v1/elders", "operator", json=elder_body(api, **{field: value})
    )
    assert status == 422 and body["code"] == code
    page = await api.call("GET", "/api/v1/elders?q=周淑珍", "operator", expect=200)
    assert page["total"] == 0


async def test_duplicate_id_number_is_409(api: Api) -> None:
    await api.call("POST", "/api/v1/elders", "operator", json=elder_body(api), expect=201)
    status, body = await api.call(
        "POST", "/api/v1/elders", "operator", json=elder_body(api, name="别人")
    )
    assert status == 409 and body["code"] == "elder_exists"


async def test_wgs84_is_stored_as_gcj02(api: Api) -> None:
    e = await api.call(
        "POST",
        "/api/v1/elders",
        "operator",
        expect=201,
        json=elder_body(api, location={"lat": 39.9219, "lng": 116.4436, "coord_system": "wgs84"}),
    )
    # The GCJ-02 offset in Beijing is roughly +0.0014 lat, +0.0061 lng.
    assert 0.001 < e["location"]["lat"] - 39.9219 < 0.002
    assert 0.005 < e["location"]["lng"] - 116.4436 < 0.007


async def test_operator_sees_only_own_station(api: Api) -> None:
    status, body = await api.call("GET", f"/api/v1/elders/{api.ids['elder_s2']}", "operator")
    assert status == 404 and body["code"] == "elder_not_found"
    page = await api.call("GET", "/api/v1/elders", "operator2", expect=200)
    assert [e["id"] for e in page["items"]] == [api.ids["elder_s2"]]
    status, _ = await api.call("POST", "/api/v1/elders", "operator2", json=elder_body(api))
    assert status == 404


async def test_caregiver_sees_elder_only_with_a_task(api: Api) -> None:
    status, _ = await api.call("GET", f"/api/v1/elders/{api.ids['elder']}", "cg_a")
    assert status == 404
    inc = await api.press(expect=201)
    await api.pump()
    [offer] = await api.call("GET", "/api/v1/offers", "cg_a", expect=200)
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200)
    e = await api.call("GET", f"/api/v1/elders/{api.ids['elder']}", "cg_a", expect=200)
    assert e["masked"] is True
    status, _ = await api.call("GET", f"/api/v1/incidents/{inc['id']}", "cg_b")
    assert status == 404


async def test_search_and_paginate(api: Api) -> None:
    for i in range(5):
        await api.call(
            "POST",
            "/api/v1/elders",
            "operator",
            expect=201,
            json=elder_body(
                api,
                name=f"测试老人{i}",
                id_number=make_id_number(
                    "110105", __import__("datetime").date(1950, 1, 1), 500 + i
                ),
            ),
        )
    page1 = await api.call(
        "GET", "/api/v1/elders?q=测试老人&page=1&page_size=2", "operator", expect=200
    )
    page3 = await api.call(
        "GET", "/api/v1/elders?q=测试老人&page=3&page_size=2", "operator", expect=200
    )
    assert page1["total"] == 5 and len(page1["items"]) == 2 and len(page3["items"]) == 1
    status, body = await api.call("GET", "/api/v1/elders?page_size=1000", "operator")
    assert status == 422


async def test_deactivated_elder_cannot_open_a_call(api: Api) -> None:
    await api.call("POST", f"/api/v1/elders/{api.ids['elder']}/deactivate", "operator", expect=200)
    status, body = await api.press()
    assert status == 422 and body["code"] == "elder_inactive"


async def test_update_elder(api: Api) -> None:
    e = await api.call(
        "PATCH",
        f"/api/v1/elders/{api.ids['elder']}",
        "operator",
        json={"diet_notes": "低盐低糖", "care_level": "失能"},
        expect=200,
    )
    assert e["diet_notes"] == "低盐低糖" and e["care_level"] == "失能"
    status, _ = await api.call(
        "PATCH", f"/api/v1/elders/{api.ids['elder']}", "operator", json={"care_level": "很好"}
    )
    assert status == 422


async def test_caregiver_crud_and_duty(api: Api) -> None:
    c = await api.call(
        "POST",
        "/api/v1/caregivers",
        "operator",
        expect=201,
        json={
            "station_id": api.ids["station"],
            "name": "孙丽",
            "phone": "13700001111",
            "username": "sunli",
            "password": "long-password-1",
            "skills": ["first_aid", "bathing"],
        },
    )
    assert c["on_duty"] is False
    status, body = await api.call(
        "POST",
        "/api/v1/caregivers",
        "operator",
        json={
            "station_id": api.ids["station"],
            "name": "x",
            "phone": "13700001112",
            "password": "long-password-1",
            "skills": ["flying"],
        },
    )
    assert status == 422
    await api.call("POST", f"/api/v1/caregivers/{c['id']}/deactivate", "operator", expect=200)
    status, _ = await api.call(
        "POST", "/api/v1/auth/login", json={"login": "sunli", "password": "long-password-1"}
    )
    assert status == 401
    page = await api.call("GET", "/api/v1/caregivers?active=true", "operator", expect=200)
    assert c["id"] not in [x["id"] for x in page["items"]]


async def test_roles_are_enforced(api: Api) -> None:
    status, body = await api.call("GET", "/api/v1/elders", "family")
    assert status == 403 and body["code"] == "forbidden"
    status, _ = await api.call("GET", "/api/v1/elders")
    assert status == 401


async def test_station_update_recomputes_circle(api: Api) -> None:
    st = await api.call(
        "PATCH",
        f"/api/v1/stations/{api.ids['station']}",
        "operator",
        json={"circle_minutes": 10},
        expect=200,
    )
    assert 1000 < st["circle_radius_m"] < 2000
    status, _ = await api.call(
        "PATCH", f"/api/v1/stations/{api.ids['station']}", "operator2", json={"circle_minutes": 10}
    )
    assert status == 404
    status, _ = await api.call(
        "PATCH", f"/api/v1/stations/{api.ids['station']}", "operator", json={"active": False}
    )
    assert status == 403


async def test_operator_reveals_caregiver_phone_with_audit(api: Api) -> None:
    masked = await api.call("GET", f"/api/v1/caregivers/{api.ids['cg_a']}", "operator", expect=200)
    assert "*" in masked["phone"]
    full = await api.call(
        "GET", f"/api/v1/caregivers/{api.ids['cg_a']}?reveal=1", "operator", expect=200
    )
    assert "*" not in full["phone"]
    async with api.platform.store.read() as conn:
        actions = [
            r.action
            for r in (
                await conn.execute(select(audit_log).where(audit_log.c.object_type == "caregiver"))
            ).all()
        ]
    assert actions == ["reveal"]


async def test_create_with_only_required_fields_uses_defaults(api: Api) -> None:
    """Leaving out `categories` (and every other defaulted field) used to be a 409."""
    lat, lng = near(300, 300)
    e = await api.call(
        "POST",
        "/api/v1/elders",
        "operator",
        expect=201,
        json={
            "station_id": api.ids["station"],
            "name": "周淑珍",
            "id_number": VALID_ID,
            "address": "北京市朝阳区延静里5号楼",
            "location": {"lat": lat, "lng": lng, "coord_system": "gcj02"},
        },
    )
    assert e["categories"] == [] and e["contacts"] == [] and e["living"] == "with_family"
    assert e["care_level"] == "自理" and e["high_risk"] is False


async def test_preferred_caregiver_must_be_at_the_station(api: Api) -> None:
    eid = api.ids["elder"]
    async with api.platform.store.begin() as conn:
        other = await api._user(conn, "caregiver", "cg_s2", api.ids["station2"], api.clock.now())
        from sqlalchemy import insert

        from server.registry.tables import caregivers

        cg_s2 = (
            await conn.execute(
                insert(caregivers)
                .values(
                    user_id=other,
                    station_id=api.ids["station2"],
                    name="外站",
                    phone="13900000099",
                    skills=[],
                    certificates=[],
                    shifts=[],
                    created_at=api.clock.now(),
                )
                .returning(caregivers.c.id)
            )
        ).scalar_one()
    for bad in (999_999, cg_s2):
        status, body = await api.call(
            "PATCH", f"/api/v1/elders/{eid}", "operator", json={"preferred_caregiver_id": bad}
        )
        assert status == 422 and body["code"] == "caregiver_not_found", body
        assert body["field"] == "preferred_caregiver_id"
    status, body = await api.call(
        "POST", "/api/v1/elders", "operator", json=elder_body(api, preferred_caregiver_id=999_999)
    )
    assert status == 422 and body["code"] == "caregiver_not_found"
    ok = await api.call(
        "PATCH",
        f"/api/v1/elders/{eid}",
        "operator",
        expect=200,
        json={"preferred_caregiver_id": api.ids["cg_a"]},
    )
    assert ok["preferred_caregiver_id"] == api.ids["cg_a"]


@pytest.mark.parametrize(
    "q,found",
    [
        ("13800138000", True),  # the whole mobile
        ("+86 138-0013-8000", True),  # normalised first
        ("8000", True),  # the last 4, shown in every masked view
        ("0013", False),  # hidden middle digits: no way to probe them
        ("138001", False),
        ("3800138000", False),  # endswith of a longer tail
        ("%", False),  # LIKE wildcards are literal
        ("_", False),
    ],
)
async def test_phone_search_reveals_no_hidden_digits(api: Api, q: str, found: bool) -> None:
    e = await api.call("POST", "/api/v1/elders", "operator", json=elder_body(api), expect=201)
    from urllib.parse import quote

    page = await api.call("GET", f"/api/v1/elders?q={quote(q)}", "operator", expect=200)
    assert (e["id"] in [x["id"] for x in page["items"]]) is found, page


@pytest.mark.parametrize(
    "q,found",
    [
        ("13900000001", True),
        ("0001", True),
        ("900000", False),
        ("%", False),
        ("王", True),
        ("王%", False),
    ],
)
async def test_caregiver_search_is_exact_on_phones(api: Api, q: str, found: bool) -> None:
    from urllib.parse import quote

    async with api.platform.store.read() as conn:
        from server.registry.tables import caregivers

        phone = (
            await conn.execute(select(caregivers.c.phone).where(caregivers.c.id == api.ids["cg_a"]))
        ).scalar_one()
    q = q.replace("13900000001", phone).replace("0001", phone[-4:])
    page = await api.call("GET", f"/api/v1/caregivers?q={quote(q)}", "operator", expect=200)
    assert (api.ids["cg_a"] in [x["id"] for x in page["items"]]) is found, (q, page)


async def test_caregiver_phone_change_moves_the_login(api: Api) -> None:
    cid = api.ids["cg_a"]
    await api.call(
        "PATCH",
        f"/api/v1/caregivers/{cid}",
        "operator",
        json={"phone": "137 0000 2222"},
        expect=200,
    )
    status, _ = await api.call(
        "POST", "/api/v1/auth/login", json={"login": "13700002222", "password": "secret-pass-1"}
    )
    assert status == 200
    # cg_b's login number cannot be taken by cg_a: 409, and nothing changes.
    await api.call(
        "PATCH",
        f"/api/v1/caregivers/{api.ids['cg_b']}",
        "operator",
        json={"phone": "13700003333"},
        expect=200,
    )
    status, body = await api.call(
        "PATCH",
        f"/api/v1/caregivers/{cid}",
        "operator",
        json={"phone": "13700003333", "name": "改名"},
    )
    assert status == 409 and body["code"] == "phone_taken"
    cg = await api.call("GET", f"/api/v1/caregivers/{cid}?reveal=1", "operator", expect=200)
    assert cg["phone"] == "13700002222" and cg["name"] == "王芳"
    # An operator's number is as taken as a caregiver's.
    async with api.platform.store.begin() as conn:
        from sqlalchemy import update

        from server.auth.tables import users

        await conn.execute(
            update(users).where(users.c.id == api.ids["operator"]).values(phone="13700004444")
        )
    status, body = await api.call(
        "PATCH", f"/api/v1/caregivers/{cid}", "operator", json={"phone": "13700004444"}
    )
    assert status == 409 and body["code"] == "phone_taken"


async def test_reactivate_elder_and_caregiver_is_audited(api: Api) -> None:
    eid, cid = api.ids["elder"], api.ids["cg_b"]
    await api.call("POST", f"/api/v1/elders/{eid}/deactivate", "operator", expect=200)
    await api.call("POST", f"/api/v1/caregivers/{cid}/deactivate", "operator", expect=200)
    status, _ = await api.call("POST", f"/api/v1/elders/{eid}/reactivate", "operator2")
    assert status == 404  # another station's
    status, _ = await api.call("POST", f"/api/v1/elders/{eid}/reactivate", "family")
    assert status == 403
    assert (await api.call("POST", f"/api/v1/elders/{eid}/reactivate", "operator", expect=200))[
        "active"
    ]
    assert (await api.call("POST", f"/api/v1/caregivers/{cid}/reactivate", "operator", expect=200))[
        "active"
    ]
    await api.press(expect=201)  # calls are accepted again
    await api.login("cg_b")  # and she signs in again
    cg = await api.call("GET", f"/api/v1/caregivers/{cid}", "operator", expect=200)
    assert cg["active"] is True and cg["on_duty"] is False
    async with api.platform.store.read() as conn:
        actions = [
            (r.object_type, r.action)
            for r in (
                await conn.execute(select(audit_log).where(audit_log.c.action == "reactivate"))
            ).all()
        ]
    assert sorted(actions) == [("caregiver", "reactivate"), ("elder", "reactivate")]


async def _reveals(api: Api) -> list[Any]:
    async with api.platform.store.read() as conn:
        return list(
            (
                await conn.execute(
                    select(audit_log).where(
                        audit_log.c.action == "reveal",
                        audit_log.c.actor_user_id == api.ids["cg_a_user"],
                    )
                )
            ).all()
        )


async def test_caregiver_on_the_way_gets_the_phones_audited(api: Api) -> None:
    """To call the elder or the daughter on the way; only while the incident is active."""
    eid = api.ids["elder"]
    patch = {"landline": "010-6555 0001"}
    await api.call("PATCH", f"/api/v1/elders/{eid}", "operator", json=patch, expect=200)
    inc = await api.press(expect=201)
    await api.pump()
    [offer] = await api.call("GET", "/api/v1/offers", "cg_a", expect=200)
    offered = await api.call("GET", f"/api/v1/incidents/{inc['id']}", "cg_a", expect=200)
    assert offered["elder_contact"] is None  # only offered: not yet
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200)

    e = await api.call("GET", f"/api/v1/elders/{eid}", "cg_a", expect=200)
    assert e["phone"] == "13500000001" and e["contacts"][0]["phone"] == "13911112222"
    assert "*" in e["id_number"] and e["birth_date"] is None  # the rest stays masked
    seen = await api.call("GET", f"/api/v1/incidents/{inc['id']}", "cg_a", expect=200)
    assert seen["elder_contact"]["phone"] == "13500000001"
    assert seen["elder_contact"]["landline"] == "01065550001"  # the home line too
    assert seen["elder_contact"]["contacts"][0]["phone"] == "13911112222"
    assert seen["elder_contact"]["care_level"] == "半失能"  # the call card's care level
    assert {"health_notes", "medicines", "diet_notes"} <= set(seen["elder_contact"])
    assert [r.detail["incident_id"] for r in await _reveals(api)] == [inc["id"], inc["id"]]
    # The family and the operator's plain view stay masked.
    assert (await api.call("GET", f"/api/v1/incidents/{inc['id']}", "family", expect=200))[
        "elder_contact"
    ] is None
    assert (await api.call("GET", f"/api/v1/incidents/{inc['id']}", "operator", expect=200))[
        "elder_contact"
    ] is None

    lat, lng = near(100, 100)
    await api.call(
        "POST",
        f"/api/v1/incidents/{inc['id']}/arrive",
        "cg_a",
        expect=200,
        json={"location": {"lat": lat, "lng": lng, "coord_system": "gcj02"}},
    )
    await api.call(
        "POST", f"/api/v1/incidents/{inc['id']}/resolve", "cg_a", json={"notes": "好"}, expect=200
    )
    done = await api.call("GET", f"/api/v1/incidents/{inc['id']}", "cg_a", expect=200)
    assert done["elder_contact"] is None  # over: masked again
    status, _ = await api.call("GET", f"/api/v1/elders/{eid}", "cg_a")
    assert status == 404
    assert len(await _reveals(api)) == 2
