"""Day care at the station: the programme (opening days and hours, capacity), enrolments for
days of the week with a waiting list, each day's attendance list (check-in and check-out by
the staff), lunch ordered from the kitchen for the day's attendees through the meal-order
flow, and the roll call that turns a silent absence into a welfare check task.

Capacity is counted per weekday over ``enrolled`` enrolments, under the programme row's lock,
so two enrolments racing for the last place cannot both get it: the second waits. A place
freed (an enrolment ended, the capacity raised) promotes the waiting list in order.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.daycare import (
    AbsenceIn,
    AttendanceOut,
    DayOut,
    EnrolmentIn,
    EnrolmentOut,
    ProgrammeIn,
    ProgrammeOut,
)
from schemas.daycare import AttendanceStatus as A
from schemas.daycare import EnrolmentStatus as E
from schemas.services import Category, MealOrderIn
from server.auth.principal import Principal, Role
from server.clock import SHANGHAI
from server.daycare import model, out
from server.daycare.tables import daycare_attendance, daycare_enrolments, daycare_programmes
from server.errors import ApiError, not_found
from server.platform import Platform, Tx, audit, emit, schedule
from server.registry.guards import elder_for
from server.registry.tables import elders
from server.services.flows.meals import cancel_before_cutoff, menu_row, place_order
from server.services.tables import service_items
from server.tasks.flows import create_task
from server.texts import render
from server.welfare.flows.visits import record_attendance

ROLL_CALL_TIMER: Final = "daycare.roll_call"
OPEN_TIMER: Final = "daycare.open_day"
OPEN_AT: Final = time(7, 0)  # the day's list (and its lunches) is made before the kitchen's cut-off
LUNCH_REFUSALS: Final = {
    "meal.no_menu": "no_menu",
    "meal.order_closed": "too_late",
    "meal.already_ordered": "own_order",
}


def staff_of(p: Principal, station_id: int) -> None:
    """The station's operators and caregivers (or an administrator); others get 404."""
    if p.role is Role.ADMIN:
        return
    if p.role not in (Role.OPERATOR, Role.CAREGIVER) or p.station_id != station_id:
        raise ApiError(404, "station_not_found", "station not found")


def local(day: date, hhmm: str) -> datetime:
    """A local wall-clock time on a day, as an aware datetime."""
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, time(h, m), tzinfo=SHANGHAI)


# ----- the programme --------------------------------------------------------------------------


async def programme_row(conn: AsyncConnection, station_id: int, *, lock: bool = False) -> Any:
    """The station's programme, or 404 ``daycare.no_programme``."""
    q = select(daycare_programmes).where(daycare_programmes.c.station_id == station_id)
    row = (await conn.execute(q.with_for_update() if lock else q)).first()
    if row is None:
        raise ApiError(404, "daycare.no_programme", "this station runs no day care yet")
    return row


async def put_programme(
    plat: Platform, *, station_id: int, body: ProgrammeIn, actor: int
) -> ProgrammeOut:
    """Set the station's opening days and hours and its capacity; a raised capacity lets the
    waiting list in; a lowered one keeps those enrolled (new enrolments wait)."""
    values = body.model_dump()
    async with plat.tx() as tx:
        old = (
            await tx.conn.execute(
                select(daycare_programmes)
                .where(daycare_programmes.c.station_id == station_id)
                .with_for_update()
            )
        ).first()
        if old is None:
            await tx.conn.execute(
                insert(daycare_programmes).values(
                    station_id=station_id, **values, updated_at=tx.now
                )
            )
        else:
            await tx.conn.execute(
                update(daycare_programmes)
                .where(daycare_programmes.c.id == old.id)
                .values(**values, updated_at=tx.now)
            )
        row = await programme_row(tx.conn, station_id, lock=True)
        await promote_waiting(tx, programme=row)
        await schedule_open(tx, station_id=station_id, after=tx.now)
        await audit(
            tx, actor=actor, action="put_programme", object_type="daycare", object_id=station_id
        )
    return out.programme_out(row)


