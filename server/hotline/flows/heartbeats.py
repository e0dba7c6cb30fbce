"""Device heartbeats, coalesced in memory and written once per flush interval.

A heartbeat only moves a device's ``last_heartbeat_at`` (and its battery). Writing each in its
own transaction capped a process at a few hundred a second; here a heartbeat is checked (the
device is known and active, the request is not a replay) and answered at once, and every
device's latest reading is written at most ``heartbeat_flush_s`` later in one transaction: the
nonces in one multi-row insert, the devices in one executemany update. The trade-off
(docs/operations.md, fault table): a process killed before its flush loses at most that
interval of ``last_seen``; a silent device is found 30 minutes after, so a second does not
matter. A replay that reaches another process within the interval is answered as fresh but
changes nothing: the flush writes a reading only when its nonce was new in the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, update

from hotline.cti import DEFAULT_WINDOW as REPLAY_WINDOW
from server.errors import ApiError
from server.hotline.tables import devices, webhook_nonces
from server.platform import Platform, Slot, dialect_insert

log = logging.getLogger("anxin.hotline")

KNOWN_FOR_S = 60.0  # a deactivated device is refused within this long on every process


@dataclass
class Reading:
    at: datetime
    battery_pct: int | None
    nonces: list[tuple[str, datetime]] = field(default_factory=list)


class HeartbeatBatch:
    """This process's heartbeats since the last flush, one reading per device."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.pending: dict[str, Reading] = {}
        self.seen: dict[str, datetime] = {}  # nonce -> expiry, this process's replay cache
        self.known: dict[str, datetime] = {}  # device id -> until when it counts as active
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.flushes = 0

    async def add(self, device_id: str, battery_pct: int | None, nonce: str) -> bool:
        """Take a heartbeat; False when it is a replay. 404 for an unknown device."""
        now = self.platform.clock.now()
        await self._check_device(device_id, now)
        key = f"device:{nonce}"[:160]
        if self.seen.get(key, now) > now:
            return False
        expires = now + 2 * REPLAY_WINDOW
        self.seen[key] = expires
        r = self.pending.get(device_id)
        if r is None:
            r = self.pending[device_id] = Reading(now, battery_pct)
        else:
            r.at = max(r.at, now)
            r.battery_pct = battery_pct if battery_pct is not None else r.battery_pct
        r.nonces.append((key, expires))
        interval = self.platform.settings.heartbeat_flush_s
        if interval <= 0:
            await self.flush()
        elif self._task is None or self._task.done():
            self._task = asyncio.create_task(self._later(interval), name="heartbeat-flush")
        return True

    async def _check_device(self, device_id: str, now: datetime) -> None:
        if self.known.get(device_id, now) > now:
            return
        async with self.platform.store.read() as conn:
            active = (
                await conn.execute(select(devices.c.active).where(devices.c.device_id == device_id))
            ).scalar()
        if not active:
            self.known.pop(device_id, None)
            raise ApiError(404, "device_not_found", "device not found")
        self.known[device_id] = now + timedelta(seconds=KNOWN_FOR_S)

    async def _later(self, interval: float) -> None:
        await asyncio.sleep(interval)
        try:
            await self.flush()
        except Exception:  # the store is down: the readings wait for the next heartbeat's flush
            log.warning("heartbeat flush failed; %d devices kept for the next", len(self.pending))

    async def flush(self) -> int:
        """Write every pending reading in one transaction; returns how many devices."""
        async with self._lock:
            batch, self.pending = self.pending, {}
            if not batch:
                return 0
            try:
                written = await self._write(batch)
            except BaseException:
                for device_id, r in batch.items():  # put back what was not written
                    self.pending.setdefault(device_id, r)
                raise
            self.flushes += 1
            now = self.platform.clock.now()
            self.seen = {k: v for k, v in self.seen.items() if v > now}
            return written

    async def _write(self, batch: dict[str, Reading]) -> int:
        async with self.platform.tx() as tx:
            conn = tx.conn
            await conn.execute(delete(webhook_nonces).where(webhook_nonces.c.expires_at <= tx.now))
            nonces = [{"key": k, "expires_at": e} for r in batch.values() for k, e in r.nonces]
            ins = dialect_insert(conn)(webhook_nonces).values(nonces)
            new = set(
                (
                    await conn.execute(
                        ins.on_conflict_do_nothing(index_elements=[webhook_nonces.c.key]).returning(
                            webhook_nonces.c.key
                        )
                    )
                ).scalars()
            )
            rows: list[dict[str, Any]] = [
                {"d": device_id, "t": r.at, "b": r.battery_pct}
                for device_id, r in batch.items()
                if any(k in new for k, _ in r.nonces)
            ]
            if not rows:
                return 0
            await conn.execute(
                update(devices)
                .where(devices.c.device_id == bindparam("d"))
                .values(
                    last_heartbeat_at=bindparam("t"),
                    battery_pct=_coalesce(bindparam("b"), devices.c.battery_pct),
                ),
                rows,
            )
            return len(rows)

    async def close(self) -> None:
        """At shutdown: the last readings are written."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()


def _coalesce(value: Any, column: Any) -> Any:
    from sqlalchemy import func

    return func.coalesce(value, column)


HEARTBEATS: Slot[HeartbeatBatch] = Slot("hotline.heartbeats")


def batch_of(platform: Platform) -> HeartbeatBatch:
    """The process's heartbeat batch (made, with its flush at shutdown, on first use)."""
    try:
        return platform.get(HEARTBEATS)
    except LookupError:
        made = HeartbeatBatch(platform)
        platform.put(HEARTBEATS, made)
        return made


async def flush_heartbeats(platform: Platform) -> None:
    """Write this process's pending heartbeats now (the sweep calls this)."""
    await batch_of(platform).flush()


async def close_heartbeats(platform: Platform) -> None:
    """At shutdown: stop the pending flush and write what is left."""
    await batch_of(platform).close()
