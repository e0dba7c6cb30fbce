"""The caregiver's task API, for the phone pages: today's tasks in plan order, then start,
arrive (with a geofence check) and complete.

Completing a booking's task runs the booking completion (service record + proof + ledger, in
one transaction); a meal delivery records when it arrived and whether it was on time and hot;
any other task (a return call, a welfare check from the hotline, a service call) records the
outcome notes. Caregivers see and act on their own tasks only (404 otherwise); an operator of
the station may complete a task on a caregiver's behalf, with a reason, which is audited.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from aiohttp import web
from sqlalchemy import insert, select, update

from dispatch.geo import GeoPoint, haversine_m
from schemas.services import MyTasksOut, TaskArriveIn, TaskCompleteIn, TaskOut
from server.auth.principal import Principal, Role
from server.errors import ApiError, not_found
from server.geo import CoordSystem, to_store
from server.http import int_param, ok, parse, platform, require
from server.incidents.notify import to_operators
from server.platform import Tx, audit, emit
from server.registry.tables import elders
from server.services import completion
from server.services.tables import bookings, meal_orders, task_visits
from server.tasks.tables import tasks
from server.welfare.proof import GEOFENCE_M
from server.welfare.workdays import SHANGHAI, business_date

OPEN: Final = ("open", "planned", "en_route", "in_progress")
NOT_HERE: Final = ("emergency",)  # help calls run through the incident endpoints


async def _visit(tx: Tx, task_id: int) -> Any:
    """The task's visit row, created on first use."""
    row = (
        await tx.conn.execute(select(task_visits).where(task_visits.c.task_id == task_id))
    ).first()
    if row is None:
        await tx.conn.execute(insert(task_visits).values(task_id=task_id, updated_at=tx.now))
        row = (
            await tx.conn.execute(select(task_visits).where(task_visits.c.task_id == task_id))
        ).one()
    return row


async def _task_for(tx: Tx, p: Principal, task_id: int, *, on_behalf: bool) -> Any:
    """The task, locked, if this caller may act on it; 404 otherwise (never revealed)."""
    row = (
        await tx.conn.execute(select(tasks).where(tasks.c.id == task_id).with_for_update())
    ).first()
    if row is None or row.kind in NOT_HERE:
        raise not_found("task")
    if p.role is not Role.CAREGIVER and not on_behalf:
        raise not_found("task")  # start and arrive are the caregiver's own steps
    if p.role is Role.CAREGIVER:
        if row.caregiver_id is None or row.caregiver_id != p.caregiver_id:
            raise not_found("task")
    elif p.role is Role.OPERATOR:
        if row.station_id != p.station_id:
            raise not_found("task")
    elif p.role is not Role.ADMIN:
        raise not_found("task")
    return row


def _closed(row: Any) -> None:
    if row.status not in OPEN:
        raise ApiError(409, "task.closed", "this task is already done or cancelled")


async def _out(tx: Tx, task_id: int) -> TaskOut:
    return (await _rows(tx, [tasks.c.id == task_id], {}))[0]


