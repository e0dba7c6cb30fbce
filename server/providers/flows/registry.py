"""Providers as an entity: registered with a verified credit code and a licence in force; a
caregiver is employed by one of them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from schemas.providers import CaregiverProviderIn, ListKind, ListSubject, ProviderIn, ProviderOut
from server.auth.principal import Principal
from server.errors import ApiError, not_found
from server.identity import normalize_credit_code
from server.platform import Platform, audit
from server.providers import out
from server.providers.flows.common import listed, officer_of, provider_row, refuse_new_work
from server.providers.tables import providers
from server.registry.tables import caregivers, stations
from server.texts import zh_en
from server.welfare.workdays import business_date


def credit_code(raw: str) -> str:
    """The code, verified (GB 32100-2015), or a 422 that says what is wrong with it."""
    try:
        return normalize_credit_code(raw)
    except ValueError as exc:
        message = zh_en("providers.problem.credit_code_invalid", reason=str(exc))
        raise ApiError(422, "provider.credit_code_invalid", message, field="credit_code") from exc


async def create(plat: Platform, p: Principal, body: ProviderIn) -> ProviderOut:
    """Register a provider (audited): the code verified, the licence and every document in
    force today; nothing is written otherwise."""
    code = credit_code(body.credit_code)
    today = business_date(plat.clock.now())
    for doc in (body.licence, *body.documents):
        if doc.expires < today:
            message = zh_en("providers.problem.licence_expired", expires=doc.expires)
            raise ApiError(
                422, "provider.licence_expired", message, kind=doc.kind, expires=doc.expires
            )
    try:
        async with plat.tx() as tx:
            await officer_of(tx.conn, p, body.district)
            pid = (
                await tx.conn.execute(
                    insert(providers)
                    .values(
                        name=body.name,
                        credit_code=code,
                        district=body.district,
                        licence=body.licence.model_dump(mode="json"),
                        documents=[d.model_dump(mode="json") for d in body.documents],
                        contacts=[c.model_dump() for c in body.contacts],
                        created_at=tx.now,
                        created_by=p.user_id,
                    )
                    .returning(providers.c.id)
                )
            ).scalar_one()
            await audit(tx, actor=p.user_id, action="create", object_type="provider", object_id=pid)
            row = await provider_row(tx.conn, pid)
    except IntegrityError as exc:
        message = zh_en("providers.problem.credit_code_taken")
        raise ApiError(409, "provider.credit_code_taken", message, field="credit_code") from exc
    return out.provider(row, red=False, black=False)


async def _view(plat: Platform, row: Any) -> ProviderOut:
    today = business_date(plat.clock.now())
    async with plat.store.read() as conn:
        red = row.id in await listed(conn, ListSubject.PROVIDER, ListKind.RED, today)
        black = row.id in await listed(conn, ListSubject.PROVIDER, ListKind.BLACK, today)
    return out.provider(row, red=red, black=black)


async def get(plat: Platform, p: Principal, provider_id: int) -> ProviderOut:
    async with plat.store.read() as conn:
        row = await provider_row(conn, provider_id)
        await officer_of(conn, p, row.district)
    return await _view(plat, row)


async def employ(
    plat: Platform, p: Principal, *, caregiver_id: int, body: CaregiverProviderIn
) -> dict[str, Any]:
    """A caregiver joins a provider (audited, with the one she leaves). Her past records keep
    the provider she worked for then: each record holds its own ``provider_id``."""
    today = business_date(plat.clock.now())
    async with plat.tx() as tx:
        row = await provider_row(tx.conn, body.provider_id)
        await officer_of(tx.conn, p, row.district)
        await refuse_new_work(tx.conn, body.provider_id, today)
        cg = (
            await tx.conn.execute(
                select(caregivers, stations.c.district)
                .join(stations, stations.c.id == caregivers.c.station_id)
                .where(caregivers.c.id == caregiver_id)
            )
        ).first()
        if cg is None or cg.district != row.district:  # another district's caregiver
            raise not_found("caregiver")
        await tx.conn.execute(
            update(caregivers)
            .where(caregivers.c.id == caregiver_id)
            .values(provider_id=body.provider_id)
        )
        await audit(
            tx,
            actor=p.user_id,
            action="employ",
            object_type="caregiver",
            object_id=caregiver_id,
            detail={"provider_id": body.provider_id, "left": cg.provider_id},
        )
    return {"caregiver_id": caregiver_id, "provider_id": body.provider_id}
