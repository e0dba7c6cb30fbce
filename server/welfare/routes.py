"""Welfare endpoints: rule sets, eligibility, applications with working-day deadlines, service
records (review, confirmation, reversal), the ledger, period closes, statements, fraud signals."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from schemas.welfare import (
    ApplicationIn,
    CloseIn,
    DecisionIn,
    EligibilityOut,
    ReverseIn,
    ReviewIn,
    StayIn,
    WelfareProfileIn,
)
from server.auth.principal import Principal, Role
from server.errors import ApiError, not_found
from server.http import int_param, ok, parse, platform, require
from server.incidents.notify import to_operators
from server.platform import Platform, Tx, audit, schedule
from server.registry.guards import elder_for, station_scope
from server.store.tables import elders
from server.welfare import ledger, service
from server.welfare.flows import (
    as_record,
    check_review,
    door_code,
    on_period_close,
    record_out,
)
from server.welfare.fraud import Stay, all_signals
from server.welfare.rules import PACKAGED, RuleError, load_packaged, parse_ruleset
from server.welfare.statements import (
    district_summary,
    elder_month_book,
    provider_quarter,
    to_csv,
    to_xlsx,
)
from server.welfare.tables import (
    application_documents,
    application_events,
    applications,
    hospital_stays,
    ledger_entries,
    quota_accounts,
    service_records,
    welfare_profiles,
    welfare_rulesets,
)
from server.welfare.workdays import (
    OFFICIAL,
    SHANGHAI,
    STEP_ORDER,
    CalendarNotCovered,
    ReviewStep,
    business_date,
    is_overdue,
    step_due,
)

WATCHERS = (Role.ELDER, Role.FAMILY, Role.OPERATOR)
DOC_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}
DOC_KINDS = ("id_card", "hukou_book", "dibao_cert", "hospital_cert", "disability_cert", "other")
MAX_DOC_BYTES = 2 * 1024 * 1024


# ----- rule sets and eligibility -----------------------------------------------------------


async def list_rulesets(request: web.Request) -> web.Response:
    require(request, Role.OPERATOR)
    async with platform(request).store.read() as conn:
        rows = (
            await conn.execute(
                select(welfare_rulesets).order_by(
                    welfare_rulesets.c.district, welfare_rulesets.c.version
                )
            )
        ).all()
    stored = [
        {
            "district": r.district,
            "version": r.version,
            "effective_from": r.effective_from.isoformat(),
            "source": "stored",
        }
        for r in rows
    ]
    packaged = [
        {
            "district": rs.district,
            "version": rs.version,
            "effective_from": rs.effective_from.isoformat(),
            "source": "packaged",
            "name": name,
        }
        for name, rs in ((n, load_packaged(n)) for n in PACKAGED)
    ]
    return ok(stored + packaged)


async def create_ruleset(request: web.Request) -> web.Response:
    """District staff (admin) publish a new version of a district's rules, as JSON."""
    p = require(request, Role.ADMIN)
    try:
        raw = json.loads(await request.read())
        rs = parse_ruleset(raw)
    except (ValueError, RuleError, TypeError, AttributeError) as exc:
        raise ApiError(422, "ruleset.invalid", f"rule set is not valid: {exc}") from exc
    try:
        async with platform(request).tx() as tx:
            await tx.conn.execute(
                insert(welfare_rulesets).values(
                    district=rs.district,
                    version=rs.version,
                    effective_from=rs.effective_from,
                    body=raw,
                    created_at=tx.now,
                    created_by=p.user_id,
                )
            )
            await audit(
                tx,
                actor=p.user_id,
                action="publish_ruleset",
                object_type="ruleset",
                object_id=f"{rs.district}:v{rs.version}",
            )
    except IntegrityError as exc:
        raise ApiError(409, "ruleset.version_exists", "this version already exists") from exc
    return ok(
        {
            "district": rs.district,
            "version": rs.version,
            "effective_from": rs.effective_from.isoformat(),
            "rules": len(rs.rules),
        },
        201,
    )


