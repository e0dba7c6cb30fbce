"""The station's menu of services: seeding it, listing, adding and changing items, and the
elder's view of it with what the subsidy covers now."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.services import HoursIn, ItemIn, ItemOut, ItemPatch, MenuLine
from server.auth.principal import Principal
from server.errors import ApiError
from server.platform import Platform, audit
from server.registry.guards import elder_for
from server.services.bookings import quote
from server.services.catalogue import SEED_ITEMS
from server.services.out import AttrRow, item_from_row, item_out, item_values
from server.services.tables import service_items
from server.welfare.flows.quota import quota_left


async def seed_menu_rows(conn: AsyncConnection, *, station_id: int, now: datetime) -> int:
    """Add the seed items the station's menu does not have yet; returns how many were added."""
    have = {
        r.code
        for r in await conn.execute(
            select(service_items.c.code).where(service_items.c.station_id == station_id)
        )
    }
    new = [
        {**item_values(i), "station_id": station_id, "updated_at": now}
        for i in SEED_ITEMS
        if i.code not in have
    ]
    if new:
        await conn.execute(insert(service_items), new)
    return len(new)


async def seed_menu(plat: Platform, *, station_id: int, actor: int) -> int:
    """Seed the menu and audit who did it; returns how many items were added."""
    async with plat.tx() as tx:
        added = await seed_menu_rows(tx.conn, station_id=station_id, now=tx.now)
        if added:
            await audit(
                tx,
                actor=actor,
                action="seed_menu",
                object_type="station",
                object_id=station_id,
                detail={"added": added},
            )
    return added


async def item_row(conn: AsyncConnection, *, station_id: int, code: str) -> Row[Any]:
    """A station's menu row by code, or 404."""
    row = (
        await conn.execute(
            select(service_items).where(
                service_items.c.station_id == station_id, service_items.c.code == code
            )
        )
    ).first()
    if row is None:
        raise ApiError(404, "service_item_not_found", "no such service on this station's menu")
    return row


async def list_items(plat: Platform, *, station_id: int) -> list[ItemOut]:
    """The station's whole menu, active or not."""
    async with plat.store.read() as conn:
        rows = (
            await conn.execute(
                select(service_items)
                .where(service_items.c.station_id == station_id)
                .order_by(service_items.c.id)
            )
        ).all()
    return [item_out(item_from_row(r)) for r in rows]


def _hours(h: HoursIn) -> dict[str, Any]:
    return {"days": h.days, "opens": h.opens, "closes": h.closes}


async def create_item(plat: Platform, *, station_id: int, body: ItemIn, actor: int) -> ItemOut:
    """Add an item to the station's menu (409 when its code is taken)."""
    values = {**body.model_dump(), "category": body.category.value, "hours": _hours(body.hours)}
    try:
        async with plat.tx() as tx:
            await tx.conn.execute(
                insert(service_items).values(**values, station_id=station_id, updated_at=tx.now)
            )
            await audit(
                tx,
                actor=actor,
                action="create",
                object_type="service_item",
                object_id=f"{station_id}:{body.code}",
            )
    except IntegrityError as exc:
        raise ApiError(409, "service_item_exists", "this code is already on the menu") from exc
    return item_out(item_from_row(AttrRow(values)))


async def patch_item(
    plat: Platform, *, station_id: int, code: str, body: ItemPatch, actor: int
) -> ItemOut:
    """Change an item; the result is checked as a whole before it is written."""
    changes = body.model_dump(exclude_unset=True)
    if "hours" in changes and body.hours is not None:
        changes["hours"] = _hours(body.hours)
    async with plat.tx() as tx:
        row = await item_row(tx.conn, station_id=station_id, code=code)
        merged = item_from_row(AttrRow({**row._asdict(), **changes}))  # validates the result
        await tx.conn.execute(
            update(service_items)
            .where(service_items.c.id == row.id)
            .values(**changes, updated_at=tx.now)
        )
        await audit(
            tx,
            actor=actor,
            action="update",
            object_type="service_item",
            object_id=f"{station_id}:{row.code}",
            detail={"fields": sorted(changes)},
        )
    return item_out(merged)


async def elder_menu(plat: Platform, p: Principal, *, elder_id: int) -> list[MenuLine]:
    """The elder's station menu with what the subsidy covers for each item right now."""
    async with plat.tx() as tx:
        elder = await elder_for(tx.conn, p, elder_id)
        elig, _, left, _ = await quota_left(tx.conn, elder=elder, now=tx.now)
        rows = (
            await tx.conn.execute(
                select(service_items)
                .where(
                    service_items.c.station_id == elder.station_id, service_items.c.active.is_(True)
                )
                .order_by(service_items.c.id)
            )
        ).all()
    cls = elig.funding_class if elig else ""
    return [_menu_line(item_from_row(r), left, cls) for r in rows]


def _menu_line(item: Any, left: int, funding_class: str) -> MenuLine:
    q = quote(item, quota_left_fen=left)
    return MenuLine(
        **item_out(item).model_dump(),
        subsidy_fen=q.subsidy_fen,
        self_pay_fen=q.self_pay_fen,
        bookable=item.usable_by(funding_class),
    )
