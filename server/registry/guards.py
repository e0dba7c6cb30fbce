"""Tenant guards: every read of an elder goes through ``elder_for``.

Another tenant's object answers 404, never 403, so its existence is not revealed.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.incidents import IncidentStatus as IS
from schemas.registry import BindingStatus
from server.auth.principal import Principal, Role
from server.errors import ApiError, not_found
from server.incidents.tables import incidents
from server.registry.tables import elders, family_bindings
from server.tasks.tables import tasks


async def may_see_elder(conn: AsyncConnection, p: Principal, elder: Any) -> bool:
    """Staff of the elder's station, the elder, bound family, a caregiver with work there."""
    if p.role is Role.ADMIN:
        return True
    if p.role is Role.OPERATOR:
        return bool(elder.station_id == p.station_id)
    if p.role is Role.ELDER:
        return bool(elder.id == p.elder_id)
    if p.role is Role.FAMILY:
        return bool(
            (
                await conn.execute(
                    select(
                        exists().where(
                            family_bindings.c.family_user_id == p.user_id,
                            family_bindings.c.elder_id == elder.id,
                            family_bindings.c.status == BindingStatus.CONFIRMED,
                        )
                    )
                )
            ).scalar()
        )
    if p.role is Role.CAREGIVER:
        has_task = exists().where(
            tasks.c.elder_id == elder.id,
            tasks.c.caregiver_id == p.caregiver_id,
            tasks.c.status.notin_(("done", "cancelled")),
        )
        has_incident = exists().where(
            incidents.c.elder_id == elder.id,
            incidents.c.caregiver_id == p.caregiver_id,
            incidents.c.status.notin_((IS.RESOLVED, IS.CLOSED)),
        )
        return bool((await conn.execute(select(has_task | has_incident))).scalar())
    return False


ON_THE_WAY: Final = tuple(s.value for s in (IS.ACCEPTED, IS.EN_ROUTE, IS.ARRIVED))


async def assigned_incident(conn: AsyncConnection, p: Principal, elder_id: int) -> int | None:
    """The incident this caregiver is on for this elder right now (accepted, en route or
    arrived), if any: while it lasts they may call the elder and the contacts."""
    if p.role is not Role.CAREGIVER or p.caregiver_id is None:
        return None
    found = (
        await conn.execute(
            select(incidents.c.id)
            .where(
                incidents.c.elder_id == elder_id,
                incidents.c.caregiver_id == p.caregiver_id,
                incidents.c.status.in_(ON_THE_WAY),
            )
            .order_by(incidents.c.id.desc())
            .limit(1)
        )
    ).scalar()
    return int(found) if found is not None else None


async def elder_for(conn: AsyncConnection, p: Principal, elder_id: int) -> Any:
    """The elder row if this caller may see it, else 404."""
    elder = (await conn.execute(select(elders).where(elders.c.id == elder_id))).first()
    if elder is None or not await may_see_elder(conn, p, elder):
        raise not_found("elder")
    return elder


def station_scope(p: Principal, station_id: int) -> None:
    """Staff of this station (or an administrator); anyone else is told it does not exist."""
    if p.role is Role.ADMIN:
        return
    if p.role is not Role.OPERATOR or p.station_id != station_id:
        raise ApiError(404, "station_not_found", "station not found")
