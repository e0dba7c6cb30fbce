"""Background loops: the outbox relay and the durable timer runner.

Both claim rows in the store with a short lease so several server processes can run
them; a timer's effect and its ``fired`` mark commit in one transaction, so it fires
once even when two processes race for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.cancel import raise_if_stopping
from server.faults import crash_point
from server.metrics import Read, add_gauge
from server.platform import Platform, Tx, schedule_every
from server.store.errors import is_retryable
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


async def relay_once(platform: Platform, batch: int = 8, lane: str | None = None) -> int:
    """Deliver pending outbox events to their handlers; returns how many were handled.

    ``lane`` is "fast", "slow" (topics in ``platform.slow_topics``) or None for both. Rows
    are claimed a few at a time, most urgent first (an emergency's dispatch before a
    statement's), and each is marked done in its own transaction as soon as its handlers
    succeed: a process killed mid-batch leaves only the row in hand, and the claim it held
    lapses within one short lease because the lease is renewed only while it works.
    """
    rows = await _claim_outbox(platform, batch, lane)
    if not rows:
        return 0
    for topic in sorted({r.topic for r in rows}):
        crash_point("relay.claimed", topic)
    async with _keep_claims(platform, outbox, [r.id for r in rows]) as held:

        async def in_order(lane_rows: list[Any]) -> int:
            done = 0
            for row in lane_rows:
                done += await _deliver(platform, row)
                held.discard(row.id)
            return done

        return sum(await asyncio.gather(*(in_order(g) for g in _by_station(rows))))


def _by_station(rows: list[Any]) -> list[list[Any]]:
    """The claimed rows in lanes that may run side by side: one per station, in claim order.
    Two stations' calls dispatch at once (each waits on the store, not the CPU, most of the
    time); one station's stay one after another, so its older call ranks its caregivers
    first, as in one process. Rows that name no station share one lane, as before."""
    lanes: dict[Any, list[Any]] = {}
    for row in rows:
        payload = row.payload if isinstance(row.payload, dict) else {}
        lanes.setdefault(payload.get("station_id"), []).append(row)
    return list(lanes.values())


async def _claim_outbox(platform: Platform, batch: int, lane: str | None) -> list[Any]:
    now = platform.clock.now()
    conds = [
        outbox.c.published_at.is_(None),
        or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
    ]
    if lane == "slow":
        conds.append(outbox.c.topic.in_(sorted(platform.slow_topics)))
    elif lane == "fast":
        conds.append(outbox.c.topic.notin_(sorted(platform.slow_topics)))
    pending = (
        select(outbox.c.id).where(*conds).order_by(outbox.c.priority, outbox.c.id).limit(batch)
    )
    if platform.store.is_postgres:
        # Several processes claim side by side: each skips the rows another is claiming.
        pending = pending.with_for_update(skip_locked=True)
    async with platform.store.begin() as conn:
        rows = (
            await conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(pending.scalar_subquery()))
                .values(claimed_until=_lease_end(platform), attempts=outbox.c.attempts + 1)
                .returning(
                    outbox.c.id,
                    outbox.c.topic,
                    outbox.c.payload,
                    outbox.c.attempts,
                    outbox.c.priority,
                )
            )
        ).all()
    return sorted(rows, key=lambda r: (r.priority, r.id))


async def _deliver(platform: Platform, row: Any) -> bool:
    """Run one event's handlers and mark it done; on failure, back off and say why.

    Handlers that open their own transactions run first; then the ones registered with
    ``on_event_in_tx`` run in the transaction that marks the row done, so for them effect
    and mark commit together (one commit per event) and a crash leaves the row to redo.
    On a retry each in-transaction handler commits on its own (the last with the mark): one
    domain's failing handler then cannot hold back another's effect (the chain an offer).
    """
    try:
        for handler in platform.outbox_handlers.get(row.topic, []):
            await handler(platform, dict(row.payload))
        in_tx = platform.outbox_tx_handlers.get(row.topic, [])
        if row.attempts <= 1 or len(in_tx) < 2:
            await _in_one_tx(platform, row, in_tx)
        else:
            for i in range(len(in_tx)):
                await _in_one_tx(platform, row, in_tx[i : i + 1], mark=i == len(in_tx) - 1)
    except _AlreadyDone:
        return False  # another process handled it after our lease lapsed: ours rolled back
    except Exception as exc:
        raise_if_stopping()  # the failure is the stop's doing: stop, don't back off
        log.exception("outbox handler failed", extra={"topic": row.topic, "event_id": row.id})
        backoff = _backoff(exc, row.attempts)
        async with platform.store.begin() as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id == row.id)
                .values(
                    claimed_until=platform.clock.now() + timedelta(seconds=backoff),
                    last_error=str(exc)[:300],
                )
            )
        return False
    return True


async def _in_one_tx(
    platform: Platform, row: Any, handlers: list[tuple[Any, Any]], *, mark: bool = True
) -> None:
    """Prepare outside the write transaction, then apply and (with ``mark``) mark done in it."""
    ready = [await prep(platform, dict(row.payload)) if prep else None for prep, _ in handlers]
    async with platform.tx() as tx:
        for (_, handler), prepared in zip(handlers, ready, strict=True):
            await handler(platform, tx, dict(row.payload), prepared)
        crash_point("relay.applied", row.topic)
        if mark:
            await _mark_done(tx, row.id)


class _AlreadyDone(Exception):
    pass


async def _mark_done(tx: Tx, row_id: int) -> None:
    """The done mark, last in the handler's transaction. Only a row not yet done is marked:
    a process whose lease lapsed mid-handler and another that redid the row cannot both
    commit (on PostgreSQL the second waits for the first's row lock, then finds it done)."""
    res = await tx.conn.execute(
        update(outbox)
        .where(outbox.c.id == row_id, outbox.c.published_at.is_(None))
        .values(published_at=tx.now, claimed_until=None)
    )
    if res.rowcount != 1:
        raise _AlreadyDone()


def _backoff(exc: Exception, attempts: int) -> float:
    """Seconds before a failed row is tried again: at once for a lost lock race (another
    transaction won a deadlock or a serialisation check), growing for everything else."""
    if is_retryable(exc) and attempts < 5:
        return 0.0
    return float(min(2 ** min(attempts, 6), 60))


def _lease_end(platform: Platform) -> datetime:
    return platform.clock.now() + timedelta(seconds=platform.settings.lease_s)


@asynccontextmanager
async def _keep_claims(platform: Platform, table: Table, ids: list[int]) -> AsyncIterator[set[int]]:
    """Renew the lease on the rows still in hand until the block ends, so a live process
    keeps them however long a handler takes, and a dead one loses them within a lease."""
    held = set(ids)

    async def renew() -> None:
        while held:
            await asyncio.sleep(max(platform.settings.lease_s / 3, 0.05))
            mine = select(table.c.id).where(table.c.id.in_(sorted(held)))
            if platform.store.is_postgres:
                # A row its handler's transaction is marking done is skipped, not waited
                # for: the renewal never joins a lock wait with the handlers.
                mine = mine.with_for_update(skip_locked=True)
            with contextlib.suppress(Exception):
                async with platform.store.begin() as conn:
                    await conn.execute(
                        update(table)
                        .where(table.c.id.in_(mine.scalar_subquery()))
                        .values(claimed_until=_lease_end(platform))
                    )

    task = asyncio.create_task(renew(), name=f"lease:{table.name}")
    try:
        yield held
    finally:
        held.clear()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def fire_due_timers(platform: Platform, batch: int = 100) -> int:
    """Fire every timer that is due now; returns how many fired."""
    due = await _claim_timers(platform, batch)
    fired = 0
    async with _keep_claims(platform, timers, [r.id for r in due]) as held:
        for row in due:
            if await _fire_one(platform, row.id, row.kind, dict(row.payload), row.attempts):
                fired += 1
            held.discard(row.id)
    return fired


async def _claim_timers(platform: Platform, batch: int) -> list[Any]:
    """Claim due timers for a lease, so two processes do not run the same one side by side
    (a claim is an optimisation: the fired mark below is what makes a timer fire once)."""
    now = platform.clock.now()
    due = (
        select(timers.c.id)
        .where(
            timers.c.state == "pending",
            timers.c.due_at <= now,
            or_(timers.c.claimed_until.is_(None), timers.c.claimed_until < now),
        )
        .order_by(timers.c.due_at, timers.c.id)
        .limit(batch)
    )
    if platform.store.is_postgres:
        due = due.with_for_update(skip_locked=True)
    async with platform.store.begin() as conn:
        rows = (
            await conn.execute(
                update(timers)
                .where(timers.c.id.in_(due.scalar_subquery()))
                .values(claimed_until=_lease_end(platform))
                .returning(
                    timers.c.id, timers.c.kind, timers.c.payload, timers.c.attempts, timers.c.due_at
                )
            )
        ).all()
    return sorted(rows, key=lambda r: (r.due_at, r.id))


class _AlreadyFired(Exception):
    pass


async def _fire_one(
    platform: Platform, timer_id: int, kind: str, payload: dict[str, Any], attempts: int
) -> bool:
    handler = platform.timer_handlers.get(kind)
    try:
        async with platform.tx() as tx:
            await _still_pending(tx, timer_id)
            crash_point(f"timer.{kind}")
            if handler is None:
                log.error("no handler for timer kind %s", kind)
            else:
                await handler(platform, tx, payload)
            await _mark_fired(tx, timer_id)
        return True
    except _AlreadyFired:
        return False
    except Exception as exc:
        raise_if_stopping()  # the failure is the stop's doing: stop, don't back off
        log.exception("timer handler failed", extra={"kind": kind, "timer_id": timer_id})
        backoff = _backoff(exc, attempts + 1)
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


async def _still_pending(tx: Tx, timer_id: int) -> None:
    """Skip a timer that fired or was cancelled since it was claimed (a plain read: the
    timer's row is locked last, see ``_mark_fired``)."""
    state = (await tx.conn.execute(select(timers.c.state).where(timers.c.id == timer_id))).scalar()
    if state != "pending":
        raise _AlreadyFired()


async def _mark_fired(tx: Tx, timer_id: int) -> None:
    """The fired mark commits with the timer's effect, and last: the handler takes the
    domain's locks first (elder, incident, offer) and the timer's row after them, in the
    order a step that cancels the timer takes them. A handler may cancel its own timer (an
    expiring offer stops its clock); another process that fired it first rolls this whole
    effect back. Handlers check the state they act on, so a step that cancelled the timer
    while this one waited for its locks leaves the handler nothing to do."""
    res = await tx.conn.execute(
        update(timers)
        .where(timers.c.id == timer_id, timers.c.state.in_(("pending", "cancelled")))
        .values(state="fired", fired_at=tx.now, claimed_until=None)
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
            raise_if_stopping()
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
            raise_if_stopping()
            log.exception("timer pass failed")
            wait = platform.settings.timer_poll_s
        await waker.wait(wait)


def add_job_gauges(platform: Platform) -> None:
    """What to watch for the loops above: how long the oldest unhandled event has waited
    (a growing age means the relay is stuck or starved) and how late the most overdue timer
    is (an offer timeout or an escalation step that should have run)."""

    def age_of(column: Any, where: Callable[[datetime], list[Any]]) -> Read:
        async def read(conn: AsyncConnection) -> float:
            now = platform.clock.now()
            oldest = (await conn.execute(select(func.min(column)).where(*where(now)))).scalar()
            return 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())

        return read

    add_gauge(
        platform,
        "anxin_outbox_oldest_age_seconds",
        "age of the oldest event the relay has not handled",
        age_of(outbox.c.created_at, lambda _now: [outbox.c.published_at.is_(None)]),
    )
    add_gauge(
        platform,
        "anxin_timer_lag_seconds",
        "how far past its due time the most overdue pending timer is",
        age_of(timers.c.due_at, lambda now: [timers.c.state == "pending", timers.c.due_at <= now]),
    )


# --- pruning: idempotency keys and device event ids are kept for a day or more ---------------

PRUNE_TIMER = "platform.prune"
PRUNE_EVERY = timedelta(hours=1)


async def ensure_prune_scheduled(tx: Tx) -> None:
    """Keep one pending prune timer ahead, at the next hour."""
    await schedule_every(tx, PRUNE_TIMER, PRUNE_EVERY)


async def prune(platform: Platform, tx: Tx) -> dict[str, int]:
    """Delete every domain's replay and idempotency records older than the setting."""
    before = tx.now - timedelta(seconds=platform.settings.idempotency_ttl_s)
    return {name: await h(tx, before) for name, h in sorted(platform.prune_handlers.items())}


async def on_prune_timer(platform: Platform, tx: Tx, _payload: dict[str, Any]) -> None:
    pruned = await prune(platform, tx)
    if any(pruned.values()):
        log.info("pruned", extra=pruned)
    await ensure_prune_scheduled(tx)


def register_prune(platform: Platform) -> None:
    platform.on_timer(PRUNE_TIMER, on_prune_timer)


async def start_prune(platform: Platform) -> None:
    """At start: the prune timer exists (it re-arms itself from then on)."""
    try:
        async with platform.tx() as tx:
            await ensure_prune_scheduled(tx)
    except Exception as exc:  # the store may be busy or away: the next start tries again
        if not is_retryable(exc):
            log.warning("prune timer not scheduled: %s", exc)
