"""Subsidy applications (申请与审批): three review steps with working-day deadlines, documents,
a written reason for refusals, an audit row for every step, and the overdue timer."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from typing import Any

from aiohttp import web
from sqlalchemy import insert, select, update

from schemas.welfare import (
    ApplicationIn,
    DecisionIn,
)
from server.auth.principal import Principal, Role
from server.errors import ApiError, not_found
from server.http import int_param, ok, parse, platform, require
from server.incidents.notify import to_operators
from server.platform import Platform, Tx, audit
from server.registry.guards import elder_for, station_scope
from server.welfare import service
from server.welfare.calendars import calendar_for, schedule_overdue
from server.welfare.flows import WATCHERS
from server.welfare.officers import OFFICERS, in_scope
from server.welfare.tables import (
    application_documents,
    application_events,
    applications,
)
from server.welfare.workdays import (
    STEP_ORDER,
    ReviewStep,
    business_date,
    is_overdue,
    step_due,
)

DOC_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}
DOC_KINDS = ("id_card", "hukou_book", "dibao_cert", "hospital_cert", "disability_cert", "other")
MAX_DOC_BYTES = 2 * 1024 * 1024

# ----- applications -----------------------------------------------------------------------


async def _enter_step(tx: Tx, app_id: int, step: ReviewStep, actor: int | None, note: str) -> date:
    today = business_date(tx.now)
    cal = await calendar_for(tx.conn)
    due = step_due(step, today, cal)  # never refused: an unpublished year is provisional
    provisional = cal.provisional(today, due)
    await tx.conn.execute(
        update(applications)
        .where(applications.c.id == app_id)
        .values(
            status=step.value,
            step_received_on=today,
            step_due_on=due,
            step_due_provisional=provisional,
        )
    )
    await tx.conn.execute(
        insert(application_events).values(
            application_id=app_id,
            at=tx.now,
            actor_user_id=actor,
            step=step.value,
            action="received",
            note=note,
            due_on=due,
        )
    )
    await schedule_overdue(tx, app_id, step.value, due)
    return due


async def submit_application(request: web.Request) -> web.Response:
    p = require(request, *WATCHERS)
    eid = int_param(request, "elder_id")
    body = await parse(request, ApplicationIn)
    async with platform(request).tx() as tx:
        elder = await elder_for(tx.conn, p, eid)
        district = await service.district_of(tx.conn, station_id=elder.station_id)
        rs = await service.ruleset_for(tx.conn, district=district, on=business_date(tx.now))
        if rs is None or body.rule_id not in {r.rule_id for r in rs.rules}:
            raise ApiError(
                422, "application.unknown_rule", "no such rule in this district", field="rule_id"
            )
        if rs.rule(body.rule_id).automatic:
            raise ApiError(
                409,
                "application.not_needed",
                "无需申请，平台按年龄自动认定 / granted automatically, no application",
            )
        aid = (
            await tx.conn.execute(
                insert(applications)
                .values(
                    station_id=elder.station_id,
                    elder_id=eid,
                    district=district,
                    rule_id=body.rule_id,
                    status="community",
                    submitted_by=p.user_id,
                    submitted_at=tx.now,
                    note=body.note,
                )
                .returning(applications.c.id)
            )
        ).scalar_one()
        await _enter_step(tx, aid, ReviewStep.COMMUNITY, p.user_id, body.note)
        await audit(tx, actor=p.user_id, action="apply", object_type="application", object_id=aid)
        out = await _application_out(tx, aid)
    return ok(out, 201)


async def _application_row(tx: Tx, p: Principal, aid: int) -> Any:
    """The application if the caller may see it (the elder's side, the station, an officer of
    its street or district, an admin); 404 otherwise."""
    row = (await tx.conn.execute(select(applications).where(applications.c.id == aid))).first()
    if row is None:
        raise not_found("application")
    if p.role in OFFICERS:
        if not await in_scope(tx.conn, p, station_id=row.station_id):
            raise not_found("application")
    elif p.role is not Role.ADMIN:
        await elder_for(tx.conn, p, row.elder_id)
    return row


async def _application_out(tx: Tx, aid: int) -> dict[str, Any]:
    row = (await tx.conn.execute(select(applications).where(applications.c.id == aid))).one()
    events = (
        await tx.conn.execute(
            select(application_events)
            .where(application_events.c.application_id == aid)
            .order_by(application_events.c.id)
        )
    ).all()
    docs = (
        await tx.conn.execute(
            select(
                application_documents.c.id,
                application_documents.c.kind,
                application_documents.c.filename,
                application_documents.c.content_type,
                application_documents.c.size,
                application_documents.c.sha256,
            ).where(application_documents.c.application_id == aid)
        )
    ).all()
    today = business_date(tx.now)
    open_step = row.status in {s.value for s in STEP_ORDER}
    return {
        "id": row.id,
        "elder_id": row.elder_id,
        "district": row.district,
        "rule_id": row.rule_id,
        "status": row.status,
        "step_received_on": row.step_received_on.isoformat() if row.step_received_on else None,
        "step_due_on": row.step_due_on.isoformat() if row.step_due_on else None,
        "provisional": bool(row.step_due_provisional),
        "overdue": bool(open_step and row.step_due_on and is_overdue(row.step_due_on, today)),
        "refusal_reason": row.refusal_reason,
        "events": [
            {
                "at": e.at.isoformat(),
                "step": e.step,
                "action": e.action,
                "note": e.note,
                "actor_user_id": e.actor_user_id,
                "due_on": e.due_on.isoformat() if e.due_on else None,
            }
            for e in events
        ],
        "documents": [dict(d._mapping) for d in docs],
    }


async def get_application(request: web.Request) -> web.Response:
    p = require(request, *WATCHERS, *OFFICERS)
    aid = int_param(request, "application_id")
    async with platform(request).tx() as tx:
        await _application_row(tx, p, aid)
        out = await _application_out(tx, aid)
    return ok(out)


_SAFE_NAME = re.compile(r"[^\w.\-\u4e00-\u9fff]+")


async def upload_document(request: web.Request) -> web.Response:
    """Upload one document as the raw body; kind and filename in the query."""
    p = require(request, *WATCHERS)
    aid = int_param(request, "application_id")
    kind = request.query.get("kind", "other")
    if kind not in DOC_KINDS:
        raise ApiError(422, "document.bad_kind", f"kind must be one of {', '.join(DOC_KINDS)}")
    ctype = request.content_type
    if ctype not in DOC_TYPES:
        raise ApiError(415, "document.bad_type", "only JPEG, PNG or PDF documents")
    data = await request.read()
    if not data or len(data) > MAX_DOC_BYTES:
        raise ApiError(413 if data else 400, "document.bad_size", "documents are 1 byte to 2 MB")
    if not _magic_ok(ctype, data):
        raise ApiError(415, "document.bad_content", "the content does not match its type")
    name = _SAFE_NAME.sub("_", request.query.get("filename", f"{kind}{DOC_TYPES[ctype]}"))[:100]
    digest = hashlib.sha256(data).hexdigest()
    async with platform(request).tx() as tx:
        row = await _application_row(tx, p, aid)
        if row.status in ("approved", "refused"):
            raise ApiError(409, "application.closed", "the application is already decided")
        did = (
            await tx.conn.execute(
                insert(application_documents)
                .values(
                    application_id=aid,
                    kind=kind,
                    filename=name or "document",
                    content_type=ctype,
                    size=len(data),
                    sha256=digest,
                    content=data,
                    uploaded_by=p.user_id,
                    uploaded_at=tx.now,
                )
                .returning(application_documents.c.id)
            )
        ).scalar_one()
        await tx.conn.execute(
            insert(application_events).values(
                application_id=aid,
                at=tx.now,
                actor_user_id=p.user_id,
                step=row.status,
                action="document",
                note=f"{kind}: {name} ({len(data)} B, sha256 {digest[:12]})",
            )
        )
        await audit(
            tx,
            actor=p.user_id,
            action="upload",
            object_type="application_document",
            object_id=did,
            detail={"application_id": aid, "sha256": digest},
        )
    return ok({"id": did, "kind": kind, "filename": name, "size": len(data), "sha256": digest}, 201)


async def download_document(request: web.Request) -> web.Response:
    """Staff and reviewers read an uploaded document; every read is audited."""
    p = require(request, Role.OPERATOR, *OFFICERS)
    aid = int_param(request, "application_id")
    did = int_param(request, "document_id")
    async with platform(request).tx() as tx:
        await _application_row(tx, p, aid)
        doc = (
            await tx.conn.execute(
                select(application_documents).where(
                    application_documents.c.id == did, application_documents.c.application_id == aid
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
            object_id=did,
            detail={"application_id": aid},
        )
    return web.Response(
        body=doc.content,
        content_type=doc.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="document-{did}{DOC_TYPES[doc.content_type]}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


def _magic_ok(ctype: str, data: bytes) -> bool:
    magic = {
        "image/jpeg": b"\xff\xd8\xff",
        "image/png": b"\x89PNG\r\n\x1a\n",
        "application/pdf": b"%PDF-",
    }
    return data.startswith(magic[ctype])


STEP_ROLES = {  # admins may decide any step
    ReviewStep.COMMUNITY: Role.OPERATOR,
    ReviewStep.STREET: Role.STREET_OFFICER,
    ReviewStep.DISTRICT: Role.DISTRICT_OFFICER,
}


async def decide(request: web.Request) -> web.Response:
    """Pass the current step (on to the next, or approved) or refuse it with a written reason."""
    p = require(request, Role.OPERATOR, *OFFICERS)
    aid = int_param(request, "application_id")
    body = await parse(request, DecisionIn)
    async with platform(request).tx() as tx:
        row = await _application_row(tx, p, aid)
        if row.status not in {s.value for s in STEP_ORDER}:
            raise ApiError(409, "application.closed", "the application is already decided")
        step = ReviewStep(row.status)
        if p.role is not Role.ADMIN and STEP_ROLES[step] is not p.role:
            raise ApiError(
                403,
                "application.wrong_level",
                f"this step is decided by the {STEP_ROLES[step].value.replace('_', ' ')}",
            )
        await tx.conn.execute(
            insert(application_events).values(
                application_id=aid,
                at=tx.now,
                actor_user_id=p.user_id,
                step=step.value,
                action="passed" if body.decision == "pass" else "refused",
                note=body.reason,
            )
        )
        if body.decision == "refuse":
            await tx.conn.execute(
                update(applications)
                .where(applications.c.id == aid)
                .values(status="refused", decided_at=tx.now, refusal_reason=body.reason)
            )
        elif step is ReviewStep.DISTRICT:
            await tx.conn.execute(
                update(applications)
                .where(applications.c.id == aid)
                .values(status="approved", decided_at=tx.now)
            )
        else:
            await _enter_step(tx, aid, STEP_ORDER[STEP_ORDER.index(step) + 1], p.user_id, "")
        await audit(
            tx,
            actor=p.user_id,
            action=f"application_{body.decision}",
            object_type="application",
            object_id=aid,
            detail={"step": step.value},
        )
        out = await _application_out(tx, aid)
    return ok(out)


async def list_applications(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    overdue_only = request.query.get("overdue") in ("1", "true")
    async with platform(request).tx() as tx:
        ids = (
            (
                await tx.conn.execute(
                    select(applications.c.id)
                    .where(applications.c.station_id == sid)
                    .order_by(applications.c.id)
                )
            )
            .scalars()
            .all()
        )
        out = [await _application_out(tx, i) for i in ids]
    return ok([a for a in out if a["overdue"] or not overdue_only])


async def review_queue(request: web.Request) -> web.Response:
    """A street or district officer's applications waiting at their step, in their scope (an
    admin sees every application at the street and district steps); `?overdue=1` filters."""
    p = require(request, *OFFICERS)
    overdue_only = request.query.get("overdue") in ("1", "true")
    steps = {
        Role.STREET_OFFICER: ["street"],
        Role.DISTRICT_OFFICER: ["district"],
    }.get(p.role, ["street", "district"])
    async with platform(request).tx() as tx:
        rows = (
            await tx.conn.execute(
                select(applications.c.id, applications.c.station_id)
                .where(applications.c.status.in_(steps))
                .order_by(applications.c.step_due_on, applications.c.id)
            )
        ).all()
        out = [
            await _application_out(tx, r.id)
            for r in rows
            if p.role is Role.ADMIN or await in_scope(tx.conn, p, station_id=r.station_id)
        ]
    return ok([a for a in out if a["overdue"] or not overdue_only])


async def on_application_overdue(plat: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """A step's due day has passed: flag it in the application's history, alert operators."""
    aid, step = int(payload["application_id"]), payload["step"]
    row = (await tx.conn.execute(select(applications).where(applications.c.id == aid))).first()
    if row is None or row.status != step:
        return  # decided in time
    if "due_on" in payload and str(row.step_due_on) != payload["due_on"]:
        return  # the due day was recomputed; that day's own timer decides
    await tx.conn.execute(
        insert(application_events).values(
            application_id=aid,
            at=tx.now,
            actor_user_id=None,
            step=step,
            action="overdue",
            note=f"逾期未办结 / overdue since {row.step_due_on}",
            due_on=row.step_due_on,
        )
    )
    await audit(
        tx,
        actor=None,
        action="application_overdue",
        object_type="application",
        object_id=aid,
        detail={"step": step, "due_on": str(row.step_due_on)},
    )
    await to_operators(
        tx,
        row.station_id,
        "welfare.application_overdue",
        {"application_id": aid, "step": step, "due_on": str(row.step_due_on)},
    )
