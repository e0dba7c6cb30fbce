"""The registry's answers to sign-in (``server.auth.directory.Directory``): which caregiver or
elder a user is, and the elders' one-time link codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.auth.directory import LinkableElder, Roles
from server.registry.tables import caregivers, elders


class RegistryDirectory:
    """Reads and spends within the caller's transaction."""

    async def roles(self, conn: AsyncConnection, user_id: int) -> Roles:
        """The user's caregiver and elder records, if any."""
        cg = (
            await conn.execute(select(caregivers.c.id).where(caregivers.c.user_id == user_id))
        ).scalar()
        el = (
            await conn.execute(
                select(elders.c.id, elders.c.station_id).where(elders.c.user_id == user_id)
            )
        ).first()
        if el is None:
            return Roles(caregiver_id=cg)
        return Roles(caregiver_id=cg, elder_id=el.id, elder_station_id=el.station_id)

    async def elder_by_link_code(
        self, conn: AsyncConnection, code: str, now: datetime
    ) -> LinkableElder | None:
        """The active elder this link code was issued for, if any and not expired."""
        row = (
            await conn.execute(
                select(elders.c.id, elders.c.name, elders.c.station_id, elders.c.user_id).where(
                    elders.c.link_code == code.strip().upper(),
                    elders.c.active.is_(True),
                    or_(
                        elders.c.link_code_expires_at.is_(None),
                        elders.c.link_code_expires_at > now,
                    ),
                )
            )
        ).first()
        if row is None:
            return None
        return LinkableElder(
            id=row.id, name=row.name, station_id=row.station_id, user_id=row.user_id
        )

    async def spend_link_code(
        self, conn: AsyncConnection, elder_id: int, *, user_id: int | None = None
    ) -> None:
        """Clear the elder's link code; with ``user_id``, the elder now signs in as that user."""
        values: dict[str, object] = {"link_code": None, "link_code_expires_at": None}
        if user_id is not None:
            values["user_id"] = user_id
        await conn.execute(update(elders).where(elders.c.id == elder_id).values(**values))
