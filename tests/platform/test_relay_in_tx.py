"""An emergency's offer, its escalation chain and the done mark of its `incident.opened`
commit together: a crash before that commit leaves nothing half done and the row to redo;
a failing handler leaves the row to redo; a row another process finished rolls ours back;
on a retry one domain's failing handler no longer holds back another's effect."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select, update

from server.hotline import jobs as hotline_jobs
from server.hotline.flows.chain import start_chain
from server.hotline.tables import escalation_chains
from server.incidents.tables import offers
from server.jobs import relay_once
from server.platform import Platform, Tx, emit
from server.store.tables import outbox
from tests.conftest import BACKENDS
from tests.support.api import Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


class Crash(BaseException):
    """What a SIGKILL looks like to the code after it: nothing more runs."""


async def _counts(api: Api, incident_id: int) -> tuple[int, int, bool]:
    """(offers, chains, whether the incident's `incident.opened` row is done)."""
    async with api.platform.store.read() as conn:
        n_offers = (
            await conn.execute(
                select(func.count()).select_from(offers).where(offers.c.incident_id == incident_id)
            )
        ).scalar_one()
        chains = (
            await conn.execute(
                select(func.count())
                .select_from(escalation_chains)
                .where(escalation_chains.c.incident_id == incident_id)
            )
        ).scalar_one()
        rows = (await conn.execute(select(outbox).where(outbox.c.topic == "incident.opened"))).all()
    (row,) = [r for r in rows if int(r.payload["incident_id"]) == incident_id]
    return int(n_offers), int(chains), row.published_at is not None


async def test_a_crash_after_the_effects_leaves_no_offer_and_the_row_to_redo(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies after the offer and the chain were written, before the commit: the
    caregiver has no offer that the store forgot, and once the lease lapses the redo makes
    exactly one offer and one chain."""
    real = start_chain

    async def start_then_die(platform: Platform, tx: Tx, incident_id: int, **kw: Any) -> Any:
        await real(platform, tx, incident_id, **kw)
        raise Crash()

    inc = await api.press(expect=201)
    monkeypatch.setattr(hotline_jobs, "start_chain", start_then_die)
    with pytest.raises(Crash):
        await relay_once(api.platform)
    assert await _counts(api, inc["id"]) == (0, 0, False)
    monkeypatch.setattr(hotline_jobs, "start_chain", real)
    api.clock.advance(api.platform.settings.lease_s + 0.1)
    await api.pump()
    assert await _counts(api, inc["id"]) == (1, 1, True)


async def test_a_failing_handler_rolls_back_the_event_and_leaves_it_to_redo(api: Api) -> None:
    pf = api.platform
    tries: list[int] = []

    async def writes_then_fails(_p: Platform, tx: Tx, payload: dict[str, Any], _r: Any) -> None:
        tries.append(payload["n"])
        await emit(tx, "test.effect", {"n": payload["n"]})
        if len(tries) == 1:
            raise RuntimeError("the store said no")

    pf.on_event_in_tx("test.in_tx", writes_then_fails)
    async with pf.tx() as tx:
        await emit(tx, "test.in_tx", {"n": 1})
    assert await relay_once(pf, lane="fast") == 0
    assert await _topic_rows(pf, "test.effect") == 0  # the failed try wrote nothing
    api.clock.advance(60)  # past the back-off
    assert await relay_once(pf, lane="fast") >= 1
    assert tries == [1, 1]
    assert await _topic_rows(pf, "test.effect") == 1


async def test_a_row_another_process_finished_meanwhile_rolls_ours_back(api: Api) -> None:
    """Our lease lapsed while we prepared; another process handled and marked the row. Our
    effect must not commit a second time."""
    pf = api.platform
    ready, go = asyncio.Event(), asyncio.Event()

    async def slow_prepare(_p: Platform, _payload: dict[str, Any]) -> None:
        ready.set()
        await go.wait()

    async def effect(_p: Platform, tx: Tx, payload: dict[str, Any], _r: Any) -> None:
        await emit(tx, "test.effect", {"n": payload["n"]})

    pf.on_event_in_tx("test.raced", effect, prepare=slow_prepare)
    async with pf.tx() as tx:
        await emit(tx, "test.raced", {"n": 1})
    ours = asyncio.create_task(relay_once(pf, lane="fast"))
    await ready.wait()
    async with pf.store.begin() as conn:  # the other process's done mark
        await conn.execute(
            update(outbox)
            .where(outbox.c.topic == "test.raced")
            .values(published_at=api.clock.now())
        )
    go.set()
    assert await ours == 0
    assert await _topic_rows(pf, "test.effect") == 0


async def test_on_a_retry_one_domains_failure_does_not_hold_back_the_offer(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chain fails to start, every time: the first try rolls the offer back with it, the
    retry commits the offer on its own and keeps the row to redo for the chain."""

    async def broken(platform: Platform, tx: Tx, incident_id: int, **kw: Any) -> Any:
        raise RuntimeError("a chain definition that does not read")

    monkeypatch.setattr(hotline_jobs, "start_chain", broken)
    inc = await api.press(expect=201)
    await relay_once(api.platform)
    assert await _counts(api, inc["id"]) == (0, 0, False)
    api.clock.advance(60)  # past the back-off
    await relay_once(api.platform)
    assert await _counts(api, inc["id"]) == (1, 0, False)


async def _topic_rows(pf: Platform, topic: str) -> int:
    async with pf.store.read() as conn:
        q = select(func.count()).select_from(outbox).where(outbox.c.topic == topic)
        return int((await conn.execute(q)).scalar_one())
