"""Welfare endpoints: rule sets, eligibility, service records (review, confirmation, reversal),
the ledger and period closes; the whole welfare URL table (applications and exports live in
their own modules)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from schemas.welfare import (
    CloseIn,
    EligibilityOut,
    ReverseIn,
    ReviewIn,
    StayIn,
    WelfareProfileIn,
)
from server.auth.principal import Principal, Role
from server.errors import ApiError, not_found
from server.http import int_param, ok, parse, platform, require
from server.platform import Tx, audit
from server.registry.guards import elder_for
from server.services.meal_orders import settle_meals
from server.welfare import ledger, service
from server.welfare.address_routes import change_address, list_addresses
from server.welfare.applications import (
    decide,
    download_document,
    get_application,
    list_applications,
    review_queue,
    submit_application,
    upload_document,
)
from server.welfare.calendars import list_calendars, put_calendar
from server.welfare.exports import (
    district_statement,
    elder_statement,
    fraud_signals,
    station_settlement,
)
from server.welfare.flows import (
    WATCHERS,
    check_review,
    door_card,
    door_code,
    record_out,
    schedule_close,
    stored_proofs,
)
from server.welfare.officers import create_officer, district_scope, list_officers
from server.welfare.rules import PACKAGED, RuleError, load_packaged, parse_ruleset
from server.welfare.tables import (
    hospital_stays,
    service_records,
    welfare_profiles,
    welfare_rulesets,
)
from server.welfare.workdays import (
    business_date,
)

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
            # the district's periods close by themselves from now on (the timer re-arms itself)
            await schedule_close(
                tx, district=rs.district, day=max(business_date(tx.now), rs.effective_from)
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
    """Today's code for the elder's phone: the caregiver types it in to prove the visit. An
    operator may fetch it only for an elder without a phone (to read it out on the landline or
    print it), and every such fetch is audited."""
    p = require(request, Role.ELDER, Role.FAMILY, Role.OPERATOR)
    eid = int_param(request, "elder_id")
    plat = platform(request)
    async with plat.tx() as tx:
        elder = await elder_for(tx.conn, p, eid)
        if p.is_staff():
            if elder.phone:
                raise ApiError(
                    403,
                    "visit_code.elder_has_phone",
                    "这位老人有手机，请在老人手机上查看 / the elder's own phone shows the code",
                )
            await audit(
                tx, actor=p.user_id, action="read_visit_code", object_type="elder", object_id=eid
            )
    day = business_date(plat.clock.now())
    return ok(
        {
            "elder_id": eid,
            "day": day.isoformat(),
            "code": door_code(plat.settings.jwt_secret, eid, day),
        }
    )


def _card_out(row: Any) -> dict[str, Any]:
    return {
        "elder_id": row.elder_id,
        "code": row.code,
        "version": row.version,
        "rotated_at": row.rotated_at.isoformat(),
    }


async def get_door_card(request: web.Request) -> web.Response:
    """The fixed code to print on the elder's door card (issued on first read); audited."""
    p = require(request, Role.OPERATOR)
    eid = int_param(request, "elder_id")
    async with platform(request).tx() as tx:
        await elder_for(tx.conn, p, eid)
        row = await door_card(tx, elder_id=eid, actor=p.user_id)
        await audit(
            tx, actor=p.user_id, action="read_door_card", object_type="elder", object_id=eid
        )
    return ok(_card_out(row))


