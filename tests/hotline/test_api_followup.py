"""Devices, welfare checks and follow-up through the real app."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from server.incidents.tables import alarms, incidents
from server.registry.tables import elders
from server.services.tables import bookings
from server.tasks.tables import tasks
from tests.conftest import BACKENDS
from tests.hotline.support import cti, device, post_signed, send_cti, signed_headers
from tests.support.api import Api
from tests.welfare.support import long_tokens

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


BTN = {"device_id": "BTN-0001"}  # a device's requests name it in the signed body


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
        api,
        "/api/v1/hotline/devices/BTN-0001/heartbeat",
        {"device_id": "BTN-0001", "battery_pct": 15},
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
    status, first = await post_signed(api, "/api/v1/hotline/devices/BTN-0001/press", BTN)
    assert status == 201
    api.clock.advance(20)
    status, again = await post_signed(api, "/api/v1/hotline/devices/BTN-0001/press", BTN)
    assert status == 200 and again == {"incident_id": first["incident_id"], "joined": True}
    async with api.platform.store.read() as conn:
        inc = (
            await conn.execute(select(incidents).where(incidents.c.id == first["incident_id"]))
        ).one()
    assert (inc.source, inc.press_count) == ("device", 2)


async def test_bytes_signed_for_one_device_are_refused_for_another(api: Api) -> None:
    """The signature covers the body, and the body names the device: a signed press for
    BTN-0001 posted to BTN-0002's path is refused, and so is a body without a device."""
    await device(api)
    await api.call(
        "POST",
        "/api/v1/hotline/devices",
        "operator",
        json={"device_id": "BTN-0002", "elder_id": api.ids["elder_other"]},
        expect=201,
    )
    body = json.dumps(BTN).encode()
    r = await api.client.post(
        "/api/v1/hotline/devices/BTN-0002/press", data=body, headers=signed_headers(api, body)
    )
    assert r.status == 401 and (await r.json())["code"] == "device_mismatch"
    status, _ = await post_signed(api, "/api/v1/hotline/devices/BTN-0002/press", {})
    assert status == 422
    async with api.platform.store.read() as conn:
        assert (await conn.execute(select(incidents.c.id))).first() is None


async def test_unknown_device_press_is_404(api: Api) -> None:
    status, body = await post_signed(
        api, "/api/v1/hotline/devices/NOPE/press", {"device_id": "NOPE"}
    )
    assert status == 404 and body["code"] == "device_not_found"


async def test_unseen_elder_living_alone_gets_a_welfare_check(api: Api) -> None:
    made = await api.call("POST", "/api/v1/hotline/sweep", "operator", expect=200)
    # Both station-1 elders live alone; 王秀英 signed in to the app when the test began.
    assert made["welfare_checks"] == 1
    assert await task_refs(api, "welfare:") == [f"welfare:{api.ids['elder_other']}:never"]
    again = await api.call("POST", "/api/v1/hotline/sweep", "operator", expect=200)
    assert again["welfare_checks"] == 0


async def test_signing_in_to_the_app_counts_as_being_seen(api: Api) -> None:
    """The threshold is the station's; the elder's own app sign-ins and token refreshes are
    signs of life, so only the elder who stayed away gets a check."""
    long_tokens(api)
    await api.call(
        "PUT",
        "/api/v1/hotline/settings",
        "operator",
        json={"welfare_not_seen_hours": 6},
        expect=200,
    )
    assert (await api.call("GET", "/api/v1/hotline/settings", "operator", expect=200)) == {
        "welfare_not_seen_hours": 6,
        "repeat_press_window_min": 10,
        "share_in_emergency": False,
    }
    api.clock.advance(hours=5)
    await api.login("elder")  # the elder opens the app
    api.clock.advance(hours=2)  # 7 h after the start: the other elder is unseen for 7 h > 6 h
    await api.call("POST", "/api/v1/hotline/sweep", "operator", expect=200)
    assert await task_refs(api, "welfare:") == [f"welfare:{api.ids['elder_other']}:never"]
    api.clock.advance(hours=5)  # 7 h since the sign-in
    await api.call("POST", "/api/v1/hotline/sweep", "operator", expect=200)
    refs = await task_refs(api, "welfare:")
    assert len(refs) == 2 and refs[1].startswith(f"welfare:{api.ids['elder']}:")


async def test_a_finished_visit_counts_as_being_seen(api: Api) -> None:
    async with api.platform.store.begin() as conn:
        await conn.execute(
            insert(tasks).values(
                station_id=api.ids["station"],
                elder_id=api.ids["elder_other"],
                kind="visit",
                title="上门探访",
                status="done",
                required_skills=[],
                finished_at=api.clock.now(),
                created_at=api.clock.now(),
            )
        )
    made = await api.call("POST", "/api/v1/hotline/sweep", "operator", expect=200)
    assert made["welfare_checks"] == 0