async def get_programme(plat: Platform, *, station_id: int) -> ProgrammeOut:
    async with plat.store.read() as conn:
        return out.programme_out(await programme_row(conn, station_id))


async def schedule_open(tx: Tx, *, station_id: int, after: datetime) -> None:
    """Arm the timer that opens the next day's list at 07:00 (one per station and day)."""
    d = after.astimezone(SHANGHAI).date()
    at = datetime.combine(d, OPEN_AT, tzinfo=SHANGHAI)
    if at <= after:
        d += timedelta(days=1)
        at = datetime.combine(d, OPEN_AT, tzinfo=SHANGHAI)
    await schedule(
        tx,
        OPEN_TIMER,
        f"{OPEN_TIMER}:{station_id}:{d.isoformat()}",
        at,
        {"station_id": station_id, "day": d.isoformat()},
    )


# ----- enrolments -----------------------------------------------------------------------------


async def _taken(conn: AsyncConnection, station_id: int) -> Counter[int]:
    """Places taken per weekday by enrolled elders."""
    rows = await conn.execute(
        select(daycare_enrolments.c.weekdays).where(
            daycare_enrolments.c.station_id == station_id,
            daycare_enrolments.c.status == E.ENROLLED.value,
        )
    )
    taken: Counter[int] = Counter()
    for r in rows:
        taken.update(int(d) for d in r.weekdays)
    return taken


async def enrol(plat: Platform, p: Principal, *, elder_id: int, body: EnrolmentIn) -> EnrolmentOut:
    """Enrol an elder for days of the week: ``enrolled`` when each day has a place, else
    ``waiting`` (its full days named, its place in the queue given)."""
    async with plat.tx() as tx:
        elder = await elder_for(tx.conn, p, elder_id)
        staff_of(p, elder.station_id)
        prog = await programme_row(tx.conn, elder.station_id, lock=True)
        closed = [d for d in body.weekdays if d not in prog.days]
        if closed:
            raise ApiError(
                422, "daycare.day_closed", "the station runs no day care on these days", days=closed
            )
        if not elder.active:
            raise ApiError(409, "daycare.elder_inactive", "the elder's file is not active")
        live = (
            await tx.conn.execute(
                select(daycare_enrolments.c.id).where(
                    daycare_enrolments.c.elder_id == elder_id,
                    daycare_enrolments.c.status != E.ENDED.value,
                )
            )
        ).first()
        if live is not None:
            raise ApiError(
                409,
                "daycare.already_enrolled",
                "the elder is already enrolled or waiting; end that enrolment first",
                enrolment_id=live.id,
            )
        taken = await _taken(tx.conn, elder.station_id)
        full = [d for d in body.weekdays if taken[d] >= prog.capacity]
        eid = await model.insert_enrolment(
            tx,
            {
                "station_id": elder.station_id,
                "elder_id": elder_id,
                "weekdays": body.weekdays,
                "starts_on": body.starts_on,
                "lunch": body.lunch,
                "full_days": full,
                "notes": body.notes,
                "created_by": p.user_id,
                "created_at": tx.now,
            },
            E.WAITING if full else E.ENROLLED,
        )
        await audit(tx, actor=p.user_id, action="enrol", object_type="daycare", object_id=eid)
        row = await _enrolment(tx.conn, eid)
        return await out.enrolment_out(tx.conn, row)


async def _enrolment(conn: AsyncConnection, enrolment_id: int, *, lock: bool = False) -> Any:
    q = select(daycare_enrolments).where(daycare_enrolments.c.id == enrolment_id)
    row = (await conn.execute(q.with_for_update() if lock else q)).first()
    if row is None:
        raise not_found("enrolment")
    return row


async def end_enrolment(plat: Platform, p: Principal, *, enrolment_id: int) -> EnrolmentOut:
    """The elder leaves the programme (or the waiting list); the freed place goes to the
    first on the waiting list whose days now fit."""
    async with plat.tx() as tx:
        row = await _enrolment(tx.conn, enrolment_id)
        staff_of(p, row.station_id)
        prog = await programme_row(tx.conn, row.station_id, lock=True)
        row = await _enrolment(tx.conn, enrolment_id, lock=True)
        await model.enrolment_transition(tx, row, E.ENDED)
        await promote_waiting(tx, programme=prog)
        await audit(
            tx, actor=p.user_id, action="end_enrolment", object_type="daycare", object_id=row.id
        )
        return await out.enrolment_out(tx.conn, await _enrolment(tx.conn, enrolment_id))


