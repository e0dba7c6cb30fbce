"""Subsidy applications (申请与审批): three review steps with working-day deadlines, documents,
a written reason for refusals, a history row and an audit row for every step, and the overdue
timer. The statuses and their moves are in server/welfare/model.py."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from sqlalchemy import insert, select
from sqlalchemy.sql.elements import ColumnElement

from schemas.welfare import (
    ApplicationAction,
    ApplicationIn,
    ApplicationOut,
    ApplicationOverdue,
    ApplicationStatus,
    DecisionIn,
    DocumentStoredOut,
)
from server.auth.principal import Principal, Role
from server.errors import ApiError, not_found
from server.incidents.notify import to_operators
from server.platform import Platform, Tx, audit
from server.registry.guards import elder_for, station_scope
from server.welfare import model, out
from server.welfare.flows import notice
from server.welfare.flows.calendars import calendar_for, schedule_overdue
from server.welfare.flows.officers import OFFICERS, in_scope
from server.welfare.flows.rulesets import district_of, ruleset_for
from server.welfare.out import DOC_TYPES
from server.welfare.rules import STEP_DAYS
from server.welfare.tables import application_documents, application_events, applications
from server.welfare.workdays import ReviewStep, business_date, step_due

DOC_KINDS: Final = (
    "id_card",
    "hukou_book",
    "dibao_cert",
    "hospital_cert",
    "disability_cert",
    "other",
)
MAX_DOC_BYTES: Final = 2 * 1024 * 1024
MAGIC: Final = {
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "application/pdf": b"%PDF-",
}
_SAFE_NAME = re.compile(r"[^\w.\-\u4e00-\u9fff]+")

STEP_ROLES: Final = {  # admins may decide any step
    ApplicationStatus.COMMUNITY: Role.OPERATOR,
    ApplicationStatus.STREET: Role.STREET_OFFICER,
    ApplicationStatus.DISTRICT: Role.DISTRICT_OFFICER,
}
QUEUES: Final = {  # the steps an officer's review queue shows
    # the street also hears objections raised during a public notice
    Role.STREET_OFFICER: [ApplicationStatus.STREET.value, ApplicationStatus.PUBLIC_NOTICE.value],
    Role.DISTRICT_OFFICER: [ApplicationStatus.DISTRICT.value],
}


# ----- reading ----------------------------------------------------------------------------------


async def visible_row(tx: Tx, p: Principal, app_id: int) -> Any:
    """The application if the caller may see it (the elder's side, the station, an officer of
    its street or district, an admin); 404 otherwise."""
    row = (await tx.conn.execute(select(applications).where(applications.c.id == app_id))).first()
    if row is None:
        raise not_found("application")
    if p.role in OFFICERS:
        if not await in_scope(tx.conn, p, station_id=row.station_id):
            raise not_found("application")
    elif p.role is not Role.ADMIN:
        await elder_for(tx.conn, p, row.elder_id)
    return row


async def answer(tx: Tx, app_id: int) -> ApplicationOut:
    """The application as it now stands, with its history and documents."""
    row = (await tx.conn.execute(select(applications).where(applications.c.id == app_id))).one()
    mine: ColumnElement[bool] = application_events.c.application_id == app_id
    history = (
        await tx.conn.execute(
            select(application_events).where(mine).order_by(application_events.c.id)
        )
    ).all()
    d = application_documents.c
    docs = (
        await tx.conn.execute(
            select(d.id, d.kind, d.filename, d.content_type, d.size, d.sha256).where(
                d.application_id == app_id
            )
        )
    ).all()
    return out.application(row, history, docs, today=business_date(tx.now))


async def get(plat: Platform, p: Principal, *, app_id: int) -> ApplicationOut:
    """One application, for whoever may see it."""
    async with plat.tx() as tx:
        await visible_row(tx, p, app_id)
        return await answer(tx, app_id)


async def listing(
    plat: Platform, p: Principal, *, station_id: int, overdue_only: bool
) -> list[ApplicationOut]:
    """A station's applications (``overdue_only``: those past their step's due day)."""
    station_scope(p, station_id)
    async with plat.tx() as tx:
        ids = (
            await tx.conn.execute(
                select(applications.c.id)
                .where(applications.c.station_id == station_id)
                .order_by(applications.c.id)
            )
        ).scalars()
        found = [await answer(tx, i) for i in ids.all()]
    return [a for a in found if a.overdue or not overdue_only]


async def review_queue(plat: Platform, p: Principal, *, overdue_only: bool) -> list[ApplicationOut]:
    """A street or district officer's applications waiting at their step, in their scope (an
    admin sees every application at the street and district steps)."""
    steps = QUEUES.get(p.role, [*QUEUES[Role.STREET_OFFICER], *QUEUES[Role.DISTRICT_OFFICER]])
    async with plat.tx() as tx:
        rows = (
            await tx.conn.execute(
                select(applications.c.id, applications.c.station_id)
                .where(applications.c.status.in_(steps))
                .order_by(applications.c.step_due_on, applications.c.id)
            )
        ).all()
        found = [
            await answer(tx, r.id)
            for r in rows
            if p.role is Role.ADMIN or await in_scope(tx.conn, p, station_id=r.station_id)
        ]
    return [a for a in found if a.overdue or not overdue_only]


# ----- the steps --------------------------------------------------------------------------------


async def _due(tx: Tx, step: ApplicationStatus, *, station_id: int) -> tuple[date, date, bool]:
    """A step entered today: today, its due day (in the working days the district's rule set
    allows the step), and whether that leans on the fallback calendar (never refused: an
    unpublished year is provisional)."""
    today = business_date(tx.now)
    cal = await calendar_for(tx.conn)
    rs = await ruleset_for(
        tx.conn, district=await district_of(tx.conn, station_id=station_id), on=today
    )
    limits = {
        s: (rs.step_working_days if rs is not None else STEP_DAYS)[s.value] for s in ReviewStep
    }
    due = step_due(ReviewStep(step.value), today, cal, limits)
    return today, due, cal.provisional(today, due)


async def submit(
    plat: Platform, p: Principal, *, elder_id: int, body: ApplicationIn
) -> ApplicationOut:
    """Apply for a rule of the district's rule set; it starts at the community step."""
    async with plat.tx() as tx:
        elder = await elder_for(tx.conn, p, elder_id)
        district = await district_of(tx.conn, station_id=elder.station_id)
        rs = await ruleset_for(tx.conn, district=district, on=business_date(tx.now))
        if rs is None or body.rule_id not in {r.rule_id for r in rs.rules}:
            raise ApiError(
                422, "application.unknown_rule", "no such rule in this district", field="rule_id"
            )
        if rs.rule(body.rule_id).automatic:
            message = out.both("welfare.problem.application_not_needed")
            raise ApiError(409, "application.not_needed", message)
        today, due, provisional = await _due(
            tx, ApplicationStatus.COMMUNITY, station_id=elder.station_id
        )
        values = {
            "station_id": elder.station_id,
            "elder_id": elder_id,
            "district": district,
            "rule_id": body.rule_id,
            "submitted_by": p.user_id,
            "submitted_at": tx.now,
            "note": body.note,
        }
        app_id = await model.open_application(
            tx,
            values,
            actor=p.user_id,
            note=body.note,
            received=today,
            due=due,
            provisional=provisional,
        )
        await schedule_overdue(tx, app_id, ApplicationStatus.COMMUNITY.value, due)
        await audit(
            tx, actor=p.user_id, action="apply", object_type="application", object_id=app_id
        )
        return await answer(tx, app_id)


