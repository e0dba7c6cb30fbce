"""Money by provider: the quarterly settlement of one provider (what its passed records earned,
what upheld fraud took back), with satisfaction and complaints against its caregivers.

A record belongs to the provider recorded on it (the caregiver's employer at the time), so a
caregiver who moves mid-quarter leaves her earlier records with the provider she left. A held
record is listed but not paid; an upheld one counts what was paid for it, and the recovery is
taken off the settlement of the quarter in which it was decided."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.hotline import Answer
from schemas.providers import DistrictSettlementOut, HoldStatus, SettlementOut
from schemas.welfare import RecordReview
from server.auth.principal import Principal
from server.hotline.flows.followup import service_ref
from server.hotline.tables import complaints, satisfaction
from server.planning.model import midnight
from server.platform import Platform
from server.providers.flows.common import officer_of, provider_row
from server.providers.tables import fraud_holds, providers
from server.registry.tables import caregivers
from server.tasks.tables import tasks
from server.texts import render
from server.welfare.ledger import period_bounds
from server.welfare.statements import Sheet
from server.welfare.tables import service_records
from server.welfare.workdays import business_date

SATISFIED = (Answer.SATISFIED.value, Answer.BASICALLY.value)


def span(first: Any, last: Any) -> tuple[datetime, datetime]:
    """[start, end) instants of local days ``first``..``last``."""
    return midnight(first), midnight(last) + timedelta(days=1)


@dataclass(frozen=True)
class Line:
    record_id: int
    day: str
    item: str
    state: str  # paid / held / recovered
    subsidy_fen: int
    recovered_fen: int


async def lines(
    conn: AsyncConnection, provider_id: int, start: datetime, end: datetime
) -> list[Line]:
    """The provider's records in [start, end) that were or will be paid, oldest first."""
    sr, fh = service_records.c, fraud_holds.c
    rows = (
        await conn.execute(
            select(service_records, fh.status.label("hold"), fh.paid_fen, fh.recovered_fen)
            .join(fraud_holds, fh.record_id == sr.id, isouter=True)
            .where(sr.provider_id == provider_id, sr.started_at >= start, sr.started_at < end)
            .order_by(sr.started_at, sr.id)
        )
    ).all()
    found = []
    for r in rows:
        if r.hold == HoldStatus.HELD.value:
            state, fen, back = "held", 0, 0
        elif r.hold == HoldStatus.UPHELD.value:
            state, fen, back = "recovered", int(r.paid_fen), int(r.recovered_fen)
        elif not r.reversed and r.review == RecordReview.PASSED.value:
            state, fen, back = "paid", int(r.subsidy_fen), 0
        else:
            continue
        day = business_date(r.started_at).isoformat()
        found.append(Line(r.id, day, r.item_name, state, fen, back))
    return found


async def recovered_in(
    conn: AsyncConnection, provider_id: int, start: datetime, end: datetime
) -> int:
    """Subsidy recovered from the provider by decisions made in [start, end)."""
    fh = fraud_holds.c
    total = (
        await conn.execute(
            select(func.coalesce(func.sum(fh.recovered_fen), 0)).where(
                fh.provider_id == provider_id,
                fh.status == HoldStatus.UPHELD.value,
                fh.decided_at >= start,
                fh.decided_at < end,
            )
        )
    ).scalar()
    return int(total or 0)


def about(table: Any, provider_id: int) -> ColumnElement[bool]:
    """Satisfaction answers or complaints about the provider: each kept with the caregiver's
    employer when it was given (she may have moved since); a row from before employers were
    kept goes by her employer now."""
    staff = select(caregivers.c.id).where(caregivers.c.provider_id == provider_id)
    return or_(
        table.c.employer_id == provider_id,
        and_(table.c.employer_id.is_(None), table.c.provider_id.in_(staff)),
    )


