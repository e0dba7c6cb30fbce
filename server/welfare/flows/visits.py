"""Service records and their review: the visit recorded with its proof and its ledger entries
in one transaction; the codes that prove a visit (the day's code on the elder's phone, the
door card's fixed code); the station's review, the elder's confirmation, corrections; hospital
stays (which the fraud signals read)."""

from __future__ import annotations

import hmac
import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update

from dispatch.geo import GeoPoint
from schemas.providers import HoldStatus
from schemas.welfare import DoorCardOut, RecordOut, RecordReview, ReviewIn, StayIn, StayOut
from server.auth.principal import Principal
from server.errors import ApiError, not_found
from server.platform import Platform, Tx, audit, emit
from server.providers.tables import fraud_holds
from server.registry.guards import elder_for
from server.registry.tables import caregivers
from server.texts import render
from server.welfare import model, out
from server.welfare.flows.quota import charge_record, reverse_record
from server.welfare.flows.rulesets import district_of, schedule_close
from server.welfare.proof import Evidence, ProofKind, proofs, visit_code
from server.welfare.tables import door_cards, hospital_stays, service_records
from server.welfare.workdays import business_date

# ----- the codes that prove a visit -------------------------------------------------------------


def door_code(secret: str, elder_id: int, day: date) -> str:
    """Today's code on the elder's phone (it changes every day)."""
    return visit_code(secret.encode(), str(elder_id), day)


async def door_card(tx: Tx, *, elder_id: int, actor: int | None, rotate: bool = False) -> Any:
    """The elder's printed door card (a fixed code, for elders without a phone), issued on first
    use; `rotate` replaces the code (a lost card, a caregiver who left). Audited by the caller."""
    mine = door_cards.c.elder_id == elder_id
    row = (await tx.conn.execute(select(door_cards).where(mine))).first()
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
            .where(mine)
            .values(code=code, version=row.version + 1, rotated_at=tx.now, rotated_by=actor)
        )
    return (await tx.conn.execute(select(door_cards).where(mine))).one()


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


async def card_used(tx: Tx, *, elder_id: int, entered: str | None) -> int | None:
    """The version of the elder's door card if the code entered is the card's (not the
    phone's daily one)."""
    mine = door_cards.c.elder_id == elder_id
    card = (
        await tx.conn.execute(select(door_cards.c.code, door_cards.c.version).where(mine))
    ).first()
    if card is None or not entered or not hmac.compare_digest(card.code, entered.strip()):
        return None
    return int(card.version)


async def phone_code(plat: Platform, p: Principal, *, elder_id: int) -> tuple[date, str]:
    """Today's code for the elder's phone: the caregiver types it in to prove the visit. An
    operator may fetch it only for an elder without a phone (to read it out on the landline or
    print it), and every such fetch is audited."""
    async with plat.tx() as tx:
        elder = await elder_for(tx.conn, p, elder_id)
        if p.is_staff():
            if elder.phone:
                message = out.both("welfare.problem.elder_has_phone")
                raise ApiError(403, "visit_code.elder_has_phone", message)
            await audit(
                tx,
                actor=p.user_id,
                action="read_visit_code",
                object_type="elder",
                object_id=elder_id,
            )
    day = business_date(plat.clock.now())
    return day, door_code(plat.settings.jwt_secret, elder_id, day)


async def read_door_card(
    plat: Platform, p: Principal, *, elder_id: int, rotate: bool = False
) -> DoorCardOut:
    """The door card's code (issued on first read), or a new one (`rotate`: the old card stops
    proving visits at once); audited either way."""
    async with plat.tx() as tx:
        await elder_for(tx.conn, p, elder_id)
        row = await door_card(tx, elder_id=elder_id, actor=p.user_id, rotate=rotate)
        await audit(
            tx,
            actor=p.user_id,
            action="rotate_door_card" if rotate else "read_door_card",
            object_type="elder",
            object_id=elder_id,
            detail={"version": row.version} if rotate else None,
        )
    return out.door_card(row)


# ----- recording a visit ------------------------------------------------------------------------


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
    found = await _proofs(
        tx,
        elder=elder,
        day=day,
        arrival=(arrival, arrival_accuracy_m),
        entered=door_code_entered,
        secret=secret,
    )
    district = await district_of(tx.conn, station_id=elder.station_id)
    card = await card_used(tx, elder_id=elder.id, entered=door_code_entered) if found else None
    rid = await _insert_record(
        tx,
        booking=(booking.id, int(booking.price_fen)),
        elder=elder,
        item=item,
        district=district,
        caregiver_id=caregiver_id,
        times=(started_at, ended_at),
        arrival=(arrival, arrival_accuracy_m),
        found=found,
        notes=notes,
        card=card,
    )
    await _charge(
        tx, rid=rid, elder=elder, price_fen=int(booking.price_fen), item=item, day=day,
        district=district,
    )  # fmt: skip
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
    return await _load(tx, rid)