def _check_decider(p: Principal, step: ApplicationStatus) -> None:
    """Each step is decided by its own role (admins decide any)."""
    if p.role is not Role.ADMIN and STEP_ROLES[step] is not p.role:
        who = STEP_ROLES[step].value.replace("_", " ")
        raise ApiError(403, "application.wrong_level", f"this step is decided by the {who}")


async def decide(plat: Platform, p: Principal, *, app_id: int, body: DecisionIn) -> ApplicationOut:
    """Pass the current step (on to the next, or approved) or refuse it with a written reason."""
    async with plat.tx() as tx:
        row = await visible_row(tx, p, app_id)
        step = ApplicationStatus(row.status)
        if step is ApplicationStatus.PUBLIC_NOTICE:
            await notice.decide(tx, p, row, body)
        elif row.status not in model.OPEN_STATES:
            raise ApiError(409, "application.closed", "the application is already decided")
        else:
            await _decide_step(tx, p, row, step, body)
        await audit(
            tx,
            actor=p.user_id,
            action=f"application_{body.decision}",
            object_type="application",
            object_id=app_id,
            detail={"step": step.value},
        )
        return await answer(tx, app_id)


async def _decide_step(
    tx: Tx, p: Principal, row: Any, step: ApplicationStatus, body: DecisionIn
) -> None:
    """A review step decided by its own role: refused, approved (the district), posted for
    the public notice (the street, where the rule set has one), or on to the next step."""
    _check_decider(p, step)
    if body.decision == "refuse":
        values = {"decided_at": tx.now, "refusal_reason": body.reason}
        await model.transition(
            tx, row, ApplicationStatus.REFUSED, actor=p.user_id, note=body.reason, values=values
        )
    elif step is ApplicationStatus.DISTRICT:
        values = {"decided_at": tx.now}
        await model.transition(
            tx,
            row,
            ApplicationStatus.APPROVED,
            actor=p.user_id,
            note=body.reason,
            values=values,
        )
    else:
        await model.event(tx, row.id, step, ApplicationAction.PASSED, p.user_id, note=body.reason)
        days = await notice.notice_days(tx, row, step)
        if days:
            await notice.start(tx, row, days, actor=p.user_id)
        else:
            await enter(tx, row, model.next_step(step), actor=p.user_id)


