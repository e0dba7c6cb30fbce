"""Contracts: a street (街道) contracts one to three providers at a time for a period, with the
service items and prices each may deliver. A fourth is refused with the rule named; a
black-listed or 不合格 provider is refused; red-listed providers are shown first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, insert, select

from schemas.providers import (
    ContractIn,
    ContractOut,
    ContractStatus,
    ListKind,
    ListSubject,
    StreetProviderOut,
)
from server.auth.principal import Principal
from server.errors import ApiError
from server.planning.model import midnight
from server.platform import Platform, Tx, audit, schedule
from server.providers import model, out
from server.providers.flows.common import listed, officer_of, provider_row, refuse_new_work
from server.providers.rules import MAX_PROVIDERS_PER_STREET
from server.providers.tables import provider_contracts, providers
from server.texts import zh_en
from server.welfare.flows.quota import lock_account
from server.welfare.workdays import business_date

LIVE = (ContractStatus.ACTIVE.value, ContractStatus.ENDING.value)
END_TIMER = "providers.contract_end"


async def create(plat: Platform, p: Principal, body: ContractIn) -> ContractOut:
    """Sign a contract (audited), or refuse it whole: dates, the provider's standing, the same
    provider twice, and the street's limit of three providers in any overlapping period."""
    if body.ends_on <= body.starts_on:
        message = zh_en("providers.problem.contract_dates")
        raise ApiError(422, "contract.dates_invalid", message)
    today = business_date(plat.clock.now())
    async with plat.tx() as tx:
        await officer_of(tx.conn, p, body.district)
        row = await provider_row(tx.conn, body.provider_id)
        await refuse_new_work(tx.conn, body.provider_id, today)
        licence_until = str((row.licence or {}).get("expires", ""))
        if licence_until and licence_until < today.isoformat():
            message = zh_en("providers.problem.licence_expired", expires=licence_until)
            raise ApiError(422, "provider.licence_expired", message, expires=licence_until)
        # one street's contracts are decided one at a time: two officers signing the third and
        # fourth at once must not both pass the count
        await lock_account(
            tx.conn,
            account=f"contracts:{body.district}/{body.street}"[:80],
            district=body.district,
            now=tx.now,
        )
        c = provider_contracts.c
        overlapping = (
            await tx.conn.execute(
                select(c.provider_id).where(
                    c.district == body.district,
                    c.street == body.street,
                    c.status.in_(LIVE),
                    and_(c.starts_on <= body.ends_on, c.ends_on >= body.starts_on),
                )
            )
        ).scalars()
        others = set(overlapping)
        if body.provider_id in others:
            message = zh_en("providers.problem.already_contracted")
            raise ApiError(409, "contract.already_contracted", message)
        if len(others) >= MAX_PROVIDERS_PER_STREET:
            message = zh_en(
                "providers.problem.street_full",
                limit=MAX_PROVIDERS_PER_STREET,
                street=body.street,
                count=len(others),
            )
            raise ApiError(
                409,
                "contract.street_full",
                message,
                rule="street_max_providers",
                limit=MAX_PROVIDERS_PER_STREET,
                contracted=sorted(others),
            )
        cid = (
            await tx.conn.execute(
                insert(provider_contracts)
                .values(
                    provider_id=body.provider_id,
                    district=body.district,
                    street=body.street,
                    starts_on=body.starts_on,
                    ends_on=body.ends_on,
                    items=[i.model_dump() for i in body.items],
                    status=ContractStatus.ACTIVE.value,
                    created_at=tx.now,
                    created_by=p.user_id,
                )
                .returning(provider_contracts.c.id)
            )
        ).scalar_one()
        await audit(
            tx,
            actor=p.user_id,
            action="sign",
            object_type="contract",
            object_id=cid,
            detail={"provider_id": body.provider_id, "street": body.street},
        )
        # the contract ends by itself the day after its last day
        end_at = midnight(body.ends_on + timedelta(days=1))
        await schedule(tx, END_TIMER, f"contract_end:{cid}", end_at, {"contract_id": cid})
        saved = (await tx.conn.execute(select(provider_contracts).where(c.id == cid))).one()
    return out.contract(saved)


async def on_end(platform: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """The contract's period is over: it ends (one set to end after a 不合格 rating, too)."""
    row = (
        await tx.conn.execute(
            select(provider_contracts).where(provider_contracts.c.id == payload["contract_id"])
        )
    ).first()
    if row is not None and row.status in LIVE:
        await model.transition(tx, model.CONTRACT, row, ContractStatus.ENDED, actor=None)


async def street_providers(
    plat: Platform, p: Principal, *, district: str, street: str
) -> list[StreetProviderOut]:
    """The district's providers as the street sees them when it contracts: red-listed first,
    then by name; black-listed ones marked (they cannot be contracted)."""
    today = business_date(plat.clock.now())
    async with plat.store.read() as conn:
        await officer_of(conn, p, district)
        red = await listed(conn, ListSubject.PROVIDER, ListKind.RED, today)
        black = await listed(conn, ListSubject.PROVIDER, ListKind.BLACK, today)
        rows = (await conn.execute(select(providers).where(providers.c.district == district))).all()
        c = provider_contracts.c
        live = set(
            (
                await conn.execute(
                    select(c.provider_id).where(
                        c.district == district,
                        c.street == street,
                        c.status.in_(LIVE),
                        c.starts_on <= today,
                        c.ends_on >= today,
                    )
                )
            ).scalars()
        )
    ordered = sorted(rows, key=lambda r: (r.id not in red, r.id in black, r.name, r.id))
    return [
        StreetProviderOut(
            provider_id=r.id,
            name=r.name,
            red_listed=r.id in red,
            black_listed=r.id in black,
            contracted=r.id in live,
        )
        for r in ordered
    ]


async def of_provider(plat: Platform, p: Principal, provider_id: int) -> list[ContractOut]:
    async with plat.store.read() as conn:
        row = await provider_row(conn, provider_id)
        await officer_of(conn, p, row.district)
        rows = (
            await conn.execute(
                select(provider_contracts)
                .where(provider_contracts.c.provider_id == provider_id)
                .order_by(provider_contracts.c.starts_on, provider_contracts.c.id)
            )
        ).all()
    return [out.contract(r) for r in rows]
