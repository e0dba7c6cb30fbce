"""Test and accidental presses through the real app: the call-back is recorded and closes
them, a press soon after is linked to the closed one (and still gets the full response), and
a press after a real emergency is simply a new emergency."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from server.store.tables import timers
from server.tasks.tables import tasks
from tests.conftest import BACKENDS
from tests.hotline.support import pushes
from tests.support.api import Api, near

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def timeline_of(api: Api, iid: int) -> list[dict[str, Any]]:
    inc = await api.call("GET", f"/api/v1/incidents/{iid}", "operator", expect=200)
    return list(inc["timeline"])


async def call_back(api: Api, iid: int, outcome: str, **extra: Any) -> tuple[int, Any]:
    status, body = await api.call(
        "POST",
        f"/api/v1/hotline/incidents/{iid}/call-back",
        "operator",
        json={"outcome": outcome, "reached": True, **extra},
    )
    return int(status), body


async def accidental_press(api: Api) -> int:
    inc = await api.press(expect=201)
    await api.pump()
    api.clock.advance(40)
    status, body = await call_back(api, inc["id"], "accidental", note="老人说是碰到了")
    assert status == 201, body
    await api.pump()
    return int(inc["id"])


async def test_the_call_back_is_recorded_and_closes_an_accidental_press(api: Api) -> None:
    iid = await accidental_press(api)
    inc = await api.call("GET", f"/api/v1/incidents/{iid}", "operator", expect=200)
    assert (inc["status"], inc["resolution"]) == ("closed", "accidental")
    [record] = [e for e in inc["timeline"] if e["kind"] == "called_back"]
    assert record["data"]["by_user_id"] == api.ids["operator"]
    assert record["data"]["outcome"] == "accidental" and record["data"]["reached"] is True
    assert record["data"]["called_at"] == api.clock.now().isoformat()
    async with api.platform.store.read() as conn:
        refs = (await conn.execute(select(tasks.c.source_ref))).scalars().all()
    assert f"press_call_back:{iid}" not in refs


async def test_a_real_outcome_keeps_the_incident_open(api: Api) -> None:
    inc = await api.press(expect=201)
    status, body = await call_back(api, inc["id"], "real", note="老人说头晕")
    assert status == 201 and body["closed_as"] is None
    assert (await api.call("GET", f"/api/v1/incidents/{inc['id']}", "operator", expect=200))[
        "status"
    ] in ("open", "offered")


async def test_an_unreached_elder_cannot_be_closed_as_a_test(api: Api) -> None:
    inc = await api.press(expect=201)
    status, body = await api.call(
        "POST",
        f"/api/v1/hotline/incidents/{inc['id']}/call-back",
        "operator",
        json={"outcome": "test", "reached": False},
    )
    assert (status, body["code"]) == (422, "call_back_not_reached")
    status, _ = await api.call(
        "POST",
        f"/api/v1/hotline/incidents/{inc['id']}/call-back",
        "operator2",
        json={"outcome": "test", "reached": True},
    )
    assert status == 404


async def test_closing_as_a_test_without_a_call_back_makes_a_call_back_task(api: Api) -> None:
    inc = await api.press(expect=201)
    await api.call(
        "POST",
        f"/api/v1/incidents/{inc['id']}/close",
        "operator",
        json={"resolution": "test_press", "notes": ""},
        expect=200,
    )
    await api.pump()
    async with api.platform.store.read() as conn:
        task = (
            await conn.execute(
                select(tasks).where(tasks.c.source_ref == f"press_call_back:{inc['id']}")
            )
        ).one()
    assert task.kind == "return_call" and task.elder_id == api.ids["elder"]


async def test_a_press_soon_after_an_accidental_closure_is_linked_and_fully_answered(
    api: Api,
) -> None:
    first = await accidental_press(api)
    api.clock.advance(30)
    again = await api.press(expect=201)  # a new incident: nothing of the real response waits
    assert again["id"] != first
    [link] = [e for e in await timeline_of(api, again["id"]) if e["kind"] == "repeat_press"]
    assert link["data"]["previous_incident_id"] == first
    assert link["data"]["resolution"] == "accidental"
    assert link["data"]["seconds_since_closed"] == 30
    assert "pressed_again" in [e["kind"] for e in await timeline_of(api, first)]
    opened = [p for p in await pushes(api, "operator", "incident.opened")]
    assert opened[-1]["repeat_of"]["incident_id"] == first
    async with api.platform.store.read() as conn:
        refs = set((await conn.execute(select(timers.c.ref))).scalars().all())
    assert {f"incident:{again['id']}:sla", f"incident:{again['id']}:ack_alarm"} <= refs
    await api.pump()
    assert await api.call("GET", "/api/v1/offers", "cg_a", expect=200)  # dispatched at once


async def test_the_window_is_the_stations(api: Api) -> None:
    first = await accidental_press(api)
    api.clock.advance(11 * 60)
    late = await api.press(expect=201)
    assert "repeat_press" not in [e["kind"] for e in await timeline_of(api, late["id"])]
    await api.call(
        "PUT",
        "/api/v1/hotline/settings",
        "operator",
        json={"repeat_press_window_min": 30},
        expect=200,
    )
    status, _ = await call_back(api, late["id"], "test")
    assert status == 201
    api.clock.advance(15 * 60)
    third = await api.press(expect=201)
    [link] = [e for e in await timeline_of(api, third["id"]) if e["kind"] == "repeat_press"]
    assert link["data"]["previous_incident_id"] == late["id"] != first


async def resolve_real_emergency(api: Api) -> int:
    inc = await api.press(expect=201)
    await api.pump()
    [offer] = await api.call("GET", "/api/v1/offers", "cg_a", expect=200)
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200)
    lat, lng = near(100, 100)
    await api.call(
        "POST",
        f"/api/v1/incidents/{inc['id']}/arrive",
        "cg_a",
        json={"location": {"lat": lat, "lng": lng, "coord_system": "gcj02"}},
        expect=200,
    )
    return int(inc["id"])


async def test_a_press_after_a_resolved_emergency_is_a_new_emergency(api: Api) -> None:
    first = await resolve_real_emergency(api)
    await api.call(
        "POST", f"/api/v1/incidents/{first}/resolve", "cg_a", json={"notes": "扶起"}, expect=200
    )
    api.clock.advance(30)
    again = await api.press(expect=201)
    assert "repeat_press" not in [e["kind"] for e in await timeline_of(api, again["id"])]


async def test_no_return_call_when_the_caregiver_found_a_false_alarm(api: Api) -> None:
    iid = await resolve_real_emergency(api)
    await api.call(
        "POST",
        f"/api/v1/incidents/{iid}/resolve",
        "cg_a",
        json={"notes": "老人误按", "outcome": "false_alarm"},
        expect=200,
    )
    await api.pump()
    async with api.platform.store.read() as conn:
        refs = (await conn.execute(select(tasks.c.source_ref))).scalars().all()
    assert f"return_call:{iid}" not in refs
    assert "return_call_skipped" in [e["kind"] for e in await timeline_of(api, iid)]
