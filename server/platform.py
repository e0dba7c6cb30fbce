"""The runtime every request and job works through: store, bus, clock, and the
transaction (``Tx``) that writes state, its timeline, outbox rows, timers and pushes
together and only wakes other parts after the commit."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Generic, TypeVar, cast

from aiohttp import ClientSession
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.common import Push
from server import steps
from server.bus import InProcessBus
from server.clock import Clock
from server.errors import ApiError
from server.settings import Settings
from server.store.engine import Store
from server.store.plain import Plain, values
from server.store.tables import (
    audit_log,
    outbox,
    push_cursors,
    push_messages,
    rate_counters,
    timers,
)

log = logging.getLogger("anxin.platform")
T = TypeVar("T")


@dataclass
class Tx:
    """One unit of work: a connection inside a transaction, and hints to send after commit."""

    conn: AsyncConnection
    now: datetime
    hints: list[tuple[str, str]] = field(default_factory=list)
    pushes: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)

    def hint(self, topic: str, data: str = "") -> None:
        if (topic, data) not in self.hints:
            self.hints.append((topic, data))


class Slot(Generic[T]):
    """A typed place on the platform for one domain's process-wide object (its cache, its
    adapters, its answers to another domain): the platform holds it without knowing its type,
    and the domain reads it back typed. ``make`` builds it on first use; without one, reading
    an empty slot raises."""

    def __init__(self, name: str, make: Callable[[], T] | None = None) -> None:
        self.name = name
        self.make = make

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"


OutboxHandler = Callable[["Platform", dict[str, Any]], Awaitable[None]]
# An outbox handler that writes in the relay's transaction, the one that marks its row done
# (effect and mark commit together, or neither). ``prepare`` runs before that transaction,
# outside any write lock (a read snapshot, a ranking); its result is handed to the handler.
Prepare = Callable[["Platform", dict[str, Any]], Awaitable[Any]]
TxOutboxHandler = Callable[["Platform", "Tx", dict[str, Any], Any], Awaitable[None]]
TimerHandler = Callable[["Platform", Tx, dict[str, Any]], Awaitable[None]]
StopHandler = Callable[["Platform"], Awaitable[None]]
# Deletes what was kept until ``before`` (replay and idempotency records); returns how many.
PruneHandler = Callable[[Tx, datetime], Awaitable[int]]


class Platform:
    """Store, bus, clock and settings, plus the handler tables for outbox and timers."""

    def __init__(self, settings: Settings, store: Store, bus: InProcessBus, clock: Clock) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.clock = clock
        self.outbox_handlers: dict[str, list[OutboxHandler]] = {}
        self.outbox_tx_handlers: dict[str, list[tuple[Prepare | None, TxOutboxHandler]]] = {}
        self.timer_handlers: dict[str, TimerHandler] = {}
        self.slow_topics: set[str] = set()
        self._slots: dict[Slot[Any], Any] = {}
        # The app's HTTP client for outbound calls (providers, WeChat): opened and closed by
        # the app's cleanup_ctx (server.app), None while the app is not running.
        self.http: ClientSession | None = None
        self.stop_handlers: list[StopHandler] = []
        self.prune_handlers: dict[str, PruneHandler] = {}

    def get(self, slot: Slot[T]) -> T:
        """The slot's object, made on first use (``LookupError`` for an empty slot without a
        maker)."""
        if slot not in self._slots:
            if slot.make is None:
                raise LookupError(f"nothing in {slot!r}")
            self._slots[slot] = slot.make()
        return cast(T, self._slots[slot])

    def put(self, slot: Slot[T], value: T) -> None:
        self._slots[slot] = value

    def on_event(self, topic: str, handler: OutboxHandler, *, slow: bool = False) -> None:
        """Consume an outbox topic; ``slow`` ones (outbound calls to providers) run in their
        own relay lane so a provider timing out never delays dispatching a help call."""
        self.outbox_handlers.setdefault(topic, []).append(handler)
        if slow:
            self.slow_topics.add(topic)

    def on_event_in_tx(
        self, topic: str, handler: TxOutboxHandler, *, prepare: Prepare | None = None
    ) -> None:
        """Consume an outbox topic inside the transaction that marks the row done: one commit
        for the effect and the mark, so a crash leaves the row to redo, never half done."""
        self.outbox_tx_handlers.setdefault(topic, []).append((prepare, handler))

    def on_timer(self, kind: str, handler: TimerHandler) -> None:
        if kind in self.timer_handlers:
            raise ValueError(f"timer kind {kind!r} already has a handler")
        self.timer_handlers[kind] = handler

    def on_stop(self, handler: StopHandler) -> None:
        """Run at shutdown, after the relay and timers have stopped and before the store, the
        bus and the HTTP session close (work a domain still has in flight finishes there)."""
        self.stop_handlers.append(handler)

    def on_prune(self, name: str, handler: PruneHandler) -> None:
        """Prune records kept for ``settings.idempotency_ttl_s`` (server/jobs.py runs it hourly)."""
        self.prune_handlers[name] = handler

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[Tx]:
        """A transaction; hints are published only once it has committed."""
        step = steps.current()  # a phone's step: recorded at the time it happened
        async with self.store.begin() as conn:
            t = Tx(conn=conn, now=step.when.at if step else self.clock.now())
            yield t
            if step and step.write:
                await step.write(t)
            await flush_pushes(t)
        if step:
            step.committed = True
        if t.hints:
            await self.bus.publish_many(t.hints)


URGENT: Final = 0  # an emergency's dispatch and escalation: relayed before anything else
NORMAL: Final = 1


async def emit(tx: Tx, topic: str, payload: dict[str, Any], *, priority: int = NORMAL) -> None:
    """Write an event to the outbox inside the caller's transaction."""
    await tx.conn.execute(
        insert(outbox).values(topic=topic, payload=payload, created_at=tx.now, priority=priority)
    )
    tx.hint("outbox")


