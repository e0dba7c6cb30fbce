"""A gateway's late re-delivery is the same press, and a buffered press is late, not stale.

Device event ids are kept in the store for ``idempotency_ttl_s`` (48 h by default, never less
than 24 h) with the incident their press went to; the prune job forgets them after that."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from server.hotline.tables import device_events
from server.incidents.tables import idempotency_keys, incidents
from server.jobs import PRUNE_TIMER, ensure_prune_scheduled, fire_due_timers, prune
from server.store.tables import timers
from tests.conftest import BACKENDS
from tests.hotline.support import device, post_signed
from tests.support.api import Api
from tests.welfare.support import long_tokens

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

PRESS = "/api/v1/hotline/devices/BTN-0001/press"


async def _device(api: Api) -> None:
    long_tokens(api)  # the clock moves by hours
    await device(api)


async def _close(api: Api, incident_id: int) -> None:
    await api.call(
        "POST",
        f"/api/v1/incidents/{incident_id}/close",
        "operator",
        json={"resolution": "handled_by_phone"},
        expect=200,
    )


async def _incidents(api: Api) -> list[Any]:
    async with api.platform.store.read() as conn:
        return list((await conn.execute(select(incidents).order_by(incidents.c.id))).all())


@pytest.mark.parametrize("later", [timedelta(minutes=10), timedelta(hours=23)])
async def test_a_late_redelivery_answers_the_same_incident(api: Api, later: timedelta) -> None:
    """The call was handled and closed; the gateway, never having seen the answer, delivers
    the press again 10 minutes (then 23 hours) later, re-signed: no second emergency."""
    await _device(api)
    status, first = await post_signed(api, PRESS, {"device_id": "BTN-0001", "event_id": "gw-4711"})
    assert status == 201
    await _close(api, first["incident_id"])
    api.clock.advance(later.total_seconds())
    status, again = await post_signed(api, PRESS, {"device_id": "BTN-0001", "event_id": "gw-4711"})
    assert (status, again) == (200, {"duplicate": True, "incident_id": first["incident_id"]})
    rows = await _incidents(api)
    assert [(r.id, r.press_count, r.status) for r in rows] == [(first["incident_id"], 1, "closed")]
    # A new press (a new event id) is a new call.
    status, new = await post_signed(api, PRESS, {"device_id": "BTN-0001", "event_id": "gw-4712"})
    assert status == 201 and new["incident_id"] != first["incident_id"]


async def test_device_event_ids_and_idempotency_keys_are_pruned_after_the_setting(
    api: Api,
) -> None:
    await _device(api)
    status, first = await post_signed(api, PRESS, {"device_id": "BTN-0001", "event_id": "gw-1"})
    assert status == 201
    await _close(api, first["incident_id"])
    await api.press(call_type="health", expect=201)
    ttl = api.platform.settings.idempotency_ttl_s
    assert ttl >= 24 * 3600
    api.clock.advance(ttl - 60)
    async with api.platform.tx() as tx:
        assert await prune(api.platform, tx) == {"device_events": 0, "idempotency_keys": 0}
    api.clock.advance(120)
    # The prune timer, scheduled at start, fires on the hour and re-arms itself.
    async with api.platform.tx() as tx:
        await ensure_prune_scheduled(tx)
    api.clock.advance(3600)
    assert await fire_due_timers(api.platform) >= 1
    async with api.platform.store.read() as conn:
        kept = (await conn.execute(select(func.count()).select_from(device_events))).scalar()
        keys = (await conn.execute(select(func.count()).select_from(idempotency_keys))).scalar()
        pending = (
            await conn.execute(
                select(func.count())
                .select_from(timers)
                .where(timers.c.kind == PRUNE_TIMER, timers.c.state == "pending")
            )
        ).scalar()
    assert (kept, keys, pending) == (0, 0, 1)


async def test_a_buffered_press_is_accepted_late_and_shown_late(api: Api) -> None:
    """The pendant had no network for 40 minutes; the gateway sends the press with the
    device's time: a new emergency, flagged late, the operator sees how late."""
    await _device(api)
    pressed = api.clock.now() - timedelta(minutes=40)
    status, body = await post_signed(
        api,
        PRESS,
        {"device_id": "BTN-0001", "event_id": "gw-late", "pressed_at": pressed.isoformat()},
    )
    assert status == 201 and body["late_s"] == 40 * 60
    inc = await api.call("GET", f"/api/v1/incidents/{body['incident_id']}", "operator", expect=200)
    assert inc["late_s"] == 40 * 60 and inc["kind"] == "emergency"
    assert inc["pressed_at"].startswith(pressed.isoformat()[:19])
    opened = next(e for e in inc["timeline"] if e["kind"] == "opened")
    assert opened["data"]["late_s"] == 40 * 60
    # On time (a few seconds of transit) is not late.
    await _close(api, body["incident_id"])
    status, body = await post_signed(
        api,
        PRESS,
        {
            "device_id": "BTN-0001",
            "event_id": "gw-now",
            "pressed_at": (api.clock.now() - timedelta(seconds=5)).isoformat(),
        },
    )
    assert status == 201 and "late_s" not in body
    inc = await api.call("GET", f"/api/v1/incidents/{body['incident_id']}", "operator", expect=200)
    assert inc["late_s"] is None


async def test_a_press_from_a_device_clock_in_the_future_is_taken_at_its_arrival(
    api: Api,
) -> None:
    await _device(api)
    ahead = api.clock.now() + timedelta(hours=3)
    status, body = await post_signed(
        api, PRESS, {"device_id": "BTN-0001", "event_id": "gw-fut", "pressed_at": ahead.isoformat()}
    )
    assert status == 201 and "late_s" not in body
    rows = await _incidents(api)
    assert (rows[0].late_s, rows[0].pressed_at) == (None, None)


async def test_a_press_time_without_a_zone_is_refused_clearly(api: Api) -> None:
    await _device(api)
    status, body = await post_signed(
        api,
        PRESS,
        {"device_id": "BTN-0001", "event_id": "gw-tz", "pressed_at": "2026-11-23T10:00:00"},
    )
    assert status == 422 and body["code"] == "validation_error"
    assert await _incidents(api) == []
