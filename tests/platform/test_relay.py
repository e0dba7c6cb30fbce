"""The outbox relay under crashes and several processes: a crash costs the row in hand,
emergencies go first, a live process keeps its rows, two processes never share one."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from sqlalchemy import select

from server.jobs import relay_once
from server.platform import URGENT, Platform, emit
from server.store.tables import outbox
from tests.conftest import BACKENDS
from tests.support.api import Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


class Crash(BaseException):
    """What a SIGKILL looks like to the code after it: nothing more runs."""


async def _emit(pf: Platform, topic: str, n: int, *, priority: int = 1) -> None:
    async with pf.tx() as tx:
        await emit(tx, topic, {"n": n}, priority=priority)


async def _published(pf: Platform, topic: str) -> list[int]:
    async with pf.store.read() as conn:
        rows = await conn.execute(
            select(outbox.c.payload).where(
                outbox.c.topic == topic, outbox.c.published_at.is_not(None)
            )
        )
        return sorted(int(p["n"]) for p in rows.scalars())


async def test_a_crash_mid_batch_costs_only_the_row_in_hand(api: Api) -> None:
    """Three events claimed together; the process dies handling the second. The first is
    done for good; the second and third come back once the dead process's lease lapses,
    and the first is not delivered again."""
    pf = api.platform
    seen: list[int] = []

    async def handler(_p: Platform, payload: dict[str, Any]) -> None:
        seen.append(payload["n"])
        if payload["n"] == 2 and seen.count(2) == 1:
            raise Crash()

    pf.on_event("test.batch", handler)
    for n in (1, 2, 3):
        await _emit(pf, "test.batch", n)
    with pytest.raises(Crash):
        await relay_once(pf)
    assert await _published(pf, "test.batch") == [1]
    assert await relay_once(pf) == 0  # still leased to the process that died
    api.clock.advance(pf.settings.lease_s + 0.1)
    assert await relay_once(pf) == 2
    assert seen == [1, 2, 2, 3]
    assert await _published(pf, "test.batch") == [1, 2, 3]


async def test_an_emergency_is_relayed_before_earlier_routine_events(api: Api) -> None:
    pf = api.platform
    order: list[str] = []

    async def note(_p: Platform, payload: dict[str, Any]) -> None:
        order.append(payload["what"])

    pf.on_event("test.order", note)
    async with pf.tx() as tx:
        for i in range(3):
            await emit(tx, "test.order", {"what": f"statement-{i}"})
        await emit(tx, "test.order", {"what": "emergency"}, priority=URGENT)
    while await relay_once(pf, batch=1):
        pass
    assert order == ["emergency", "statement-0", "statement-1", "statement-2"]


async def test_a_live_process_keeps_its_rows_however_long_a_handler_takes(api: Api) -> None:
    """The handler outlives its lease; the relay renews it, so a second process finds
    nothing to claim and the event is handled once."""
    pf = api.platform
    pf.settings = dataclasses.replace(pf.settings, lease_s=0.3)
    release, started = asyncio.Event(), asyncio.Event()
    seen: list[int] = []

    async def slow(_p: Platform, payload: dict[str, Any]) -> None:
        seen.append(payload["n"])
        started.set()
        await release.wait()

    pf.on_event("test.slow", slow)
    await _emit(pf, "test.slow", 1)
    first = asyncio.create_task(relay_once(pf))
    await started.wait()
    for _ in range(3):  # three leases pass while the handler works
        api.clock.advance(0.3)
        await asyncio.sleep(0.25)
        assert await relay_once(pf) == 0
    release.set()
    assert await first == 1
    assert seen == [1]


async def test_two_processes_claiming_at_once_never_share_a_row(api: Api) -> None:
    """Two relays run side by side over twenty events whose handlers pause mid-way (so the
    claims overlap); every event is handled exactly once."""
    pf = api.platform
    seen: list[int] = []

    async def pausing(_p: Platform, payload: dict[str, Any]) -> None:
        await asyncio.sleep(0.01)
        seen.append(payload["n"])

    pf.on_event("test.shared", pausing)
    async with pf.tx() as tx:
        for n in range(20):
            await emit(tx, "test.shared", {"n": n})

    async def drain() -> int:
        total = 0
        while handled := await relay_once(pf, batch=3):
            total += handled
        return total

    counts = await asyncio.gather(drain(), drain())
    assert sum(counts) == 20
    assert sorted(seen) == list(range(20))
