"""Fraud that has consequences. A record that looks false is put on hold when it is recorded
(far shorter than its item, one caregiver in two places, the elder in hospital), or by an
officer from the fraud signals; a held record cannot be passed, and is not paid. The officer
decides: upheld, the record is reversed through the ledger (the elder's quota restored, her
self-pay given back) and the subsidy paid for it is recovered from the provider's settlement;
dismissed, it is released to its ordinary review. Nothing is deleted; every step is audited.

While a record is held its quota stays reserved (its charge is not reversed until upheld), so a
dismissed hold never has to charge the quota again."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, insert, select, update

from schemas.providers import HoldDecision, HoldDecisionIn, HoldIn, HoldOut, HoldStatus
from schemas.welfare import RecordReview
from server.auth.principal import Principal
from server.errors import ApiError, not_found
from server.platform import Platform, Tx, audit
from server.providers import model, out
from server.providers.flows.common import officer_of
from server.providers.rules import too_short
from server.providers.tables import fraud_holds
from server.registry.tables import caregivers, elders
from server.texts import zh_en
from server.welfare.flows.quota import reverse_record
from server.welfare.fraud import Signal
from server.welfare.tables import hospital_stays, service_records

SHORT_VISIT = "fraud.short_visit"


async def signal_of(tx: Tx, rec: Any, *, duration_min: int) -> tuple[str, str] | None:
    """The first signal a fresh record raises, with its evidence as data (``key=value``: the
    review page renders it), or None."""
    length_s = (rec.ended_at - rec.started_at).total_seconds()
    if too_short(length_s, duration_min):
        return SHORT_VISIT, f"recorded_s={int(length_s)} item_min={duration_min}"
    sr = service_records.c
    if rec.caregiver_id is not None:
        other = (
            await tx.conn.execute(
                select(sr.id).where(
                    sr.caregiver_id == rec.caregiver_id,
                    sr.id != rec.id,
                    sr.reversed.is_(False),
                    and_(sr.started_at < rec.ended_at, sr.ended_at > rec.started_at),
                )
            )
        ).scalar()
        if other is not None:
            return Signal.CAREGIVER_OVERLAP.value, f"record_id={other}"
    hs = hospital_stays.c
    stay = (
        await tx.conn.execute(
            select(hs.id).where(
                hs.elder_id == rec.elder_id,
                hs.admitted_at < rec.ended_at,
                (hs.discharged_at.is_(None)) | (hs.discharged_at > rec.started_at),
            )
        )
    ).scalar()
    if stay is not None:
        return Signal.WHILE_IN_HOSPITAL.value, f"stay_id={stay}"
    return None


async def _hold(tx: Tx, rec: Any, signal: str, detail: str, *, actor: int | None) -> int:
    existing = (
        await tx.conn.execute(select(fraud_holds.c.id).where(fraud_holds.c.record_id == rec.id))
    ).first()
    if existing is not None:
        raise ApiError(409, "fraud.already_held", zh_en("providers.problem.already_held"))
    hid = (
        await tx.conn.execute(
            insert(fraud_holds)
            .values(
                record_id=rec.id,
                provider_id=rec.provider_id,
                signal=signal,
                detail=detail[:300],
                status=HoldStatus.HELD.value,
                created_at=tx.now,
            )
            .returning(fraud_holds.c.id)
        )
    ).scalar_one()
    await audit(
        tx,
        actor=actor,
        action="fraud_hold",
        object_type="service_record",
        object_id=rec.id,
        detail={"hold_id": hid, "signal": signal},
    )
    return int(hid)


async def hold_if_suspicious(tx: Tx, rec: Any, *, duration_min: int, actor: int) -> int | None:
    """At recording time: put the record on hold if it raises a signal; the hold's id."""
    found = await signal_of(tx, rec, duration_min=duration_min)
    if found is None:
        return None
    return await _hold(tx, rec, found[0], found[1], actor=actor)


async def is_held(tx: Tx, record_id: int) -> bool:
    fh = fraud_holds.c
    row = (
        await tx.conn.execute(
            select(fh.id).where(fh.record_id == record_id, fh.status == HoldStatus.HELD.value)
        )
    ).first()
    return row is not None


