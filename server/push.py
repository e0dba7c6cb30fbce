"""The WebSocket push hub: numbered messages per recipient, replay after reconnect.

Messages are rows in the store (written in the transaction of the change they report),
so a client that reconnects with ``last_seq`` gets exactly what it missed, from any
server process. The bus only tells a process that a recipient has something new.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from aiohttp import WSMsgType, web
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.common import Envelope
from schemas.pushes import PUSHES
from server.auth.principal import Principal
from server.auth.service import session_live
from server.cancel import raise_if_stopping, stop_tasks
from server.errors import ApiError
from server.http import INT64, caller
from server.keys import HUB, METRICS, PLATFORM
from server.openapi import REF, doc
from server.platform import Platform
from server.store.tables import push_cursors, push_messages

log = logging.getLogger("anxin.push")

PAGE = 500
POLL_FALLBACK_S = 0.5  # the bus cannot wake us: offers must still arrive within 2 s
POLL_BACKSTOP_S = 5.0


async def _all(query: Select[Any], db: AsyncConnection) -> list[Any]:
    return list((await db.execute(query)).all())


# The close code a socket gets when its session ends (sign-out, deactivation, a re-linked
# phone, a new password) or its access token expires: sign in (or refresh) and reconnect.
SESSION_ENDED = 4401


@dataclass(eq=False)
class Connection:
    recipient: str
    ws: web.WebSocketResponse
    last_sent: int
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    task: asyncio.Task[Any] | None = None  # the handler serving it, ended at shutdown
    principal: Principal | None = None  # whose session it belongs to, checked again on revoke


class PushHub:
    """This process's open sockets, and delivery of new rows to them."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.connections: dict[str, set[Connection]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        platform.bus.listen(self._on_hint)

    @property
    def count(self) -> int:
        return sum(len(c) for c in self.connections.values())

    def _on_hint(self, topic: str, data: str) -> None:
        if topic == "session":
            self._spawn(self.revalidate(f"user:{data}"))
            return
        if topic == "push":
            targets = list(self.connections.get(data, ()))
        elif topic == "resync":
            targets = [c for conns in self.connections.values() for c in conns]
        else:
            return
        for conn in targets:
            self._spawn(self.flush(conn))

    async def flush(self, conn: Connection) -> None:
        """Send every stored message after the last one this socket got, in order, a page
        at a time until caught up (a caregiver back from a dead zone may have missed many)."""
        async with conn.lock:
            while not conn.ws.closed:
                # A page by key: a short read, on the loop on SQLite (Store.glance).
                page = (
                    select(push_messages)
                    .where(
                        push_messages.c.recipient == conn.recipient,
                        push_messages.c.seq > conn.last_sent,
                    )
                    .order_by(push_messages.c.seq)
                    .limit(PAGE)
                )
                rows = await self.platform.store.glance(partial(_all, page))
                for r in rows:
                    envelope = {
                        "seq": r.seq,
                        "type": r.type,
                        "at": r.created_at.isoformat(),
                        "payload": r.payload,
                    }
                    try:
                        await conn.ws.send_str(
                            json.dumps(envelope, ensure_ascii=False, default=str)
                        )
                    except (ConnectionResetError, RuntimeError):
                        return
                    conn.last_sent = r.seq
                if len(rows) < PAGE:
                    return

    async def poll(self) -> None:
        """Catch every open socket up from the store on a timer: often while the bus cannot
        carry hints from the other processes (Redis is down), now and then otherwise, so a
        lost hint costs a moment, never a message."""
        checked = 0.0
        loop = asyncio.get_running_loop()
        while True:
            fallback = not self.platform.bus.reaches_others
            await asyncio.sleep(POLL_FALLBACK_S if fallback else POLL_BACKSTOP_S)
            try:
                await self.catch_up()
                if loop.time() - checked >= POLL_BACKSTOP_S:
                    # Expired tokens, and sessions ended where no hint reached us.
                    checked = loop.time()
                    await self.revalidate()
            except Exception:
                raise_if_stopping()
                log.warning("push catch-up failed", exc_info=True)

    async def revalidate(self, recipient: str | None = None) -> int:
        """Close the sockets (of one recipient, or all) whose session has ended or whose
        access token has expired; returns how many were closed."""
        conns = [
            c
            for r, cs in self.connections.items()
            if recipient is None or r == recipient
            for c in cs
            if c.principal is not None
        ]
        if not conns:
            return 0
        now = int(self.platform.clock.now().timestamp())
        ended = []
        async with self.platform.store.read() as db:
            for c in conns:
                assert c.principal is not None
                if c.principal.expires_at <= now or not await session_live(db, c.principal):
                    ended.append(c)
        for c in ended:
            self.remove(c)
            self._spawn(self._end(c))
        return len(ended)

    async def _end(self, conn: Connection) -> None:
        """Close a socket whose session ended; a client that does not answer the close
        within a few seconds is cut off."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.ws.close(code=SESSION_ENDED, message=b"session ended"), 5.0)

    async def catch_up(self) -> None:
        """Flush the sockets whose recipient has messages past the last one they got."""
        recipients = sorted(self.connections)
        if not recipients:
            return
        async with self.platform.store.read() as db:
            rows = await db.execute(
                select(push_cursors.c.recipient, push_cursors.c.last_seq).where(
                    push_cursors.c.recipient.in_(recipients)
                )
            )
            last = {str(r.recipient): int(r.last_seq) for r in rows}
        for recipient in recipients:
            for conn in list(self.connections.get(recipient, ())):
                if conn.last_sent < last.get(recipient, 0):
                    self._spawn(self.flush(conn))

    def _spawn(self, job: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_event_loop().create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def add(self, conn: Connection) -> None:
        self.connections.setdefault(conn.recipient, set()).add(conn)

    def remove(self, conn: Connection) -> None:
        conns = self.connections.get(conn.recipient)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self.connections[conn.recipient]

    async def close_all(self) -> None:
        """Say goodbye to every socket at once and end its handler: a client that does not
        answer the close (a phone in a lift) must not hold the shutdown."""
        conns = [c for cs in self.connections.values() for c in cs]
        await asyncio.gather(*(self._close(c) for c in conns))
        # Awaited, so no flush still reads the store while the store is being closed.
        await stop_tasks(list(self._tasks), within_s=2.0, log=log)

    async def _close(self, conn: Connection) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.ws.close(code=1001, message=b"server shutdown"), 1.0)
        if conn.task is not None and not conn.task.done():
            conn.task.cancel()


def push_messages_schema() -> dict[str, Any]:
    """Every pushed message as JSON Schema: one envelope per type (``schemas/pushes.py``),
    its ``payload`` that type's model, told apart by ``type``."""
    return {
        "oneOf": [
            {
                "title": f"{model.__name__} envelope",
                "type": "object",
                "required": ["seq", "type", "at", "payload"],
                "properties": {
                    "seq": {"type": "integer", "description": "per recipient, from 1, no gaps"},
                    "type": {"const": type_},
                    "at": {"type": "string", "format": "date-time"},
                    "payload": {"$ref": REF.format(model=model.__name__)},
                },
            }
            for type_, model in sorted(PUSHES.items())
        ],
        "discriminator": {"propertyName": "type"},
    }


