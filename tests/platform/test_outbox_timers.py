"""The outbox relay and the timer runner: at-least-once, fire-once, lanes, retries."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from server.jobs import fire_due_timers, relay_once
from server.platform import Platform, Tx, emit, schedule
from server.store.tables import outbox, timers
from tests.platform.test_push_ws import next_of
from tests.support.api import Api


async def test_failed_handler_is_retried_with_backoff(api: Api) -> None:
    pf = api.platform
    calls: list[int] = []

    async def flaky(_p: Platform, payload: dict[str, Any]) -> None:
        calls.append(payload["n"])
        if len(calls) == 1:
            raise RuntimeError("provider hiccup")

    pf.on_event("test.flaky", flaky)
    async with pf.tx() as tx:
        await emit(tx, "test.flaky", {"n": 1})
    assert await relay_once(pf) == 0
    assert await relay_once(pf) == 0  # backing off: not yet
    api.clock.advance(3)
    assert await relay_once(pf) == 1
    assert calls == [1, 1]
    async with pf.store.read() as conn:
        row = (await conn.execute(select(outbox).where(outbox.c.topic == "test.flaky"))).one()
    assert row.published_at is not None and row.attempts == 2


async def test_timer_fires_once_when_raced(api: Api) -> None:
    pf = api.platform
    fired: list[str] = []

    async def handler(_p: Platform, _tx: Tx, payload: dict[str, Any]) -> None:
        fired.append(payload["x"])

    pf.on_timer("test.once", handler)
    async with pf.tx() as tx:
        assert await schedule(tx, "test.once", "once:1", tx.now + timedelta(seconds=5), {"x": "a"})
        assert not await schedule(
            tx, "test.once", "once:1", tx.now + timedelta(seconds=9), {"x": "b"}
        )
    assert await fire_due_timers(pf) == 0
    api.clock.advance(5)
    results = await asyncio.gather(*(fire_due_timers(pf) for _ in range(4)))
    assert sum(results) == 1 and fired == ["a"]
    async with pf.store.read() as conn:
        state = (
            await conn.execute(select(timers.c.state).where(timers.c.ref == "once:1"))
        ).scalar()
    assert state == "fired"


async def test_failing_timer_stays_pending_and_retries(api: Api) -> None:
    pf = api.platform
    attempts: list[int] = []

    async def handler(_p: Platform, _tx: Tx, _payload: dict[str, Any]) -> None:
        attempts.append(1)
        if len(attempts) < 2:
            raise RuntimeError("boom")

    pf.on_timer("test.retry", handler)
    async with pf.tx() as tx:
        await schedule(tx, "test.retry", "retry:1", tx.now, {})
    assert await fire_due_timers(pf) == 0
    api.clock.advance(3)
    assert await fire_due_timers(pf) == 1
    assert len(attempts) == 2


async def test_slow_provider_lane_does_not_delay_help_calls(
    aiohttp_client: Any, settings: Any, clock: Any
) -> None:
    from server.app import create_app

    app = create_app(settings, clock=clock, run_background=True, create_schema=True)
    from server.keys import PLATFORM

    stuck = asyncio.Event()

    async def hangs(_p: Platform, _payload: dict[str, Any]) -> None:
        await stuck.wait()

    app[PLATFORM].on_event("test.provider_call", hangs, slow=True)
    api = Api(await aiohttp_client(app))
    await api.seed()
    async with api.platform.tx() as tx:
        await emit(tx, "test.provider_call", {})
    ws = await api.client.ws_connect(f"/api/v1/ws?token={api.tokens['cg_a']}")
    await next_of(ws, "hello")
    inc = await api.press(expect=201)
    offered = await next_of(ws, "task.offered", timeout=5)
    assert offered["payload"]["incident_id"] == inc["id"]
    stuck.set()
    await ws.close()