async def promote_waiting(tx: Tx, *, programme: Any) -> list[int]:
    """Enrol waiting elders, first come first served, while their days have places (the
    caller holds the programme row's lock)."""
    taken = await _taken(tx.conn, programme.station_id)
    waiting = (
        await tx.conn.execute(
            select(daycare_enrolments)
            .where(
                daycare_enrolments.c.station_id == programme.station_id,
                daycare_enrolments.c.status == E.WAITING.value,
            )
            .order_by(daycare_enrolments.c.id)
        )
    ).all()
    promoted: list[int] = []
    for w in waiting:
        days = [int(d) for d in w.weekdays]
        if all(taken[d] < programme.capacity for d in days):
            await model.enrolment_transition(tx, w, E.ENROLLED)
            taken.update(days)
            promoted.append(w.id)
    return promoted


async def list_enrolments(plat: Platform, *, station_id: int) -> list[EnrolmentOut]:
    async with plat.store.read() as conn:
        rows = (
            await conn.execute(
                select(daycare_enrolments)
                .where(daycare_enrolments.c.station_id == station_id)
                .order_by(daycare_enrolments.c.id)
            )
        ).all()
        return [await out.enrolment_out(conn, r) for r in rows]


# ----- the day's attendance -------------------------------------------------------------------


async def _row_for(tx: Tx, enrolment: Any, day: date) -> Any:
    """The enrolment's attendance row for the day, made (``expected``) if missing."""
    q = select(daycare_attendance).where(
        daycare_attendance.c.enrolment_id == enrolment.id, daycare_attendance.c.day == day
    )
    row = (await tx.conn.execute(q)).first()
    if row is None:
        await model.insert_attendance(
            tx,
            {
                "station_id": enrolment.station_id,
                "elder_id": enrolment.elder_id,
                "enrolment_id": enrolment.id,
                "day": day,
                "lunch": "none",
                "created_at": tx.now,
            },
        )
        row = (await tx.conn.execute(q)).one()
    return row


async def _order_lunch(tx: Tx, *, programme: Any, row: Any, day: date) -> None:
    """Order the attendee's lunch (dine-in) through the meal-order flow; what became of it is
    kept on the row (ordered, no_menu, too_late, own_order)."""
    menu = await menu_row(tx.conn, station_id=programme.station_id, day=day)
    dish = programme.lunch_dish or (menu.dishes[0]["code"] if menu is not None else "set")
    elder = (await tx.conn.execute(select(elders).where(elders.c.id == row.elder_id))).one()
    body = MealOrderIn(day=day, mode="dine_in", dishes=[dish], notes=render("daycare.lunch_note"))
    try:
        oid, _, _ = await place_order(tx, elder=elder, body=body, actor=None)
    except ApiError as exc:
        lunch = LUNCH_REFUSALS.get(exc.code, "refused")
        await tx.conn.execute(
            update(daycare_attendance).where(daycare_attendance.c.id == row.id).values(lunch=lunch)
        )
        return
    await tx.conn.execute(
        update(daycare_attendance)
        .where(daycare_attendance.c.id == row.id)
        .values(lunch="ordered", meal_order_id=oid)
    )


