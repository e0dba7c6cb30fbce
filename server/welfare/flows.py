"""Welfare workflows that span several tables, each in the caller's one transaction."""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from dispatch.geo import GeoPoint
from server.auth.principal import Role
from server.errors import ApiError
from server.platform import Platform, Tx, audit, emit, schedule
from server.welfare import ledger, service
from server.welfare.proof import Evidence, ProofKind, Review, proofs, verdict, visit_code
from server.welfare.records import ServiceRecord
from server.welfare.tables import door_cards, service_records
from server.welfare.workdays import SHANGHAI, business_date

log = logging.getLogger("anxin.welfare")

# who may see an elder's welfare data (each still passes the elder guard)
WATCHERS = (Role.ELDER, Role.FAMILY, Role.OPERATOR)


def door_code(secret: str, elder_id: int, day: date) -> str:
    """Today's code on the elder's phone (it changes every day)."""
    return visit_code(secret.encode(), str(elder_id), day)


async def door_card(tx: Tx, *, elder_id: int, actor: int | None, rotate: bool = False) -> Any:
    """The elder's printed door card (a fixed code, for elders without a phone), issued on first
    use; `rotate` replaces the code (a lost card, a caregiver who left). Audited by the caller."""
    row = (
        await tx.conn.execute(select(door_cards).where(door_cards.c.elder_id == elder_id))
    ).first()
    code = f"{secrets.randbelow(10**8):08d}"  # 8 digits: never confused with the 6-digit phone code
    if row is None:
        await tx.conn.execute(
            insert(door_cards).values(
                elder_id=elder_id, code=code, version=1, rotated_at=tx.now, rotated_by=actor
            )
        )
    elif rotate:
        await tx.conn.execute(
            update(door_cards)
            .where(door_cards.c.elder_id == elder_id)
            .values(code=code, version=row.version + 1, rotated_at=tx.now, rotated_by=actor)
        )
    return (
        await tx.conn.execute(select(door_cards).where(door_cards.c.elder_id == elder_id))
    ).one()


async def expected_code(
    tx: Tx, *, secret: str, elder_id: int, day: date, entered: str | None
) -> str:
    """The code a visit's entry is checked against: the door card's if it matches, else the
    phone's code of the visit's day."""
    card = (
        await tx.conn.execute(select(door_cards.c.code).where(door_cards.c.elder_id == elder_id))
    ).scalar()
    if card and entered and hmac.compare_digest(card, entered.strip()):
        return str(card)
    return door_code(secret, elder_id, day)


async def record_service(
    tx: Tx,
    *,
    booking: Any,
    elder: Any,
    item: Any,
    caregiver_id: int | None,
    started_at: Any,
    ended_at: Any,
    arrival: GeoPoint | None,
    arrival_accuracy_m: float | None,
    door_code_entered: str | None,
    secret: str,
    notes: str,
    actor: int,
) -> Any:
    """Write the service record and its ledger entries together; returns the record row."""
    day = business_date(started_at)
    expected = await expected_code(
        tx, secret=secret, elder_id=elder.id, day=day, entered=door_code_entered
    )
    ev = Evidence(
        elder_location=GeoPoint(elder.lat, elder.lng),
        arrival_fix=arrival,
        arrival_accuracy_m=arrival_accuracy_m or 0.0,
        door_code_expected=expected,
        door_code_entered=door_code_entered,
    )
    found = sorted(k.value for k in proofs(ev))
    district = await service.district_of(tx.conn, station_id=elder.station_id)
    rid = (
        await tx.conn.execute(
            insert(service_records)
            .values(
                booking_id=booking.id,
                station_id=elder.station_id,
                district=district,
                elder_id=elder.id,
                caregiver_id=caregiver_id,
                item_code=item.code,
                item_name=item.name_zh,
                started_at=started_at,
                ended_at=ended_at,
                price_fen=booking.price_fen,
                subsidy_fen=0,
                self_pay_fen=booking.price_fen,
                arrival_lat=arrival.lat if arrival else None,
                arrival_lng=arrival.lng if arrival else None,
                arrival_accuracy_m=arrival_accuracy_m,
                door_code_ok="door_code" in found,
                proofs=found,
                notes=notes,
                created_at=tx.now,
            )
            .returning(service_records.c.id)
        )
    ).scalar_one()
    charge, account = await service.charge_record(
        tx.conn,
        elder=elder,
        record_id=f"sr{rid}",
        price_fen=int(booking.price_fen),
        subsidy_payable=bool(item.subsidy_payable),
        service_day=day,
        now=tx.now,
    )
    await tx.conn.execute(
        update(service_records)
        .where(service_records.c.id == rid)
        .values(
            subsidy_fen=charge.split.subsidy_fen,
            self_pay_fen=charge.split.self_pay_fen,
            quota_account=account,
        )
    )
    if account is not None:
        await schedule_close(tx, district=district, day=day)
    await audit(
        tx,
        actor=actor,
        action="service_recorded",
        object_type="service_record",
        object_id=rid,
        detail={"booking_id": booking.id, "proofs": found},
    )
    await emit(
        tx, "service.recorded", {"record_id": rid, "elder_id": elder.id, "booking_id": booking.id}
    )
    return (await tx.conn.execute(select(service_records).where(service_records.c.id == rid))).one()


