"""The rows of a period report, read for the stations the caller may see, and the audit
log's pages. Who reads what:

- an operator: their own station (the audit log: what their station's staff did);
- a street officer: the stations of their street; a district officer: of their district
  (the audit log: what the district's staff and officers did);
- an admin: everything.

Asking for a station, street or district outside that answers 404, as the welfare
statements do: the caller learns nothing of what is not theirs.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.hotline import Answer as SatisfactionAnswer
from schemas.reports import AuditQuery, ReportQuery
from server.assessments.tables import assessments, reassessments
from server.auth.principal import Principal, Role
from server.auth.tables import users
from server.clock import SHANGHAI
from server.daycare.tables import daycare_attendance, daycare_enrolments
from server.errors import ApiError, not_found
from server.hotline.tables import satisfaction
from server.incidents.tables import incidents
from server.platform import Platform
from server.registry.tables import elders, stations
from server.reports.model import (
    Answer,
    Call,
    Enrolment,
    Event,
    Meal,
    Period,
    Place,
    Reassessment,
    Rows,
    Visit,
    period_of,
)
from server.services.tables import meal_orders
from server.store.tables import audit_log
from server.volunteers.flows import volunteer_account
from server.volunteers.tables import timebank_entries, volunteer_tasks, volunteers
from server.welfare.flows.officers import scope_of
from server.welfare.flows.rulesets import targets_for
from server.welfare.rules import Targets
from server.welfare.tables import service_records, welfare_officers


async def places(conn: AsyncConnection, p: Principal, q: ReportQuery) -> list[Place]:
    """The stations of the report: the ones asked for, within the caller's scope."""
    cond: list[Any] = [stations.c.active.is_(True)]
    if p.role is Role.OPERATOR:
        if p.station_id is None or q.station_id not in (None, p.station_id):
            raise not_found("station")
        cond.append(stations.c.id == p.station_id)
    elif p.role in (Role.STREET_OFFICER, Role.DISTRICT_OFFICER):
        scope = await scope_of(conn, p)
        if scope is None:
            raise ApiError(403, "forbidden", "no district in scope")
        cond.append(stations.c.district == scope[0])
        if p.role is Role.STREET_OFFICER:
            cond.append(stations.c.street == scope[1])
    if q.station_id is not None:
        cond.append(stations.c.id == q.station_id)
    if q.district is not None:
        cond.append(stations.c.district == q.district)
    if q.street is not None:
        cond.append(stations.c.street == q.street)
    rows = (await conn.execute(select(stations).where(*cond).order_by(stations.c.id))).all()
    if not rows and (q.station_id or q.district or q.street):
        raise not_found("station" if q.station_id else "district")
    return [Place(r.id, r.name, r.street, r.district) for r in rows]


def _utc_bounds(period: Period) -> tuple[datetime, datetime]:
    start = datetime.combine(period.first, time(0), SHANGHAI).astimezone(UTC)
    end = datetime.combine(period.last + timedelta(days=1), time(0), SHANGHAI).astimezone(UTC)
    return start, end


def _day(at: datetime) -> Any:
    return at.astimezone(SHANGHAI).date()


def _secs(a: datetime | None, b: datetime | None) -> int | None:
    return None if a is None or b is None else round((b - a).total_seconds())