@doc(
    status=101,
    response=Envelope,
    query_names=("token", "last_seq"),
    extra={
        "description": (
            "Upgrade to a WebSocket. The server sends `hello`, then every numbered message "
            "(`Envelope`: seq, type, at, payload) after `last_seq`, and pings every "
            'ANXIN_WS_HEARTBEAT_S seconds. The client may send `{"type": "ping"}` (→ pong) or '
            '`{"type": "resume", "last_seq": N}`; anything else gets an `error` frame. '
            "`token` is the access token (browsers cannot set headers on a WebSocket). "
            "The messages, by `type`, are in `x-push-messages` (one payload model each): "
            + ", ".join(f"`{t}`" for t in sorted(PUSHES))
            + "."
        ),
        "x-push-messages": push_messages_schema(),
    },
)
async def websocket(request: web.Request) -> web.StreamResponse:
    """GET /api/v1/ws?token=...&last_seq=N — pushes for the signed-in user."""
    p = caller(request)
    try:
        last_seq = int(request.query.get("last_seq", "0"))
    except ValueError as exc:
        raise ApiError(400, "bad_last_seq", "last_seq must be an integer") from exc
    if last_seq > INT64:
        raise ApiError(400, "bad_last_seq", "last_seq is too large")
    hub = request.app[HUB]
    s = request.app[PLATFORM].settings
    ws = web.WebSocketResponse(heartbeat=s.ws_heartbeat_s)
    await ws.prepare(request)
    conn = Connection(
        recipient=p.push_recipient,
        ws=ws,
        last_sent=max(0, last_seq),
        task=asyncio.current_task(),
        principal=p,
    )
    hub.add(conn)
    metrics = request.app[METRICS]
    metrics.push_connections.inc()
    try:
        await ws.send_json(
            {
                "type": "hello",
                "user_id": p.user_id,
                "role": p.role.value,
                "resume_from": conn.last_sent,
            }
        )
        await hub.flush(conn)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await _client_message(hub, conn, msg.data)
            elif msg.type == WSMsgType.BINARY:
                await _refuse(conn, "binary_not_supported", "send JSON text frames")
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        hub.remove(conn)
        metrics.push_connections.dec()
    return ws


async def _client_message(hub: PushHub, conn: Connection, data: str) -> None:
    """``ping`` → ``pong``; ``resume`` with ``last_seq`` → replay from there. Anything else
    gets an ``error`` frame and the socket stays open: a buggy client must not lose its
    offers because it sent one bad frame."""
    try:
        body = json.loads(data)
    except ValueError:
        await _refuse(conn, "malformed_json", "message is not valid JSON")
        return
    kind = body.get("type") if isinstance(body, dict) else None
    if kind == "ping":
        await conn.ws.send_json({"type": "pong"})
    elif kind == "resume":
        seq = body.get("last_seq", conn.last_sent)
        if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= INT64:
            await _refuse(conn, "bad_last_seq", "last_seq must be a non-negative integer")
            return
        # The client saw up to N: anything after it is sent again.
        async with conn.lock:
            conn.last_sent = seq
        await hub.flush(conn)
    else:
        await _refuse(
            conn,
            "unknown_message",
            'expected {"type": "ping"} or {"type": "resume", "last_seq": N}',
        )


async def _refuse(conn: Connection, code: str, message: str) -> None:
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        await conn.ws.send_json({"type": "error", "code": code, "message": message})
