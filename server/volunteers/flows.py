"""Volunteers: the station's registry (skills, training, a watch agreement where they have
one, availability); volunteers on an elder's escalation chain (beside the neighbours, and only
with a watch agreement in force); simple tasks (chat, door knock, shopping); hours earned when
the elder or the station confirms a task; and the time bank: earned, spent, transferred to a
family member on the registry, with a statement.

Minutes move only through ``timebank_entries``, each with a unique ``entry_key``: a task's
hours are ``earned:task:{id}``, so a second confirmation cannot earn them twice. Spending and
giving lock the volunteer's row first, so two at once cannot overdraw the balance.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.volunteers import (
    ChainLinkIn,
    ChainLinkOut,
    EntryKind,
    SpendIn,
    StatementOut,
    TaskDoneIn,
    TransferIn,
    VolunteerIn,
    VolunteerOut,
    VolunteerTaskIn,
    VolunteerTaskOut,
)
from schemas.volunteers import VolunteerTaskStatus as T
from server.auth.principal import Principal, Role
from server.clock import SHANGHAI
from server.errors import ApiError, not_found
from server.platform import Platform, Tx, audit
from server.registry.guards import elder_for
from server.registry.tables import elders
from server.volunteers import model, out
from server.volunteers.tables import (
    timebank_entries,
    volunteer_links,
    volunteer_tasks,
    volunteers,
)

CHAIN_PREFIX: Final = "volunteer"


def volunteer_account(volunteer_id: int) -> str:
    return f"volunteer:{volunteer_id}"


def elder_account(elder_id: int) -> str:
    return f"elder:{elder_id}"


def _scope(p: Principal, station_id: int) -> None:
    if p.role is not Role.ADMIN and (p.role is not Role.OPERATOR or p.station_id != station_id):
        raise not_found("volunteer")


async def _volunteer(conn: AsyncConnection, volunteer_id: int, *, lock: bool = False) -> Any:
    q = select(volunteers).where(volunteers.c.id == volunteer_id)
    row = (await conn.execute(q.with_for_update() if lock else q)).first()
    if row is None:
        raise not_found("volunteer")
    return row


def agreement_problem(v: Any, today: date) -> str | None:
    """Why this volunteer cannot be a step of a chain (None if they can)."""
    if not v.active:
        return "volunteer.inactive"
    if not v.agreement_no:
        return "volunteer.no_watch_agreement"
    if v.agreement_expires is not None and v.agreement_expires < today:
        return "volunteer.agreement_expired"
    return None


REFUSALS: Final = {
    "volunteer.inactive": "the volunteer is no longer active",
    "volunteer.no_watch_agreement": (
        "only a volunteer with a signed watch agreement can be called in an emergency"
    ),
    "volunteer.agreement_expired": "the volunteer's watch agreement has expired; renew it first",
}


# ----- the registry ---------------------------------------------------------------------------


async def register(
    plat: Platform, p: Principal, *, station_id: int, body: VolunteerIn
) -> VolunteerOut:
    async with plat.tx() as tx:
        dup = (
            await tx.conn.execute(
                select(volunteers.c.id).where(
                    volunteers.c.station_id == station_id, volunteers.c.phone == body.phone
                )
            )
        ).first()
        if dup is not None:
            raise ApiError(
                409, "volunteer.duplicate", "a volunteer with this phone is registered", id=dup.id
            )
        vid = (
            await tx.conn.execute(
                insert(volunteers)
                .values(
                    station_id=station_id,
                    **body.model_dump(mode="json", exclude={"agreement_expires"}),
                    agreement_expires=body.agreement_expires,
                    created_at=tx.now,
                )
                .returning(volunteers.c.id)
            )
        ).scalar_one()
        await audit(tx, actor=p.user_id, action="register", object_type="volunteer", object_id=vid)
        return out.volunteer_out(await _volunteer(tx.conn, int(vid)))


async def update_volunteer(
    plat: Platform, p: Principal, *, volunteer_id: int, body: VolunteerIn
) -> VolunteerOut:
    """Replace a volunteer's record (a renewed agreement, new training, new hours)."""
    async with plat.tx() as tx:
        v = await _volunteer(tx.conn, volunteer_id, lock=True)
        _scope(p, v.station_id)
        await tx.conn.execute(
            update(volunteers)
            .where(volunteers.c.id == v.id)
            .values(
                **body.model_dump(mode="json", exclude={"agreement_expires"}),
                agreement_expires=body.agreement_expires,
            )
        )
        await audit(tx, actor=p.user_id, action="update", object_type="volunteer", object_id=v.id)
        return out.volunteer_out(await _volunteer(tx.conn, v.id))


async def list_volunteers(plat: Platform, *, station_id: int) -> list[VolunteerOut]:
    async with plat.store.read() as conn:
        rows = (
            await conn.execute(
                select(volunteers)
                .where(volunteers.c.station_id == station_id)
                .order_by(volunteers.c.id)
            )
        ).all()
    return [out.volunteer_out(r) for r in rows]