async def rows(conn: AsyncConnection, ids: list[int], period: Period) -> Rows:
    """The period's help calls, visits (service records not reversed), meals (orders not
    cancelled) and satisfaction answers of these stations."""
    start, end = _utc_bounds(period)
    inc = incidents.c
    calls = [
        Call(r.station_id, _day(r.opened_at), r.kind, r.resolution,
             _secs(r.opened_at, r.accepted_at), _secs(r.opened_at, r.arrived_at))
        for r in await conn.execute(
            select(inc.station_id, inc.opened_at, inc.kind, inc.resolution, inc.accepted_at,
                   inc.arrived_at)
            .where(inc.station_id.in_(ids), inc.opened_at >= start, inc.opened_at < end)
        )
    ]  # fmt: skip
    sr = service_records.c
    visits = [
        Visit(r.station_id, _day(r.started_at), r.elder_id,
              round((r.ended_at - r.started_at).total_seconds() / 60),
              r.price_fen, r.subsidy_fen, r.self_pay_fen)
        for r in await conn.execute(
            select(service_records).where(
                sr.station_id.in_(ids), sr.started_at >= start, sr.started_at < end,
                sr.reversed.is_(False),
            )
        )
    ]  # fmt: skip
    mo = meal_orders.c
    meals = [
        Meal(r.station_id, r.day, r.mode, r.total_fen)
        for r in await conn.execute(
            select(mo.station_id, mo.day, mo.mode, mo.total_fen).where(
                mo.station_id.in_(ids), mo.day >= period.first, mo.day <= period.last,
                mo.status != "cancelled",
            )
        )
    ]  # fmt: skip
    sa = satisfaction.c
    answers = [
        Answer(r.station_id, _day(r.at), r.answer != SatisfactionAnswer.DISSATISFIED)
        for r in await conn.execute(
            select(sa.station_id, sa.at, sa.answer).where(
                sa.station_id.in_(ids), sa.at >= start, sa.at < end
            )
        )
    ]
    return Rows(calls, visits, meals, answers, span=(period.first, period.last))


async def programme_rows(conn: AsyncConnection, ids: list[int], period: Period) -> Rows:
    """Day care, assessments and volunteers of these stations, the period's (the enrolments
    and re-assessments: all made or due by its end, to count as of its last day)."""
    start, end = _utc_bounds(period)
    at, en = daycare_attendance.c, daycare_enrolments.c
    attendance = [
        Event(r.station_id, r.day, r.status)
        for r in await conn.execute(
            select(at.station_id, at.day, at.status).where(
                at.station_id.in_(ids), at.day >= period.first, at.day <= period.last
            )
        )
    ]
    enrolments = [
        Enrolment(r.station_id, r.elder_id, r.status, _day(r.created_at),
                  None if r.ended_at is None else _day(r.ended_at))
        for r in await conn.execute(
            select(en.station_id, en.elder_id, en.status, en.created_at, en.ended_at).where(
                en.station_id.in_(ids), en.created_at < end
            )
        )
    ]  # fmt: skip
    return Rows(
        attendance=attendance,
        enrolments=enrolments,
        assessed=await _assessed(conn, ids, start, end),
        reassessments=await _reassessments(conn, ids, period),
        work=await _work(conn, ids, start, end),
        movements=await _movements(conn, ids, start, end),
    )


async def _assessed(
    conn: AsyncConnection, ids: list[int], start: datetime, end: datetime
) -> list[Event]:
    a = assessments.c
    return [
        Event(r.station_id, _day(r.scored_at), "scored", r.level)
        for r in await conn.execute(
            select(a.station_id, a.scored_at, a.level).where(
                a.station_id.in_(ids), a.status == "scored", a.scored_at >= start,
                a.scored_at < end,
            )
        )
    ]  # fmt: skip


async def _reassessments(
    conn: AsyncConnection, ids: list[int], period: Period
) -> list[Reassessment]:
    """Re-assessments due by the period's end, with the day the one that did it was scored."""
    ra, a = reassessments.c, assessments.c
    found = await conn.execute(
        select(ra.station_id, ra.due_on, a.scored_at)
        .join(assessments, a.id == ra.assessment_id, isouter=True)
        .where(ra.station_id.in_(ids), ra.due_on <= period.last, ra.status != "cancelled")
    )
    return [
        Reassessment(r.station_id, r.due_on, None if r.scored_at is None else _day(r.scored_at))
        for r in found
    ]


async def _work(
    conn: AsyncConnection, ids: list[int], start: datetime, end: datetime
) -> list[Event]:
    vt = volunteer_tasks.c
    return [
        Event(r.station_id, _day(r.confirmed_at), "confirmed", r.minutes or 0, r.volunteer_id)
        for r in await conn.execute(
            select(vt.station_id, vt.volunteer_id, vt.confirmed_at, vt.minutes).where(
                vt.station_id.in_(ids), vt.confirmed_at >= start, vt.confirmed_at < end
            )
        )
    ]


