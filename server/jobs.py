"""Background loops: the outbox relay and the durable timer runner.

Both claim rows in the store with a short lease so several server processes can run
them; a timer's effect and its ``fired`` mark commit in one transaction, so it fires
once even when two processes race for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from server.faults import crash_point
from server.platform import Platform, Tx
from server.store.tables import outbox, timers

log = logging.getLogger("anxin.jobs")


class Waker:
    """An event a bus hint sets, so loops wake at once instead of at their next poll."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def __call__(self, _topic: str, _data: str) -> None:
        self.event.set()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.event.wait(), timeout)
        self.event.clear()


async def relay_once(platform: Platform, batch: int = 100, lane: str | None = None) -> int:
    """Deliver pending outbox events to their handlers; returns how many were handled.

    ``lane`` is "fast", "slow" (topics in ``platform.slow_topics``) or None for both.
    """
    now = platform.clock.now()
    conds = [
        outbox.c.published_at.is_(None),
        or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
    ]
    if lane == "slow":
        conds.append(outbox.c.topic.in_(sorted(platform.slow_topics)))
    elif lane == "fast":
        conds.append(outbox.c.topic.notin_(sorted(platform.slow_topics)))
    async with platform.store.begin() as conn:
        pending = select(outbox.c.id).where(*conds).order_by(outbox.c.id).limit(batch)
        rows = (
            await conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(pending.scalar_subquery()))
                .values(
                    claimed_until=now + timedelta(seconds=platform.settings.lease_s),
                    attempts=outbox.c.attempts + 1,
                )
                .returning(outbox.c.id, outbox.c.topic, outbox.c.payload, outbox.c.attempts)
            )
        ).all()
    for topic in sorted({r.topic for r in rows}):
        crash_point("relay.claimed", topic)
    done: list[int] = []
    for row in sorted(rows, key=lambda r: r.id):
        try:
            for handler in platform.outbox_handlers.get(row.topic, []):
                await handler(platform, dict(row.payload))
        except Exception as exc:
            log.exception("outbox handler failed", extra={"topic": row.topic, "event_id": row.id})
            backoff = min(2 ** min(row.attempts, 6), 60)
            async with platform.store.begin() as conn:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id == row.id)
                    .values(
                        claimed_until=platform.clock.now() + timedelta(seconds=backoff),
                        last_error=str(exc)[:300],
                    )
                )
            continue
        done.append(row.id)
    if done:
        # A crash before this mark re-delivers the batch: every consumer is idempotent.
        async with platform.store.begin() as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(done))
                .values(published_at=platform.clock.now())
            )
    return len(done)


async def fire_due_timers(platform: Platform, batch: int = 100) -> int:
    """Fire every timer that is due now; returns how many fired."""
    now = platform.clock.now()
    async with platform.store.read() as conn:
        due = (
            await conn.execute(
                select(timers.c.id, timers.c.kind, timers.c.payload, timers.c.attempts)
                .where(
                    timers.c.state == "pending",
                    timers.c.due_at <= now,
                    or_(timers.c.claimed_until.is_(None), timers.c.claimed_until < now),
                )
                .order_by(timers.c.due_at, timers.c.id)
                .limit(batch)
            )
        ).all()
    fired = 0
    for row in due:
        if await _fire_one(platform, row.id, row.kind, dict(row.payload), row.attempts):
            fired += 1
    return fired


class _AlreadyFired(Exception):
    pass


async def _fire_one(
    platform: Platform, timer_id: int, kind: str, payload: dict[str, Any], attempts: int
) -> bool:
    handler = platform.timer_handlers.get(kind)
    try:
        async with platform.tx() as tx:
            await _claim_fire(tx, timer_id)
            crash_point(f"timer.{kind}")
            if handler is None:
                log.error("no handler for timer kind %s", kind)
            else:
                await handler(platform, tx, payload)
        return True
    except _AlreadyFired:
        return False
    except Exception as exc:
        log.exception("timer handler failed", extra={"kind": kind, "timer_id": timer_id})
        backoff = min(2 ** min(attempts + 1, 6), 60)
        async with platform.store.begin() as conn:
            await conn.execute(
                update(timers)
                .where(timers.c.id == timer_id)
                .values(
                    attempts=timers.c.attempts + 1,
                    last_error=str(exc)[:300],
                    claimed_until=platform.clock.now() + timedelta(seconds=backoff),
                )
            )
        return False


async def _claim_fire(tx: Tx, timer_id: int) -> None:
    res = await tx.conn.execute(
        update(timers)
        .where(timers.c.id == timer_id, timers.c.state == "pending")
        .values(state="fired", fired_at=tx.now)
    )
    if res.rowcount != 1:
        raise _AlreadyFired()


async def next_timer_in(platform: Platform, cap: float) -> float:
    async with platform.store.read() as conn:
        due = (
            await conn.execute(
                select(timers.c.due_at)
                .where(timers.c.state == "pending")
                .order_by(timers.c.due_at)
                .limit(1)
            )
        ).scalar()
    if due is None:
        return cap
    return max(0.0, min(cap, float((due - platform.clock.now()).total_seconds())))


def _due_soon(platform: Platform, data: str, within_s: float) -> bool:
    try:
        return float(data) - platform.clock.now().timestamp() < within_s
    except ValueError:
        return True


async def run_relay(platform: Platform, lane: str = "fast") -> None:
    waker = Waker()
    platform.bus.listen(lambda t, d: waker(t, d) if t in ("outbox", "resync") else None)
    while True:
        try:
            if await relay_once(platform, lane=lane):
                continue
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("outbox relay pass failed")
        await waker.wait(platform.settings.outbox_poll_s)


async def run_timers(platform: Platform) -> None:
    waker = Waker()
    poll = platform.settings.timer_poll_s

    def on_hint(topic: str, data: str) -> None:
        if topic == "resync" or (topic == "timers" and _due_soon(platform, data, poll)):
            waker(topic, data)

    platform.bus.listen(on_hint)
    while True:
        try:
            await fire_due_timers(platform)
            wait = await next_timer_in(platform, platform.settings.timer_poll_s)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("timer pass failed")
            wait = platform.settings.timer_poll_s
        await waker.wait(wait)
