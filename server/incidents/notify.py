"""Who hears about an incident: the station's operators, the elder, bound family."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.platform import Tx, queue_push
from server.store.tables import elders, family_bindings, users


async def to_operators(tx: Tx, station_id: int, type_: str, payload: dict[str, Any]) -> None:
    """Fan a station-wide message out into each operator's own numbered stream."""
    ops = (await tx.conn.execute(select(users.c.id).where(
        users.c.role.in_(("operator", "admin")), users.c.active.is_(True),
        (users.c.station_id == station_id) | (users.c.role == "admin")))).scalars().all()
    for uid in ops:
        queue_push(tx, f"user:{uid}", type_, payload)


async def watchers(tx: Tx, elder_id: int) -> list[int]:
    """The elder's own account and every confirmed family member."""
    family = select(family_bindings.c.family_user_id.label("uid")).where(
        family_bindings.c.elder_id == elder_id, family_bindings.c.status == "confirmed")
    own = select(elders.c.user_id.label("uid")).where(elders.c.id == elder_id,
                                                      elders.c.user_id.is_not(None))
    return [int(u) for u in (await tx.conn.execute(own.union_all(family))).scalars()]


async def to_watchers(tx: Tx, elder_id: int, type_: str, payload: dict[str, Any]) -> None:
    for uid in await watchers(tx, elder_id):
        queue_push(tx, f"user:{uid}", type_, payload)
