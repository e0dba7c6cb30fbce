"""The help call from the button to resolution, through the real app."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from server.store.tables import push_messages
from tests.conftest import BACKENDS
from tests.support.api import Api, near

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def offers_for(api: Api, who: str) -> list[dict[str, Any]]:
    return list(await api.call("GET", "/api/v1/offers", who, expect=200))


async def test_button_to_resolution(api: Api) -> None:
    """Elder presses; the nearest first-aider is offered, accepts, arrives, resolves."""
    inc = await api.press(expect=201)
    assert inc["status"] == "open" and inc["kind"] == "emergency"
    assert inc["deadline_at"] is not None
    await api.pump()
    [offer] = await offers_for(api, "cg_a")
    assert offer["incident_id"] == inc["id"]
    assert await offers_for(api, "cg_b") == []
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200)
    seen = await api.call("GET", f"/api/v1/incidents/{inc['id']}", "elder", expect=200)
    assert seen["status"] == "accepted" and seen["caregiver_name"] == "王芳"
    assert "正在赶来" in seen["status_text"] and seen["eta_minutes"] >= 1
    await api.call("POST", f"/api/v1/incidents/{inc['id']}/en-route", "cg_a", json={}, expect=200)
    lat, lng = near(110, 100)
    arrived = await api.call(
        "POST",
        f"/api/v1/incidents/{inc['id']}/arrive",
        "cg_a",
        json={"location": {"lat": lat, "lng": lng, "coord_system": "gcj02"}},
        expect=200,
    )
    assert arrived["flagged"] is False
    await api.call(
        "POST",
        f"/api/v1/incidents/{inc['id']}/resolve",
        "cg_a",
        json={"notes": "老人摔倒，已扶起，无外伤"},
        expect=200,
    )
    full = await api.call("GET", f"/api/v1/incidents/{inc['id']}", "operator", expect=200)
    kinds = [e["kind"] for e in full["timeline"]]
    assert kinds == ["opened", "offered", "accepted", "en_route", "arrived", "resolved"]
    assert full["status"] == "resolved"


async def test_repeat_with_same_key_returns_same_incident(api: Api) -> None:
    first = await api.press(key="press-0001", expect=201)
    again = await api.press(key="press-0001", expect=201)
    assert again == first


async def test_same_key_different_body_is_refused(api: Api) -> None:
    await api.press(key="press-0002", expect=201)
    status, body = await api.press(key="press-0002", call_type="health")
    assert status == 422 and body["code"] == "idempotency_key_reused"


async def test_second_press_joins_open_incident(api: Api) -> None:
    first = await api.press(expect=201)
    second = await api.press(expect=200)
    assert second["id"] == first["id"] and second["joined"] is True
    assert second["press_count"] == 2


async def test_family_presses_for_bound_elder_only(api: Api) -> None:
    inc = await api.press("family", elder_id=api.ids["elder"], expect=201)
    assert inc["elder_id"] == api.ids["elder"]
    status, body = await api.press("family", elder_id=api.ids["elder_other"])
    assert status == 404 and body["code"] == "elder_not_found"
    status, _ = await api.press("family2", elder_id=api.ids["elder"])
    assert status == 404


async def test_decline_and_timeout_move_to_next(api: Api) -> None:
    inc = await api.press(expect=201)
    await api.pump()
    [offer_a] = await offers_for(api, "cg_a")
    await api.call(
        "POST",
        f"/api/v1/offers/{offer_a['id']}/decline",
        "cg_a",
        json={"reason": "在忙"},
        expect=200,
    )
    await api.pump()
    [offer_b] = await offers_for(api, "cg_b")
    status, body = await api.call("POST", f"/api/v1/offers/{offer_a['id']}/accept", "cg_a")
    assert status == 409 and body["code"] == "offer_gone"
    await api.advance(61)
    assert await offers_for(api, "cg_b") == []
    status, body = await api.call("POST", f"/api/v1/offers/{offer_b['id']}/accept", "cg_b")
    assert status == 409
    alarms = await api.call("GET", "/api/v1/alarms", "operator", expect=200)
    assert any(a["kind"] == "no_caregiver" and a["incident_id"] == inc["id"] for a in alarms)


async def test_no_arrival_by_deadline_realarms(api: Api) -> None:
    inc = await api.press(expect=201)
    await api.pump()
    [offer] = await offers_for(api, "cg_a")
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200)
    await api.advance(20 * 60 + 1)
    alarms = await api.call("GET", "/api/v1/alarms", "operator", expect=200)
    assert [a["kind"] for a in alarms if a["incident_id"] == inc["id"]] == [
        "no_arrival_by_deadline"
    ]


async def test_a_calls_alarms_end_when_it_is_resolved(api: Api) -> None:
    """A call resolved after its deadline leaves no alarm up on the console."""
    inc = await api.press(expect=201)
    await api.pump()
    [offer] = await offers_for(api, "cg_a")
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200)
    await api.advance(20 * 60 + 1)
    alarms = await api.call("GET", "/api/v1/alarms", "operator", expect=200)
    assert [a["incident_id"] for a in alarms] == [inc["id"]]
    lat, lng = near(110, 100)
    where = {"location": {"lat": lat, "lng": lng, "coord_system": "gcj02"}}
    iid = inc["id"]
    await api.call("POST", f"/api/v1/incidents/{iid}/arrive", "cg_a", json=where, expect=200)
    done = {"notes": "已处理"}
    await api.call("POST", f"/api/v1/incidents/{iid}/resolve", "cg_a", json=done, expect=200)
    assert await api.call("GET", "/api/v1/alarms", "operator", expect=200) == []
    kept = await api.call("GET", "/api/v1/alarms?open=0", "operator", expect=200)
    assert [a["kind"] for a in kept if a["incident_id"] == iid] == ["no_arrival_by_deadline"]


async def test_arrival_far_away_is_flagged(api: Api) -> None:
    inc = await api.press(expect=201)
    await api.pump()
    [offer] = await offers_for(api, "cg_a")
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200)
    lat, lng = near(900)
    body = await api.call(
        "POST",
        f"/api/v1/incidents/{inc['id']}/arrive",
        "cg_a",
        json={"location": {"lat": lat, "lng": lng, "coord_system": "gcj02"}},
        expect=200,
    )
    assert body["flagged"] is True and body["needs_confirmation"] is True
    alarms = await api.call("GET", "/api/v1/alarms", "operator", expect=200)
    assert any(a["kind"] == "arrival_outside_geofence" for a in alarms)
    seen = await api.call("GET", f"/api/v1/incidents/{inc['id']}", "operator", expect=200)
    assert seen["status"] == "accepted" and seen["arrival_flagged"] is True
    assert seen["arrived_at"] is None
    assert seen["arrival_distance_m"] == body["distance_m"] and body["distance_m"] > 200
    assert [e["kind"] for e in seen["timeline"]][-2:] == ["arrival_flagged", "alarm"]


async def _flagged_arrival(api: Api) -> int:
    inc = await api.press(expect=201)
    await api.pump()
    [offer] = await offers_for(api, "cg_a")
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200)
    await api.call("POST", f"/api/v1/incidents/{inc['id']}/en-route", "cg_a", expect=200)
    await api.advance(5 * 60)
    lat, lng = near(900)
    body = await api.call(
        "POST",
        f"/api/v1/incidents/{inc['id']}/arrive",
        "cg_a",
        json={"location": {"lat": lat, "lng": lng, "coord_system": "gcj02"}},
        expect=200,
    )
    assert body["flagged"] is True
    return int(inc["id"])


async def _deadline_alarms(api: Api, iid: int) -> list[str]:
    await api.advance(20 * 60)
    alarms = await api.call("GET", "/api/v1/alarms?open=0", "operator", expect=200)
    return [
        a["kind"]
        for a in alarms
        if a["incident_id"] == iid and a["kind"] == "no_arrival_by_deadline"
    ]


async def test_flagged_arrival_still_realarms_at_the_deadline(api: Api) -> None:
    """A check-in 700 m away is not "on scene": the 20-minute alarm must still ring."""
    iid = await _flagged_arrival(api)
    assert await _deadline_alarms(api, iid) == ["no_arrival_by_deadline"]
    alarms = await api.call("GET", "/api/v1/alarms", "operator", expect=200)
    [deadline] = [a for a in alarms if a["kind"] == "no_arrival_by_deadline"]
    assert "未经确认" in deadline["message"]


async def test_operator_confirms_a_flagged_arrival(api: Api) -> None:
    iid = await _flagged_arrival(api)
    status, body = await api.call(
        "POST", f"/api/v1/incidents/{iid}/confirm-arrival", "operator2", json={"note": "x"}
    )
    assert status == 404
    status, body = await api.call(
        "POST", f"/api/v1/incidents/{iid}/confirm-arrival", "cg_a", json={}
    )
    assert status == 403
    out = await api.call(
        "POST",
        f"/api/v1/incidents/{iid}/confirm-arrival",
        "operator",
        json={"note": "电话确认护理员已在老人家中"},
        expect=200,
    )
    assert out["status"] == "arrived"
    seen = await api.call("GET", f"/api/v1/incidents/{iid}", "operator", expect=200)
    assert seen["status"] == "arrived" and seen["arrived_at"] is not None
    confirmed = [e for e in seen["timeline"] if e["kind"] == "arrival_confirmed"]
    assert len(confirmed) == 1 and confirmed[0]["actor_user_id"] == api.ids["operator"]
    open_alarms = await api.call("GET", "/api/v1/alarms", "operator", expect=200)
    assert not [a for a in open_alarms if a["kind"] == "arrival_outside_geofence"]
    # The caregiver's phone is told, so it stops asking her to check in again.
    async with api.platform.store.read() as conn:
        told = (
            (
                await conn.execute(
                    select(push_messages.c.payload).where(
                        push_messages.c.recipient == f"user:{api.ids['cg_a_user']}",
                        push_messages.c.type == "incident.arrival_confirmed",
                    )
                )
            )
            .scalars()
            .all()
        )
    assert [p["incident_id"] for p in told] == [iid]
    assert await _deadline_alarms(api, iid) == []
    status, body = await api.call("POST", f"/api/v1/incidents/{iid}/confirm-arrival", "operator")
    assert status == 409 and body["code"] == "no_arrival_to_confirm"
    await api.call(
        "POST", f"/api/v1/incidents/{iid}/resolve", "cg_a", json={"notes": "好了"}, expect=200
    )


async def test_checking_in_again_nearby_counts(api: Api) -> None:
    iid = await _flagged_arrival(api)
    lat, lng = near(110, 100)
    body = await api.call(
        "POST",
        f"/api/v1/incidents/{iid}/arrive",
        "cg_a",
        json={"location": {"lat": lat, "lng": lng, "coord_system": "gcj02"}},
        expect=200,
    )
    assert body["flagged"] is False and body["status"] == "arrived"
    seen = await api.call("GET", f"/api/v1/incidents/{iid}", "operator", expect=200)
    assert seen["status"] == "arrived" and seen["arrival_flagged"] is False
    assert await _deadline_alarms(api, iid) == []


async def test_no_confirmation_needed_without_a_flag(api: Api) -> None:
    inc = await api.press(expect=201)
    await api.pump()
    [offer] = await offers_for(api, "cg_a")
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200)
    status, body = await api.call(
        "POST", f"/api/v1/incidents/{inc['id']}/confirm-arrival", "operator"
    )
    assert status == 409 and body["code"] == "no_arrival_to_confirm"


async def test_nobody_on_duty_alarms_operator_at_once(api: Api) -> None:
    await api.set_duty("cg_a", False)
    await api.set_duty("cg_b", False)
    inc = await api.press(expect=201)
    await api.pump()
    alarms = await api.call("GET", "/api/v1/alarms", "operator", expect=200)
    assert [a["kind"] for a in alarms if a["incident_id"] == inc["id"]] == ["no_caregiver"]


async def test_outside_circle_is_accepted_and_flagged(api: Api) -> None:
    lat, lng = near(20000)
    inc = await api.press(location={"lat": lat, "lng": lng, "coord_system": "gcj02"}, expect=201)
    assert inc["outside_circle"] is True
    alarms = await api.call("GET", "/api/v1/alarms", "operator", expect=200)
    assert any(a["kind"] == "outside_circle" for a in alarms)


async def test_non_emergency_becomes_task_without_clock(api: Api) -> None:
    inc = await api.press(call_type="health", expect=201)
    assert inc["deadline_at"] is None
    await api.pump()
    assert await offers_for(api, "cg_a") == []


@pytest.mark.parametrize(
    "body,code",
    [
        ({"call_type": "panic"}, "validation_error"),
        (
            {
                "call_type": "emergency",
                "location": {"lat": 39.9, "lng": 116.4, "coord_system": "mars"},
            },
            "validation_error",
        ),
        (
            {
                "call_type": "emergency",
                "location": {"lat": 95, "lng": 116.4, "coord_system": "wgs84"},
            },
            "validation_error",
        ),
        ({"call_type": "emergency", "extra": 1}, "validation_error"),
    ],
)
async def test_bad_bodies_are_clear_errors(api: Api, body: dict[str, Any], code: str) -> None:
    status, problem = await api.call(
        "POST",
        "/api/v1/help-calls",
        "elder",
        json=body,
        headers={"Idempotency-Key": "bad-body-001"},
    )
    assert status == 422 and problem["code"] == code
    assert (await api.call("GET", "/api/v1/incidents", "operator", expect=200))["items"] == []


async def test_missing_key_and_broken_json(api: Api) -> None:
    status, body = await api.call(
        "POST", "/api/v1/help-calls", "elder", json={"call_type": "emergency"}
    )
    assert status == 400 and body["code"] == "idempotency_key_required"
    r = await api.client.post(
        "/api/v1/help-calls",
        data=b"{nope",
        headers=api.h("elder", **{"Idempotency-Key": "k-12345678"}),
    )
    assert r.status == 400 and (await r.json())["code"] == "malformed_json"


async def test_expired_token_is_401(api: Api) -> None:
    api.clock.advance(7 * 3600)
    status, body = await api.press()
    assert status == 401 and body["code"] == "token_expired"


async def test_eta_follows_the_caregiver(api: Api) -> None:
    inc = await api.press(expect=201)
    await api.pump()
    [offer] = await offers_for(api, "cg_a")
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200)
    before = await api.call("GET", f"/api/v1/incidents/{inc['id']}", "family", expect=200)
    lat, lng = near(150, 100)
    await api.call(
        "POST",
        "/api/v1/caregivers/me/location",
        "cg_a",
        json={"location": {"lat": lat, "lng": lng, "coord_system": "gcj02"}},
        expect=200,
    )
    after = await api.call("GET", f"/api/v1/incidents/{inc['id']}", "family", expect=200)
    assert after["eta_minutes"] < before["eta_minutes"]


async def test_acknowledged_alarm_does_not_ring_again_on_retry(api: Api) -> None:
    await api.set_duty("cg_a", False)
    await api.set_duty("cg_b", False)
    inc = await api.press(expect=201)
    await api.pump()
    [alarm] = [
        a
        for a in await api.call("GET", "/api/v1/alarms", "operator", expect=200)
        if a["kind"] == "no_caregiver"
    ]
    await api.call("POST", f"/api/v1/alarms/{alarm['id']}/ack", "operator", expect=200)
    await api.advance(31)  # the dispatcher retries
    await api.advance(31)
    still = [
        a
        for a in await api.call("GET", "/api/v1/alarms", "operator", expect=200)
        if a["incident_id"] == inc["id"] and a["kind"] == "no_caregiver"
    ]
    assert still == []
    # ...and it keeps looking: a caregiver coming on duty gets the offer.
    await api.set_duty("cg_a", True)
    await api.advance(31)
    assert len(await offers_for(api, "cg_a")) == 1


async def the_only_one_on_duty_says_no(api: Api) -> None:
    """cg_b off duty, a press, and cg_a, the only one left, declines its offer."""
    await api.set_duty("cg_b", False)
    await api.press(expect=201)
    await api.pump()
    [offer] = await offers_for(api, "cg_a")
    await api.call("POST", f"/api/v1/offers/{offer['id']}/decline", "cg_a", json={}, expect=200)
    await api.pump()


async def test_a_sole_decliner_is_asked_again_after_90_s(api: Api) -> None:
    """Nobody else on duty: who said no is asked again after 90 s, not left for five
    minutes while the elder waits (with someone else to ask, the five minutes hold:
    test_offer_batch.py)."""
    await the_only_one_on_duty_says_no(api)
    assert await offers_for(api, "cg_a") == []
    await api.advance(62)  # the retry every 30 s does not ask her yet
    assert await offers_for(api, "cg_a") == []
    await api.advance(31)
    assert len(await offers_for(api, "cg_a")) == 1


async def test_incident_list_pages_like_the_registry(api: Api) -> None:
    """Seven calls (each closed so the next opens a new incident): pages of 3, 3 and 1,
    newest first, none twice, none lost; the total counts them all."""
    ids = []
    for _ in range(7):
        inc = await api.press(call_type="health", expect=201)
        ids.append(inc["id"])
        await api.call(
            "POST",
            f"/api/v1/incidents/{inc['id']}/close",
            "operator",
            json={"resolution": "handled_by_phone"},
            expect=200,
        )
    pages = [
        await api.call(
            "GET", f"/api/v1/incidents?status=all&page={n}&page_size=3", "operator", expect=200
        )
        for n in (1, 2, 3, 4)
    ]
    assert [p["total"] for p in pages] == [7, 7, 7, 7]
    assert [len(p["items"]) for p in pages] == [3, 3, 1, 0]
    assert [i["id"] for p in pages for i in p["items"]] == sorted(ids, reverse=True)
    assert pages[0]["page"] == 1 and pages[0]["page_size"] == 3
    other = await api.call("GET", "/api/v1/incidents?status=all", "operator2", expect=200)
    assert other["total"] == 0
    for bad in ("page=0", "page_size=201", "page=x", "limit=5"):
        status, body = await api.call("GET", f"/api/v1/incidents?{bad}", "operator")
        assert status == 422, bad
