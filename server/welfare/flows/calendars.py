"""The working-day calendar as data: district staff publish each year's official holidays and
swapped workdays (versioned and audited); the service uses the published years first, then the
chinese_calendar package, then the provisional fallback (weekends and fixed-date statutory
holidays). Deadlines that lean on the fallback are marked provisional and recomputed when the
year is published, each with its own overdue timer."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.welfare import ApplicationAction, CalendarIn, CalendarOut, CalendarYearOut
from server.auth.principal import Principal
from server.errors import ApiError
from server.platform import Platform, Tx, audit, cancel_timer, schedule
from server.welfare import model, out
from server.welfare.tables import applications, welfare_calendars
from server.welfare.workdays import SHANGHAI, ReviewStep, WorkCalendar, YearCalendar, step_due

OVERDUE_TIMER = "welfare.application_overdue"


async def calendar_for(conn: AsyncConnection) -> WorkCalendar:
    """The calendar in force: the latest published version of each year over the package, with
    the provisional fallback for years nobody has published yet."""
    latest = (
        select(welfare_calendars.c.year, func.max(welfare_calendars.c.version).label("v"))
        .group_by(welfare_calendars.c.year)
        .subquery()
    )
    rows = (
        await conn.execute(
            select(welfare_calendars).join(
                latest,
                (latest.c.year == welfare_calendars.c.year)
                & (latest.c.v == welfare_calendars.c.version),
            )
        )
    ).all()
    years = {
        int(r.year): YearCalendar.from_dict(
            int(r.year), {"holidays": r.holidays, "workdays": r.workdays}
        )
        for r in rows
    }
    return WorkCalendar(overrides=years, fallback=True)


def overdue_at(due: date) -> datetime:
    """Overdue from the first instant after the due day (Asia/Shanghai)."""
    return datetime.combine(due + timedelta(days=1), time(0), SHANGHAI)


def overdue_ref(app_id: int, step: str, due: date) -> str:
    """One timer per application, step and due day: a recomputed due day gets its own timer."""
    return f"application:{app_id}:{step}:{due.isoformat()}"


async def schedule_overdue(tx: Tx, app_id: int, step: str, due: date) -> None:
    """Flag the step the day after its due day, unless it is decided by then."""
    await schedule(
        tx,
        OVERDUE_TIMER,
        overdue_ref(app_id, step, due),
        overdue_at(due),
        {"application_id": app_id, "step": step, "due_on": due.isoformat()},
    )


async def recompute_provisional(tx: Tx, cal: WorkCalendar, actor: int | None) -> list[int]:
    """Recompute every open step whose due day was provisional; returns the applications moved."""
    rows = (
        await tx.conn.execute(
            select(applications).where(
                applications.c.step_due_provisional.is_(True),
                applications.c.status.in_(model.OPEN_STATES),
            )
        )
    ).all()
    moved = []
    for r in rows:
        due = step_due(ReviewStep(r.status), r.step_received_on, cal)
        provisional = cal.provisional(r.step_received_on, due)
        if due == r.step_due_on and provisional == r.step_due_provisional:
            continue
        await tx.conn.execute(
            update(applications)
            .where(applications.c.id == r.id)
            .values(step_due_on=due, step_due_provisional=provisional)
        )
        if due != r.step_due_on:
            await cancel_timer(tx, overdue_ref(r.id, r.status, r.step_due_on))
            await schedule_overdue(tx, r.id, r.status, due)
            moved.append(r.id)
        # the note is worded from the history: the step's due day before this row, and after
        await model.event(tx, r.id, r.status, ApplicationAction.DUE_RECOMPUTED, actor, due_on=due)
    return moved


def year_data(year: int, body: CalendarIn) -> dict[str, list[str]]:
    """The year's days as stored, checked (422 ``calendar.invalid`` if they make no sense)."""
    data = {
        "holidays": sorted({d.isoformat() for d in body.holidays}),
        "workdays": sorted({d.isoformat() for d in body.workdays}),
    }
    try:
        YearCalendar.from_dict(year, data)
    except ValueError as exc:
        raise ApiError(422, "calendar.invalid", str(exc)) from exc
    return data


async def publish(plat: Platform, p: Principal, *, year: int, body: CalendarIn) -> CalendarOut:
    """Publish (or correct) one year's official calendar: a new version each time (audited),
    and every provisional due day recomputed with it."""
    data = year_data(year, body)
    async with plat.tx() as tx:
        last = select(func.coalesce(func.max(welfare_calendars.c.version), 0))
        version = (
            1 + (await tx.conn.execute(last.where(welfare_calendars.c.year == year))).scalar_one()
        )
        await tx.conn.execute(
            insert(welfare_calendars).values(
                year=year,
                version=version,
                **data,
                source=body.source,
                published_at=tx.now,
                published_by=p.user_id,
            )
        )
        moved = await recompute_provisional(tx, await calendar_for(tx.conn), p.user_id)
        detail: dict[str, Any] = {k: len(v) for k, v in data.items()}
        await audit(
            tx,
            actor=p.user_id,
            action="publish_calendar",
            object_type="calendar",
            object_id=f"{year}:v{version}",
            detail={**detail, "recomputed": moved},
        )
    return CalendarOut(
        year=year,
        version=version,
        holidays=sorted(set(body.holidays)),
        workdays=sorted(set(body.workdays)),
        recomputed=moved,
    )


async def years(plat: Platform) -> list[CalendarYearOut]:
    """Which years around this one are official (published or packaged) or provisional."""
    async with plat.store.read() as conn:
        cal = await calendar_for(conn)
    this = plat.clock.now().astimezone(SHANGHAI).year
    return [
        out.calendar_year(y, official=cal.covers(y), published=y in cal.overrides)
        for y in range(this - 1, this + 3)
    ]