async def schedule(tx: Tx, kind: str, ref: str, due_at: datetime, payload: dict[str, Any]) -> bool:
    """Create a durable timer; a second timer with the same ref is a no-op."""
    stmt = dialect_insert(tx.conn)(timers).values(
        kind=kind, ref=ref, due_at=due_at, payload=payload, state="pending", created_at=tx.now
    )
    res = await tx.conn.execute(stmt.on_conflict_do_nothing(index_elements=[timers.c.ref]))
    # The runner polls anyway; the hint only matters for a timer due before its next look.
    tx.hint("timers", f"{due_at.timestamp():.3f}")
    return bool(res.rowcount)


async def schedule_all(tx: Tx, wanted: list[tuple[str, str, datetime, dict[str, Any]]]) -> int:
    """Create several durable timers (kind, ref, due_at, payload) in one statement; a ref
    that already has a timer is skipped. Returns how many were created."""
    if not wanted:
        return 0
    stmt = dialect_insert(tx.conn)(timers).values(
        [
            {
                "kind": kind,
                "ref": ref,
                "due_at": due_at,
                "payload": payload,
                "state": "pending",
                "created_at": tx.now,
            }
            for kind, ref, due_at, payload in wanted
        ]
    )
    res = await tx.conn.execute(stmt.on_conflict_do_nothing(index_elements=[timers.c.ref]))
    tx.hint("timers", f"{min(w[2] for w in wanted).timestamp():.3f}")
    return int(res.rowcount or 0)


