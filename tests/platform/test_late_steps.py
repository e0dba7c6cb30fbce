"""A caregiver's step queued on a phone without network: applied once however often it is
retried, recorded at the time it happened on the phone when that is plausible, and otherwise
recorded at the server's time and flagged (both backends)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from server.store.tables import audit_log
from tests.conftest import BACKENDS
from tests.support.api import Api, near
from tests.welfare.test_tasks import hotline_task

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


def iso(t: datetime) -> str:
    return t.isoformat()


async def step(api: Api, path: str, who: str, key: str, **body: Any) -> tuple[int, Any]:
    """POST a step the way the phone's queue sends it."""
    result: tuple[int, Any] = await api.call(
        "POST", path, who, json=body, headers={"Idempotency-Key": key}
    )
    return result


async def accepted_call(api: Api) -> tuple[dict[str, Any], dict[str, Any], datetime]:
    """A help call offered to 王芳; returns (incident, offer, when it was offered)."""
    inc = await api.press(expect=201)
    await api.pump()
    [offer] = await api.call("GET", "/api/v1/offers", "cg_a", expect=200)
    return inc, offer, api.clock.now()


async def timeline(api: Api, iid: int) -> list[Any]:
    full = await api.call("GET", f"/api/v1/incidents/{iid}", "operator", expect=200)
    return list(full["timeline"])


async def test_offline_steps_arrive_late_with_their_device_time_and_apply_once(api: Api) -> None:
    inc, offer, offered = await accepted_call(api)
    accepted_on_phone = offered + timedelta(seconds=20)
    set_off_on_phone = offered + timedelta(seconds=50)
    api.clock.advance(300)  # the phone was offline for five minutes
    accept = f"/api/v1/offers/{offer['id']}/accept"
    status, first = await step(
        api, accept, "cg_a", "accept-key-1", device_time=iso(accepted_on_phone)
    )
    assert status == 200 and first["status"] == "accepted"
    assert first["late"] is True and first["device_time_flagged"] is None
    assert datetime.fromisoformat(first["recorded_at"]) == accepted_on_phone
    # The queue retries (its answer was lost): the same answer, nothing applied twice.
    assert await step(api, accept, "cg_a", "accept-key-1", device_time=iso(accepted_on_phone)) == (
        200,
        first,
    )
    path = f"/api/v1/incidents/{inc['id']}/en-route"
    for _ in range(3):
        status, went = await step(
            api, path, "cg_a", "route-key-1", device_time=iso(set_off_on_phone)
        )
        assert status == 200 and went["status"] == "en_route" and went["late"] is True
    events = await timeline(api, inc["id"])
    assert [e["kind"] for e in events] == ["opened", "offered", "accepted", "en_route"]
    by_kind = {e["kind"]: e for e in events}
    assert datetime.fromisoformat(by_kind["accepted"]["at"]) == accepted_on_phone
    assert datetime.fromisoformat(by_kind["en_route"]["at"]) == set_off_on_phone
    assert by_kind["en_route"]["data"]["late"] is True
    assert by_kind["en_route"]["data"]["device_time_flagged"] is None
    seen = await api.call("GET", f"/api/v1/incidents/{inc['id']}", "operator", expect=200)
    assert datetime.fromisoformat(seen["accepted_at"]) == accepted_on_phone
    # The same key for another step is refused, not applied as that step.
    status, problem = await step(api, path, "cg_a", "accept-key-1", device_time=iso(offered))
    assert (status, problem["code"]) == (422, "idempotency_key_reused")


async def test_implausible_device_times_are_recorded_at_server_time_and_flagged(
    api: Api,
) -> None:
    inc, offer, offered = await accepted_call(api)
    api.clock.advance(60)
    now = api.clock.now()
    # A clock ahead of the server: the future is not believed.
    status, ok = await step(
        api,
        f"/api/v1/offers/{offer['id']}/accept",
        "cg_a",
        "accept-future-1",
        device_time=iso(now + timedelta(minutes=30)),
    )
    assert status == 200 and ok["device_time_flagged"] == "future"
    assert datetime.fromisoformat(ok["recorded_at"]) == now
    # A step before the call was even accepted cannot be true either.
    status, went = await step(
        api,
        f"/api/v1/incidents/{inc['id']}/en-route",
        "cg_a",
        "route-before-1",
        device_time=iso(offered - timedelta(hours=1)),
    )
    assert status == 200 and went["device_time_flagged"] == "before_start"
    assert datetime.fromisoformat(went["recorded_at"]) == now
    events = {e["kind"]: e for e in await timeline(api, inc["id"])}
    assert events["en_route"]["data"]["device_time_flagged"] == "before_start"
    assert datetime.fromisoformat(events["en_route"]["at"]) == now
    # A small skew ahead is fine (recorded at the server's time, not flagged).
    lat, lng = near(110, 100)
    status, arrived = await step(
        api,
        f"/api/v1/incidents/{inc['id']}/arrive",
        "cg_a",
        "arrive-skew-1",
        location={"lat": lat, "lng": lng, "coord_system": "gcj02"},
        device_time=iso(now + timedelta(seconds=30)),
    )
    assert status == 200 and arrived["device_time_flagged"] is None and arrived["late"] is False


async def test_bad_step_requests_are_refused_whole(api: Api) -> None:
    inc, offer, _ = await accepted_call(api)
    accept = f"/api/v1/offers/{offer['id']}/accept"
    status, problem = await step(
        api, accept, "cg_a", "accept-naive-1", device_time="2026-11-23T10:00:00"
    )
    assert status == 422  # a time without its zone says nothing
    status, problem = await step(api, accept, "cg_a", "short", device_time=None)
    assert (status, problem["code"]) == (400, "idempotency_key_required")
    seen = await api.call("GET", f"/api/v1/incidents/{inc['id']}", "operator", expect=200)
    assert seen["status"] == "offered"  # nothing half-written
    # Without a key and a device time, the step is the ordinary one.
    await api.call("POST", accept, "cg_a", expect=200)
    status, problem = await api.call("POST", accept, "cg_a")
    assert status == 409  # a second accept without a key is a conflict, as before


async def test_a_task_step_queued_offline_is_recorded_once_at_its_device_time(api: Api) -> None:
    tid = await hotline_task(api)
    made = api.clock.now()
    api.clock.advance(600)
    set_off = made + timedelta(minutes=2)
    path = f"/api/v1/tasks/{tid}/start"
    for _ in range(2):
        status, task = await step(api, path, "cg_b", "task-start-1", device_time=iso(set_off))
        assert status == 200 and task["status"] == "en_route"
        assert datetime.fromisoformat(task["started_at"]) == set_off and task["late"] is True
    done = f"/api/v1/tasks/{tid}/complete"
    body = {"notes": "已回电，老人安好", "device_time": iso(made - timedelta(hours=2))}
    for _ in range(2):
        status, task = await api.call(
            "POST", done, "cg_b", json=body, headers={"Idempotency-Key": "task-done-1"}
        )
        assert status == 200 and task["status"] == "done"
        assert task["device_time_flagged"] == "before_start"
    async with api.platform.store.read() as conn:
        rows = (
            await conn.execute(
                select(audit_log)
                .where(audit_log.c.object_type == "task", audit_log.c.object_id == str(tid))
                .order_by(audit_log.c.id)
            )
        ).all()
    assert [r.action for r in rows] == ["task_start", "task_complete"]
    assert rows[0].detail["late"] is True
