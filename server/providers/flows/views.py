"""What the staff pages read (issue 14): the districts an officer may see, a district's
providers, a provider's caregivers with their certificates, the ratings and the held records
with the visit behind each hold. Read-only; the scope is the same as the writes'."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from schemas.providers import (
    ListKind,
    ListSubject,
    ProviderCaregiverOut,
    ProviderOut,
    RatingOut,
    ScopeOut,
)
from server.auth.principal import Principal, Role
from server.platform import Platform
from server.providers import out
from server.providers.flows.common import blocked_caregivers, listed, officer_of, provider_row
from server.providers.rules import valid_certificate
from server.providers.tables import provider_ratings, providers
from server.registry.tables import caregivers, stations
from server.welfare.flows.officers import scope_of
from server.welfare.workdays import business_date


async def scope(plat: Platform, p: Principal) -> ScopeOut:
    """The districts the caller may open: an admin every station's, an officer their own."""
    async with plat.store.read() as conn:
        if p.role is Role.ADMIN:
            found = (await conn.execute(select(stations.c.district).distinct())).scalars()
            districts = sorted({str(d) for d in found if d})
        else:
            own = await scope_of(conn, p)
            districts = [own[0]] if own is not None and p.role is Role.DISTRICT_OFFICER else []
        streets = (
            await conn.execute(
                select(stations.c.district, stations.c.street)
                .where(stations.c.district.in_(districts))
                .distinct()
            )
        ).all()
    by: dict[str, list[str]] = {d: [] for d in districts}
    for s in streets:
        if s.street and s.street not in by[s.district]:
            by[s.district].append(str(s.street))
    return ScopeOut(
        role=p.role.value,
        districts=districts,
        streets={d: sorted(v) for d, v in by.items()},
        today=business_date(plat.clock.now()),
    )


async def of_district(plat: Platform, p: Principal, district: str) -> list[ProviderOut]:
    """The district's providers, red-listed first, then by name."""
    today = business_date(plat.clock.now())
    async with plat.store.read() as conn:
        await officer_of(conn, p, district)
        red = await listed(conn, ListSubject.PROVIDER, ListKind.RED, today)
        black = await listed(conn, ListSubject.PROVIDER, ListKind.BLACK, today)
        rows = (await conn.execute(select(providers).where(providers.c.district == district))).all()
    rows = sorted(rows, key=lambda r: (r.id not in red, r.name, r.id))
    return [out.provider(r, red=r.id in red, black=r.id in black) for r in rows]


def _certificates(raw: Any, today: Any) -> list[dict[str, Any]]:
    """Each certificate with whether it is valid today (持证上岗)."""
    certs = [dict(c) for c in raw or () if isinstance(c, dict)]
    return [{**c, "valid": valid_certificate([c], str(c.get("name")), today)} for c in certs]


async def caregivers_of(
    plat: Platform, p: Principal, provider_id: int
) -> list[ProviderCaregiverOut]:
    """The provider's caregivers now, each with her certificates and whether she is listed."""
    today = business_date(plat.clock.now())
    async with plat.store.read() as conn:
        row = await provider_row(conn, provider_id)
        await officer_of(conn, p, row.district)
        blocked = await blocked_caregivers(conn, today)
        red = await listed(conn, ListSubject.CAREGIVER, ListKind.RED, today)
        rows = (
            await conn.execute(
                select(caregivers)
                .where(caregivers.c.provider_id == provider_id)
                .order_by(caregivers.c.name, caregivers.c.id)
            )
        ).all()
    return [
        ProviderCaregiverOut(
            id=r.id,
            name=r.name,
            station_id=r.station_id,
            certificates=_certificates(r.certificates, today),
            red_listed=r.id in red,
            black_listed=r.id in blocked,
        )
        for r in rows
    ]


async def ratings_of(plat: Platform, p: Principal, district: str) -> list[RatingOut]:
    """The district's ratings, newest year first."""
    async with plat.store.read() as conn:
        await officer_of(conn, p, district)
        rows = (
            await conn.execute(
                select(provider_ratings)
                .join(providers, providers.c.id == provider_ratings.c.provider_id)
                .where(providers.c.district == district)
                .order_by(provider_ratings.c.year.desc(), provider_ratings.c.id)
            )
        ).all()
    return [out.rating(r) for r in rows]