async def open_day(tx: Tx, *, station_id: int, day: date) -> bool:
    """Make the day's list: a row for each elder enrolled for its weekday, their lunches
    ordered, and the roll call armed. Run again, it adds only the newly enrolled; a closed
    day makes nothing (False)."""
    prog = await programme_row(tx.conn, station_id, lock=True)
    if day.weekday() not in prog.days:
        return False
    enrolled = (
        await tx.conn.execute(
            select(daycare_enrolments).where(
                daycare_enrolments.c.station_id == station_id,
                daycare_enrolments.c.status == E.ENROLLED.value,
                daycare_enrolments.c.starts_on <= day,
            )
        )
    ).all()
    for en in enrolled:
        if day.weekday() not in en.weekdays:
            continue
        row = await _row_for(tx, en, day)
        if en.lunch and row.status == A.EXPECTED and row.lunch == "none":
            await _order_lunch(tx, programme=prog, row=row, day=day)
    due = local(day, prog.opens) + timedelta(minutes=prog.roll_call_min)
    await schedule(
        tx,
        ROLL_CALL_TIMER,
        f"{ROLL_CALL_TIMER}:{station_id}:{day.isoformat()}",
        due,
        {"station_id": station_id, "day": day.isoformat()},
    )
    return True


async def open_day_for(plat: Platform, p: Principal, *, station_id: int, day: date) -> DayOut:
    """The staff open (or refresh) a day's list by hand."""
    async with plat.tx() as tx:
        await open_day(tx, station_id=station_id, day=day)
        await audit(
            tx,
            actor=p.user_id,
            action="open_day",
            object_type="daycare",
            object_id=f"{station_id}:{day}",
        )
    return await get_day(plat, station_id=station_id, day=day)


async def get_day(plat: Platform, *, station_id: int, day: date) -> DayOut:
    """The day's attendance list by name."""
    async with plat.store.read() as conn:
        prog = await programme_row(conn, station_id)
        rows = (
            await conn.execute(
                select(daycare_attendance, elders.c.name.label("elder_name"))
                .join(elders, elders.c.id == daycare_attendance.c.elder_id)
                .where(
                    daycare_attendance.c.station_id == station_id,
                    daycare_attendance.c.day == day,
                )
                .order_by(daycare_attendance.c.id)
            )
        ).all()
    return DayOut(
        station_id=station_id,
        day=day,
        open=day.weekday() in prog.days,
        capacity=prog.capacity,
        attendance=[out.attendance_out(r) for r in rows],
    )


async def _attendance(tx: Tx, attendance_id: int) -> Any:
    row = (
        await tx.conn.execute(
            select(daycare_attendance)
            .where(daycare_attendance.c.id == attendance_id)
            .with_for_update()
        )
    ).first()
    if row is None:
        raise not_found("attendance")
    return row


async def _one(tx: Tx, attendance_id: int) -> AttendanceOut:
    row = (
        await tx.conn.execute(
            select(daycare_attendance, elders.c.name.label("elder_name"))
            .join(elders, elders.c.id == daycare_attendance.c.elder_id)
            .where(daycare_attendance.c.id == attendance_id)
        )
    ).one()
    return out.attendance_out(row)


async def check_in(plat: Platform, p: Principal, *, attendance_id: int) -> AttendanceOut:
    """The staff check an elder in (a late arrival after the roll call too)."""
    async with plat.tx() as tx:
        row = await _attendance(tx, attendance_id)
        staff_of(p, row.station_id)
        await model.attendance_transition(
            tx, row, A.PRESENT, {"checked_in_at": tx.now, "checked_in_by": p.user_id}
        )
        await audit(
            tx, actor=p.user_id, action="check_in", object_type="attendance", object_id=row.id
        )
        return await _one(tx, attendance_id)


async def check_out(plat: Platform, p: Principal, *, attendance_id: int) -> AttendanceOut:
    """The staff check an elder out at the end of the day."""
    async with plat.tx() as tx:
        row = await _attendance(tx, attendance_id)
        staff_of(p, row.station_id)
        await model.attendance_transition(tx, row, A.LEFT, {"checked_out_at": tx.now})
        await audit(
            tx, actor=p.user_id, action="check_out", object_type="attendance", object_id=row.id
        )
        await _charge_day(tx, row, actor=p.user_id)
        return await _one(tx, attendance_id)


