"""The duty roster in the store: who answers at night and who the station head is, now."""

from __future__ import annotations

from datetime import time
from typing import Any

from sqlalchemy import delete, insert, select

from hotline.roster import DutyRole, DutySlot, on_duty
from server.hotline.out import roster_out
from server.hotline.tables import roster
from server.platform import Platform, Tx


def slot_of(row: Any) -> DutySlot:
    """A roster row as a pure slot."""
    return DutySlot(
        person=f"{'duty' if row.role == DutyRole.OPERATOR else 'head'}:{row.id}",
        name=row.name,
        phone=row.phone,
        role=DutyRole(row.role),
        weekdays=frozenset(int(d) for d in row.weekdays),
        start=time.fromisoformat(row.start),
        end=time.fromisoformat(row.end),
    )


def _of_station(station_id: int) -> Any:
    return select(roster).where(roster.c.station_id == station_id).order_by(roster.c.id)


async def roster_now(tx: Tx, station_id: int) -> list[tuple[DutySlot, int | None]]:
    """Who is on duty (operators, then heads) at this moment, with their user ids."""
    rows = (await tx.conn.execute(_of_station(station_id))).all()
    users_of = {slot_of(r).person: r.user_id for r in rows}
    slots = [slot_of(r) for r in rows]
    now = [*on_duty(slots, tx.now, DutyRole.OPERATOR), *on_duty(slots, tx.now, DutyRole.HEAD)]
    return [(s, users_of[s.person]) for s in now]


async def replace_roster(
    platform: Platform, *, station_id: int, slots: list[dict[str, Any]]
) -> None:
    """Replace a station's roster in one transaction."""
    async with platform.tx() as tx:
        await tx.conn.execute(delete(roster).where(roster.c.station_id == station_id))
        for s in slots:
            await tx.conn.execute(insert(roster).values(station_id=station_id, **s))


async def get_roster(platform: Platform, *, station_id: int) -> dict[str, Any]:
    """The roster and who is on duty at this moment."""
    async with platform.store.read() as conn:
        rows = (await conn.execute(_of_station(station_id))).all()
    now = platform.clock.now()
    slots = [slot_of(r) for r in rows]
    duty = {s.person for role in DutyRole for s in on_duty(slots, now, role)}
    return roster_out(slots, duty)