async def schedule_close(tx: Tx, *, district: str, day: date) -> None:
    """Make sure the settlement period holding `day` closes by itself after it ends."""
    rs = await service.ruleset_for(tx.conn, district=district, on=day)
    if rs is None:
        return
    period = ledger.settlement_period(day, rs.settlement)
    _, last = ledger.period_bounds(period)
    # 00:30 Shanghai the day after: records of the last evening are in by then
    due = datetime.combine(last + timedelta(days=1), time(0, 30), SHANGHAI)
    await schedule(
        tx,
        "welfare.period_close",
        f"welfare.close:{district}:{period}",
        due,
        {"district": district, "period": period},
    )


async def on_period_close(plat: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """Timer: close a district's settlement period (expire or carry what is left), then schedule
    the next period's close, so every district closes every period whether or not anybody was
    served in it."""
    district, period = payload["district"], payload["period"]
    try:
        closes = await service.close_accounts(tx.conn, district=district, period=period, now=tx.now)
    except service.CloseRefused as exc:  # e.g. the rule set's settlement changed meanwhile
        closes = []
        log.warning(
            "period close skipped", extra={"district": district, "period": period, "why": str(exc)}
        )
    await audit(
        tx,
        actor=None,
        action="close_period",
        object_type="district",
        object_id=district,
        detail={"period": period, "accounts": len(closes), "by": "timer"},
    )
    _, last = ledger.period_bounds(period)
    await schedule_close(tx, district=district, day=last + timedelta(days=1))


def stored_proofs(row: Any) -> frozenset[ProofKind]:
    """Proofs of a stored record: captured at completion, plus the elder's later confirmation."""
    found = {ProofKind(k) for k in row.proofs or []}
    if row.elder_confirmed:
        found.add(ProofKind.ELDER_CONFIRMED)
    return frozenset(found)


def gate_of(row: Any) -> dict[str, Any]:
    """The audit gate's verdict on a stored record, for responses and statements."""
    if row.reversed and row.review != "rejected":
        return {"payable": False, "proofs": sorted(stored_proofs(row)), "reason": "record.reversed"}
    g = verdict(stored_proofs(row), Review(row.review))
    return {
        "payable": g.payable,
        "proofs": sorted(k.value for k in g.proofs),
        "reason": g.reason.value if g.reason else None,
    }


def as_record(row: Any, elder_name: str) -> ServiceRecord:
    """A stored record as the statements and fraud checks see it."""
    kinds = set(row.proofs or [])
    return ServiceRecord(
        record_id=f"sr{row.id}",
        elder_id=str(row.elder_id),
        elder_name=elder_name,
        provider_id=f"station-{row.station_id}",
        caregiver_id=f"cg-{row.caregiver_id}" if row.caregiver_id else None,
        item_code=row.item_code,
        item_name=row.item_name,
        started_at=row.started_at,
        ended_at=row.ended_at,
        price_fen=int(row.price_fen),
        subsidy_fen=int(row.subsidy_fen),
        self_pay_fen=int(row.self_pay_fen),
        district=row.district,
        arrival_checked=bool(kinds & {"geofence", "door_code"}),  # a confirmation is not one
        payable=gate_of(row)["payable"],
        reversed=bool(row.reversed),
    )


def check_review(row: Any) -> None:
    """Only live records are reviewed (a rejected record was reversed by its rejection)."""
    if row.reversed:
        raise ApiError(409, "record_reversed", "this record was reversed")


def record_out(row: Any) -> dict[str, Any]:
    """A service record as the API returns it."""
    return {
        "id": row.id,
        "booking_id": row.booking_id,
        "elder_id": row.elder_id,
        "caregiver_id": row.caregiver_id,
        "item_code": row.item_code,
        "item_name": row.item_name,
        "started_at": row.started_at.isoformat(),
        "ended_at": row.ended_at.isoformat(),
        "price_fen": int(row.price_fen),
        "subsidy_fen": int(row.subsidy_fen),
        "self_pay_fen": int(row.self_pay_fen),
        "review": row.review,
        "reversed": bool(row.reversed),
        **gate_of(row),
    }