async def _rows(tx: Tx, where: list[Any], positions: dict[int, int]) -> list[TaskOut]:
    rows = (
        await tx.conn.execute(
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
    out = [
        TaskOut(
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
        for r in rows
    ]
    far = datetime.max.replace(tzinfo=SHANGHAI)
    out.sort(
        key=lambda t: (
            t.plan_position if t.plan_position is not None else 10**6,
            t.planned_start or t.window_start or far,
            t.id,
        )
    )
    return out


async def _plan_positions(
    tx: Tx, station_id: int, day: str, caregiver_id: int
) -> tuple[int | None, dict[int, int]]:
    """The order of this caregiver's visits in the station's latest plan of the day."""
    from server.planning.tables import day_plans  # the dispatcher's table; read only

    row = (
        await tx.conn.execute(
            select(day_plans.c.id, day_plans.c.summary)
            .where(day_plans.c.station_id == station_id, day_plans.c.day == day)
            .order_by(day_plans.c.id.desc())
            .limit(1)
        )
    ).first()
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


async def my_tasks(request: web.Request) -> web.Response:
    """The signed-in caregiver's tasks today (Asia/Shanghai), in plan order when a plan exists."""
    p = require(request, Role.CAREGIVER)
    if p.caregiver_id is None:
        raise not_found("caregiver")
    plat = platform(request)
    async with plat.store.read() as conn:
        tx = Tx(conn=conn, now=plat.clock.now())
        day = business_date(tx.now)
        start = datetime.combine(day, datetime.min.time(), SHANGHAI)
        end = start + timedelta(days=1)
        station = p.station_id or 0
        plan_id, positions = await _plan_positions(tx, station, day.isoformat(), p.caregiver_id)
        today = (
            (tasks.c.planned_start >= start) & (tasks.c.planned_start < end)
            | (tasks.c.planned_start.is_(None))
            & (tasks.c.window_start >= start)
            & (tasks.c.window_start < end)
            | tasks.c.status.in_(("en_route", "in_progress"))
        )
        rows = await _rows(
            tx,
            [
                tasks.c.caregiver_id == p.caregiver_id,
                tasks.c.kind.notin_(NOT_HERE),
                tasks.c.status != "cancelled",
                today,
            ],
            positions,
        )
    return ok(MyTasksOut(day=day, plan_id=plan_id, tasks=rows))


async def start_task(request: web.Request) -> web.Response:
    """The caregiver sets off (idempotent: a retry from a flaky network changes nothing)."""
    p = require(request, Role.CAREGIVER)
    tid = int_param(request, "task_id")
    async with platform(request).tx() as tx:
        row = await _task_for(tx, p, tid, on_behalf=False)
        _closed(row)
        visit = await _visit(tx, tid)
        if row.status in ("open", "planned"):
            await tx.conn.execute(update(tasks).where(tasks.c.id == tid).values(status="en_route"))
        if visit.started_at is None:
            await tx.conn.execute(
                update(task_visits)
                .where(task_visits.c.task_id == tid)
                .values(started_at=tx.now, updated_at=tx.now)
            )
        await audit(tx, actor=p.user_id, action="task_start", object_type="task", object_id=tid)
        out = await _out(tx, tid)
    return ok(out)


async def arrive_task(request: web.Request) -> web.Response:
    """The caregiver is at the door: the fix is checked against the elder's 200 m geofence. A
    fix outside it is recorded (and shown) but does not prove the visit."""
    p = require(request, Role.CAREGIVER)
    tid = int_param(request, "task_id")
    body = await parse(request, TaskArriveIn)
    lat, lng = to_store(
        body.location.lat, body.location.lng, CoordSystem(body.location.coord_system.value)
    )
    accuracy = body.location.accuracy_m or 0.0
    async with platform(request).tx() as tx:
        row = await _task_for(tx, p, tid, on_behalf=False)
        _closed(row)
        await _visit(tx, tid)
        home = await _home(tx, row)
        distance = haversine_m(GeoPoint(lat, lng), home) if home is not None else None
        within = distance is not None and distance <= GEOFENCE_M and accuracy <= GEOFENCE_M
        await tx.conn.execute(
            update(task_visits)
            .where(task_visits.c.task_id == tid)
            .values(
                arrived_at=tx.now,
                arrival_lat=lat,
                arrival_lng=lng,
                arrival_accuracy_m=body.location.accuracy_m,
                arrival_distance_m=round(distance, 1) if distance is not None else None,
                within_geofence=within,
                updated_at=tx.now,
            )
        )
        await tx.conn.execute(
            update(tasks)
            .where(tasks.c.id == tid)
            .values(status="in_progress", started_at=row.started_at or tx.now)
        )
        await audit(
            tx,
            actor=p.user_id,
            action="task_arrive",
            object_type="task",
            object_id=tid,
            detail={"within_geofence": within, "distance_m": distance and round(distance)},
        )
        out = await _out(tx, tid)
    return ok(out)


async def _home(tx: Tx, row: Any) -> GeoPoint | None:
    if row.lat is not None and row.lng is not None:
        return GeoPoint(row.lat, row.lng)
    if row.elder_id is None:
        return None
    e = (
        await tx.conn.execute(select(elders.c.lat, elders.c.lng).where(elders.c.id == row.elder_id))
    ).first()
    return GeoPoint(e.lat, e.lng) if e is not None else None


async def complete_task(request: web.Request) -> web.Response:
    """Finish a task; what is recorded depends on its kind (see the module docstring)."""
    p = require(request, Role.CAREGIVER, Role.OPERATOR)
    tid = int_param(request, "task_id")
    body = await parse(request, TaskCompleteIn)
    on_behalf = p.role is not Role.CAREGIVER
    if on_behalf and not body.reason:
        raise ApiError(
            422,
            "task.reason_required",
            "completing a caregiver's task on their behalf needs a reason",
            field="reason",
        )
    plat = platform(request)
    async with plat.tx() as tx:
        row = await _task_for(tx, p, tid, on_behalf=on_behalf)
        _closed(row)
        visit = await _visit(tx, tid)
        booking = (
            await tx.conn.execute(select(bookings.c.id).where(bookings.c.task_id == tid))
        ).first()
        values: dict[str, Any] = {}
        if booking is not None:
            values = await _complete_booking(
                tx, p, booking.id, row, visit, body, plat.settings.jwt_secret
            )
        elif row.kind == "meal_delivery":
            values = await _complete_meal(tx, row, body)
        else:
            if not body.notes:
                raise ApiError(
                    422, "task.outcome_required", "say what happened (notes)", field="notes"
                )
            await tx.conn.execute(
                update(tasks)
                .where(tasks.c.id == tid)
                .values(
                    status="done", started_at=row.started_at or visit.arrived_at, finished_at=tx.now
                )
            )
        await tx.conn.execute(
            update(task_visits)
            .where(task_visits.c.task_id == tid)
            .values(
                completed_at=tx.now,
                completed_by=p.user_id,
                on_behalf_reason=body.reason if on_behalf else None,
                outcome=body.notes,
                updated_at=tx.now,
                **values,
            )
        )
        await audit(
            tx,
            actor=p.user_id,
            action="task_complete_on_behalf" if on_behalf else "task_complete",
            object_type="task",
            object_id=tid,
            detail={"kind": row.kind, "reason": body.reason} if on_behalf else {"kind": row.kind},
        )
        done = {
            "task_id": tid,
            "kind": row.kind,
            "station_id": row.station_id,
            "elder_id": row.elder_id,
            "source_ref": row.source_ref,
            "record_id": values.get("record_id"),
        }
        await emit(tx, "task.completed", done)
        await to_operators(tx, row.station_id, "task.completed", done)
        out = await _out(tx, tid)
    return ok(out)


async def _complete_booking(
    tx: Tx, p: Principal, booking_id: int, row: Any, visit: Any, body: TaskCompleteIn, secret: str
) -> dict[str, Any]:
    witnessed = body.started_at is None and body.ended_at is None and visit.arrived_at is not None
    started = body.started_at or visit.arrived_at or visit.started_at
    if started is None:
        raise ApiError(
            422,
            "task.start_unknown",
            "arrive first, or give started_at",
            field="started_at",
        )
    arrival = (
        GeoPoint(visit.arrival_lat, visit.arrival_lng) if visit.arrival_lat is not None else None
    )
    rec = await completion.complete_booking(
        tx,
        p,
        booking_id,
        started_at=started,
        ended_at=body.ended_at or tx.now,
        arrival=arrival,
        arrival_accuracy_m=visit.arrival_accuracy_m,
        door_code=body.door_code,
        notes=body.notes,
        secret=secret,
        witnessed=witnessed,
    )
    return {"record_id": rec.id}


async def _complete_meal(tx: Tx, row: Any, body: TaskCompleteIn) -> dict[str, Any]:
    on_time = (row.window_start is None or row.window_start <= tx.now) and (
        row.window_end is None or tx.now <= row.window_end
    )
    await tx.conn.execute(
        update(tasks)
        .where(tasks.c.id == row.id)
        .values(status="done", finished_at=tx.now, started_at=row.started_at or tx.now)
    )
    await tx.conn.execute(
        update(meal_orders)
        .where(meal_orders.c.task_id == row.id, meal_orders.c.status == "delivering")
        .values(status="delivered")
    )
    return {"on_time": on_time, "food_hot": body.hot}


def routes() -> list[web.RouteDef]:
    """The caregiver task URLs (registered from services/routes.py)."""
    return [
        web.get("/api/v1/me/tasks", my_tasks),
        web.post("/api/v1/tasks/{task_id}/start", start_task),
        web.post("/api/v1/tasks/{task_id}/arrive", arrive_task),
        web.post("/api/v1/tasks/{task_id}/complete", complete_task),
    ]
