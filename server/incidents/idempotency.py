"""Idempotency keys as Stripe and the IETF draft use them, stored with the effect.

The key row is written in the same transaction as the incident, so a key is never
"in flight" after a crash: either the incident and its answer exist, or neither does.

The same keys guard the caregiver's steps (``step_once``): the phone queues each step with its
own key and the device time, and retries it until answered; the key row is written in the
step's own transaction (server.steps), its answer right after. A retry gets the first answer;
a retry racing the first one gets it too, instead of the state conflict its flow would raise.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.common import StepIn, StepMarks
from server import steps
from server.auth.principal import Principal
from server.errors import ApiError
from server.http import ok, platform
from server.incidents.tables import idempotency_keys
from server.platform import Tx

Floor = Callable[[AsyncConnection], Awaitable[datetime | None]]


def request_hash(body: dict[str, Any]) -> str:
    """The body's fingerprint: a replay must send the same request."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def valid_key(key: str | None) -> str:
    """The Idempotency-Key header, or 400 when it is missing or malformed."""
    if not key or not (8 <= len(key) <= 100) or not key.isprintable():
        raise ApiError(
            400,
            "idempotency_key_required",
            "send an Idempotency-Key header of 8 to 100 printable characters",
        )
    return key


async def replay(tx: Tx, scope: str, key: str, digest: str) -> tuple[int, Any] | None:
    """The stored answer for this key, or None if it is new; 422 if the body differs."""
    return await _stored(tx.conn, scope, key, digest)


async def _stored(
    conn: AsyncConnection, scope: str, key: str, digest: str
) -> tuple[int, Any] | None:
    row = (
        await conn.execute(
            select(idempotency_keys).where(
                idempotency_keys.c.scope == scope, idempotency_keys.c.key == key
            )
        )
    ).first()
    if row is None:
        return None
    return stored_answer(row.request_hash, row.response_status, row.response_body, digest)


def stored_answer(request_hash: str, status: int | None, body: Any, digest: str) -> tuple[int, Any]:
    """A seen key's first answer; 422 if this request's body differs from the first one."""
    if request_hash != digest:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request body",
        )
    if status is None:  # applied, its answer not written yet (or lost in a crash)
        return 200, {"replayed": True}
    return int(status), body


async def remember(tx: Tx, scope: str, key: str, digest: str, status: int, body: Any) -> None:
    """Keep the answer with the effect, in the same transaction."""
    await tx.conn.execute(
        insert(idempotency_keys).values(
            scope=scope,
            key=key,
            request_hash=digest,
            state="done",
            response_status=status,
            response_body=body,
            created_at=tx.now,
        )
    )


async def prune_keys(tx: Tx, before: datetime) -> int:
    """Forget keys written before ``before`` (the housekeeping job; kept 48 h by default)."""
    res = await tx.conn.execute(
        delete(idempotency_keys).where(idempotency_keys.c.created_at < before)
    )
    return int(res.rowcount or 0)


async def step_once(
    request: web.Request,
    p: Principal,
    body: StepIn,
    run: Callable[[], Awaitable[StepMarks]],
    *,
    floor: Floor | None = None,
) -> web.Response:
    """A caregiver's step: applied once per Idempotency-Key (optional: a phone without a queue
    sends none), recorded at the device time when plausible; the answer says how it was
    recorded. ``floor`` reads when the thing the step belongs to began (the step cannot be
    older)."""
    pf = platform(request)
    sent = request.headers.get("Idempotency-Key")
    key = valid_key(sent) if sent is not None else None
    digest = request_hash({"path": request.path, "body": body.model_dump(mode="json")})
    scope = f"step:{p.user_id}"
    async with pf.store.read() as conn:
        seen = await _stored(conn, scope, key, digest) if key else None
        lowest = await floor(conn) if floor and body.device_time else None
    if seen is not None:
        return ok(seen[1], seen[0])
    when = steps.decide(pf.clock.now(), body.device_time, lowest)

    async def write(tx: Tx) -> None:
        if key:
            await tx.conn.execute(
                insert(idempotency_keys).values(
                    scope=scope, key=key, request_hash=digest, state="applied", created_at=tx.now
                )
            )

    ctx = steps.StepContext(when, write if key else None)
    token = steps.CURRENT.set(ctx)
    try:
        answer = await run()
    except (ApiError, IntegrityError):
        # A retry that raced the first try: the first one's answer, not its state conflict.
        if key:
            async with pf.store.read() as conn:
                seen = await _stored(conn, scope, key, digest)
            if seen is not None:
                return ok(seen[1], seen[0])
        raise
    finally:
        steps.CURRENT.reset(token)
    out = answer
    if when.device_time is not None:
        marks = {"device_time": when.device_time, "recorded_at": when.at, "late": when.late}
        out = answer.model_copy(update={**marks, "device_time_flagged": when.flagged})
    if key and ctx.committed:
        async with pf.tx() as tx:
            await tx.conn.execute(
                update(idempotency_keys)
                .where(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
                .values(
                    state="done", response_status=200, response_body=out.model_dump(mode="json")
                )
            )
    return ok(out)