async def _voice(
    conn: AsyncConnection, provider_id: int, start: datetime, end: datetime
) -> tuple[int, int, int]:
    """(satisfied answers, answers, complaints) about the provider's caregivers."""
    sat, com = satisfaction.c, complaints.c
    answers = (
        await conn.execute(
            select(sat.answer).where(
                about(satisfaction, provider_id), sat.at >= start, sat.at < end
            )
        )
    ).scalars()
    got = list(answers)
    lodged = (
        await conn.execute(
            select(func.count())
            .select_from(complaints)
            .where(about(complaints, provider_id), com.opened_at >= start, com.opened_at < end)
        )
    ).scalar()
    return sum(1 for a in got if a in SATISFIED), len(got), int(lodged or 0)


async def _figures(
    conn: AsyncConnection, provider_id: int, quarter: str
) -> tuple[SettlementOut, list[Line]]:
    start, end = span(*period_bounds(quarter))
    found = await lines(conn, provider_id, start, end)
    back = await recovered_in(conn, provider_id, start, end)
    happy, answers, lodged = await _voice(conn, provider_id, start, end)
    sampled, answered = await _return_visits(conn, provider_id, quarter, (start, end))
    gross = sum(x.subsidy_fen for x in found)
    figures = SettlementOut(
        provider_id=provider_id,
        quarter=quarter,
        records=sum(1 for x in found if x.state != "held"),
        held=sum(1 for x in found if x.state == "held"),
        gross_fen=gross,
        recovered_fen=back,
        net_fen=gross - back,
        satisfied=happy,
        satisfaction_answers=answers,
        complaints=lodged,
        return_visits_sampled=sampled,
        return_visits_answered=answered,
    )
    return figures, found


async def _return_visits(
    conn: AsyncConnection, provider_id: int, quarter: str, within: tuple[datetime, datetime]
) -> tuple[int, int]:
    """(return visits drawn for the provider's services of the quarter, those answered)."""
    sr = service_records.c
    ids = (
        await conn.execute(
            select(sr.id).where(
                sr.provider_id == provider_id, sr.started_at >= within[0], sr.started_at < within[1]
            )
        )
    ).scalars()
    refs = [service_ref(quarter, rid) for rid in ids]
    if not refs:
        return 0, 0
    drawn = list(
        (await conn.execute(select(tasks.c.id).where(tasks.c.source_ref.in_(refs)))).scalars()
    )
    if not drawn:
        return 0, 0
    answered = (
        await conn.execute(
            select(func.count(func.distinct(satisfaction.c.task_id))).where(
                satisfaction.c.task_id.in_(drawn)
            )
        )
    ).scalar()
    return len(drawn), int(answered or 0)


async def settlement(
    plat: Platform, p: Principal, *, provider_id: int, quarter: str
) -> tuple[SettlementOut, Sheet]:
    """The provider's quarter as figures and as the sheet the street officer signs off."""
    async with plat.store.read() as conn:
        prov = await provider_row(conn, provider_id)
        await officer_of(conn, p, prov.district)
        figures, found = await _figures(conn, provider_id, quarter)
    heads = ("record", "day", "item", "state", "subsidy", "recovered")
    sheet = Sheet(
        title=render("providers.sheet.settlement_title", name=prov.name, quarter=quarter),
        headers=tuple(render(f"providers.sheet.{h}") for h in heads),
        rows=tuple(
            (
                x.record_id,
                x.day,
                x.item,
                render(f"providers.state.{x.state}"),
                x.subsidy_fen,
                x.recovered_fen,
            )
            for x in found
        ),
        money_columns=frozenset({4, 5}),
        sum_columns=frozenset({4, 5}),
    )
    return figures, sheet


async def district(
    plat: Platform, p: Principal, *, district: str, quarter: str
) -> DistrictSettlementOut:
    """Every provider of the district in the quarter, with the district's totals."""
    async with plat.store.read() as conn:
        await officer_of(conn, p, district)
        ids = (
            await conn.execute(
                select(providers.c.id)
                .where(providers.c.district == district)
                .order_by(providers.c.id)
            )
        ).scalars()
        each = [(await _figures(conn, pid, quarter))[0] for pid in list(ids)]
    return DistrictSettlementOut(
        district=district,
        quarter=quarter,
        providers=each,
        gross_fen=sum(x.gross_fen for x in each),
        recovered_fen=sum(x.recovered_fen for x in each),
        net_fen=sum(x.net_fen for x in each),
    )
