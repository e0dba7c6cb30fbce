"""The working-day calendar as data: district staff publish each year's official holidays and
swapped workdays (`PUT /api/v1/welfare/calendars/{year}`, versioned and audited); the service
uses the published years first, then the chinese_calendar package, then the provisional
fallback (weekends and fixed-date statutory holidays). Deadlines that lean on the fallback are
marked provisional and recomputed when the year is published."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import func, insert, select, update

from schemas.welfare import CalendarIn
from server.auth.principal import Role
from server.errors import ApiError
from server.http import ok, parse, platform, require
from server.platform import Tx, audit, cancel_timer, schedule
from server.welfare.tables import application_events, applications, welfare_calendars
from server.welfare.workdays import (
    SHANGHAI,
    STEP_ORDER,
    ReviewStep,
    WorkCalendar,
    YearCalendar,
    step_due,
)

OVERDUE_TIMER = "welfare.application_overdue"


async def calendar_for(conn: Any) -> WorkCalendar:
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
                applications.c.status.in_([s.value for s in STEP_ORDER]),
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
        await tx.conn.execute(
            insert(application_events).values(
                application_id=r.id,
                at=tx.now,
                actor_user_id=actor,
                step=r.status,
                action="due_recomputed",
                note=f"按正式节假日安排重算 / official calendar: {r.step_due_on} → {due}",
                due_on=due,
            )
        )
    return moved


async def put_calendar(request: web.Request) -> web.Response:
    """Publish (or correct) one year's official calendar; a new version each time."""
    p = require(request, Role.ADMIN)
    try:
        year = int(request.match_info["year"])
    except ValueError as exc:
        raise ApiError(404, "not_found", "years look like 2027") from exc
    if not 2000 <= year <= 2100:
        raise ApiError(404, "not_found", "years look like 2027")
    body = await parse(request, CalendarIn)
    data = {
        "holidays": sorted({d.isoformat() for d in body.holidays}),
        "workdays": sorted({d.isoformat() for d in body.workdays}),
    }
    try:
        YearCalendar.from_dict(year, data)
    except ValueError as exc:
        raise ApiError(422, "calendar.invalid", str(exc)) from exc
    async with platform(request).tx() as tx:
        version = (
            await tx.conn.execute(
                select(func.coalesce(func.max(welfare_calendars.c.version), 0)).where(
                    welfare_calendars.c.year == year
                )
            )
        ).scalar_one() + 1
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
        await audit(
            tx,
            actor=p.user_id,
            action="publish_calendar",
            object_type="calendar",
            object_id=f"{year}:v{version}",
            detail={
                "holidays": len(data["holidays"]),
                "workdays": len(data["workdays"]),
                "recomputed": moved,
            },
        )
    return ok({"year": year, "version": version, **data, "recomputed": moved}, 201)


async def list_calendars(request: web.Request) -> web.Response:
    """Which years are official (published or packaged) and which would be provisional."""
    require(request, Role.OPERATOR)
    plat = platform(request)
    async with plat.store.read() as conn:
        cal = await calendar_for(conn)
    this = plat.clock.now().astimezone(SHANGHAI).year
    return ok(
        [
            {
                "year": y,
                "official": cal.covers(y),
                "source": "published"
                if y in cal.overrides
                else ("package" if cal.covers(y) else "provisional"),
            }
            for y in range(this - 1, this + 3)
        ]
    )
