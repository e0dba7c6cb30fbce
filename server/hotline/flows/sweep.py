"""The welfare sweep, every quarter hour over every station: silent and low-battery devices,
elders living alone nobody has seen for their station's time, and missed door-knock visits
become tasks (once each)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from sqlalchemy import String, cast, func, literal, select

from hotline.devices import (
    DeviceReading,
    ElderActivity,
    ScheduledVisit,
    evaluate_devices,
    missed_visits,
    select_welfare_checks,
)
from server.auth.tables import refresh_tokens
from server.hotline.flows.heartbeats import flush_heartbeats
from server.hotline.flows.settings import DEFAULTS as DEFAULT_SETTINGS
from server.hotline.flows.settings import all_settings
from server.hotline.flows.tasks import insert_new, task_row
from server.hotline.model import TASK_OPEN, cancel_tasks
from server.hotline.out import both
from server.hotline.tables import devices, hotline_calls
from server.incidents.tables import incidents
from server.platform import Platform, Tx, schedule_every
from server.registry.tables import elders
from server.services.tables import bookings
from server.tasks.tables import tasks
from server.texts import Text

SWEEP_TIMER: Final = "hotline.sweep"
SWEEP_EVERY: Final = timedelta(minutes=15)
# A door-knock visit missed longer ago than this is history, not a task any more.
MISSED_VISIT_LOOKBACK: Final = timedelta(days=14)
DOOR_KNOCK: Final = "door-knock"


async def ensure_sweep_scheduled(tx: Tx) -> None:
    """Keep one pending sweep timer ahead, at the next quarter hour."""
    await schedule_every(tx, SWEEP_TIMER, SWEEP_EVERY)


async def sweep(
    platform: Platform, *, station_id: int | None, silent_minutes: float = 30
) -> dict[str, int]:
    """Silent and low-battery devices, unseen elders living alone and missed door-knock
    visits become tasks (once each)."""
    await flush_heartbeats(platform)  # this process's last second of heartbeats counts too
    async with platform.tx() as tx:
        await ensure_sweep_scheduled(tx)
        return await sweep_in(tx, station_id=station_id, silent_minutes=silent_minutes)


async def sweep_in(tx: Tx, *, station_id: int | None, silent_minutes: float = 30) -> dict[str, int]:
    """The sweep inside the caller's transaction: a few set-based queries whatever the number
    of elders (it runs every quarter hour over every station)."""
    device_rows = await _device_rows(tx, station_id, timedelta(minutes=silent_minutes))
    return {
        "device_tasks": await insert_new(tx, device_rows),
        "welfare_checks": await insert_new(tx, await _welfare_rows(tx, station_id)),
        "missed_visits": await insert_new(tx, await _missed_visit_rows(tx, station_id)),
    }


async def _device_rows(
    tx: Tx, station_id: int | None, silent_after: timedelta
) -> list[dict[str, Any]]:
    cond: Any = devices.c.active.is_(True)
    if station_id is not None:
        cond &= devices.c.station_id == station_id
    readings = [
        DeviceReading(
            r.device_id,
            r.elder_id,
            r.station_id,
            r.registered_at,
            r.last_heartbeat_at,
            r.battery_pct,
            silent_after,
        )
        for r in (await tx.conn.execute(select(devices).where(cond))).all()
    ]
    return [
        task_row(
            tx,
            station_id=issue.station_id,
            elder_id=issue.elder_id,
            kind="device",
            title=issue.title,
            ref=issue.source_ref,
            due=tx.now + timedelta(hours=4),
        )
        for issue in evaluate_devices(readings, tx.now)
    ]


def _latest(column: Any, *where: Any) -> Any:
    return select(func.max(column)).where(*where).scalar_subquery()


async def _alone_and_last_seen(tx: Tx, station_id: int | None) -> list[Any]:
    """Elders living alone with when each was last seen.

    Seen: a visit (any task finished at the elder's), a call from or about them, a help call
    or a booking they made in the app, or signing in to the app (every sign-in and every
    token refresh is a row in refresh_tokens: the app refreshes its 15-minute token while in
    use, so this is app activity without a write per request).
    """
    cond: Any = (elders.c.active.is_(True)) & (elders.c.living == "alone")
    if station_id is not None:
        cond &= elders.c.station_id == station_id
    me = elders.c.id
    stmt = select(
        elders.c.id,
        elders.c.station_id,
        elders.c.lat,
        elders.c.lng,
        _latest(tasks.c.finished_at, tasks.c.elder_id == me).label("last_visit"),
        _latest(hotline_calls.c.created_at, hotline_calls.c.elder_id == me).label("last_call"),
        _latest(incidents.c.opened_at, incidents.c.elder_id == me).label("last_request"),
        _latest(
            bookings.c.created_at,
            bookings.c.elder_id == me,
            bookings.c.booked_by == elders.c.user_id,
        ).label("last_booking"),
        _latest(refresh_tokens.c.created_at, refresh_tokens.c.user_id == elders.c.user_id).label(
            "last_sign_in"
        ),
    ).where(cond)
    return list((await tx.conn.execute(stmt)).all())


def _activity(r: Any) -> ElderActivity:
    app = [t for t in (r.last_request, r.last_booking, r.last_sign_in) if t is not None]
    return ElderActivity(
        r.id,
        r.station_id,
        True,
        last_visit_at=r.last_visit,
        last_app_at=max(app) if app else None,
        last_call_at=r.last_call,
    )


async def _welfare_rows(tx: Tx, station_id: int | None) -> list[dict[str, Any]]:
    """Check tasks for elders living alone who have not been seen for their station's time."""
    rows = await _alone_and_last_seen(tx, station_id)
    configured = await all_settings(tx.conn)
    by_station: dict[int, list[ElderActivity]] = {}
    where = {int(r.id): (r.lat, r.lng) for r in rows}
    for r in rows:
        by_station.setdefault(int(r.station_id), []).append(_activity(r))
    out: list[dict[str, Any]] = []
    for sid, activity in by_station.items():
        hours = configured.get(sid, DEFAULT_SETTINGS).welfare_not_seen_hours
        for check in select_welfare_checks(activity, tx.now, not_seen_for=timedelta(hours=hours)):
            lat, lng = where[check.elder_id]
            out.append(
                task_row(
                    tx,
                    station_id=check.station_id,
                    elder_id=check.elder_id,
                    kind="check",
                    title=check.title,
                    ref=check.source_ref,
                    due=tx.now + timedelta(hours=24),
                    lat=lat,
                    lng=lng,
                )
            )
    return out


async def _missed_visit_rows(tx: Tx, station_id: int | None) -> list[dict[str, Any]]:
    """Door-knock visits (爱心敲门) whose window has ended without the visit being recorded.

    A visit recorded late (after its task was made) cancels the task, if nobody started it.
    """
    recent = bookings.c.window_end > tx.now - MISSED_VISIT_LOOKBACK
    cond: Any = (bookings.c.item_code == DOOR_KNOCK) & recent
    if station_id is not None:
        cond &= bookings.c.station_id == station_id
    done_late = (
        select(literal("missed_visit:") + cast(bookings.c.id, String))
        .where(cond, bookings.c.status == "completed")
        .scalar_subquery()
    )
    await cancel_tasks(
        tx,
        tasks.c.source_ref.in_(done_late),
        tasks.c.status == TASK_OPEN,
        notes=both(Text("hotline.task.visit_recorded")),
    )
    return await _missed_visit_tasks(tx, cond)


async def _missed_visit_tasks(tx: Tx, cond: Any) -> list[dict[str, Any]]:
    rows = (
        await tx.conn.execute(
            select(
                bookings.c.id,
                bookings.c.elder_id,
                bookings.c.station_id,
                bookings.c.window_end,
                elders.c.lat,
                elders.c.lng,
            )
            .join(elders, elders.c.id == bookings.c.elder_id)
            .where(
                cond,
                bookings.c.status.in_(("requested", "planned")),
                bookings.c.window_end <= tx.now,
            )
        )
    ).all()
    visits = [ScheduledVisit(r.id, r.elder_id, r.station_id, r.window_end) for r in rows]
    where = {r.elder_id: (r.lat, r.lng) for r in rows}
    return [
        task_row(
            tx,
            station_id=c.station_id,
            elder_id=c.elder_id,
            kind="visit",
            title=c.title,
            ref=c.source_ref,
            due=tx.now + timedelta(hours=24),
            priority=3,
            lat=where[c.elder_id][0],
            lng=where[c.elder_id][1],
        )
        for c in missed_visits(visits, tx.now, grace=timedelta(0))
    ]