class CountingConn:
    """A connection that counts the statements sent through it."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.statements = 0

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.statements += 1
        return await self.conn.execute(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


async def statements_of_a_sweep(api: Api) -> int:
    from server.hotline.flows.sweep import sweep_in
    from server.platform import Tx

    async with api.platform.store.begin() as conn:
        counting = CountingConn(conn)
        await sweep_in(Tx(conn=counting, now=api.clock.now()), station_id=None)  # type: ignore[arg-type]
        return counting.statements


async def test_the_sweep_costs_the_same_for_2_or_42_elders(api: Api) -> None:
    """The sweep runs every quarter hour over every station: its queries must not grow with
    the number of elders living alone."""
    few = await statements_of_a_sweep(api)
    await add_subsidised(api, 40)
    assert await statements_of_a_sweep(api) == few
    assert await statements_of_a_sweep(api) <= few  # nothing new the second time


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
    body = json.dumps(BTN).encode()
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
    status, first = await post_signed(api, path, {**BTN, "event_id": "gw-77"})
    assert status == 201
    api.clock.advance(5)  # re-signed with a new timestamp: a gateway's retry
    status, body = await post_signed(api, path, {**BTN, "event_id": "gw-77"})
    assert status == 200 and body == {"duplicate": True, "incident_id": first["incident_id"]}
    status, body = await post_signed(api, path, {**BTN, "event_id": "gw-78"})
    assert status == 200 and body["joined"] is True  # a new press joins the open incident


async def test_each_party_has_its_own_secret(api: Api) -> None:
    api.platform.settings = replace(
        api.platform.settings,
        cti_secret="pbx-1",
        device_secret="gw-2",
        hotline_receipt_secret="sms-3",
    )
    await device(api)
    path = "/api/v1/hotline/devices/BTN-0001/press"
    status, body = await post_signed(api, path, BTN, secret="pbx-1")
    assert (status, body["code"]) == (401, "cti_bad_signature")  # the PBX cannot raise presses
    status, _ = await post_signed(api, path, BTN, secret="gw-2")
    assert status == 201
    status, _ = await send_cti(api, cti("e1", "ringing", "c-1"), secret="gw-2")
    assert status == 401
    status, _ = await send_cti(api, cti("e1", "ringing", "c-1"), secret="pbx-1")
    assert status == 200
    receipt = {"send_id": "x", "status": "delivered"}
    assert (await post_signed(api, "/api/v1/hotline/receipts", receipt, secret="pbx-1"))[0] == 401
    assert (await post_signed(api, "/api/v1/hotline/receipts", receipt, secret="sms-3"))[0] == 200


async def test_a_missed_door_knock_visit_becomes_a_task(api: Api) -> None:
    """Weekly 爱心敲门 on Thursdays 10:00–10:30 for both elders living alone: the visits are
    not recorded by 10:30, and the quarter-hour sweep (a durable timer) makes them tasks."""
    long_tokens(api)
    s = api.ids["station"]
    await api.call("POST", f"/api/v1/stations/{s}/service-items/seed", "operator", expect=200)
    await api.call(
        "POST",
        f"/api/v1/stations/{s}/recurring-bookings/door-knock",
        "operator",
        json={"weekday": 3, "start": "10:00", "end": "10:30", "starts_on": "2026-11-23"},
        expect=200,
    )
    await api.call(
        "POST",
        f"/api/v1/stations/{s}/recurring-bookings/materialise",
        "operator",
        json={"days": 7},
        expect=200,
    )
    await api.call("POST", "/api/v1/hotline/sweep", "operator", expect=200)  # starts the timer
    await api.advance(3 * 86400 + 15 * 60)  # Thursday 10:15: the window is still open
    assert await task_refs(api, "missed_visit:") == []
    await api.advance(30 * 60)  # Thursday 10:45
    refs = await task_refs(api, "missed_visit:")
    assert len(refs) == 2
    async with api.platform.store.begin() as conn:
        made = (
            await conn.execute(
                select(tasks.c.kind, tasks.c.lat, tasks.c.lng, elders.c.lat, elders.c.lng)
                .join(elders, elders.c.id == tasks.c.elder_id)
                .where(tasks.c.source_ref.in_(refs))
            )
        ).all()
        assert {r[0] for r in made} == {"visit"}
        # Each task is at its elder's door, so the day plan can route it.
        assert all(r[1:3] == r[3:5] and r[1] is not None for r in made)
        # The caregiver records one visit late: its task is no longer needed.
        await conn.execute(
            update(bookings)
            .where(bookings.c.id == int(refs[0].split(":")[1]))
            .values(status="completed")
        )
    await api.advance(15 * 60)
    async with api.platform.store.read() as conn:
        statuses = dict(
            (
                await conn.execute(
                    select(tasks.c.source_ref, tasks.c.status).where(tasks.c.source_ref.in_(refs))
                )
            ).all()
        )
    assert statuses == {refs[0]: "cancelled", refs[1]: "open"}
