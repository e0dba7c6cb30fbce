"""Assessments: recorded item by item against a scale file, saved as a draft while items are
missing, scored when complete and submitted. The score sets the elder's capability level and
care level (with a history row), suggests a service plan the operator can edit and accept
into recurring bookings, and schedules the next re-assessment (yearly; sooner after a
hospital stay or a fall). The welfare rules read the level from the elder's file
(``capability_levels`` in a rule's condition).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.assessments import (
    AssessmentIn,
    AssessmentOut,
    AssessmentPatch,
    CapabilityOut,
    PlanAcceptIn,
    PlanAcceptOut,
    ReassessmentOut,
    ReassessReason,
    TriggerIn,
)
from schemas.assessments import AssessmentStatus as S
from schemas.assessments import ReassessmentStatus as R
from schemas.services import RecurrenceIn
from server.assessments import model, out
from server.assessments.scale import Scale, bad_answers, scales, score
from server.assessments.tables import assessments, capability_history, reassessments
from server.auth.principal import Principal, Role
from server.clock import SHANGHAI
from server.errors import ApiError, not_found
from server.platform import Platform, Tx, audit, schedule
from server.registry.guards import elder_for
from server.registry.tables import elders
from server.services.flows.recurring import insert_rule
from server.tasks.flows import create_task
from server.texts import render

DUE_TIMER: Final = "assessments.due"
ASSESSORS: Final = (Role.OPERATOR, Role.CAREGIVER, Role.ADMIN)


def scale_for(name: str) -> Scale:
    """A scale by id (its newest version) or id@version; 422 for an unknown one."""
    found = scales().get(name)
    if found is None:
        raise ApiError(
            422, "assessment.unknown_scale", f"no scale {name!r}", known=sorted(scales())
        )
    return found


def _check(scale: Scale, answers: dict[str, int], flags: list[str]) -> None:
    bad = bad_answers(scale, answers)
    if bad:
        raise ApiError(
            422, "assessment.bad_answers", "some answers are not on the scale", items=bad
        )
    unknown = sorted(set(flags) - scale.raisers)
    if unknown:
        raise ApiError(
            422,
            "assessment.unknown_flag",
            "unknown flags",
            flags=unknown,
            known=sorted(scale.raisers),
        )


def _staff(p: Principal, elder: Any) -> None:
    if p.role is not Role.ADMIN and p.station_id != elder.station_id:
        raise not_found("elder")


async def elder_for_assessor(conn: AsyncConnection, p: Principal, elder_id: int) -> Any:
    """The elder, for the station's assessors (its operators and caregivers, whoever is
    assigned) and for those who may see the file otherwise; 404 for anyone else."""
    if p.role in (Role.OPERATOR, Role.CAREGIVER):
        row = (await conn.execute(select(elders).where(elders.c.id == elder_id))).first()
        if row is None or row.station_id != p.station_id:
            raise not_found("elder")
        return row
    return await elder_for(conn, p, elder_id)


async def _lock_elder(tx: Tx, elder_id: int) -> Any:
    """The elder's row, locked first (the house's lock order: elder, then the rest)."""
    row = (
        await tx.conn.execute(select(elders).where(elders.c.id == elder_id).with_for_update())
    ).first()
    if row is None:
        raise not_found("elder")
    return row


async def _row(conn: AsyncConnection, assessment_id: int, *, lock: bool = False) -> Any:
    q = select(assessments).where(assessments.c.id == assessment_id)
    row = (await conn.execute(q.with_for_update() if lock else q)).first()
    if row is None:
        raise not_found("assessment")
    return row


async def record(
    plat: Platform, p: Principal, *, elder_id: int, body: AssessmentIn
) -> AssessmentOut:
    """A new assessment: a draft, scored at once if submitted with every item answered."""
    scale = scale_for(body.scale)
    _check(scale, body.answers, body.flags)
    async with plat.tx() as tx:
        elder = await elder_for_assessor(tx.conn, p, elder_id)
        _staff(p, elder)
        await _lock_elder(tx, elder_id)
        aid = await model.insert_assessment(
            tx,
            {
                "station_id": elder.station_id,
                "elder_id": elder_id,
                "scale": scale.key,
                "kind": body.kind.value,
                "answers": body.answers,
                "flags": sorted(set(body.flags)),
                "missing": [i.code for i in scale.items if i.code not in body.answers],
                "sections": {},
                "raised_by": [],
                "plan": [],
                "notes": body.notes,
                "assessor_id": p.user_id,
                "created_at": tx.now,
                "updated_at": tx.now,
            },
        )
        if body.submit:
            await _submit(tx, await _row(tx.conn, aid, lock=True), scale)
        await audit(tx, actor=p.user_id, action="assess", object_type="assessment", object_id=aid)
        return out.assessment_out(await _row(tx.conn, aid), scale)


async def amend(
    plat: Platform, p: Principal, *, assessment_id: int, body: AssessmentPatch
) -> AssessmentOut:
    """Add or correct answers of a draft (and submit it)."""
    async with plat.tx() as tx:
        row = await _row(tx.conn, assessment_id)
        elder = await elder_for_assessor(tx.conn, p, row.elder_id)
        _staff(p, elder)
        await _lock_elder(tx, row.elder_id)
        row = await _row(tx.conn, assessment_id, lock=True)
        if row.status != S.DRAFT:
            raise ApiError(
                409,
                "assessment_state_conflict",
                "this assessment is scored; record a new one to correct it",
                status_now=row.status,
            )
        scale = scale_for(row.scale)
        answers = {**row.answers, **body.answers}
        flags = list(row.flags) if body.flags is None else sorted(set(body.flags))
        _check(scale, answers, flags)
        await tx.conn.execute(
            update(assessments)
            .where(assessments.c.id == row.id)
            .values(
                answers=answers,
                flags=flags,
                missing=[i.code for i in scale.items if i.code not in answers],
                notes=row.notes if body.notes is None else body.notes,
                updated_at=tx.now,
            )
        )
        if body.submit:
            await _submit(tx, await _row(tx.conn, assessment_id, lock=True), scale)
        await audit(tx, actor=p.user_id, action="amend", object_type="assessment", object_id=row.id)
        return out.assessment_out(await _row(tx.conn, assessment_id), scale)


async def _submit(tx: Tx, row: Any, scale: Scale) -> None:
    """Score a complete draft and apply it to the elder's file; an incomplete one stays a
    draft (its missing items listed), nothing else changes."""
    result = score(scale, row.answers, frozenset(row.flags))
    if result.missing:
        return
    assert result.level is not None and result.care_level is not None
    plan = [
        {"item_code": ln.item_code, "per": ln.per, "times": ln.times}
        for ln in scale.plans.get(result.level, ())
    ]
    await model.scored(
        tx,
        row,
        {
            "missing": [],
            "sections": dict(result.sections),
            "total": result.total,
            "level": result.level,
            "care_level": result.care_level.value,
            "raised_by": list(result.raised_by),
            "plan": plan,
            "scored_at": tx.now,
        },
    )
    elder = (await tx.conn.execute(select(elders).where(elders.c.id == row.elder_id))).one()
    await tx.conn.execute(
        update(elders)
        .where(elders.c.id == row.elder_id)
        .values(
            capability_level=result.level, care_level=result.care_level.value, updated_at=tx.now
        )
    )
    await _history(tx, row=row, elder=elder, level=result.level, care=result.care_level.value)
    # the re-assessments this one answers are done; the next yearly one is due
    due = (
        await tx.conn.execute(
            select(reassessments).where(
                reassessments.c.elder_id == row.elder_id,
                reassessments.c.status == R.DUE.value,
            )
        )
    ).all()
    for d in due:
        await model.reassessment_transition(tx, d, R.DONE, {"assessment_id": row.id})
    today = tx.now.astimezone(SHANGHAI).date()
    await plan_reassessment(
        tx,
        elder=elder,
        due_on=today + timedelta(days=scale.reassess_after_days),
        reason=ReassessReason.YEARLY,
    )


async def _history(tx: Tx, *, row: Any, elder: Any, level: int, care: str) -> None:
    await tx.conn.execute(
        capability_history.insert().values(
            elder_id=row.elder_id,
            assessment_id=row.id,
            level=level,
            care_level=care,
            previous_level=elder.capability_level,
            previous_care_level=elder.care_level,
            at=tx.now,
        )
    )


async def plan_reassessment(tx: Tx, *, elder: Any, due_on: date, reason: ReassessReason) -> int:
    """A re-assessment due on a day, with the timer that puts a task on the station's plan
    that morning."""
    rid = await model.insert_reassessment(
        tx,
        {
            "station_id": elder.station_id,
            "elder_id": elder.id,
            "due_on": due_on,
            "reason": reason.value,
            "created_at": tx.now,
        },
    )
    at = datetime.combine(due_on, time(8, 0), tzinfo=SHANGHAI)
    await schedule(tx, DUE_TIMER, f"{DUE_TIMER}:{rid}", max(at, tx.now), {"reassessment_id": rid})
    return rid


async def on_due(tx: Tx, *, reassessment_id: int) -> None:
    """The morning a re-assessment is due: a task for the station's plan (once)."""
    row = (
        await tx.conn.execute(select(reassessments).where(reassessments.c.id == reassessment_id))
    ).first()
    if row is None or row.status != R.DUE:
        return
    elder = (await tx.conn.execute(select(elders).where(elders.c.id == row.elder_id))).one()
    start = datetime.combine(row.due_on, time(9, 0), tzinfo=SHANGHAI)
    tid = await create_task(
        tx,
        station_id=row.station_id,
        elder_id=row.elder_id,
        kind="assessment",
        title=render("task.assessment_due"),
        window=(start, start + timedelta(hours=8)),
        duration_s=3600,
        where=(elder.lat, elder.lng),
        source="assessment",
        source_ref=f"reassess:{row.id}",
        notes=render(
            "assessment.due_note",
            name=elder.name,
            reason=row.reason,
            day=row.due_on.isoformat(),
        ),
    )
    if tid is not None:
        await tx.conn.execute(
            update(reassessments).where(reassessments.c.id == row.id).values(task_id=tid)
        )


