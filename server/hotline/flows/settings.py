"""Per-station hotline settings: when an elder living alone counts as unseen, how long
after a test or accidental press a new press is linked to it, and whether another station's
operator who forwards one of this station's elders' emergencies may see the elder's name and
address.

A station without a row uses the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.hotline.tables import station_settings
from server.platform import Platform

__all__ = [
    "DEFAULTS",
    "StationSettings",
    "all_settings",
    "get_settings",
    "put_settings",
    "settings_for",
]


@dataclass(frozen=True, slots=True)
class StationSettings:
    """One station's hotline settings."""

    welfare_not_seen_hours: int = 48
    repeat_press_window_min: int = 10
    share_in_emergency: bool = False

    def as_json(self) -> dict[str, Any]:
        """As the API shows them."""
        return {
            "welfare_not_seen_hours": self.welfare_not_seen_hours,
            "repeat_press_window_min": self.repeat_press_window_min,
            "share_in_emergency": self.share_in_emergency,
        }


DEFAULTS: Final = StationSettings()


def _of(row: Any) -> StationSettings:
    return StationSettings(
        int(row.welfare_not_seen_hours),
        int(row.repeat_press_window_min),
        bool(row.share_in_emergency),
    )


async def settings_for(conn: AsyncConnection, station_id: int) -> StationSettings:
    """A station's settings (the defaults when none are stored)."""
    row = (
        await conn.execute(
            select(station_settings).where(station_settings.c.station_id == station_id)
        )
    ).first()
    return _of(row) if row is not None else DEFAULTS


async def all_settings(conn: AsyncConnection) -> dict[int, StationSettings]:
    """Every station's stored settings (stations missing here use the defaults)."""
    rows = (await conn.execute(select(station_settings))).all()
    return {int(r.station_id): _of(r) for r in rows}


async def put_settings(
    platform: Platform, *, station_id: int, new: StationSettings, now: datetime
) -> StationSettings:
    """Replace a station's settings."""
    async with platform.tx() as tx:
        await tx.conn.execute(
            delete(station_settings).where(station_settings.c.station_id == station_id)
        )
        await tx.conn.execute(
            insert(station_settings).values(station_id=station_id, **new.as_json(), updated_at=now)
        )
    return new


async def get_settings(platform: Platform, *, station_id: int) -> StationSettings:
    """A station's settings, as stored or the defaults."""
    async with platform.store.read() as conn:
        return await settings_for(conn, station_id)