async def rotate_door_card(request: web.Request) -> web.Response:
    """A new door-card code (the old card stops proving visits at once); audited."""
    p = require(request, Role.OPERATOR)
    eid = int_param(request, "elder_id")
    async with platform(request).tx() as tx:
        await elder_for(tx.conn, p, eid)
        row = await door_card(tx, elder_id=eid, actor=p.user_id, rotate=True)
        await audit(
            tx,
            actor=p.user_id,
            action="rotate_door_card",
            object_type="elder",
            object_id=eid,
            detail={"version": row.version},
        )
    return ok(_card_out(row))


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
    """The station's review, the last step of the audit gate; the money follows it.

    The quota is charged at completion (so bookings and completions never promise more than is
    left) and a rejection gives it back with reversing entries: a rejected record is not paid
    and costs neither the quota nor the elder anything, and its booking may be completed again
    with the visit that really happened. Passing needs a proof first (arrival in the geofence,
    the door-card or phone code, or the elder's confirmation), so a passed record is always
    payable and the provider's paid total equals the ledger's used subsidy once all records are
    reviewed.
    """
    p = require(request, Role.OPERATOR)
    rid = int_param(request, "record_id")
    body = await parse(request, ReviewIn)
    async with platform(request).tx() as tx:
        row = await _record_row(tx, p, rid)
        check_review(row)
        if body.decision == "passed" and not stored_proofs(row):
            raise ApiError(
                409,
                "record.unproven",
                "无到访证明，不能通过审核 / no proof of the visit yet: an arrival in the geofence, "
                "the door-card or phone code, or the elder's confirmation",
            )
        reversed_entries: tuple[ledger.Entry, ...] = ()
        if body.decision == "rejected":
            reversed_entries = await service.reverse_record(
                tx.conn,
                record_id=f"sr{rid}",
                account=row.quota_account,
                district=row.district,
                now=tx.now,
                memo=f"审核未通过 / rejected: {body.note}"[:200],
            )
        await tx.conn.execute(
            update(service_records)
            .where(service_records.c.id == rid)
            .values(
                review=body.decision,
                reviewed_by=p.user_id,
                reviewed_at=tx.now,
                reversed=row.reversed or body.decision == "rejected",
            )
        )
        await audit(
            tx,
            actor=p.user_id,
            action=f"review_{body.decision}",
            object_type="service_record",
            object_id=rid,
            detail={"note": body.note, "entries_reversed": len(reversed_entries)},
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
        await settle_meals(tx.conn, elder=elder, now=tx.now)  # self-paid food lines
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
    p = require(request, Role.DISTRICT_OFFICER)
    district = request.match_info["district"]
    body = await parse(request, CloseIn)
    async with platform(request).tx() as tx:
        await district_scope(tx.conn, p, district)
        try:
            closes = await service.close_accounts(
                tx.conn, district=district, period=body.period, now=tx.now
            )
        except service.CloseRefused as exc:
            raise ApiError(422, exc.code, str(exc), field="period") from exc
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
        await audit(
            tx,
            actor=p.user_id,
            action="record_hospital_stay",
            object_type="elder",
            object_id=eid,
            detail={"stay_id": sid},
        )
    return ok({"id": sid}, 201)


def routes() -> list[web.RouteDef]:
    """The welfare URL table."""
    fmt = "{fmt:csv|xlsx}"
    return [
        web.get("/api/v1/welfare/rulesets", list_rulesets),
        web.get("/api/v1/welfare/calendars", list_calendars),
        web.put("/api/v1/welfare/calendars/{year}", put_calendar),
        web.post("/api/v1/welfare/rulesets", create_ruleset),
        web.put("/api/v1/elders/{elder_id}/welfare-profile", put_profile),
        web.get("/api/v1/elders/{elder_id}/eligibility", get_eligibility),
        web.get("/api/v1/elders/{elder_id}/visit-code", visit_code),
        web.get("/api/v1/elders/{elder_id}/door-card", get_door_card),
        web.post("/api/v1/elders/{elder_id}/door-card/rotate", rotate_door_card),
        web.post("/api/v1/elders/{elder_id}/applications", submit_application),
        web.get("/api/v1/applications/{application_id}", get_application),
        web.post("/api/v1/applications/{application_id}/documents", upload_document),
        web.get("/api/v1/applications/{application_id}/documents/{document_id}", download_document),
        web.post("/api/v1/applications/{application_id}/decision", decide),
        web.get("/api/v1/stations/{station_id}/applications", list_applications),
        web.get("/api/v1/welfare/review-queue", review_queue),
        web.post("/api/v1/welfare/officers", create_officer),
        web.get("/api/v1/welfare/officers", list_officers),
        web.get("/api/v1/elders/{elder_id}/service-records", list_records),
        web.post("/api/v1/service-records/{record_id}/review", review_record),
        web.post("/api/v1/service-records/{record_id}/confirm", confirm_record),
        web.post("/api/v1/service-records/{record_id}/reverse", reverse_record),
        web.get("/api/v1/elders/{elder_id}/ledger", elder_ledger),
        web.post("/api/v1/elders/{elder_id}/hospital-stays", add_stay),
        web.post("/api/v1/elders/{elder_id}/service-address", change_address),
        web.get("/api/v1/elders/{elder_id}/service-addresses", list_addresses),
        web.post("/api/v1/districts/{district}/close", close_period),
        web.get("/api/v1/elders/{elder_id}/statements/{month}." + fmt, elder_statement),
        web.get("/api/v1/stations/{station_id}/settlements/{quarter}." + fmt, station_settlement),
        web.get("/api/v1/districts/{district}/summaries/{quarter}." + fmt, district_statement),
        web.get("/api/v1/stations/{station_id}/fraud-signals", fraud_signals),
    ]