async def enter(tx: Tx, row: Any, step: ApplicationStatus, *, actor: int | None) -> None:
    """Move on to the next step: received today, due in its working days, with its timer."""
    today, due, provisional = await _due(tx, step, station_id=row.station_id)
    values = {"step_received_on": today, "step_due_on": due, "step_due_provisional": provisional}
    await model.transition(tx, row, step, actor=actor, values=values, due_on=due)
    await schedule_overdue(tx, row.id, step.value, due)


async def on_overdue(plat: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """A step's due day has passed: flag it in the application's history, alert operators."""
    app_id, step = int(payload["application_id"]), payload["step"]
    row = (await tx.conn.execute(select(applications).where(applications.c.id == app_id))).first()
    if row is None or row.status != step:
        return  # decided in time
    if "due_on" in payload and str(row.step_due_on) != payload["due_on"]:
        return  # the due day was recomputed; that day's own timer decides
    # the note is worded from the row: the due day it passed
    await model.event(tx, app_id, step, ApplicationAction.OVERDUE, None, due_on=row.step_due_on)
    await audit(
        tx,
        actor=None,
        action="application_overdue",
        object_type="application",
        object_id=app_id,
        detail={"step": step, "due_on": str(row.step_due_on)},
    )
    msg = ApplicationOverdue(
        station_id=row.station_id, application_id=app_id, step=step, due_on=row.step_due_on
    )
    await to_operators(tx, msg)


# ----- documents --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """One document as uploaded, checked: its kind, type, cleaned name and bytes."""

    kind: str
    content_type: str
    filename: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def read_upload(kind: str, content_type: str, data: bytes, filename: str | None) -> Upload:
    """Check an upload (kind, JPEG/PNG/PDF by its magic bytes, 1 byte to 2 MB) and clean its
    file name (None: none given, named after its kind)."""
    if kind not in DOC_KINDS:
        raise ApiError(422, "document.bad_kind", f"kind must be one of {', '.join(DOC_KINDS)}")
    if content_type not in DOC_TYPES:
        raise ApiError(415, "document.bad_type", "only JPEG, PNG or PDF documents")
    if not data or len(data) > MAX_DOC_BYTES:
        raise ApiError(413 if data else 400, "document.bad_size", "documents are 1 byte to 2 MB")
    if not data.startswith(MAGIC[content_type]):
        raise ApiError(415, "document.bad_content", "the content does not match its type")
    default = f"{kind}{DOC_TYPES[content_type]}"
    name = _SAFE_NAME.sub("_", default if filename is None else filename)[:100]
    return Upload(kind, content_type, name, data)


async def add_document(
    plat: Platform, p: Principal, *, app_id: int, doc: Upload
) -> DocumentStoredOut:
    """Keep a document with an application still under review (history and audit rows)."""
    digest = doc.sha256
    async with plat.tx() as tx:
        row = await visible_row(tx, p, app_id)
        if row.status in model.DECIDED:
            raise ApiError(409, "application.closed", "the application is already decided")
        doc_id = (
            await tx.conn.execute(
                insert(application_documents)
                .values(
                    application_id=app_id,
                    kind=doc.kind,
                    filename=doc.filename or "document",
                    content_type=doc.content_type,
                    size=len(doc.data),
                    sha256=digest,
                    content=doc.data,
                    uploaded_by=p.user_id,
                    uploaded_at=tx.now,
                )
                .returning(application_documents.c.id)
            )
        ).scalar_one()
        note = f"{doc.kind}: {doc.filename} ({len(doc.data)} B, sha256 {digest[:12]})"
        await model.event(tx, app_id, row.status, ApplicationAction.DOCUMENT, p.user_id, note=note)
        await audit(
            tx,
            actor=p.user_id,
            action="upload",
            object_type="application_document",
            object_id=doc_id,
            detail={"application_id": app_id, "sha256": digest},
        )
    return DocumentStoredOut(
        id=doc_id, kind=doc.kind, filename=doc.filename, size=len(doc.data), sha256=digest
    )


async def document(plat: Platform, p: Principal, *, app_id: int, doc_id: int) -> Any:
    """An uploaded document, for staff and reviewers; every read is audited."""
    async with plat.tx() as tx:
        await visible_row(tx, p, app_id)
        doc = (
            await tx.conn.execute(
                select(application_documents).where(
                    application_documents.c.id == doc_id,
                    application_documents.c.application_id == app_id,
                )
            )
        ).first()
        if doc is None:
            raise not_found("document")
        await audit(
            tx,
            actor=p.user_id,
            action="read",
            object_type="application_document",
            object_id=doc_id,
            detail={"application_id": app_id},
        )
    return doc
