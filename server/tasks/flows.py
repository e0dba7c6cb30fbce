"""The caregiver's steps on a task, for the phone pages: today's tasks in plan order, then
start, arrive (with a geofence check) and complete; and ``create_task`` for every domain
that makes work for the station.

Completing a booking's task runs the booking completion (service record + proof + ledger, in
one transaction); a meal delivery records when it arrived and whether it was on time and hot;
any other task (a return call, a welfare check from the hotline, a service call) records the
outcome notes. Caregivers see and act on their own tasks only (404 otherwise); an operator of
the station may complete a task on a caregiver's behalf, with a reason, which is audited.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import insert, select, update

from dispatch.geo import GeoPoint, haversine_m
from schemas.tasks import MyTasksOut, TaskArriveIn, TaskCompleted, TaskCompleteIn, TaskOut
from schemas.tasks import TaskStatus as S
from server.auth.principal import Principal, Role
from server.clock import SHANGHAI
from server.errors import ApiError, not_found
from server.geo import CoordSystem, to_store
from server.incidents.notify import to_operators
from server.platform import Platform, Tx, audit, emit
from server.registry.tables import elders
from server.services import model as services_model
from server.services.flows.completion import complete_booking
from server.services.tables import bookings
from server.tasks import model, out
from server.tasks.tables import task_visits, tasks
from server.welfare.proof import GEOFENCE_M
from server.welfare.workdays import business_date

NOT_HERE: Final = ("emergency",)  # help calls run through the incident endpoints


async def create_task(
    tx: Tx,
    *,
    station_id: int,
    kind: str,
    title: str,
    elder_id: int | None = None,
    window: tuple[datetime | None, datetime | None] = (None, None),
    duration_s: int = 1800,
    where: tuple[float | None, float | None] = (None, None),
    source: str = "manual",
    source_ref: str | None = None,
    notes: str = "",
    required_skills: list[str] | None = None,
    priority: int = 1,
    interruptible: bool = True,
) -> int | None:
    """Make an open task for the station's plan, in the caller's transaction; returns its id,
    or None when a task with this ``source_ref`` exists already (made once per source)."""
    if (
        source_ref is not None
        and (
            await tx.conn.execute(select(tasks.c.id).where(tasks.c.source_ref == source_ref))
        ).first()
    ):
        return None
    return await model.insert_task(
        tx,
        {
            "station_id": station_id,
            "elder_id": elder_id,
            "kind": kind,
            "title": title,
            "priority": priority,
            "interruptible": interruptible,
            "required_skills": required_skills or [],
            "window_start": window[0],
            "window_end": window[1],
            "duration_s": duration_s,
            "lat": where[0],
            "lng": where[1],
            "source": source,
            "source_ref": source_ref,
            "notes": notes,
            "created_at": tx.now,
        },
    )


async def today(plat: Platform, p: Principal) -> MyTasksOut:
    """The caregiver's tasks today (Asia/Shanghai), in plan order when a plan exists."""
    if p.caregiver_id is None:
        raise not_found("caregiver")
    async with plat.store.read() as conn:
        now = plat.clock.now()
        day = business_date(now)
        start = datetime.combine(day, datetime.min.time(), SHANGHAI)
        end = start + timedelta(days=1)
        plan_id, positions = await out.plan_positions(
            conn, station_id=p.station_id or 0, day=day.isoformat(), caregiver_id=p.caregiver_id
        )
        on_today = (
            (tasks.c.planned_start >= start) & (tasks.c.planned_start < end)
            | (tasks.c.planned_start.is_(None))
            & (tasks.c.window_start >= start)
            & (tasks.c.window_start < end)
            | tasks.c.status.in_([s.value for s in model.UNDER_WAY])
        )
        mine = [
            tasks.c.caregiver_id == p.caregiver_id,
            tasks.c.kind.notin_(NOT_HERE),
            tasks.c.status != S.CANCELLED.value,
            on_today,
        ]
        rows = await out.task_rows(conn, mine, positions)
    return MyTasksOut(day=day, plan_id=plan_id, tasks=rows)


async def start(plat: Platform, p: Principal, task_id: int) -> TaskOut:
    """The caregiver sets off (idempotent: a retry from a flaky network changes nothing)."""
    async with plat.tx() as tx:
        row = await _task_for(tx, p, task_id, on_behalf=False)
        visit = await _visit(tx, task_id)
        to = S.EN_ROUTE if row.status in model.PLANNABLE else S(row.status)
        await model.transition(tx, row, to, actor=p.user_id, action="task_start")
        if visit.started_at is None:
            await _note_visit(tx, task_id, started_at=tx.now)
        return await out.one_task(tx.conn, task_id)


async def arrive(plat: Platform, p: Principal, task_id: int, body: TaskArriveIn) -> TaskOut:
    """The caregiver is at the door: the fix is checked against the elder's 200 m geofence. A
    fix outside it is recorded (and shown) but does not prove the visit."""
    fix = body.location
    lat, lng = to_store(fix.lat, fix.lng, CoordSystem(fix.coord_system.value))
    async with plat.tx() as tx:
        row = await _task_for(tx, p, task_id, on_behalf=False)
        await _visit(tx, task_id)
        home = await _home(tx, row)
        distance = haversine_m(GeoPoint(lat, lng), home) if home is not None else None
        within = distance is not None and distance <= GEOFENCE_M
        within = within and (fix.accuracy_m or 0.0) <= GEOFENCE_M
        await _note_visit(
            tx,
            task_id,
            arrived_at=tx.now,
            arrival_lat=lat,
            arrival_lng=lng,
            arrival_accuracy_m=fix.accuracy_m,
            arrival_distance_m=round(distance, 1) if distance is not None else None,
            within_geofence=within,
        )
        await model.transition(
            tx,
            row,
            S.IN_PROGRESS,
            {"started_at": row.started_at or tx.now},
            actor=p.user_id,
            action="task_arrive",
            detail={"within_geofence": within, "distance_m": distance and round(distance)},
        )
        return await out.one_task(tx.conn, task_id)


