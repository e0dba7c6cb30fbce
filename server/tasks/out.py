"""Tasks as the caregiver's phone shows them: rows (with the elder, the visit and the
booking) → ``TaskOut``, in plan order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.tasks import TaskOut
from server.clock import SHANGHAI
from server.planning.out import latest_plan_row
from server.registry.tables import elders
from server.services.tables import bookings
from server.tasks.tables import task_visits, tasks

LAST = 10**6  # tasks the plan does not order come after those it does


def task_out(r: Any, positions: dict[int, int]) -> TaskOut:
    """One joined row (see ``task_rows``) as the page's task."""
    return TaskOut(
        id=r.id,
        kind=r.kind,
        title=r.title,
        status=r.status,
        elder_id=r.elder_id,
        elder_name=r.elder_name,
        address=r.elder_address,
        access_notes=r.elder_access,
        lat=r.lat,
        lng=r.lng,
        window_start=r.window_start,
        window_end=r.window_end,
        planned_start=r.planned_start,
        duration_s=int(r.duration_s),
        notes=r.notes,
        plan_position=positions.get(r.id),
        booking_id=r.booking_id,
        item_code=r.item_code,
        started_at=r.v_started,
        arrived_at=r.v_arrived,
        arrival_distance_m=r.arrival_distance_m,
        within_geofence=r.within_geofence,
        completed_at=r.completed_at,
        outcome=r.outcome or "",
        on_time=r.on_time,
        food_hot=r.food_hot,
        record_id=r.record_id,
    )


async def task_rows(
    conn: AsyncConnection, where: list[Any], positions: dict[int, int]
) -> list[TaskOut]:
    """The tasks matching ``where``, in plan order, then by time, then by id."""
    rows = (
        await conn.execute(
            select(
                tasks,
                elders.c.name.label("elder_name"),
                elders.c.address.label("elder_address"),
                elders.c.access_notes.label("elder_access"),
                task_visits.c.started_at.label("v_started"),
                task_visits.c.arrived_at.label("v_arrived"),
                task_visits.c.arrival_distance_m,
                task_visits.c.within_geofence,
                task_visits.c.completed_at,
                task_visits.c.outcome,
                task_visits.c.on_time,
                task_visits.c.food_hot,
                task_visits.c.record_id,
                bookings.c.id.label("booking_id"),
                bookings.c.item_code,
            )
            .join(elders, elders.c.id == tasks.c.elder_id, isouter=True)
            .join(task_visits, task_visits.c.task_id == tasks.c.id, isouter=True)
            .join(bookings, bookings.c.task_id == tasks.c.id, isouter=True)
            .where(*where)
        )
    ).all()
    out = [task_out(r, positions) for r in rows]
    far = datetime.max.replace(tzinfo=SHANGHAI)
    out.sort(
        key=lambda t: (
            t.plan_position if t.plan_position is not None else LAST,
            t.planned_start or t.window_start or far,
            t.id,
        )
    )
    return out


async def one_task(conn: AsyncConnection, task_id: int) -> TaskOut:
    """One task as the page shows it."""
    return (await task_rows(conn, [tasks.c.id == task_id], {}))[0]


async def plan_positions(
    conn: AsyncConnection, *, station_id: int, day: str, caregiver_id: int
) -> tuple[int | None, dict[int, int]]:
    """The order of this caregiver's visits in the station's latest plan of the day."""
    row = await latest_plan_row(conn, station_id=station_id, day=day)
    if row is None:
        return None, {}
    positions: dict[int, int] = {}
    for route in row.summary.get("routes", []):
        if route.get("caregiver_id") != caregiver_id:
            continue
        for i, v in enumerate(route.get("visits", [])):
            if str(v.get("task_id", "")).isdigit():
                positions[int(v["task_id"])] = i
    return int(row.id), positions
