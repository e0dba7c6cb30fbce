"""The annual rating (年度考核评定): computed from the year's evidence under the current weights,
reviewed and signed by the officer, who may change the grade with a written reason. A signed
不合格 sets the provider's live contracts to end at their period's end and stops new contracts
and caregivers joining it. A year not yet over cannot be rated."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.providers import (
    ContractStatus,
    Grade,
    HoldStatus,
    RatingIn,
    RatingOut,
    RatingSignIn,
    RatingStatus,
)
from server.auth.principal import Principal
from server.errors import ApiError, not_found
from server.hotline.flows.followup import SERVICE_VISIT
from server.hotline.tables import complaints, satisfaction
from server.platform import Platform, audit
from server.providers import model, out
from server.providers.flows.common import officer_of, provider_row
from server.providers.flows.money import SATISFIED, about, span
from server.providers.rules import CURRENT_WEIGHTS, WEIGHTS, Evidence, parts, rate
from server.providers.tables import fraud_holds, provider_contracts, provider_ratings
from server.registry.tables import caregivers
from server.services.tables import bookings, service_items
from server.tasks.model import OPEN_STATES
from server.tasks.tables import tasks
from server.texts import zh_en
from server.welfare.flows.rulesets import targets_for
from server.welfare.tables import service_records
from server.welfare.workdays import business_date


async def answered_samples(conn: AsyncConnection, task_ids: set[int]) -> set[int]:
    """The service records whose sampled return visit (these answered tasks) was made."""
    if not task_ids:
        return set()
    refs = (
        await conn.execute(
            select(tasks.c.source_ref).where(
                tasks.c.id.in_(task_ids), tasks.c.source_ref.startswith(SERVICE_VISIT)
            )
        )
    ).scalars()
    return {int(str(ref).rsplit(":", 1)[1]) for ref in refs}


def started_late(r: Any) -> bool:
    """Started after the latest start that still ends the visit inside its booked window (the
    window holds the whole visit: ``dispatch.model.latest_start_s``, the planner's rule)."""
    if r.window_end is None:
        return False
    duration = timedelta(minutes=int(r.duration_min or 0))
    return bool(r.started_at > max(r.window_start, r.window_end - duration))


async def evidence(conn: AsyncConnection, provider_id: int, year: int) -> Evidence:
    """The provider's year, counted from the stored records (see ``rules.Evidence``)."""
    start, end = span(date(year, 1, 1), date(year, 12, 31))
    sr = service_records.c
    recs = (
        await conn.execute(
            select(
                sr.id,
                sr.proofs,
                sr.elder_confirmed,
                sr.started_at,
                bookings.c.window_start,
                bookings.c.window_end,
                service_items.c.duration_min,
                bookings.c.task_id,
            )
            .join(bookings, bookings.c.id == sr.booking_id, isouter=True)
            .join(service_items, service_items.c.id == bookings.c.item_id, isouter=True)
            .where(
                sr.provider_id == provider_id,
                sr.reversed.is_(False),
                sr.started_at >= start,
                sr.started_at < end,
            )
        )
    ).all()
    fh = fraud_holds.c
    upheld = (
        await conn.execute(
            select(func.count())
            .select_from(fraud_holds)
            .join(service_records, sr.id == fh.record_id)
            .where(
                fh.provider_id == provider_id,
                fh.status == HoldStatus.UPHELD.value,
                sr.started_at >= start,
                sr.started_at < end,
            )
        )
    ).scalar()
    staff = select(caregivers.c.id).where(caregivers.c.provider_id == provider_id)
    missed = (
        await conn.execute(
            select(func.count())
            .select_from(tasks)
            .where(
                tasks.c.caregiver_id.in_(staff),
                tasks.c.status.in_([s.value for s in OPEN_STATES]),
                tasks.c.window_end >= start,
                tasks.c.window_end < end,
            )
        )
    ).scalar()
    answers = (
        await conn.execute(
            select(satisfaction.c.answer, satisfaction.c.task_id).where(
                about(satisfaction, provider_id),
                satisfaction.c.at >= start,
                satisfaction.c.at < end,
            )
        )
    ).all()
    lodged = (
        await conn.execute(
            select(func.count())
            .select_from(complaints)
            .where(
                about(complaints, provider_id),
                complaints.c.opened_at >= start,
                complaints.c.opened_at < end,
            )
        )
    ).scalar()
    followed = {a.task_id for a in answers if a.task_id is not None}
    sampled = await answered_samples(conn, followed)
    return Evidence(
        visits=len(recs),
        satisfied=sum(1 for a in answers if a.answer in SATISFIED),
        answers=len(answers),
        complaints_upheld=int(lodged or 0),
        late=sum(1 for r in recs if started_late(r)),
        missed=int(missed or 0),
        proven=sum(1 for r in recs if r.proofs or r.elder_confirmed),
        fraud_upheld=int(upheld or 0),
        return_visits=sum(
            1 for r in recs if r.id in sampled or (r.task_id is not None and r.task_id in followed)
        ),
    )


async def compute(plat: Platform, p: Principal, body: RatingIn) -> RatingOut:
    """A draft rating from the year's evidence (audited); 422 for a year not over."""
    today = business_date(plat.clock.now())
    if body.year >= today.year:
        message = zh_en("providers.problem.year_not_finished", year=body.year)
        raise ApiError(422, "rating.year_not_finished", message, year=body.year)
    try:
        async with plat.tx() as tx:
            prov = await provider_row(tx.conn, body.provider_id)
            await officer_of(tx.conn, p, prov.district)
            ev = await evidence(tx.conn, body.provider_id, body.year)
            # the district's targets in force at the year's end
            t = await targets_for(tx.conn, district=prov.district, on=date(body.year, 12, 31))
            aims = {"satisfaction_target": t.satisfaction, "return_share": t.return_visit_share}
            score, grade = rate(ev, CURRENT_WEIGHTS, **aims)
            rid = (
                await tx.conn.execute(
                    provider_ratings.insert()
                    .values(
                        provider_id=body.provider_id,
                        year=body.year,
                        status=RatingStatus.DRAFT.value,
                        score=score,
                        computed_grade=grade.value,
                        grade=grade.value,
                        evidence={
                            **ev.as_json(),
                            "parts": parts(ev, CURRENT_WEIGHTS, **aims),
                            "weights": WEIGHTS[CURRENT_WEIGHTS]["weights"],
                        },
                        weights_version=CURRENT_WEIGHTS,
                        created_at=tx.now,
                    )
                    .returning(provider_ratings.c.id)
                )
            ).scalar_one()
            await audit(
                tx,
                actor=p.user_id,
                action="rating_computed",
                object_type="rating",
                object_id=rid,
                detail={"score": score, "grade": grade.value},
            )
            row = (
                await tx.conn.execute(select(provider_ratings).where(provider_ratings.c.id == rid))
            ).one()
    except IntegrityError as exc:
        message = zh_en("providers.problem.rating_exists")
        raise ApiError(409, "rating.exists", message) from exc
    return out.rating(row)


async def sign(plat: Platform, p: Principal, rating_id: int, body: RatingSignIn) -> RatingOut:
    """The officer signs, perhaps with another grade (then with a reason). 不合格 sets the
    provider's live contracts to end at their period's end."""
    async with plat.tx() as tx:
        row = (
            await tx.conn.execute(
                select(provider_ratings).where(provider_ratings.c.id == rating_id)
            )
        ).first()
        if row is None:
            raise not_found("rating")
        prov = await provider_row(tx.conn, row.provider_id)
        await officer_of(tx.conn, p, prov.district)
        grade = body.grade or Grade(row.computed_grade)
        if grade.value != row.computed_grade and not body.reason.strip():
            message = zh_en("providers.problem.adjust_needs_reason")
            raise ApiError(422, "rating.adjust_needs_reason", message)
        await model.transition(
            tx,
            model.RATING,
            row,
            RatingStatus.SIGNED,
            actor=p.user_id,
            values={
                "grade": grade.value,
                "adjust_reason": body.reason,
                "signed_by": p.user_id,
                "signed_at": tx.now,
            },
            grade=grade.value,
            computed=row.computed_grade,
            reason=body.reason[:200],
        )
        ending: list[int] = []
        if grade is Grade.UNQUALIFIED:
            c = provider_contracts.c
            live = (
                await tx.conn.execute(
                    select(provider_contracts).where(
                        and_(
                            c.provider_id == row.provider_id,
                            c.status == ContractStatus.ACTIVE.value,
                        )
                    )
                )
            ).all()
            why = zh_en("providers.contract.end_unqualified", year=row.year)[:200]
            for k in live:
                await model.transition(
                    tx,
                    model.CONTRACT,
                    k,
                    ContractStatus.ENDING,
                    actor=p.user_id,
                    values={"end_reason": why},
                    rating_id=rating_id,
                )
                ending.append(k.id)
        row = (
            await tx.conn.execute(
                select(provider_ratings).where(provider_ratings.c.id == rating_id)
            )
        ).one()
    return out.rating(row, ending)
