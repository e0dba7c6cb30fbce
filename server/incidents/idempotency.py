"""Idempotency keys as Stripe and the IETF draft use them, stored with the effect.

The key row is written in the same transaction as the incident, so a key is never
"in flight" after a crash: either the incident and its answer exist, or neither does.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select

from server.errors import ApiError
from server.incidents.tables import idempotency_keys
from server.platform import Tx


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
    row = (
        await tx.conn.execute(
            select(idempotency_keys).where(
                idempotency_keys.c.scope == scope, idempotency_keys.c.key == key
            )
        )
    ).first()
    if row is None:
        return None
    if row.request_hash != digest:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request body",
        )
    return int(row.response_status), row.response_body


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