async def put_profile(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    eid = int_param(request, "elder_id")
    body = await parse(request, WelfareProfileIn)
    values = {**body.model_dump()}
    async with platform(request).tx() as tx:
        await elder_for(tx.conn, p, eid)
        exists = (
            await tx.conn.execute(
                select(welfare_profiles.c.elder_id).where(welfare_profiles.c.elder_id == eid)
            )
        ).first()
        if exists is None:
            await tx.conn.execute(
                insert(welfare_profiles).values(elder_id=eid, **values, updated_at=tx.now)
            )
        else:
            await tx.conn.execute(
                update(welfare_profiles)
                .where(welfare_profiles.c.elder_id == eid)
                .values(**values, updated_at=tx.now)
            )
        await audit(
            tx,
            actor=p.user_id,
            action="update",
            object_type="welfare_profile",
            object_id=eid,
            detail={"fields": sorted(values)},
        )
    return ok({"elder_id": eid, **values})


async def get_eligibility(request: web.Request) -> web.Response:
    p = require(request, *WATCHERS)
    eid = int_param(request, "elder_id")
    async with platform(request).tx() as tx:
        elder = await elder_for(tx.conn, p, eid)
        elig, rs, left, _ = await service.quota_left(tx.conn, elder=elder, now=tx.now)
        district = await service.district_of(tx.conn, station_id=elder.station_id)
    if elig is None or rs is None:
        return ok(
            EligibilityOut(
                elder_id=eid,
                district=district,
                ruleset_version=None,
                funding_class="",
                funding="paid",
                monthly_quota_fen=0,
                quota_account=None,
                period=None,
                quota_left_fen=0,
                winning_rule=None,
                matched_rules=[],
                pending_application=[],
                reasons=["本区尚未配置补贴规则 / no rule set for this district"],
            )
        )
    return ok(
        EligibilityOut(
            elder_id=eid,
            district=district,
            ruleset_version=rs.version,
            funding_class=elig.funding_class,
            funding=elig.funding.value,
            monthly_quota_fen=elig.monthly_quota_fen,
            quota_account=ledger.quota_account(elig.quota_account)
            if elig.monthly_quota_fen
            else None,
            period=ledger.settlement_period(
                business_date(platform(request).clock.now()), rs.settlement
            ),
            quota_left_fen=left,
            winning_rule=elig.winning_rule,
            matched_rules=list(elig.matched_rules),
            pending_application=list(elig.pending_application),
            reasons=list(elig.reasons),
        )
    )


async def visit_code(request: web.Request) -> web.Response:
    """Today's code for the elder's phone: the caregiver types it in to prove the visit."""
    p = require(request, Role.ELDER, Role.FAMILY)
    eid = int_param(request, "elder_id")
    plat = platform(request)
    async with plat.store.read() as conn:
        await elder_for(conn, p, eid)
    day = business_date(plat.clock.now())
    return ok(
        {
            "elder_id": eid,
            "day": day.isoformat(),
            "code": door_code(plat.settings.jwt_secret, eid, day),
        }
    )


# ----- applications -----------------------------------------------------------------------


def _due_timer_at(due: date) -> datetime:
    """Overdue from the first instant after the due day (Asia/Shanghai)."""
    return datetime.combine(due + timedelta(days=1), time(0), SHANGHAI)


async def _enter_step(tx: Tx, app_id: int, step: ReviewStep, actor: int | None, note: str) -> date:
    today = business_date(tx.now)
    try:
        due = step_due(step, today, OFFICIAL)
    except CalendarNotCovered as exc:
        raise ApiError(409, "calendar.not_covered", str(exc)) from exc
    await tx.conn.execute(
        update(applications)
        .where(applications.c.id == app_id)
        .values(status=step.value, step_received_on=today, step_due_on=due)
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
    await schedule(
        tx,
        "welfare.application_overdue",
        f"application:{app_id}:{step.value}",
        _due_timer_at(due),
        {"application_id": app_id, "step": step.value},
    )
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
    row = (await tx.conn.execute(select(applications).where(applications.c.id == aid))).first()
    if row is None:
        raise not_found("application")
    if p.role is not Role.ADMIN:
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
    p = require(request, *WATCHERS)
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
    """Staff read an uploaded document; every read is audited."""
    p = require(request, Role.OPERATOR)
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


STEP_ROLES = {
    ReviewStep.COMMUNITY: Role.OPERATOR,
    ReviewStep.STREET: Role.ADMIN,
    ReviewStep.DISTRICT: Role.ADMIN,
}


async def decide(request: web.Request) -> web.Response:
    """Pass the current step (on to the next, or approved) or refuse it with a written reason."""
    p = require(request, Role.OPERATOR)
    aid = int_param(request, "application_id")
    body = await parse(request, DecisionIn)
    async with platform(request).tx() as tx:
        row = await _application_row(tx, p, aid)
        if row.status not in {s.value for s in STEP_ORDER}:
            raise ApiError(409, "application.closed", "the application is already decided")
        step = ReviewStep(row.status)
        if p.role is not Role.ADMIN and STEP_ROLES[step] is Role.ADMIN:
            raise ApiError(
                403,
                "application.wrong_level",
                "this step is decided by the street office or district bureau",
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


async def on_application_overdue(plat: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """A step's due day has passed: flag it in the application's history, alert operators."""
    aid, step = int(payload["application_id"]), payload["step"]
    row = (await tx.conn.execute(select(applications).where(applications.c.id == aid))).first()
    if row is None or row.status != step:
        return  # decided in time
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
    await to_operators(
        tx,
        row.station_id,
        "welfare.application_overdue",
        {"application_id": aid, "step": step, "due_on": str(row.step_due_on)},
    )


# ----- service records, ledger, closes ---------------------------------------------------


async def _record_row(tx: Tx, p: Principal, rid: int) -> Any:
    row = (
        await tx.conn.execute(select(service_records).where(service_records.c.id == rid))
    ).first()
    if row is None:
        raise not_found("service_record")
    await elder_for(tx.conn, p, row.elder_id)
    return row


async def list_records(request: web.Request) -> web.Response:
    p = require(request, *WATCHERS)
    eid = int_param(request, "elder_id")
    async with platform(request).store.read() as conn:
        await elder_for(conn, p, eid)
        rows = (
            await conn.execute(
                select(service_records)
                .where(service_records.c.elder_id == eid)
                .order_by(service_records.c.started_at)
            )
        ).all()
    return ok([record_out(r) for r in rows])


async def review_record(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    rid = int_param(request, "record_id")
    body = await parse(request, ReviewIn)
    async with platform(request).tx() as tx:
        row = await _record_row(tx, p, rid)
        check_review(row)
        await tx.conn.execute(
            update(service_records)
            .where(service_records.c.id == rid)
            .values(review=body.decision, reviewed_by=p.user_id, reviewed_at=tx.now)
        )
        await audit(
            tx,
            actor=p.user_id,
            action=f"review_{body.decision}",
            object_type="service_record",
            object_id=rid,
            detail={"note": body.note},
        )
        row = await _record_row(tx, p, rid)
    return ok(record_out(row))


async def confirm_record(request: web.Request) -> web.Response:
    """The elder (or bound family) confirms the visit happened."""
    p = require(request, Role.ELDER, Role.FAMILY)
    rid = int_param(request, "record_id")
    async with platform(request).tx() as tx:
        row = await _record_row(tx, p, rid)
        check_review(row)
        await tx.conn.execute(
            update(service_records).where(service_records.c.id == rid).values(elder_confirmed=True)
        )
        await audit(
            tx, actor=p.user_id, action="confirm", object_type="service_record", object_id=rid
        )
        row = await _record_row(tx, p, rid)
    return ok(record_out(row))


async def reverse_record(request: web.Request) -> web.Response:
    """A correction: reversing ledger entries, never an edit; the record is marked reversed."""
    p = require(request, Role.OPERATOR)
    rid = int_param(request, "record_id")
    body = await parse(request, ReverseIn)
    async with platform(request).tx() as tx:
        row = await _record_row(tx, p, rid)
        check_review(row)
        entries = await service.reverse_record(
            tx.conn,
            record_id=f"sr{rid}",
            account=row.quota_account,
            district=row.district,
            now=tx.now,
            memo=body.reason,
        )
        await tx.conn.execute(
            update(service_records).where(service_records.c.id == rid).values(reversed=True)
        )
        await audit(
            tx,
            actor=p.user_id,
            action="reverse",
            object_type="service_record",
            object_id=rid,
            detail={"reason": body.reason, "entries": len(entries)},
        )
        row = await _record_row(tx, p, rid)
    return ok(record_out(row))


def _entry_out(e: ledger.Entry) -> dict[str, Any]:
    return {
        "entry_id": e.entry_id,
        "account": e.account,
        "kind": e.kind.value,
        "amount_fen": e.amount_fen,
        "period": e.period,
        "at": e.at.isoformat(),
        "record_id": e.record_id,
        "reverses": e.reverses,
        "memo": e.memo,
    }


async def elder_ledger(request: web.Request) -> web.Response:
    p = require(request, *WATCHERS)
    eid = int_param(request, "elder_id")
    async with platform(request).tx() as tx:
        elder = await elder_for(tx.conn, p, eid)
        elig, rs, left, entries = await service.quota_left(tx.conn, elder=elder, now=tx.now)
        own = await service.entries_of(tx.conn, account=ledger.selfpay_account(str(eid)))
    accounts = sorted({e.account for e in entries + own})
    return ok(
        {
            "elder_id": eid,
            "quota_left_fen": left,
            "balances": {a: ledger.balance(entries + own, a) for a in accounts},
            "entries": [_entry_out(e) for e in entries + own],
        }
    )


async def close_period(request: web.Request) -> web.Response:
    """Close a settlement period for a district (district staff); idempotent."""
    p = require(request, Role.ADMIN)
    district = request.match_info["district"]
    body = await parse(request, CloseIn)
    async with platform(request).tx() as tx:
        closes = await service.close_accounts(
            tx.conn, district=district, period=body.period, now=tx.now
        )
        await audit(
            tx,
            actor=p.user_id,
            action="close_period",
            object_type="district",
            object_id=district,
            detail={"period": body.period, "accounts": len(closes)},
        )
    return ok(
        [
            {
                "account": c.account,
                "period": c.period,
                "granted_fen": c.granted_fen,
                "used_fen": c.used_fen,
                "expired_fen": c.expired_fen,
                "carried_fen": c.carried_fen,
                "next_advance_fen": c.next_advance_fen,
            }
            for c in closes
        ]
    )


async def add_stay(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    eid = int_param(request, "elder_id")
    body = await parse(request, StayIn)
    async with platform(request).tx() as tx:
        await elder_for(tx.conn, p, eid)
        sid = (
            await tx.conn.execute(
                insert(hospital_stays)
                .values(
                    elder_id=eid,
                    admitted_at=body.admitted_at,
                    discharged_at=body.discharged_at,
                    hospital=body.hospital,
                )
                .returning(hospital_stays.c.id)
            )
        ).scalar_one()
    return ok({"id": sid}, 201)


# ----- statements and fraud signals -------------------------------------------------------


def _download(sheets: Any, fmt: str, name: str) -> web.Response:
    if fmt == "csv":
        body, ctype = to_csv(sheets), "text/csv"
    else:
        body = to_xlsx(sheets)
        ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return web.Response(
        body=body,
        content_type=ctype,
        charset="utf-8" if fmt == "csv" else None,
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


async def _records(conn: Any, *where: Any) -> list[Any]:
    rows = (
        await conn.execute(
            select(service_records, elders.c.name.label("elder_name"))
            .join(elders, elders.c.id == service_records.c.elder_id)
            .where(*where)
        )
    ).all()
    return [as_record(r, r.elder_name) for r in rows]


def _quarter(request: web.Request) -> str:
    q = request.match_info["quarter"]
    if not re.fullmatch(r"\d{4}Q[1-4]", q):
        raise ApiError(404, "not_found", "quarters look like 2026Q4")
    return q


async def elder_statement(request: web.Request) -> web.Response:
    p = require(request, *WATCHERS)
    eid = int_param(request, "elder_id")
    month = request.match_info["month"]
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError as exc:
        raise ApiError(404, "not_found", "months look like 2026-11") from exc
    async with platform(request).store.read() as conn:
        await elder_for(conn, p, eid)
        records = await _records(conn, service_records.c.elder_id == eid)
    book = elder_month_book(records, elder_id=str(eid), month=first)
    return _download([book], request.match_info["fmt"], f"service-record-book-{eid}-{month}")


async def station_settlement(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    quarter = _quarter(request)
    async with platform(request).store.read() as conn:
        records = await _records(conn, service_records.c.station_id == sid)
    sheets = provider_quarter(records, provider_id=f"station-{sid}", quarter=quarter)
    return _download(sheets, request.match_info["fmt"], f"settlement-station-{sid}-{quarter}")


async def district_statement(request: web.Request) -> web.Response:
    require(request, Role.ADMIN)
    district = request.match_info["district"]
    quarter = _quarter(request)
    first, _ = ledger.period_bounds(quarter)
    async with platform(request).store.read() as conn:
        records = await _records(conn, service_records.c.district == district)
        rs = await service.ruleset_for(conn, district=district, on=first)
        accounts = (
            (
                await conn.execute(
                    select(quota_accounts.c.account).where(quota_accounts.c.district == district)
                )
            )
            .scalars()
            .all()
        )
        rows = (
            (
                await conn.execute(
                    select(ledger_entries).where(ledger_entries.c.account.in_(accounts))
                )
            ).all()
            if accounts
            else []
        )
    entries = [service.row_to_entry(r) for r in rows]
    periods = sorted(
        {
            e.period
            for e in entries
            if e.period == quarter
            or (
                "Q" not in e.period
                and ledger.quarter_label(ledger.period_bounds(e.period)[0]) == quarter
            )
        }
    )
    closes = (
        [
            ledger.summarise_period(account=a, period=per, policy=rs.quarter_close, entries=entries)
            for a in sorted(accounts)
            for per in periods
        ]
        if rs is not None
        else []
    )
    sheets = district_summary(records, closes, district=district, quarter=quarter)
    return _download(sheets, request.match_info["fmt"], f"district-summary-{quarter}")


async def fraud_signals(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    quarter = request.query.get("quarter") or ledger.quarter_label(
        business_date(platform(request).clock.now())
    )
    if not re.fullmatch(r"\d{4}Q[1-4]", quarter):
        raise ApiError(422, "bad_quarter", "quarters look like 2026Q4")
    first, last = ledger.period_bounds(quarter)
    async with platform(request).store.read() as conn:
        records = [
            r
            for r in await _records(conn, service_records.c.station_id == sid)
            if first <= r.day <= last
        ]
        elder_ids = [int(r.elder_id) for r in records]
        stays = (
            (
                await conn.execute(
                    select(hospital_stays).where(hospital_stays.c.elder_id.in_(elder_ids))
                )
            ).all()
            if elder_ids
            else []
        )
    signals = all_signals(
        records, [Stay(str(s.elder_id), s.admitted_at, s.discharged_at) for s in stays]
    )
    return ok(
        {
            "quarter": quarter,
            "signals": [
                {"signal": k.value, "record_ids": list(f.record_ids), "detail": f.detail}
                for k, flags in signals.items()
                for f in flags
            ],
        }
    )


def register(plat: Platform) -> None:
    """Timer handlers of the welfare domain."""
    plat.on_timer("welfare.application_overdue", on_application_overdue)
    plat.on_timer("welfare.period_close", on_period_close)


def routes() -> list[web.RouteDef]:
    """The welfare URL table."""
    fmt = "{fmt:csv|xlsx}"
    return [
        web.get("/api/v1/welfare/rulesets", list_rulesets),
        web.post("/api/v1/welfare/rulesets", create_ruleset),
        web.put("/api/v1/elders/{elder_id}/welfare-profile", put_profile),
        web.get("/api/v1/elders/{elder_id}/eligibility", get_eligibility),
        web.get("/api/v1/elders/{elder_id}/visit-code", visit_code),
        web.post("/api/v1/elders/{elder_id}/applications", submit_application),
        web.get("/api/v1/applications/{application_id}", get_application),
        web.post("/api/v1/applications/{application_id}/documents", upload_document),
        web.get("/api/v1/applications/{application_id}/documents/{document_id}", download_document),
        web.post("/api/v1/applications/{application_id}/decision", decide),
        web.get("/api/v1/stations/{station_id}/applications", list_applications),
        web.get("/api/v1/elders/{elder_id}/service-records", list_records),
        web.post("/api/v1/service-records/{record_id}/review", review_record),
        web.post("/api/v1/service-records/{record_id}/confirm", confirm_record),
        web.post("/api/v1/service-records/{record_id}/reverse", reverse_record),
        web.get("/api/v1/elders/{elder_id}/ledger", elder_ledger),
        web.post("/api/v1/elders/{elder_id}/hospital-stays", add_stay),
        web.post("/api/v1/districts/{district}/close", close_period),
        web.get("/api/v1/elders/{elder_id}/statements/{month}." + fmt, elder_statement),
        web.get("/api/v1/stations/{station_id}/settlements/{quarter}." + fmt, station_settlement),
        web.get("/api/v1/districts/{district}/summaries/{quarter}." + fmt, district_statement),
        web.get("/api/v1/stations/{station_id}/fraud-signals", fraud_signals),
    ]