async def _movements(
    conn: AsyncConnection, ids: list[int], start: datetime, end: datetime
) -> list[Event]:
    """Minutes earned and spent on the stations' volunteers' accounts (spent made positive)."""
    station_of = {
        volunteer_account(r.id): r.station_id
        for r in await conn.execute(
            select(volunteers.c.id, volunteers.c.station_id).where(volunteers.c.station_id.in_(ids))
        )
    }
    te = timebank_entries.c
    found = await conn.execute(
        select(te.account, te.at, te.kind, te.minutes).where(
            te.account.in_(list(station_of)), te.kind.in_(("earned", "spent")),
            te.at >= start, te.at < end,
        )
    )  # fmt: skip
    return [Event(station_of[r.account], _day(r.at), r.kind, abs(r.minutes)) for r in found]


async def report(
    plat: Platform, p: Principal, q: ReportQuery
) -> tuple[list[Place], Rows, dict[str, Targets]]:
    """The stations of the report, their rows of the period, and each district's targets in
    force on the period's last day."""
    period = period_of(q.period)
    async with plat.store.read() as conn:
        found = await places(conn, p, q)
        ids = [x.station_id for x in found]
        got = (await rows(conn, ids, period)).merged(await programme_rows(conn, ids, period))
        targets = {
            d: await targets_for(conn, district=d, on=period.last)
            for d in sorted({x.district for x in found})
        }
    return found, got, targets


# ----- the audit log ------------------------------------------------------------------------


async def _audit_scope(conn: AsyncConnection, p: Principal) -> Any:
    """Whose actions the caller may read: None for everyone (an admin)."""
    if p.role is Role.ADMIN:
        return None
    if p.role is Role.OPERATOR:
        if p.station_id is None:
            raise ApiError(403, "forbidden", "no station in scope")
        # Also what others did with the station's elders: a neighbour's caregiver lent to one
        # of its calls reads the elder's phones on the way (dispatch.neighbours).
        ours = select(cast(elders.c.id, String)).where(elders.c.station_id == p.station_id)
        about_ours = (audit_log.c.object_type == "elder") & audit_log.c.object_id.in_(ours)
        return or_(users.c.station_id == p.station_id, about_ours)
    scope = await scope_of(conn, p)
    if p.role is not Role.DISTRICT_OFFICER or scope is None:
        raise ApiError(403, "forbidden", "your role may not read the audit log")
    in_district = select(stations.c.id).where(stations.c.district == scope[0])
    officers = select(welfare_officers.c.user_id).where(welfare_officers.c.district == scope[0])
    return or_(users.c.station_id.in_(in_district), users.c.id.in_(officers))


async def audit_page(plat: Platform, p: Principal, q: AuditQuery) -> list[dict[str, Any]]:
    """A page of the audit log, newest first, with each actor's name and role."""
    al = audit_log.c
    stmt = select(audit_log, users.c.display_name, users.c.role.label("actor_role")).join(
        users, users.c.id == al.actor_user_id, isouter=True
    )
    if q.on_from is not None:
        stmt = stmt.where(al.at >= datetime.combine(q.on_from, time(0), SHANGHAI))
    if q.on_to is not None:
        stmt = stmt.where(al.at < datetime.combine(q.on_to + timedelta(days=1), time(0), SHANGHAI))
    for column, value in (
        (al.action, q.action),
        (al.object_type, q.object_type),
        (al.actor_user_id, q.actor_user_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if q.before is not None:
        stmt = stmt.where(al.id < q.before)
    async with plat.store.read() as conn:
        scope = await _audit_scope(conn, p)
        if scope is not None:
            stmt = stmt.where(scope)
        found = (await conn.execute(stmt.order_by(al.id.desc()).limit(q.limit))).all()
    return [
        {
            "id": r.id,
            "at": r.at,
            "actor_user_id": r.actor_user_id,
            "actor_name": r.display_name,
            "actor_role": r.actor_role,
            "action": r.action,
            "object_type": r.object_type,
            "object_id": r.object_id,
            "detail": r.detail,
        }
        for r in found
    ]
