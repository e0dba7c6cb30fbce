"""Device heartbeats are batched: answered at once, written within the flush interval, seen
by the sweep, and a crash loses at most the unflushed interval of last_seen."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from server.hotline.flows.heartbeats import HEARTBEATS, HeartbeatBatch, batch_of, flush_heartbeats
from server.hotline.tables import devices
from tests.conftest import BACKENDS
from tests.hotline.support import device, post_signed, signed_headers
from tests.support.api import Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

PATH = "/api/v1/hotline/devices/BTN-0001/heartbeat"


async def beat(api: Api, battery: int | None = None, event_id: str | None = None) -> Any:
    body: dict[str, Any] = {"device_id": "BTN-0001", "event_id": event_id or uuid.uuid4().hex}
    if battery is not None:
        body["battery_pct"] = battery
    return await post_signed(api, PATH, body)


async def stored(api: Api) -> Any:
    async with api.platform.store.read() as conn:
        return (
            await conn.execute(
                select(devices.c.last_heartbeat_at, devices.c.battery_pct).where(
                    devices.c.device_id == "BTN-0001"
                )
            )
        ).one()


async def test_a_heartbeat_reaches_the_store_after_the_flush(api: Api) -> None:
    await device(api)
    status, body = await beat(api, battery=80)
    assert status == 200 and body["duplicate"] is False
    assert (await stored(api)).last_heartbeat_at is None  # answered before it was written
    heard_at = api.clock.now()
    api.clock.advance(seconds=0.5)
    status, _ = await beat(api)  # no battery this time: the last known one stays
    assert status == 200
    await flush_heartbeats(api.platform)
    row = await stored(api)
    assert row.last_heartbeat_at == api.clock.now() and row.last_heartbeat_at > heard_at
    assert row.battery_pct == 80
    assert batch_of(api.platform).flushes == 1  # two heartbeats, one transaction


async def test_the_sweep_sees_a_heartbeat_not_yet_flushed(api: Api) -> None:
    await device(api)
    status, _ = await beat(api, battery=15)
    assert status == 200
    made = await api.call("POST", "/api/v1/hotline/sweep", "operator", expect=200)
    assert made["device_tasks"] == 1  # the low battery, read from the store after the flush
    assert (await stored(api)).battery_pct == 15


async def test_a_crash_loses_at_most_the_unflushed_interval(api: Api) -> None:
    await device(api)
    await beat(api, battery=90)
    await flush_heartbeats(api.platform)
    flushed_at = api.clock.now()
    api.clock.advance(seconds=api.platform.settings.heartbeat_flush_s)
    await beat(api, battery=40)
    api.platform.put(HEARTBEATS, HeartbeatBatch(api.platform))  # the process died here
    row = await stored(api)
    assert row.last_heartbeat_at == flushed_at and row.battery_pct == 90
    gap = api.clock.now() - row.last_heartbeat_at
    assert gap.total_seconds() <= api.platform.settings.heartbeat_flush_s


async def test_replays_and_unknown_devices_change_nothing(api: Api) -> None:
    status, body = await beat(api)
    assert status == 404 and body["code"] == "device_not_found"
    await device(api)
    event = uuid.uuid4().hex
    assert (await beat(api, battery=70, event_id=event))[1]["duplicate"] is False
    await flush_heartbeats(api.platform)
    api.clock.advance(seconds=5)
    status, body = await beat(api, battery=5, event_id=event)
    assert status == 200 and body["duplicate"] is True
    # Another process that never saw it: the store's nonce stops it at the flush.
    api.platform.put(HEARTBEATS, HeartbeatBatch(api.platform))
    await beat(api, battery=5, event_id=event)
    await flush_heartbeats(api.platform)
    assert (await stored(api)).battery_pct == 70


BATCH = "/api/v1/hotline/devices/heartbeats"


async def test_a_gateway_batch_counts_each_device_and_names_the_unknown_one(api: Api) -> None:
    await device(api)
    await device(api, "BTN-0002")
    beats: list[dict[str, Any]] = [
        {"device_id": "BTN-0001", "battery_pct": 60, "event_id": "e1"},
        {"device_id": "BTN-9999", "event_id": "e2"},
        {"device_id": "BTN-0002", "battery_pct": 30},
    ]
    status, body = await post_signed(api, BATCH, {"beats": beats})
    assert status == 200 and body["accepted"] == 2
    assert [r.get("error") for r in body["results"]] == [None, "device_not_found", None]
    await flush_heartbeats(api.platform)
    assert (await stored(api)) == (api.clock.now(), 60)
    assert batch_of(api.platform).flushes == 1  # a batch of beats, one transaction
    # The same event id again, in a later batch: answered as a repeat, nothing moves.
    api.clock.advance(seconds=5)
    status, body = await post_signed(api, BATCH, {"beats": [{**beats[0], "battery_pct": 5}]})
    assert status == 200 and body["results"][0]["duplicate"] is True
    await flush_heartbeats(api.platform)
    assert (await stored(api)).battery_pct == 60


async def test_a_bad_batch_is_refused_whole(api: Api) -> None:
    await device(api)
    status, body = await post_signed(api, BATCH, {"beats": []})
    assert status == 422 and body["errors"][0]["loc"] == ["beats"]
    too_many = [{"device_id": "BTN-0001", "event_id": f"e{i}"} for i in range(501)]
    status, body = await post_signed(api, BATCH, {"beats": too_many})
    assert status == 422
    body_bytes = json.dumps({"beats": [{"device_id": "BTN-0001"}]}).encode()
    r = await api.client.post(
        BATCH, data=body_bytes, headers=signed_headers(api, body_bytes + b" ")
    )  # signed for other bytes
    assert r.status == 401
    await flush_heartbeats(api.platform)
    assert (await stored(api)).last_heartbeat_at is None
