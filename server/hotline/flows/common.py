"""What the hotline's flows share: the replay cache in the store, and the scope checks that
make another station's rows look like missing ones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select

from server.auth.principal import Principal, Role
from server.errors import ApiError
from server.hotline.tables import webhook_nonces
from server.incidents.tables import incidents
from server.platform import Platform, Tx
from server.registry.guards import elder_for
from server.registry.tables import elders


class StoreNonceCache:
    """The replay cache in the store, inside the webhook's transaction."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def remember(self, key: str, *, expires_at: datetime, now: datetime) -> bool:
        """True when the key is new (and now remembered)."""
        conn = self.tx.conn
        await conn.execute(delete(webhook_nonces).where(webhook_nonces.c.expires_at <= now))
        seen = (
            await conn.execute(select(webhook_nonces.c.key).where(webhook_nonces.c.key == key))
        ).first()
        if seen is not None:
            return False
        await conn.execute(insert(webhook_nonces).values(key=key, expires_at=expires_at))
        return True


def scope_of(p: Principal) -> tuple[int | None, bool]:
    """(station, is admin): what an operator may see."""
    return p.station_id, p.role is Role.ADMIN


async def incident_in_scope(
    tx: Tx, incident_id: int, station_id: int | None, is_admin: bool
) -> Any:
    """An incident of the operator's station (any for an admin), else 404."""
    inc = (await tx.conn.execute(select(incidents).where(incidents.c.id == incident_id))).first()
    if inc is None or (not is_admin and inc.station_id != station_id):
        raise ApiError(404, "incident_not_found", "incident not found")
    return inc


async def elder_in_scope(tx: Tx, elder_id: int, station_id: int | None, is_admin: bool) -> Any:
    """An elder of the operator's station (any for an admin), else 404."""
    e = (await tx.conn.execute(select(elders).where(elders.c.id == elder_id))).first()
    if e is None or (not is_admin and e.station_id != station_id):
        raise ApiError(404, "elder_not_found", "elder not found")
    return e


async def incident_for(platform: Platform, p: Principal, incident_id: int) -> Any:
    """The incident as this person may see it: an operator their station's, a family member
    or an elder their own elder's; 404 for anything else."""
    async with platform.store.read() as conn:
        inc = (await conn.execute(select(incidents).where(incidents.c.id == incident_id))).first()
        if inc is None:
            raise ApiError(404, "incident_not_found", "incident not found")
        if p.role is Role.OPERATOR and inc.station_id != p.station_id:
            raise ApiError(404, "incident_not_found", "incident not found")
        if p.role in (Role.FAMILY, Role.ELDER):
            await elder_for(conn, p, inc.elder_id)  # 404 for another family's elder
        return inc


def own_station(p: Principal, message: str) -> int:
    """The operator's station, for what belongs to one (a roster, settings); 422 with
    ``message`` for anyone without a station."""
    if p.station_id is None:
        raise ApiError(422, "station_required", message)
    return p.station_id