async def _charge_day(tx: Tx, row: Any, *, actor: int) -> None:
    """A day attended is charged once, at check-out (``left`` is final), at the price of the
    station's day-care item (its menu's item of the day-care category), like any service. A
    day not attended (excused, absent) is never checked out, so never charged; a station
    whose menu has no priced day-care item charges nothing."""
    item = (
        await tx.conn.execute(
            select(service_items)
            .where(
                service_items.c.station_id == row.station_id,
                service_items.c.category == Category.DAY_CARE.value,
                service_items.c.active.is_(True),
            )
            .order_by(service_items.c.id)
        )
    ).first()
    if item is None or item.price_fen <= 0:
        return
    elder = (await tx.conn.execute(select(elders).where(elders.c.id == row.elder_id))).one()
    await record_attendance(
        tx, elder=elder, item=item, times=(row.checked_in_at, tx.now), attendance_id=row.id,
        actor=actor,
    )  # fmt: skip


async def notify_absence(
    plat: Platform, p: Principal, *, elder_id: int, day: date, body: AbsenceIn
) -> AttendanceOut:
    """The elder, the family or the staff say the elder will not come: the day's row is
    ``excused`` (no welfare check), and the lunch is cancelled while the kitchen still can."""
    async with plat.tx() as tx:
        await elder_for(tx.conn, p, elder_id)  # 404 for anyone who may not see the elder
        en = (
            await tx.conn.execute(
                select(daycare_enrolments).where(
                    daycare_enrolments.c.elder_id == elder_id,
                    daycare_enrolments.c.status == E.ENROLLED.value,
                )
            )
        ).first()
        if en is None or day.weekday() not in en.weekdays or day < en.starts_on:
            raise ApiError(
                409, "daycare.not_expected", "the elder is not expected at day care that day"
            )
        if day < tx.now.astimezone(SHANGHAI).date():
            raise ApiError(422, "daycare.day_past", "that day is over")
        row = await _row_for(tx, en, day)
        row = await _attendance(tx, row.id)
        lunch = row.lunch
        if row.meal_order_id is not None and await cancel_before_cutoff(
            tx, order_id=row.meal_order_id, actor=p.user_id
        ):
            lunch = "cancelled"
        await model.attendance_transition(
            tx, row, A.EXCUSED, {"absence_reason": body.reason, "lunch": lunch}
        )
        await audit(
            tx, actor=p.user_id, action="absence", object_type="attendance", object_id=row.id
        )
        return await _one(tx, row.id)


async def roll_call(tx: Tx, *, station_id: int, day: date) -> list[int]:
    """Everyone still ``expected`` is ``absent``: each gets a welfare check task (made once)
    for the station's plan, due within two hours; returns the tasks made."""
    rows = (
        await tx.conn.execute(
            select(daycare_attendance).where(
                daycare_attendance.c.station_id == station_id,
                daycare_attendance.c.day == day,
                daycare_attendance.c.status == A.EXPECTED.value,
            )
        )
    ).all()
    made: list[int] = []
    for row in rows:
        elder = (await tx.conn.execute(select(elders).where(elders.c.id == row.elder_id))).one()
        tid = await create_task(
            tx,
            station_id=station_id,
            elder_id=row.elder_id,
            kind="check",
            title=render("task.daycare_welfare_check"),
            window=(tx.now, tx.now + timedelta(hours=2)),
            duration_s=1200,
            where=(elder.lat, elder.lng),
            source="daycare",
            source_ref=f"daycare:{row.id}",
            notes=render("daycare.no_show_note", name=elder.name),
            priority=2,
        )
        await model.attendance_transition(tx, row, A.ABSENT, {"task_id": tid})
        if tid is not None:
            made.append(tid)
    if made:
        await emit(
            tx,
            "daycare.no_shows",
            {"station_id": station_id, "day": day.isoformat(), "tasks": made},
        )
    return made


async def roll_call_now(plat: Platform, p: Principal, *, station_id: int, day: date) -> DayOut:
    """The staff call the roll before the timer does."""
    async with plat.tx() as tx:
        await roll_call(tx, station_id=station_id, day=day)
        await audit(
            tx,
            actor=p.user_id,
            action="roll_call",
            object_type="daycare",
            object_id=f"{station_id}:{day}",
        )
    return await get_day(plat, station_id=station_id, day=day)