async def record_attendance(
    tx: Tx,
    *,
    elder: Any,
    item: Any,
    times: tuple[datetime, datetime],
    attendance_id: int,
    actor: int,
) -> int:
    """A day at day care, charged like a visit: the station's day-care item at its price,
    split into subsidy and self-pay on the ledger, on the elder's statement. Its proof is the
    staff's check-in and check-out at the station (``attendance``); the station reviews it as
    any record. Returns the record's id."""
    day = business_date(times[0])
    district = await district_of(tx.conn, station_id=elder.station_id)
    rid = await _insert_record(
        tx, booking=(None, int(item.price_fen)), elder=elder, item=item, district=district,
        caregiver_id=None, times=times, arrival=(None, None),
        found=[ProofKind.ATTENDANCE.value], notes=render("daycare.record_note", id=attendance_id),
    )  # fmt: skip
    await _charge(
        tx, rid=rid, elder=elder, price_fen=int(item.price_fen), item=item, day=day,
        district=district,
    )  # fmt: skip
    await audit(
        tx, actor=actor, action="service_recorded", object_type="service_record", object_id=rid,
        detail={"attendance_id": attendance_id},
    )  # fmt: skip
    return rid


async def _proofs(
    tx: Tx,
    *,
    elder: Any,
    day: date,
    arrival: tuple[GeoPoint | None, float | None],
    entered: str | None,
    secret: str,
) -> list[str]:
    """The proofs a visit brought: an arrival fix in the geofence, a code that matches."""
    expected = await expected_code(tx, secret=secret, elder_id=elder.id, day=day, entered=entered)
    ev = Evidence(
        elder_location=GeoPoint(elder.lat, elder.lng),
        arrival_fix=arrival[0],
        arrival_accuracy_m=arrival[1] or 0.0,
        door_code_expected=expected,
        door_code_entered=entered,
    )
    return sorted(k.value for k in proofs(ev))


async def _insert_record(
    tx: Tx,
    *,
    booking: tuple[int | None, int],
    elder: Any,
    item: Any,
    district: str,
    caregiver_id: int | None,
    times: tuple[datetime, datetime],
    arrival: tuple[GeoPoint | None, float | None],
    found: list[str],
    notes: str,
    card: int | None = None,
) -> int:
    """The record as captured (``booking``: its id, if any, and the price), all self-paid
    until its charge is written."""
    fix, accuracy = arrival
    provider_id = (
        await tx.conn.execute(
            select(caregivers.c.provider_id).where(caregivers.c.id == caregiver_id)
        )
    ).scalar()
    rid: int = (
        await tx.conn.execute(
            insert(service_records)
            .values(
                booking_id=booking[0],
                station_id=elder.station_id,
                district=district,
                elder_id=elder.id,
                caregiver_id=caregiver_id,
                provider_id=provider_id,
                item_code=item.code,
                item_name=item.name_zh,
                started_at=times[0],
                ended_at=times[1],
                price_fen=booking[1],
                subsidy_fen=0,
                self_pay_fen=booking[1],
                arrival_lat=fix.lat if fix else None,
                arrival_lng=fix.lng if fix else None,
                arrival_accuracy_m=accuracy,
                door_code_ok=ProofKind.DOOR_CODE.value in found,
                door_card_version=card if ProofKind.DOOR_CODE.value in found else None,
                proofs=found,
                notes=notes,
                created_at=tx.now,
            )
            .returning(service_records.c.id)
        )
    ).scalar_one()
    return rid