async def complete(plat: Platform, p: Principal, task_id: int, body: TaskCompleteIn) -> TaskOut:
    """Finish a task; what is recorded depends on its kind (see the module docstring)."""
    on_behalf = p.role is not Role.CAREGIVER
    if on_behalf and not body.reason:
        raise ApiError(
            422,
            "task.reason_required",
            "completing a caregiver's task on their behalf needs a reason",
            field="reason",
        )
    async with plat.tx() as tx:
        row = await _task_for(tx, p, task_id, on_behalf=on_behalf)
        visit = await _visit(tx, task_id)
        values = await _finish(tx, p, row, visit, body, secret=plat.settings.jwt_secret)
        await _note_visit(
            tx,
            task_id,
            completed_at=tx.now,
            completed_by=p.user_id,
            on_behalf_reason=body.reason if on_behalf else None,
            outcome=body.notes,
            **values,
        )
        detail: dict[str, Any] = {"kind": row.kind}
        await audit(
            tx,
            actor=p.user_id,
            action="task_complete_on_behalf" if on_behalf else "task_complete",
            object_type="task",
            object_id=task_id,
            detail={**detail, "reason": body.reason} if on_behalf else detail,
        )
        await _announce(tx, row, values.get("record_id"))
        return await out.one_task(tx.conn, task_id)


async def _finish(
    tx: Tx, p: Principal, row: Any, visit: Any, body: TaskCompleteIn, *, secret: str
) -> dict[str, Any]:
    """Close the task as its kind wants; returns what the visit row records besides."""
    booking = (
        await tx.conn.execute(select(bookings.c.id).where(bookings.c.task_id == row.id))
    ).first()
    if booking is not None:
        return await _complete_booking(tx, p, booking.id, visit, body, secret=secret)
    if row.kind == "meal_delivery":
        return await _complete_meal(tx, row, body)
    if not body.notes:
        raise ApiError(422, "task.outcome_required", "say what happened (notes)", field="notes")
    started = row.started_at or visit.arrived_at
    await model.transition(tx, row, S.DONE, {"started_at": started, "finished_at": tx.now})
    return {}


async def _announce(tx: Tx, row: Any, record_id: int | None) -> None:
    """The outbox event and the operators' push of a finished task."""
    done = TaskCompleted(
        task_id=row.id,
        kind=row.kind,
        station_id=row.station_id,
        elder_id=row.elder_id,
        source_ref=row.source_ref,
        record_id=record_id,
    )
    await emit(tx, TaskCompleted.TYPE, done.model_dump(mode="json"))
    await to_operators(tx, done)


async def _complete_booking(
    tx: Tx, p: Principal, booking_id: int, visit: Any, body: TaskCompleteIn, *, secret: str
) -> dict[str, Any]:
    witnessed = body.started_at is None and body.ended_at is None and visit.arrived_at is not None
    started = body.started_at or visit.arrived_at or visit.started_at
    if started is None:
        raise ApiError(
            422, "task.start_unknown", "arrive first, or give started_at", field="started_at"
        )
    arrival = (
        GeoPoint(visit.arrival_lat, visit.arrival_lng) if visit.arrival_lat is not None else None
    )
    rec = await complete_booking(
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
    started = row.started_at or tx.now
    await model.transition(tx, row, S.DONE, {"finished_at": tx.now, "started_at": started})
    await services_model.delivered(tx, task_id=row.id)
    return {"on_time": on_time, "food_hot": body.hot}


# ----- the task and its visit row -------------------------------------------------------------


async def _task_for(tx: Tx, p: Principal, task_id: int, *, on_behalf: bool) -> Any:
    """The task, locked, if this caller may act on it and it is still open; 404 otherwise
    (never revealed), 409 when it is done or cancelled."""
    row = await model.load(tx, task_id)
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
    if row.status not in model.OPEN_STATES:
        raise ApiError(409, "task.closed", "this task is already done or cancelled")
    return row


async def _visit(tx: Tx, task_id: int) -> Any:
    """The task's visit row, created on first use."""
    find = select(task_visits).where(task_visits.c.task_id == task_id)
    row = (await tx.conn.execute(find)).first()
    if row is None:
        await tx.conn.execute(insert(task_visits).values(task_id=task_id, updated_at=tx.now))
        row = (await tx.conn.execute(find)).one()
    return row


async def _note_visit(tx: Tx, task_id: int, **values: Any) -> None:
    """Write what the phone reported onto the task's visit row."""
    await tx.conn.execute(
        update(task_visits)
        .where(task_visits.c.task_id == task_id)
        .values(**values, updated_at=tx.now)
    )


async def _home(tx: Tx, row: Any) -> GeoPoint | None:
    """Where the task is: its own place, else the elder's home."""
    if row.lat is not None and row.lng is not None:
        return GeoPoint(row.lat, row.lng)
    if row.elder_id is None:
        return None
    e = (
        await tx.conn.execute(select(elders.c.lat, elders.c.lng).where(elders.c.id == row.elder_id))
    ).first()
    return GeoPoint(e.lat, e.lng) if e is not None else None