async def _record(tx: Tx, record_id: int) -> Any:
    rec = (
        await tx.conn.execute(select(service_records).where(service_records.c.id == record_id))
    ).first()
    if rec is None:
        raise not_found("service_record")
    return rec


async def open_hold(plat: Platform, p: Principal, body: HoldIn) -> HoldOut:
    """An officer holds a record from a signal's evidence (audited)."""
    async with plat.tx() as tx:
        rec = await _record(tx, body.record_id)
        await officer_of(tx.conn, p, rec.district)
        if rec.reversed:
            raise ApiError(409, "record_reversed", "this record was reversed")
        hid = await _hold(tx, rec, body.signal, body.detail, actor=p.user_id)
        return out.hold(await _load(tx, hid))


async def _load(tx: Tx, hold_id: int) -> Any:
    row = (await tx.conn.execute(select(fraud_holds).where(fraud_holds.c.id == hold_id))).first()
    if row is None:
        raise not_found("fraud_hold")
    return row


async def decide(plat: Platform, p: Principal, hold_id: int, body: HoldDecisionIn) -> HoldOut:
    """Uphold (reverse and recover) or dismiss (release) a held record, all or nothing."""
    async with plat.tx() as tx:
        hold = await _load(tx, hold_id)
        rec = await _record(tx, hold.record_id)
        await officer_of(tx.conn, p, rec.district)
        model.HOLD.check(hold.status, HoldStatus(body.decision.value))
        if body.decision is HoldDecision.DISMISSED:
            await model.transition(
                tx,
                model.HOLD,
                hold,
                HoldStatus.DISMISSED,
                actor=p.user_id,
                values={"decided_at": tx.now, "decided_by": p.user_id, "note": body.note},
            )
            return out.hold(await _load(tx, hold_id))
        paid = int(rec.subsidy_fen) if rec.review == RecordReview.PASSED.value else 0
        recover = paid if body.recover_fen is None else body.recover_fen
        if recover > paid:
            message = zh_en("providers.problem.recover_more_than_paid", asked=recover, paid=paid)
            raise ApiError(
                422, "fraud.recover_more_than_paid", message, paid_fen=paid, asked_fen=recover
            )
        memo = zh_en("providers.memo.fraud_upheld", note=body.note)[:200]
        entries: tuple[Any, ...] = ()
        if not rec.reversed:
            entries = await reverse_record(
                tx.conn,
                record_id=f"sr{rec.id}",
                account=rec.quota_account,
                district=rec.district,
                now=tx.now,
                memo=memo,
            )
            await tx.conn.execute(
                update(service_records).where(service_records.c.id == rec.id).values(reversed=True)
            )
        await model.transition(
            tx,
            model.HOLD,
            hold,
            HoldStatus.UPHELD,
            actor=p.user_id,
            values={
                "decided_at": tx.now,
                "decided_by": p.user_id,
                "note": body.note,
                "paid_fen": paid,
                "recovered_fen": recover,
            },
            record_id=rec.id,
            recovered_fen=recover,
            entries_reversed=len(entries),
        )
        return out.hold(await _load(tx, hold_id))


async def holds_of(plat: Platform, p: Principal, *, district: str) -> list[HoldOut]:
    """The district's holds, open first, each with the visit it holds (the review's evidence)."""
    sr = service_records.c
    seen = (sr.elder_id, sr.caregiver_id, sr.item_name, sr.started_at, sr.ended_at)
    money = (sr.price_fen, sr.subsidy_fen, sr.proofs, sr.review, sr.reversed)
    async with plat.store.read() as conn:
        await officer_of(conn, p, district)
        rows = (
            await conn.execute(
                select(fraud_holds, *seen, *money, *out.NAMES)
                .join(service_records, sr.id == fraud_holds.c.record_id)
                .join(elders, elders.c.id == sr.elder_id)
                .outerjoin(caregivers, caregivers.c.id == sr.caregiver_id)
                .where(sr.district == district)
                .order_by(fraud_holds.c.status != HoldStatus.HELD.value, fraud_holds.c.id)
            )
        ).all()
    return [out.hold(r, record=out.held_record(r)) for r in rows]
