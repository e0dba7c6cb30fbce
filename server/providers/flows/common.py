"""What every providers flow reads: who is listed today, a provider's row, the officer's scope,
and the 持证上岗 check other domains call before a visit is planned or recorded."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.providers import Grade, ListKind, ListSubject, RatingStatus
from server.auth.principal import Principal
from server.errors import ApiError, not_found
from server.providers.flows.listed import blocked_caregivers, in_force, listed
from server.providers.rules import valid_certificate
from server.providers.tables import provider_ratings, providers
from server.registry.tables import caregivers
from server.texts import zh_en
from server.welfare.flows.officers import district_scope


async def provider_row(conn: AsyncConnection, provider_id: int) -> Any:
    row = (await conn.execute(select(providers).where(providers.c.id == provider_id))).first()
    if row is None:
        raise not_found("provider")
    return row


async def officer_of(conn: AsyncConnection, p: Principal, district: str) -> None:
    """404 unless the caller is an admin or this district's officer."""
    await district_scope(conn, p, district)


async def unqualified_year(conn: AsyncConnection, provider_id: int) -> int | None:
    """The year of a signed 不合格 rating of the provider, if it has one."""
    r = provider_ratings.c
    return (
        await conn.execute(
            select(r.year).where(
                r.provider_id == provider_id,
                r.status == RatingStatus.SIGNED.value,
                r.grade == Grade.UNQUALIFIED.value,
            )
        )
    ).scalar()


async def refuse_new_work(conn: AsyncConnection, provider_id: int, day: date) -> None:
    """409 if the provider may take no new contract or booking: black-listed, or rated 不合格."""
    row = await provider_row(conn, provider_id)
    if provider_id in await listed(conn, ListSubject.PROVIDER, ListKind.BLACK, day):
        message = zh_en("providers.problem.black_listed", name=row.name)
        raise ApiError(409, "provider.black_listed", message, provider_id=provider_id)
    year = await unqualified_year(conn, provider_id)
    if year is not None:
        message = zh_en("providers.problem.unqualified", name=row.name, year=year)
        raise ApiError(409, "provider.unqualified", message, provider_id=provider_id)


async def check_caregiver(
    conn: AsyncConnection,
    *,
    caregiver_id: int | None,
    item_name: str,
    certificate: str | None,
    day: date,
) -> None:
    """Refuse a visit for a caregiver who may not do it on ``day``: black-listed (or her
    provider is), or without a valid certificate the item needs (持证上岗)."""
    if caregiver_id is None:
        return
    cg = (await conn.execute(select(caregivers).where(caregivers.c.id == caregiver_id))).first()
    if cg is None:
        return
    if caregiver_id in await blocked_caregivers(conn, day):
        message = zh_en("providers.problem.black_listed", name=cg.name)
        raise ApiError(409, "caregiver.black_listed", message, caregiver_id=caregiver_id)
    if certificate and not valid_certificate(cg.certificates or (), certificate, day):
        message = zh_en("providers.problem.no_certificate", item=item_name, certificate=certificate)
        raise ApiError(
            409,
            "caregiver.no_certificate",
            message,
            caregiver_id=caregiver_id,
            certificate=certificate,
        )


__all__ = ["blocked_caregivers", "in_force", "listed"]
