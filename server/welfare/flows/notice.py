"""The public notice (公示) between the street's pass and the district's step, where the
district's rule set asks for one (``public_notice_days``), and the printable notices.

- The street passes: the application is posted for the rule set's days (from tomorrow);
  its ``step_due_on`` is the notice's last day and a timer waits for the day after.
- An objection (公示异议) may be recorded while it runs, by the station or the street.
- The day after the last: without an objection, on to the district's step; with one, it
  waits for the street officer, who passes it on (objection dismissed) or refuses it with
  the reason (upheld). Passing on during a notice without an objection is refused.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Final

from sqlalchemy import select

from schemas.welfare import ApplicationAction, ApplicationStatus, DecisionIn, ObjectionIn
from server.auth.principal import Principal, Role
from server.errors import ApiError
from server.platform import Platform, Tx, audit, schedule
from server.registry.tables import elders, stations
from server.welfare import model
from server.welfare import notice as pages
from server.welfare.flows import applications as steps  # each imports the other's functions
from server.welfare.flows.calendars import overdue_at
from server.welfare.flows.rulesets import ruleset_for
from server.welfare.tables import application_events, applications
from server.welfare.workdays import business_date

NOTICE_TIMER: Final = "welfare.notice_end"
A = ApplicationStatus


async def notice_days(tx: Tx, row: Any, step: ApplicationStatus) -> int:
    """The public notice's days if the rule set in force in the application's district posts
    it after ``step`` (0: no notice there)."""
    rs = await ruleset_for(tx.conn, district=row.district, on=business_date(tx.now))
    if rs is None or rs.public_notice_after != step.value:
        return 0
    return rs.public_notice_days


async def _after(tx: Tx, app_id: int) -> ApplicationStatus:
    """The step whose pass started the notice (the last step passed before it)."""
    e = application_events.c
    step = (
        await tx.conn.execute(
            select(e.step)
            .where(e.application_id == app_id, e.action == ApplicationAction.PASSED.value)
            .order_by(e.id.desc())
            .limit(1)
        )
    ).scalar_one()
    return ApplicationStatus(step)


async def start(tx: Tx, row: Any, days: int, *, actor: int) -> None:
    """Post the application from tomorrow for ``days`` days, and wait for the day after."""
    first = business_date(tx.now) + timedelta(days=1)
    last = first + timedelta(days=days - 1)
    values = {"step_received_on": first, "step_due_on": last, "step_due_provisional": False}
    await model.transition(tx, row, A.PUBLIC_NOTICE, actor=actor, values=values, due_on=last)
    await schedule(
        tx, NOTICE_TIMER, f"notice:{row.id}:{last.isoformat()}", overdue_at(last),
        {"application_id": row.id},
    )  # fmt: skip


async def _objected(tx: Tx, app_id: int) -> bool:
    e = application_events.c
    found = await tx.conn.execute(
        select(e.id).where(
            e.application_id == app_id,
            e.step == A.PUBLIC_NOTICE.value,
            e.action == ApplicationAction.OBJECTION.value,
        )
    )
    return found.first() is not None


async def on_notice_end(plat: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """The notice's days are over: without an objection, on to the district's step."""
    app_id = int(payload["application_id"])
    row = (await tx.conn.execute(select(applications).where(applications.c.id == app_id))).first()
    if row is None or row.status != A.PUBLIC_NOTICE.value or await _objected(tx, app_id):
        return  # decided already, or the street officer hears the objection
    await model.event(tx, app_id, A.PUBLIC_NOTICE, ApplicationAction.NOTICE_ENDED, None)
    await steps.enter(tx, row, model.next_step(await _after(tx, app_id)), actor=None)


async def object_(plat: Platform, p: Principal, *, app_id: int, body: ObjectionIn) -> Any:
    """Record an objection raised during the notice (the station's operator or the street)."""
    if p.role not in (Role.OPERATOR, Role.STREET_OFFICER, Role.ADMIN):
        raise ApiError(403, "forbidden", "your role may not record an objection")
    async with plat.tx() as tx:
        row = await steps.visible_row(tx, p, app_id)
        if row.status != A.PUBLIC_NOTICE.value:
            raise ApiError(409, "application.not_in_public_notice", "no public notice is running")
        await model.event(
            tx, app_id, A.PUBLIC_NOTICE, ApplicationAction.OBJECTION, p.user_id, note=body.note
        )
        await audit(
            tx, actor=p.user_id, action="objection", object_type="application", object_id=app_id
        )
        return await steps.answer(tx, app_id)


async def decide(tx: Tx, p: Principal, row: Any, body: DecisionIn) -> None:
    """The step that posted the notice hears an objection: refused (upheld), or on to the
    next step (dismissed)."""
    after = await _after(tx, row.id)
    if p.role is not Role.ADMIN and p.role is not steps.STEP_ROLES[after]:
        raise ApiError(
            403,
            "application.wrong_level",
            "an objection is heard by the step that posted the notice",
        )
    if body.decision == "refuse":
        values = {"decided_at": tx.now, "refusal_reason": body.reason}
        await model.transition(tx, row, A.REFUSED, actor=p.user_id, note=body.reason, values=values)
        return
    if not await _objected(tx, row.id):
        raise ApiError(409, "application.in_public_notice", "the public notice is running")
    await model.event(tx, row.id, A.PUBLIC_NOTICE, ApplicationAction.PASSED, p.user_id,
                      note=body.reason)  # fmt: skip
    await steps.enter(tx, row, model.next_step(after), actor=p.user_id)


# ----- the printable notices ----------------------------------------------------------------


async def _facts(tx: Tx, row: Any) -> pages.Facts:
    st = (await tx.conn.execute(select(stations).where(stations.c.id == row.station_id))).one()
    name = (
        await tx.conn.execute(select(elders.c.name).where(elders.c.id == row.elder_id))
    ).scalar_one()
    rs = await ruleset_for(tx.conn, district=row.district, on=business_date(row.submitted_at))
    rule = rs.rule(row.rule_id).label if rs is not None else row.rule_id
    e = application_events.c
    posted = (
        await tx.conn.execute(
            select(e.at, e.due_on).where(
                e.application_id == row.id, e.step == A.PUBLIC_NOTICE.value,
                e.action == ApplicationAction.RECEIVED.value,
            )
        )
    ).first()  # fmt: skip
    reached = (
        await tx.conn.execute(
            select(e.step)
            .where(e.application_id == row.id, e.action == ApplicationAction.RECEIVED.value)
            .order_by(e.id)
        )
    ).scalars()
    first: date | None = None
    if posted is not None:
        first = business_date(posted.at) + timedelta(days=1)
    return pages.Facts(
        app_id=row.id, name=name, station=st.name, street=st.street, district=row.district,
        rule=rule, submitted=business_date(row.submitted_at), status=row.status,
        notice_first=first, notice_last=posted.due_on if posted is not None else None,
        decided=business_date(row.decided_at) if row.decided_at is not None else None,
        reason=row.refusal_reason or "", steps=tuple(dict.fromkeys(reached)),
    )  # fmt: skip


async def printable(plat: Platform, p: Principal, *, app_id: int) -> str:
    """The 公示 while it runs, the decision once decided; 409 while under review."""
    async with plat.tx() as tx:
        row = await steps.visible_row(tx, p, app_id)
        if row.status not in (A.PUBLIC_NOTICE.value, *(s.value for s in model.DECIDED)):
            raise ApiError(409, "application.no_notice", "no notice or decision yet")
        facts = await _facts(tx, row)
    if row.status == A.PUBLIC_NOTICE.value:
        return pages.public_notice(facts)
    return pages.decision(facts)