# ----- the escalation chain -------------------------------------------------------------------


async def link(plat: Platform, p: Principal, *, elder_id: int, body: ChainLinkIn) -> ChainLinkOut:
    """Put a volunteer on the elder's escalation chain (called with the neighbours); refused,
    with the reason, without a watch agreement in force."""
    async with plat.tx() as tx:
        elder = await elder_for(tx.conn, p, elder_id)
        _scope(p, elder.station_id)
        v = await _volunteer(tx.conn, body.volunteer_id)
        if v.station_id != elder.station_id:
            raise not_found("volunteer")
        why = agreement_problem(v, tx.now.astimezone(SHANGHAI).date())
        if why is not None:
            raise ApiError(409, why, REFUSALS[why], volunteer_id=v.id)
        known = (
            await tx.conn.execute(
                select(volunteer_links.c.id).where(
                    volunteer_links.c.elder_id == elder_id,
                    volunteer_links.c.volunteer_id == v.id,
                )
            )
        ).first()
        if known is None:
            await tx.conn.execute(
                insert(volunteer_links).values(
                    elder_id=elder_id, volunteer_id=v.id, created_by=p.user_id, created_at=tx.now
                )
            )
            await audit(tx, actor=p.user_id, action="link", object_type="volunteer", object_id=v.id)
    return ChainLinkOut(elder_id=elder_id, volunteer_id=v.id, name=v.name)


async def chain_volunteers(conn: AsyncConnection, *, elder_id: int, today: date) -> list[Any]:
    """The elder's volunteers who may be called now (agreement in force, active), in the
    order they were added: read by the escalation chain when it starts."""
    rows = (
        await conn.execute(
            select(volunteers)
            .join(volunteer_links, volunteer_links.c.volunteer_id == volunteers.c.id)
            .where(volunteer_links.c.elder_id == elder_id)
            .order_by(volunteer_links.c.id)
        )
    ).all()
    return [v for v in rows if agreement_problem(v, today) is None]


# ----- tasks and hours ------------------------------------------------------------------------


async def _task(tx: Tx, task_id: int) -> Any:
    row = (
        await tx.conn.execute(
            select(volunteer_tasks).where(volunteer_tasks.c.id == task_id).with_for_update()
        )
    ).first()
    if row is None:
        raise not_found("volunteer_task")
    return row


async def assign(plat: Platform, p: Principal, *, body: VolunteerTaskIn) -> VolunteerTaskOut:
    """Give a volunteer a simple task for an elder of the same station."""
    async with plat.tx() as tx:
        elder = await elder_for(tx.conn, p, body.elder_id)
        _scope(p, elder.station_id)
        v = await _volunteer(tx.conn, body.volunteer_id)
        if v.station_id != elder.station_id:
            raise not_found("volunteer")
        if not v.active:
            raise ApiError(409, "volunteer.inactive", REFUSALS["volunteer.inactive"])
        tid = await model.insert_task(
            tx,
            {
                "station_id": elder.station_id,
                "volunteer_id": v.id,
                "elder_id": elder.id,
                "kind": body.kind.value,
                "day": body.day,
                "notes": body.notes,
                "created_at": tx.now,
            },
        )
        await audit(
            tx, actor=p.user_id, action="assign", object_type="volunteer_task", object_id=tid
        )
        return out.task_out(await _task(tx, tid))


async def report_done(
    plat: Platform, p: Principal, *, task_id: int, body: TaskDoneIn
) -> VolunteerTaskOut:
    """The station records that the volunteer did it, and how long it took."""
    async with plat.tx() as tx:
        row = await _task(tx, task_id)
        _scope(p, row.station_id)
        await model.transition(tx, row, T.DONE, {"minutes": body.minutes, "notes": body.notes})
        return out.task_out(await _task(tx, task_id))


async def confirm(plat: Platform, p: Principal, *, task_id: int) -> VolunteerTaskOut:
    """The elder (or family) or the station confirms the hours: they are earned once. A
    second confirmation answers 200 with ``already_confirmed`` and earns nothing more."""
    async with plat.tx() as tx:
        row = await _task(tx, task_id)
        await elder_for(tx.conn, p, row.elder_id)  # 404 for anyone who may not see the elder
        if p.role not in (Role.ELDER, Role.FAMILY, Role.OPERATOR, Role.ADMIN):
            raise not_found("volunteer_task")
        if row.status == T.CONFIRMED:
            return out.task_out(row, already=True)
        if row.status != T.DONE:
            raise ApiError(
                409,
                "volunteer_task_state_conflict",
                "the volunteer has not reported this task done",
                status_now=row.status,
            )
        await model.transition(
            tx, row, T.CONFIRMED, {"confirmed_by": p.user_id, "confirmed_at": tx.now}
        )
        await _entry(
            tx,
            key=f"earned:task:{row.id}",
            account=volunteer_account(row.volunteer_id),
            kind=EntryKind.EARNED,
            minutes=int(row.minutes),
            memo=f"{row.kind} {row.day.isoformat()}",
            actor=p.user_id,
        )
        await audit(
            tx, actor=p.user_id, action="confirm", object_type="volunteer_task", object_id=row.id
        )
        return out.task_out(await _task(tx, task_id))