async def trigger(
    plat: Platform, p: Principal, *, elder_id: int, body: TriggerIn
) -> ReassessmentOut:
    """A hospital stay ended or the elder fell: a re-assessment is due a week later."""
    if body.reason is ReassessReason.YEARLY:
        raise ApiError(
            422, "assessment.bad_trigger", "yearly re-assessments are scheduled by the score"
        )
    async with plat.tx() as tx:
        elder = await elder_for_assessor(tx.conn, p, elder_id)
        _staff(p, elder)
        elder = await _lock_elder(tx, elder_id)
        rid = await plan_reassessment(
            tx, elder=elder, due_on=body.on + model.AFTER_EVENT[body.reason], reason=body.reason
        )
        await audit(
            tx, actor=p.user_id, action="trigger", object_type="reassessment", object_id=rid
        )
        row = (await tx.conn.execute(select(reassessments).where(reassessments.c.id == rid))).one()
        return out.reassessment_out(row)


async def accept_plan(
    plat: Platform, p: Principal, *, assessment_id: int, body: PlanAcceptIn
) -> PlanAcceptOut:
    """The operator accepts the plan, as suggested or edited: each line a recurring rule, all
    in one transaction (one line refused, none written)."""
    async with plat.tx() as tx:
        row = await _row(tx.conn, assessment_id)
        elder = await elder_for_assessor(tx.conn, p, row.elder_id)
        _staff(p, elder)
        elder = await _lock_elder(tx, row.elder_id)
        row = await _row(tx.conn, assessment_id, lock=True)
        if row.status != S.SCORED:
            raise ApiError(409, "assessment.not_scored", "only a scored assessment has a plan")
        if row.plan_rules is not None:
            raise ApiError(
                409,
                "assessment.plan_accepted",
                "this plan was accepted already",
                rule_ids=row.plan_rules,
            )
        ids: list[int] = []
        for line in body.rules:
            rule = RecurrenceIn(
                **line.model_dump(), notes=render("assessment.plan_note", id=row.id)
            )
            ids.append(await insert_rule(tx, elder=elder, body=rule, actor=p.user_id))
        await tx.conn.execute(
            update(assessments).where(assessments.c.id == row.id).values(plan_rules=ids)
        )
        await audit(
            tx, actor=p.user_id, action="accept_plan", object_type="assessment", object_id=row.id
        )
    return PlanAcceptOut(assessment_id=assessment_id, rule_ids=ids)


async def get(plat: Platform, p: Principal, *, assessment_id: int) -> AssessmentOut:
    async with plat.store.read() as conn:
        row = await _row(conn, assessment_id)
        elder = await elder_for_assessor(conn, p, row.elder_id)
        _staff(p, elder)
    return out.assessment_out(row, scale_for(row.scale))


async def capability(plat: Platform, p: Principal, *, elder_id: int) -> CapabilityOut:
    """The elder's level now, its history and the re-assessments planned."""
    async with plat.store.read() as conn:
        elder = await elder_for_assessor(conn, p, elder_id)
        hist = (
            await conn.execute(
                select(capability_history)
                .where(capability_history.c.elder_id == elder_id)
                .order_by(capability_history.c.id)
            )
        ).all()
        due = (
            await conn.execute(
                select(reassessments)
                .where(reassessments.c.elder_id == elder_id)
                .order_by(reassessments.c.due_on, reassessments.c.id)
            )
        ).all()
    return out.capability_out(elder, hist, due)


def list_scales() -> list[dict[str, Any]]:
    """Every loaded scale (by id@version), its items and levels."""
    return [out.scale_out(s) for k, s in sorted(scales().items()) if k == s.key]
