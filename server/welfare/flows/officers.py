"""Street and district reviewers (街道复审, 区民政核准): their accounts and where their authority
runs. A street officer reviews the street step of applications from stations of their street;
a district officer approves the district step, closes the district's settlement periods and
reads its summaries. Anything outside their scope answers 404, as for other tenants. Admins
keep every power."""

from __future__ import annotations

from typing import Final

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.welfare import OfficerIn, OfficerOut
from server.auth.passwords import check_new_password, hash_password
from server.auth.principal import Principal, Role
from server.auth.tables import users
from server.errors import ApiError, not_found
from server.platform import Platform, audit
from server.registry.tables import stations
from server.welfare import out
from server.welfare.tables import welfare_officers

OFFICERS: Final = (Role.STREET_OFFICER, Role.DISTRICT_OFFICER)


async def scope_of(conn: AsyncConnection, p: Principal) -> tuple[str, str | None] | None:
    """(district, street) of an officer; None for anyone else (or an officer with no scope)."""
    if p.role not in OFFICERS:
        return None
    row = (
        await conn.execute(select(welfare_officers).where(welfare_officers.c.user_id == p.user_id))
    ).first()
    return (row.district, row.street) if row is not None else None


async def in_scope(conn: AsyncConnection, p: Principal, *, station_id: int) -> bool:
    """Whether an officer's authority covers a station (its district, and street if theirs)."""
    scope = await scope_of(conn, p)
    if scope is None:
        return False
    st = (
        await conn.execute(
            select(stations.c.district, stations.c.street).where(stations.c.id == station_id)
        )
    ).first()
    if st is None or st.district != scope[0]:
        return False
    return p.role is Role.DISTRICT_OFFICER or st.street == scope[1]


async def district_scope(conn: AsyncConnection, p: Principal, district: str) -> None:
    """404 unless the caller is an admin or this district's officer."""
    if p.role is Role.ADMIN:
        return
    scope = await scope_of(conn, p)
    if p.role is not Role.DISTRICT_OFFICER or scope is None or scope[0] != district:
        raise not_found("district")


async def create(plat: Platform, p: Principal, body: OfficerIn) -> OfficerOut:
    """An admin opens a reviewer's account with its scope (audited)."""
    check_new_password(body.password, body.username, body.display_name)
    try:
        async with plat.tx() as tx:
            uid = (
                await tx.conn.execute(
                    insert(users)
                    .values(
                        role=body.role,
                        username=body.username,
                        display_name=body.display_name,
                        password_hash=hash_password(body.password),
                        station_id=None,
                        created_at=tx.now,
                    )
                    .returning(users.c.id)
                )
            ).scalar_one()
            await tx.conn.execute(
                insert(welfare_officers).values(
                    user_id=uid,
                    district=body.district,
                    street=body.street,
                    created_at=tx.now,
                    created_by=p.user_id or None,  # None: the command line
                )
            )
            await audit(
                tx,
                actor=p.user_id,
                action="create_officer",
                object_type="user",
                object_id=uid,
                detail={"role": body.role, "district": body.district, "street": body.street},
            )
    except IntegrityError as exc:
        raise ApiError(409, "username_taken", "this username is taken") from exc
    return OfficerOut(
        user_id=uid,
        role=body.role,
        username=body.username,
        district=body.district,
        street=body.street,
    )


async def listing(plat: Platform) -> list[OfficerOut]:
    """Every reviewer with their scope."""
    async with plat.store.read() as conn:
        rows = (
            await conn.execute(
                select(welfare_officers, users.c.role, users.c.username)
                .join(users, users.c.id == welfare_officers.c.user_id)
                .order_by(welfare_officers.c.user_id)
            )
        ).all()
    return [out.officer(r) for r in rows]