# ----- the time bank --------------------------------------------------------------------------


async def _entry(
    tx: Tx, *, key: str, account: str, kind: EntryKind, minutes: int, memo: str, actor: int | None
) -> None:
    await tx.conn.execute(
        insert(timebank_entries).values(
            entry_key=key,
            account=account,
            kind=kind.value,
            minutes=minutes,
            memo=memo[:200],
            actor=actor,
            at=tx.now,
        )
    )


async def balance(conn: AsyncConnection, account: str) -> int:
    return int(
        (
            await conn.execute(
                select(func.coalesce(func.sum(timebank_entries.c.minutes), 0)).where(
                    timebank_entries.c.account == account
                )
            )
        ).scalar_one()
    )


async def _movement_key(conn: AsyncConnection, account: str, kind: EntryKind) -> str:
    n = (
        await conn.execute(
            select(func.count()).where(
                timebank_entries.c.account == account, timebank_entries.c.kind == kind.value
            )
        )
    ).scalar_one()
    return f"{kind.value}:{account}:{int(n) + 1}"


async def spend(plat: Platform, p: Principal, *, volunteer_id: int, body: SpendIn) -> StatementOut:
    """The volunteer uses hours (for help they receive); never below zero."""
    async with plat.tx() as tx:
        v = await _volunteer(tx.conn, volunteer_id, lock=True)
        _scope(p, v.station_id)
        account = volunteer_account(v.id)
        have = await balance(tx.conn, account)
        if body.minutes > have:
            raise ApiError(
                409, "timebank.insufficient", "not enough hours in the time bank", balance_min=have
            )
        await _entry(
            tx,
            key=await _movement_key(tx.conn, account, EntryKind.SPENT),
            account=account,
            kind=EntryKind.SPENT,
            minutes=-body.minutes,
            memo=body.memo,
            actor=p.user_id,
        )
        await audit(tx, actor=p.user_id, action="spend", object_type="timebank", object_id=account)
    return await statement(plat, account=account)


async def transfer(
    plat: Platform, p: Principal, *, volunteer_id: int, body: TransferIn
) -> StatementOut:
    """The volunteer gives hours to a family member on the registry (an elder): one entry
    out, one in, in one transaction."""
    async with plat.tx() as tx:
        elder = (
            await tx.conn.execute(select(elders).where(elders.c.id == body.to_elder_id))
        ).first()
        if elder is None:
            raise not_found("elder")
        v = await _volunteer(tx.conn, volunteer_id, lock=True)
        _scope(p, v.station_id)
        account = volunteer_account(v.id)
        have = await balance(tx.conn, account)
        if body.minutes > have:
            raise ApiError(
                409, "timebank.insufficient", "not enough hours in the time bank", balance_min=have
            )
        key = await _movement_key(tx.conn, account, EntryKind.TRANSFER_OUT)
        to = elder_account(elder.id)
        await _entry(
            tx,
            key=key,
            account=account,
            kind=EntryKind.TRANSFER_OUT,
            minutes=-body.minutes,
            memo=f"{to} ({body.relation})",
            actor=p.user_id,
        )
        await _entry(
            tx,
            key=f"{key}:in",
            account=to,
            kind=EntryKind.TRANSFER_IN,
            minutes=body.minutes,
            memo=f"{account} ({body.relation})",
            actor=p.user_id,
        )
        await audit(
            tx, actor=p.user_id, action="transfer", object_type="timebank", object_id=account
        )
    return await statement(plat, account=account)


async def statement(plat: Platform, *, account: str) -> StatementOut:
    """An account's movements and totals."""
    async with plat.store.read() as conn:
        rows = (
            await conn.execute(
                select(timebank_entries)
                .where(timebank_entries.c.account == account)
                .order_by(timebank_entries.c.id)
            )
        ).all()
    return out.statement_out(account, rows)


async def volunteer_statement(plat: Platform, p: Principal, *, volunteer_id: int) -> StatementOut:
    async with plat.store.read() as conn:
        v = await _volunteer(conn, volunteer_id)
    _scope(p, v.station_id)
    return await statement(plat, account=volunteer_account(v.id))


async def elder_statement(plat: Platform, p: Principal, *, elder_id: int) -> StatementOut:
    async with plat.store.read() as conn:
        await elder_for(conn, p, elder_id)
    return await statement(plat, account=elder_account(elder_id))