async def _charge(
    tx: Tx, *, rid: int, elder: Any, price_fen: int, item: Any, day: date, district: str
) -> None:
    """Split the price into subsidy and self-pay on the ledger, and keep the split on the
    record; a quota account's period then closes by itself."""
    charge, account = await charge_record(
        tx.conn,
        elder=elder,
        record_id=f"sr{rid}",
        price_fen=price_fen,
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


# ----- review, confirmation, corrections --------------------------------------------------------


async def _load(tx: Tx, rid: int) -> Any:
    return (await tx.conn.execute(select(service_records).where(service_records.c.id == rid))).one()


async def _live(tx: Tx, p: Principal, rid: int) -> Any:
    """A record the caller may see, still live (a rejected record was reversed by its
    rejection, and a reversed record is reviewed no more)."""
    row = (
        await tx.conn.execute(select(service_records).where(service_records.c.id == rid))
    ).first()
    if row is None:
        raise not_found("service_record")
    await elder_for(tx.conn, p, row.elder_id)
    if row.reversed:
        raise ApiError(409, "record_reversed", "this record was reversed")
    return row


async def records_of(plat: Platform, p: Principal, *, elder_id: int) -> list[RecordOut]:
    """An elder's service records, oldest first."""
    async with plat.store.read() as conn:
        await elder_for(conn, p, elder_id)
        rows = (
            await conn.execute(
                select(service_records)
                .where(service_records.c.elder_id == elder_id)
                .order_by(service_records.c.started_at)
            )
        ).all()
    return [out.record(r) for r in rows]


async def review(plat: Platform, p: Principal, *, record_id: int, body: ReviewIn) -> RecordOut:
    """The station's review, the last step of the audit gate; the money follows it.

    The quota is charged at completion (so bookings and completions never promise more than is
    left) and a rejection gives it back with reversing entries: a rejected record is not paid
    and costs neither the quota nor the elder anything, and its booking may be completed again
    with the visit that really happened. Passing needs a proof first (arrival in the geofence,
    the door-card or phone code, or the elder's confirmation), so a passed record is always
    payable and the provider's paid total equals the ledger's used subsidy once all records are
    reviewed.
    """
    to = RecordReview(body.decision)
    async with plat.tx() as tx:
        row = await _live(tx, p, record_id)
        if to is RecordReview.PASSED and await _held(tx, record_id):
            message = out.both("providers.problem.record_on_hold")
            raise ApiError(409, "record.on_hold", message)
        if to is RecordReview.PASSED and not out.stored_proofs(row):
            message = out.both("welfare.problem.record_unproven")
            raise ApiError(409, "record.unproven", message)
        reversing: tuple[Any, ...] = ()
        if to is RecordReview.REJECTED:
            memo = out.both("welfare.memo.rejected", note=body.note)[:200]
            reversing = await _reverse_entries(tx, row, memo=memo)
        await model.review(
            tx, row, to, actor=p.user_id, note=body.note, entries_reversed=len(reversing)
        )
        return out.record(await _load(tx, record_id))


async def _held(tx: Tx, record_id: int) -> bool:
    """Whether the record is held for a fraud review (server/providers): not passed, not paid."""
    fh = fraud_holds.c
    found = await tx.conn.execute(
        select(fh.id).where(fh.record_id == record_id, fh.status == HoldStatus.HELD.value)
    )
    return found.first() is not None


async def _reverse_entries(tx: Tx, row: Any, *, memo: str) -> tuple[Any, ...]:
    return await reverse_record(
        tx.conn,
        record_id=f"sr{row.id}",
        account=row.quota_account,
        district=row.district,
        now=tx.now,
        memo=memo,
    )


async def confirm(plat: Platform, p: Principal, *, record_id: int) -> RecordOut:
    """The elder (or bound family) confirms the visit happened."""
    async with plat.tx() as tx:
        await _live(tx, p, record_id)
        await tx.conn.execute(
            update(service_records)
            .where(service_records.c.id == record_id)
            .values(elder_confirmed=True)
        )
        await audit(
            tx, actor=p.user_id, action="confirm", object_type="service_record", object_id=record_id
        )
        return out.record(await _load(tx, record_id))


async def reverse(plat: Platform, p: Principal, *, record_id: int, reason: str) -> RecordOut:
    """A correction: reversing ledger entries, never an edit; the record is marked reversed."""
    async with plat.tx() as tx:
        row = await _live(tx, p, record_id)
        entries = await _reverse_entries(tx, row, memo=reason)
        await tx.conn.execute(
            update(service_records).where(service_records.c.id == record_id).values(reversed=True)
        )
        await audit(
            tx,
            actor=p.user_id,
            action="reverse",
            object_type="service_record",
            object_id=record_id,
            detail={"reason": reason, "entries": len(entries)},
        )
        return out.record(await _load(tx, record_id))


async def add_stay(plat: Platform, p: Principal, *, elder_id: int, body: StayIn) -> StayOut:
    """A hospital stay of the elder (audited): home services during it are a fraud signal."""
    async with plat.tx() as tx:
        await elder_for(tx.conn, p, elder_id)
        sid = (
            await tx.conn.execute(
                insert(hospital_stays)
                .values(
                    elder_id=elder_id,
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
            object_id=elder_id,
            detail={"stay_id": sid},
        )
    return StayOut(id=sid)
