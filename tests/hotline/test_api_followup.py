"""Devices, welfare checks and follow-up through the real app."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from hotline.config import SECRETS, HotlineSecrets
from server.store.tables import alarms, elders, incidents, tasks
from tests.conftest import BACKENDS
from tests.hotline.support import cti, post_signed, send_cti, signed_headers
from tests.support.api import Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def task_refs(api: Api, prefix: str) -> list[str]:
    async with api.platform.store.read() as conn:
        refs = (
            (
                await conn.execute(
                    select(tasks.c.source_ref)
                    .where(tasks.c.source_ref.like(f"{prefix}%"))
                    .order_by(tasks.c.id)
                )
            )
            .scalars()
            .all()
        )
    return [str(r) for r in refs]


async def device(api: Api, device_id: str = "BTN-0001") -> None:
    await api.call(
        "POST",
        "/api/v1/hotline/devices",
        "operator",
        json={"device_id": device_id, "elder_id": api.ids["elder"]},
        expect=201,
    )


async def test_register_device_only_for_own_station(api: Api) -> None:
    await device(api)
    await api.call(
        "POST",
        "/api/v1/hotline/devices",
        "operator2",
        json={"device_id": "BTN-0002", "elder_id": api.ids["elder"]},
        expect=404,
    )
    await api.call(
        "POST",
        "/api/v1/hotline/devices",
        "operator",
        json={"device_id": "BTN-0001", "elder_id": api.ids["elder_other"]},
        expect=409,
    )


async def test_silent_and_low_battery_devices_become_tasks_once(api: Api) -> None:
    await device(api)
    status, _ = await post_signed(
        api, "/api/v1/hotline/devices/BTN-0001/heartbeat", {"battery_pct": 15}
    )
    assert status == 200
    made = await api.call("POST", "/api/v1/hotline/sweep", "operator", expect=200)
    assert made["device_tasks"] == 1
    api.clock.advance(minutes=31)
    await api.call("POST", "/api/v1/hotline/sweep", "operator", expect=200)
    await api.call("POST", "/api/v1/hotline/sweep", "operator", expect=200)
    refs = await task_refs(api, "device:")
    assert (
        len(refs) == 2
        and any(":battery:" in r for r in refs)
        and any(":silent:" in r for r in refs)
    )


async def test_unsigned_heartbeat_is_refused(api: Api) -> None:
    await device(api)
    r = await api.client.post(
        "/api/v1/hotline/devices/BTN-0001/heartbeat", json={"battery_pct": 90}
    )
    assert r.status == 401


async def test_device_presses_join_one_incident(api: Api) -> None:
    await device(api)
    status, first = await post_signed(api, "/api/v1/hotline/devices/BTN-0001/press", {})
    assert status == 201
    api.clock.advance(20)
    status, again = await post_signed(api, "/api/v1/hotline/devices/BTN-0001/press", {})
    assert status == 200 and again == {"incident_id": first["incident_id"], "joined": True}
    async with api.platform.store.read() as conn:
        inc = (
            await conn.execute(select(incidents).where(incidents.c.id == first["incident_id"]))
        ).one()
    assert (inc.source, inc.press_count) == ("device", 2)


async def test_unknown_device_press_is_404(api: Api) -> None:
    status, body = await post_signed(api, "/api/v1/hotline/devices/NOPE/press", {})
    assert status == 404 and body["code"] == "device_not_found"


async def test_unseen_elder_living_alone_gets_a_welfare_check(api: Api) -> None:
    made = await api.call("POST", "/api/v1/hotline/sweep", "operator", expect=200)
    assert made["welfare_checks"] == 2  # both station-1 elders live alone and were never seen
    again = await api.call("POST", "/api/v1/hotline/sweep", "operator", expect=200)
    assert again["welfare_checks"] == 0
    assert all(r.startswith("welfare:") for r in await task_refs(api, "welfare:"))


async def test_recently_seen_elder_gets_no_check(api: Api) -> None:
    await api.press(call_type="service", expect=201)
    made = await api.call("POST", "/api/v1/hotline/sweep", "operator", expect=200)
    assert made["welfare_checks"] == 1  # only 李桂兰


async def test_resolved_emergency_gets_a_return_call_within_24h(api: Api) -> None:
    inc = await api.press(expect=201)
    await api.pump()
    [offer] = await api.call("GET", "/api/v1/offers", "cg_a", expect=200)
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200)
    from tests.support.api import near

    lat, lng = near(100, 100)
    await api.call(
        "POST",
        f"/api/v1/incidents/{inc['id']}/arrive",
        "cg_a",
        json={"location": {"lat": lat, "lng": lng, "coord_system": "gcj02"}},
        expect=200,
    )
    await api.call(
        "POST", f"/api/v1/incidents/{inc['id']}/resolve", "cg_a", json={"notes": "ok"}, expect=200
    )
    await api.pump()
    await api.pump()
    async with api.platform.store.read() as conn:
        task = (
            await conn.execute(
                select(tasks).where(tasks.c.source_ref == f"return_call:{inc['id']}")
            )
        ).one()
    assert task.kind == "return_call"
    assert (task.window_end - api.clock.now()).total_seconds() == 24 * 3600


async def add_subsidised(api: Api, n: int) -> None:
    async with api.platform.store.begin() as conn:
        base = (
            await conn.execute(select(elders).where(elders.c.id == api.ids["elder_other"]))
        ).one()
        data: dict[str, Any] = {
            k: v for k, v in base._mapping.items() if k not in ("id", "user_id", "link_code")
        }
        for i in range(n):
            await conn.execute(
                insert(elders).values(
                    **{
                        **data,
                        "name": f"测试{i}",
                        "id_number": f"11010519440308{i:03d}X"[:18],
                        "phone": None,
                        "categories": ["低保"],
                    }
                )
            )
        await conn.execute(
            update(elders).where(elders.c.id == api.ids["elder_s2"]).values(categories=["特困"])
        )


async def test_quarterly_sample_is_five_percent_and_reproducible(api: Api) -> None:
    await add_subsidised(api, 60)
    first = await api.call(
        "POST",
        "/api/v1/hotline/return-visits/sample",
        "admin",
        json={"quarter": "2026Q4"},
        expect=201,
    )
    # station 1: 60 低保 + 2 高龄 = 62 → 4; station 2: 1 特困 → 1
    assert {k: len(v) for k, v in first["by_station"].items()} == {
        str(api.ids["station"]): 4,
        str(api.ids["station2"]): 1,
    }
    again = await api.call(
        "POST",
        "/api/v1/hotline/return-visits/sample",
        "admin",
        json={"quarter": "2026Q4"},
        expect=201,
    )
    assert again["by_station"] == first["by_station"] and again["created"] == 0
    assert len(await task_refs(api, "return_visit:2026Q4:")) == 5


async def test_operator_samples_only_their_station(api: Api) -> None:
    out = await api.call(
        "POST", "/api/v1/hotline/return-visits/sample", "operator2", json={}, expect=201
    )
    assert list(out["by_station"]) == [str(api.ids["station2"])]


async def test_satisfaction_report_against_95_percent(api: Api) -> None:
    for answer in ["satisfied"] * 18 + ["basically_satisfied", "dissatisfied"]:
        await api.call(
            "POST",
            "/api/v1/hotline/satisfaction",
            "operator",
            json={"elder_id": api.ids["elder"], "answer": answer, "provider_id": api.ids["cg_a"]},
            expect=201,
        )
    report = await api.call("GET", "/api/v1/hotline/satisfaction", "operator", expect=200)
    assert report["providers"] == [
        {"key": api.ids["cg_a"], "answers": 20, "satisfied": 19, "rate": 0.95, "meets_target": True}
    ]
    assert (await api.call("GET", "/api/v1/hotline/satisfaction", "operator2", expect=200))[
        "stations"
    ] == []


async def test_complaint_ticket_lifecycle_and_overdue_alarm(api: Api) -> None:
    t = await api.call(
        "POST",
        "/api/v1/hotline/complaints",
        "operator",
        json={"elder_id": api.ids["elder"], "text": "送餐晚了一小时", "deadline_hours": 1},
        expect=201,
    )
    path = f"/api/v1/hotline/complaints/{t['id']}/actions"
    status, body = await api.call(
        "POST", path, "operator", json={"action": "resolve", "outcome": "x"}
    )
    assert status == 409 and body["code"] == "complaint_state_conflict"
    await api.call(
        "POST",
        path,
        "operator",
        json={"action": "assign", "owner_user_id": api.ids["operator"]},
        expect=200,
    )
    await api.advance(3601)
    async with api.platform.store.read() as conn:
        kinds = (await conn.execute(select(alarms.c.kind))).scalars().all()
    assert "complaint_overdue" in kinds
    done = await api.call(
        "POST",
        path,
        "operator",
        json={"action": "resolve", "outcome": "已调整配送路线并致歉"},
        expect=200,
    )
    assert done["status"] == "resolved" and done["overdue"] is False
    await api.call("POST", path, "operator2", json={"action": "close"}, expect=404)
    closed = await api.call("POST", path, "operator", json={"action": "close"}, expect=200)
    assert closed["status"] == "closed"


async def test_sweep_runs_by_itself_every_quarter_hour(api: Api) -> None:
    """Registering a device starts the durable sweep timer; a device that never comes online
    becomes a task without anyone calling the sweep endpoint."""
    await device(api)
    await api.advance(15 * 60)
    assert await task_refs(api, "device:") == []
    await api.advance(15 * 60)
    await api.advance(15 * 60)
    assert await task_refs(api, "device:") == ["device:BTN-0001:never_seen"]


async def test_family_rates_in_the_app_only_for_their_elder(api: Api) -> None:
    await api.call(
        "POST",
        "/api/v1/hotline/satisfaction",
        "family",
        json={"elder_id": api.ids["elder"], "answer": "satisfied"},
        expect=201,
    )
    await api.call(
        "POST",
        "/api/v1/hotline/satisfaction",
        "family2",
        json={"elder_id": api.ids["elder"], "answer": "dissatisfied"},
        expect=404,
    )
    report = await api.call("GET", "/api/v1/hotline/satisfaction", "operator", expect=200)
    assert report["stations"][0]["answers"] == 1


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"provider_id": 999_999}, "unknown_provider"),
        ({"incident_id": 999_999}, "unknown_incident"),
    ],
)
async def test_satisfaction_with_unknown_references_is_422(
    api: Api, extra: dict[str, int], code: str
) -> None:
    status, body = await api.call(
        "POST",
        "/api/v1/hotline/satisfaction",
        "operator",
        json={"elder_id": api.ids["elder"], "answer": "satisfied", **extra},
    )
    assert (status, body["code"]) == (422, code)


async def test_satisfaction_cannot_name_another_elders_incident(api: Api) -> None:
    other = await api.call(
        "POST",
        "/api/v1/incidents",
        "operator",
        json={"elder_id": api.ids["elder_other"], "call_type": "service"},
        expect=201,
    )
    status, body = await api.call(
        "POST",
        "/api/v1/hotline/satisfaction",
        "operator",
        json={"elder_id": api.ids["elder"], "answer": "satisfied", "incident_id": other["id"]},
    )
    assert (status, body["code"]) == (422, "unknown_incident")


async def test_complaint_about_an_unknown_provider_is_422(api: Api) -> None:
    status, body = await api.call(
        "POST",
        "/api/v1/hotline/complaints",
        "operator",
        json={"elder_id": api.ids["elder"], "text": "态度不好", "provider_id": 999_999},
    )
    assert (status, body["code"]) == (422, "unknown_provider")


@pytest.mark.parametrize("owner", ["nobody", "operator2", "family"])
async def test_complaint_owner_must_be_staff_of_the_station(api: Api, owner: str) -> None:
    t = await api.call(
        "POST",
        "/api/v1/hotline/complaints",
        "operator",
        json={"elder_id": api.ids["elder"], "text": "送餐晚了"},
        expect=201,
    )
    owner_id = 999_999 if owner == "nobody" else api.ids[owner]
    status, body = await api.call(
        "POST",
        f"/api/v1/hotline/complaints/{t['id']}/actions",
        "operator",
        json={"action": "assign", "owner_user_id": owner_id},
    )
    assert (status, body["code"]) == (422, "owner_not_staff")
    await api.call(
        "POST",
        f"/api/v1/hotline/complaints/{t['id']}/actions",
        "operator",
        json={"action": "assign", "owner_user_id": api.ids["cg_a_user"]},
        expect=200,
    )


async def test_a_replayed_press_changes_nothing(api: Api) -> None:
    """The same signed request again within the replay window: 200, no second press."""
    await device(api)
    body = json.dumps({}).encode()
    headers = signed_headers(api, body)
    path = "/api/v1/hotline/devices/BTN-0001/press"
    first = await api.client.post(path, data=body, headers=headers)
    assert first.status == 201
    api.clock.advance(30)
    again = await api.client.post(path, data=body, headers=headers)
    assert again.status == 200 and (await again.json())["duplicate"] is True
    async with api.platform.store.read() as conn:
        count = (await conn.execute(select(incidents.c.press_count))).scalar_one()
    assert count == 1


async def test_a_press_resent_with_the_same_event_id_is_ignored(api: Api) -> None:
    await device(api)
    path = "/api/v1/hotline/devices/BTN-0001/press"
    status, _ = await post_signed(api, path, {"event_id": "gw-77"})
    assert status == 201
    api.clock.advance(5)  # re-signed with a new timestamp: a gateway's retry
    status, body = await post_signed(api, path, {"event_id": "gw-77"})
    assert status == 200 and body == {"duplicate": True}
    status, body = await post_signed(api, path, {"event_id": "gw-78"})
    assert status == 200 and body["joined"] is True  # a new press joins the open incident


async def test_each_party_has_its_own_secret(api: Api) -> None:
    api.platform.extras[SECRETS] = HotlineSecrets(cti=b"pbx-1", device=b"gw-2", provider=b"sms-3")
    await device(api)
    path = "/api/v1/hotline/devices/BTN-0001/press"
    status, body = await post_signed(api, path, {}, secret="pbx-1")
    assert (status, body["code"]) == (401, "cti_bad_signature")  # the PBX cannot raise presses
    status, _ = await post_signed(api, path, {}, secret="gw-2")
    assert status == 201
    status, _ = await send_cti(api, cti("e1", "ringing", "c-1"), secret="gw-2")
    assert status == 401
    status, _ = await send_cti(api, cti("e1", "ringing", "c-1"), secret="pbx-1")
    assert status == 200
    receipt = {"send_id": "x", "status": "delivered"}
    assert (await post_signed(api, "/api/v1/hotline/receipts", receipt, secret="pbx-1"))[0] == 401
    assert (await post_signed(api, "/api/v1/hotline/receipts", receipt, secret="sms-3"))[0] == 200