async def schedule_every(tx: Tx, kind: str, every: timedelta) -> None:
    """Keep one pending ``kind`` timer ahead, at the next multiple of ``every`` (a periodic
    job re-arms itself with this when it fires). Only a timer still to come counts: the one
    firing now stays pending until its fired mark, written last in the same transaction. The
    ref names the slot, so processes starting at once schedule it once."""
    ahead = await tx.conn.execute(
        select(timers.c.id)
        .where(timers.c.kind == kind, timers.c.state == "pending", timers.c.due_at > tx.now)
        .limit(1)
    )
    if ahead.first() is None:
        step = int(every.total_seconds())
        due = datetime.fromtimestamp((int(tx.now.timestamp()) // step + 1) * step, tz=tx.now.tzinfo)
        await schedule(tx, kind, f"{kind}:{due.isoformat()}", due, {})


async def cancel_timer(tx: Tx, ref: str) -> bool:
    res = await tx.conn.execute(
        update(timers)
        .where(timers.c.ref == ref, timers.c.state == "pending")
        .values(state="cancelled")
    )
    return bool(res.rowcount)


def queue_push(tx: Tx, recipient: str, msg: Push) -> None:
    """Add a message for one recipient, numbered and written just before the commit.

    ``msg`` is the message's model (``schemas.common.Push``), one per message type.

    Numbering takes a lock on the recipient's cursor until the commit (so sequence order is
    commit order, and a reconnecting client never skips a late-committing message). Taking it
    at the end, for all recipients in sorted order, keeps the lock short and deadlock-free:
    every operator of a station is a recipient of almost every transaction.
    """
    tx.pushes.setdefault(recipient, []).append((msg.TYPE, msg.model_dump(mode="json")))
    tx.hint("push", recipient)


async def flush_pushes(tx: Tx) -> None:
    """Number and write the queued pushes: one upsert reserves every recipient's numbers, in
    sorted order (the lock order), and one multi-row insert writes the messages (plain SQL:
    this runs in almost every transaction)."""
    if not tx.pushes:
        return
    db = await Plain.of(tx.conn)
    recipients = sorted(tx.pushes)
    last_seqs: dict[str, int] = {}
    for part in _chunks(recipients):
        reserve = _RESERVE.format(rows=values(len(part), 2))
        args = [a for r in part for a in (r, len(tx.pushes[r]))]
        last_seqs |= {str(r): int(seq) for r, seq in await db.rows(reserve, args)}
    rows: list[Any] = []
    created = db.when(tx.now)
    for recipient in recipients:
        messages = tx.pushes[recipient]
        first = last_seqs[recipient] - len(messages) + 1
        for i, (t, p) in enumerate(messages):
            rows.append((recipient, first + i, t, db.js(p), created))
    for part in _chunks(rows):
        sql = _MESSAGES + values(len(part), 5)
        await db.run(sql, [a for row in part for a in row])
    tx.pushes.clear()


_RESERVE = (
    "INSERT INTO push_cursors (recipient, last_seq) VALUES {rows} ON CONFLICT (recipient)"
    " DO UPDATE SET last_seq = push_cursors.last_seq + excluded.last_seq"
    " RETURNING recipient, last_seq"
)
_MESSAGES = "INSERT INTO push_messages (recipient, seq, type, payload, created_at) VALUES "


def _chunks(items: list[T], size: int = 500) -> list[list[T]]:
    """Parts small enough for the drivers' parameter limits (32,766 on SQLite and asyncpg)."""
    return [items[i : i + size] for i in range(0, len(items), size)]


async def push(tx: Tx, recipient: str, msg: Push) -> int:
    """Write a message for one recipient now and return its sequence number.

    Prefer ``queue_push``: this takes the recipient's lock for the rest of the transaction.
    """
    seq = (await tx.conn.execute(_next_seq(tx, recipient, 1))).scalar_one()
    await tx.conn.execute(
        insert(push_messages).values(
            recipient=recipient,
            seq=seq,
            type=msg.TYPE,
            payload=msg.model_dump(mode="json"),
            created_at=tx.now,
        )
    )
    tx.hint("push", recipient)
    return int(seq)


async def audit(
    tx: Tx,
    *,
    actor: int | None,
    action: str,
    object_type: str,
    object_id: str | int,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record an access or disclosure; the audit log never holds the revealed values. The
    command line on the server (``COMMAND_LINE``, user id 0) is recorded with no actor."""
    await tx.conn.execute(
        insert(audit_log).values(
            at=tx.now,
            actor_user_id=actor or None,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            detail=detail or {},
        )
    )


def dialect_insert(conn: AsyncConnection) -> Any:
    """The dialect's INSERT (it has on_conflict_do_nothing / do_update)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def _next_seq(tx: Tx, recipient: str, n: int) -> Any:
    """Reserve ``n`` numbers: INSERT ... ON CONFLICT DO UPDATE ... RETURNING the last one."""
    stmt = dialect_insert(tx.conn)(push_cursors).values(recipient=recipient, last_seq=n)
    return stmt.on_conflict_do_update(
        index_elements=[push_cursors.c.recipient],
        set_={"last_seq": push_cursors.c.last_seq + n},
    ).returning(push_cursors.c.last_seq)


def later(tx: Tx, seconds: float) -> datetime:
    return tx.now + timedelta(seconds=seconds)


async def rate_limit(tx: Tx, key: str, *, limit: int, window_s: int) -> None:
    """Count one ``key`` action in its fixed window (an upsert in the store, so every
    process counts); past ``limit``, a 429 with how long until the window ends. The count
    is written before the refusal is raised, so callers count in their own transaction
    only for actions that succeed; ``rate_limited`` counts in a transaction of its own."""
    epoch = int(tx.now.timestamp())
    start = epoch - epoch % window_s
    started = datetime.fromtimestamp(start, tz=tx.now.tzinfo)
    ins = dialect_insert(tx.conn)(rate_counters).values(
        key=key[:120], window_start=started, count=1
    )
    count = int(
        (
            await tx.conn.execute(
                ins.on_conflict_do_update(
                    index_elements=[rate_counters.c.key, rate_counters.c.window_start],
                    set_={"count": rate_counters.c.count + 1},
                ).returning(rate_counters.c.count)
            )
        ).scalar_one()
    )
    if count > limit:
        wait = start + window_s - epoch
        raise ApiError(
            429,
            "rate_limited",
            f"too many of these; try again in {max(1, -(-wait // 60))} minutes",
            retry_after_s=max(1, wait),
        )


async def rate_limited(platform: Platform, key: str, *, limit: int, window_s: int) -> None:
    """``rate_limit`` in a transaction of its own: the attempt counts even when the action
    that follows fails (a guess must cost a try whatever it finds)."""
    refused: ApiError | None = None
    async with platform.tx() as tx:
        try:
            await rate_limit(tx, key, limit=limit, window_s=window_s)
        except ApiError as exc:
            refused = exc
    if refused is not None:
        raise refused
