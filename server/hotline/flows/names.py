"""The name search: find the elder by what the caller says (characters, pinyin, initials,
homophones, typos), over an index of a station's elders kept per process."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any, Final

from sqlalchemy import func, select

from hotline.names import ElderRecord, NameIndex, NameQuery
from schemas.hotline import NameSearchQuery
from server.clock import SHANGHAI
from server.errors import ApiError
from server.hotline.out import name_match_out
from server.platform import Platform, Slot
from server.registry.tables import elders

# {station: (fingerprint, index)}: rebuilt when the station's elders change
INDEX_CACHE: Final[Slot[dict[int | None, tuple[Any, NameIndex]]]] = Slot("hotline.name_index", dict)


async def station_index(platform: Platform, station_id: int | None) -> NameIndex:
    """The name index of a station's elders (all stations for None), rebuilt when they change."""
    cond: Any = elders.c.active.is_(True)
    if station_id is not None:
        cond = cond & (elders.c.station_id == station_id)
    cache = platform.get(INDEX_CACHE)
    async with platform.store.read() as conn:
        stamp = select(func.count(), func.max(elders.c.updated_at)).where(cond)
        fingerprint = tuple((await conn.execute(stamp)).one())
        hit = cache.get(station_id)
        if hit is not None and hit[0] == fingerprint:
            return hit[1]
        rows = (await conn.execute(select(*_RECORD).where(cond))).all()
    records = [
        ElderRecord(
            str(r.id), r.name, r.address, int(r.birth_date[:4]), str(r.station_id), r.phone or ""
        )
        for r in rows
    ]
    # Building is CPU work (about 0.1 s per 1,000 elders): keep it off the event loop.
    index = await asyncio.to_thread(NameIndex, records)
    cache[station_id] = (fingerprint, index)
    return index


_RECORD: Final = (
    elders.c.id,
    elders.c.name,
    elders.c.address,
    elders.c.birth_date,
    elders.c.station_id,
    elders.c.phone,
)


def today_in_shanghai(platform: Platform) -> date:
    """The business date."""
    return platform.clock.now().astimezone(SHANGHAI).date()


async def search(
    platform: Platform, q: NameSearchQuery, *, station_id: int | None
) -> list[dict[str, Any]]:
    """The elders of a station (all for None) that best match what the caller said."""
    index = await station_index(platform, station_id)
    try:
        query = NameQuery(
            q.q,
            address=q.address,
            min_age=q.min_age,
            max_age=q.max_age,
            today=today_in_shanghai(platform),
            limit=q.limit,
        )
    except ValueError as exc:
        raise ApiError(422, "validation_error", str(exc)) from None
    return [name_match_out(m) for m in index.search(query)]
