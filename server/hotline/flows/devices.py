"""One-button terminals and pendants: registered to an elder, their heartbeats, and a press
through the one intake path."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from hotline.cti import DEFAULT_WINDOW as REPLAY_WINDOW
from hotline.devices import press_time
from schemas.incidents import CallType
from server.errors import ApiError
from server.hotline.flows.common import StoreNonceCache, elder_in_scope
from server.hotline.flows.heartbeats import batch_of
from server.hotline.flows.sweep import ensure_sweep_scheduled
from server.hotline.out import zh
from server.hotline.tables import device_events, devices
from server.incidents.flows.intake import Intake, open_or_join
from server.platform import Platform, Tx, dialect_insert


async def register_device(
    platform: Platform,
    *,
    station_id: int | None,
    is_admin: bool,
    device_id: str,
    elder_id: int,
    model: str,
) -> dict[str, Any]:
    """Register a device to an elder of the operator's station."""
    async with platform.tx() as tx:
        e = await elder_in_scope(tx, elder_id, station_id, is_admin)
        await ensure_sweep_scheduled(tx)
        by_device = devices.c.device_id == device_id
        existing = (await tx.conn.execute(select(devices).where(by_device))).first()
        if existing is not None and existing.elder_id != elder_id:
            raise ApiError(409, "device_taken", "this device is registered to another elder")
        if existing is None:
            await tx.conn.execute(
                insert(devices).values(
                    device_id=device_id,
                    elder_id=elder_id,
                    station_id=e.station_id,
                    model=model,
                    registered_at=tx.now,
                )
            )
        return {"device_id": device_id, "elder_id": elder_id, "station_id": e.station_id}


async def _device(tx: Tx, device_id: str) -> Any:
    by_device = devices.c.device_id == device_id
    d = (await tx.conn.execute(select(devices).where(by_device))).first()
    if d is None or not d.active:
        raise ApiError(404, "device_not_found", "device not found")
    return d


async def _fresh(tx: Tx, nonce: str) -> bool:
    """Remember a device request; False when it was seen within the replay window."""
    now = tx.now
    return await StoreNonceCache(tx).remember(
        f"device:{nonce}"[:160], expires_at=now + 2 * REPLAY_WINDOW, now=now
    )


async def heartbeat(
    platform: Platform, *, device_id: str, battery_pct: int | None, nonce: str
) -> bool:
    """A device's sign of life; False when it was a replay (nothing changed). Batched: it
    reaches the store within ``heartbeat_flush_s`` (server/hotline/flows/heartbeats.py)."""
    return await batch_of(platform).add(device_id, battery_pct, nonce)


async def heartbeat_now(
    platform: Platform, *, device_id: str, battery_pct: int | None, nonce: str
) -> bool:
    """A heartbeat in its own transaction (before batching; kept for comparison)."""
    async with platform.tx() as tx:
        d = await _device(tx, device_id)
        if not await _fresh(tx, nonce):
            return False
        values: dict[str, Any] = {"last_heartbeat_at": tx.now}
        if battery_pct is not None:
            values["battery_pct"] = battery_pct
        await tx.conn.execute(update(devices).where(devices.c.id == d.id).values(**values))
        return True


@dataclass(frozen=True)
class PressAnswer:
    """What the gateway is told: the incident the press went to (None for a replayed request
    without an event id), whether it joined an open one, whether it was a re-delivery, and how
    late it came."""

    incident_id: int | None
    joined: bool
    duplicate: bool = False
    late_s: int | None = None


async def device_press(
    platform: Platform,
    *,
    device_id: str,
    kind: CallType,
    nonce: str,
    event_id: str | None = None,
    pressed_at: datetime | None = None,
) -> PressAnswer:
    """A press on a device goes through the one intake path (repeats join the open incident).

    A press with an event id is remembered with its incident for ``idempotency_ttl_s`` (48 h):
    the gateway's re-delivery, however late, answers that incident and changes nothing. A press
    the device buffered comes with its device time: accepted, flagged late, never refused."""
    async with platform.tx() as tx:
        d = await _device(tx, device_id)
        if event_id is not None:
            # Claimed first: a concurrent re-delivery waits on this row, then finds it taken.
            claimed = await tx.conn.execute(
                dialect_insert(tx.conn)(device_events)
                .values(
                    device_id=device_id,
                    event_id=event_id,
                    pressed_at=pressed_at,
                    received_at=tx.now,
                )
                .on_conflict_do_nothing(
                    index_elements=[device_events.c.device_id, device_events.c.event_id]
                )
            )
            if not claimed.rowcount:
                first = (
                    await tx.conn.execute(
                        select(device_events.c.incident_id).where(
                            device_events.c.device_id == device_id,
                            device_events.c.event_id == event_id,
                        )
                    )
                ).scalar()
                return PressAnswer(first, joined=False, duplicate=True)
        elif not await _fresh(tx, nonce):
            return PressAnswer(None, joined=False, duplicate=True)
        when = press_time(pressed_at, tx.now)
        await tx.conn.execute(
            update(devices).where(devices.c.id == d.id).values(last_heartbeat_at=tx.now)
        )
        intake = Intake(
            elder_id=d.elder_id,
            kind=kind,
            source="device",
            reporter_user_id=None,
            note=zh("hotline.device_note", device_id=device_id),
            pressed_at=when.pressed_at,
            late_s=when.late_s,
        )
        result = await open_or_join(platform, tx, intake)
        if event_id is not None:
            await tx.conn.execute(
                update(device_events)
                .where(device_events.c.device_id == device_id, device_events.c.event_id == event_id)
                .values(incident_id=result.incident_id)
            )
        return PressAnswer(result.incident_id, joined=result.joined, late_s=when.late_s)


async def prune_device_events(tx: Tx, before: datetime) -> int:
    """Forget device event ids received before ``before`` (the housekeeping job)."""
    res = await tx.conn.execute(delete(device_events).where(device_events.c.received_at < before))
    return int(res.rowcount or 0)
