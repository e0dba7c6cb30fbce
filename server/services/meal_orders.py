"""Meal orders after they are placed: cancelling before the cut-off, the elder's list, and the
money.

The money, per DOMAIN.md and the seeds ("服务补助只能用于购买居家养老服务，不得用于支付药费或购买
其他商品"): the food is goods, so the subsidy never pays for it; the elder pays the menu price.
Once the day's orders are final (the cut-off has passed and the order was not cancelled), the
price is written to the elder's self-pay account as a ledger line (`meal:{order_id}`, kind
`self_pay`, written once whoever settles first), and the monthly service record book lists it.
The delivery itself (送餐上门) is a service on the menu that a district may subsidise; it is not
charged automatically (see docs/welfare.md, known limits).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.errors import ApiError, not_found
from server.http import int_param, ok, platform, require
from server.platform import audit
from server.registry.guards import elder_for
from server.services import service
from server.services.tables import meal_menus, meal_orders
from server.welfare import ledger
from server.welfare import service as welfare
from server.welfare.ledger import Entry, EntryKind
from server.welfare.rules import Settlement
from server.welfare.statements import MealLine

SETTLED = ("ordered", "delivering", "delivered")


def _label(order: Any, menu: Any) -> str:
    names = {d["code"]: d["name_zh"] for d in menu.dishes}
    dishes = "、".join(names.get(c, c) for c in order.dishes)
    return f"{dishes}（{'送餐' if order.mode == 'delivery' else '堂食'}）"


async def final_orders(conn: AsyncConnection, *, elder_id: int, now: datetime) -> list[Any]:
    """The elder's orders that can no longer change: past the cut-off and not cancelled."""
    rows = (
        await conn.execute(
            select(
                meal_orders,
                meal_menus.c.dishes.label("menu_dishes"),
                meal_menus.c.cutoff,
                meal_menus.c.lunch_opens,
                meal_menus.c.lunch_closes,
                meal_menus.c.day.label("menu_day"),
            )
            .join(
                meal_menus,
                (meal_menus.c.station_id == meal_orders.c.station_id)
                & (meal_menus.c.day == meal_orders.c.day),
            )
            .where(meal_orders.c.elder_id == elder_id, meal_orders.c.status.in_(SETTLED))
            .order_by(meal_orders.c.day)
        )
    ).all()
    out = []
    for r in rows:
        menu = service.menu_from_row(
            service.AttrRow(
                {
                    "day": r.menu_day,
                    "dishes": r.menu_dishes,
                    "cutoff": r.cutoff,
                    "lunch_opens": r.lunch_opens,
                    "lunch_closes": r.lunch_closes,
                }
            )
        )
        if now >= menu.cutoff_at():
            out.append(r)
    return out


async def settle_meals(conn: AsyncConnection, *, elder: Any, now: datetime) -> list[MealLine]:
    """Write the self-pay ledger line of each final order (once), and return the meal lines
    for the elder's statement."""
    orders = await final_orders(conn, elder_id=elder.id, now=now)
    district = await welfare.district_of(conn, station_id=elder.station_id)
    lines: list[MealLine] = []
    entries: list[Entry] = []
    for o in orders:
        rs = await welfare.ruleset_for(conn, district=district, on=o.day)
        settlement = rs.settlement if rs is not None else Settlement.MONTHLY
        label = _label(o, service.AttrRow({"dishes": o.menu_dishes}))
        lines.append(MealLine(o.day, label, int(o.total_fen)))
        if int(o.total_fen):
            entries.append(
                Entry(
                    entry_id=f"meal:{o.id}",
                    account=ledger.selfpay_account(str(elder.id)),
                    kind=EntryKind.SELF_PAY,
                    amount_fen=int(o.total_fen),
                    period=ledger.settlement_period(o.day, settlement),
                    at=now,
                    memo=f"助餐 {o.day.isoformat()} {label}"[:200],
                )
            )
    await welfare.write_once(conn, entries)  # whoever settles first writes it
    return lines


def _order_out(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "day": r.day.isoformat(),
        "mode": r.mode,
        "dishes": r.dishes,
        "total_fen": int(r.total_fen),
        "status": r.status,
        "diet_warnings": r.diet_warnings,
    }


async def list_orders(request: web.Request) -> web.Response:
    p = require(request, *service.BOOKERS)
    eid = int_param(request, "elder_id")
    async with platform(request).store.read() as conn:
        await elder_for(conn, p, eid)
        rows = (
            await conn.execute(
                select(meal_orders)
                .where(meal_orders.c.elder_id == eid)
                .order_by(meal_orders.c.day, meal_orders.c.id)
            )
        ).all()
    return ok([_order_out(r) for r in rows])


async def cancel_order(request: web.Request) -> web.Response:
    """The elder, a bound family member or the operator cancels an order before the cut-off
    (after it the kitchen has cooked and the delivery is planned)."""
    p = require(request, *service.BOOKERS)
    oid = int_param(request, "order_id")
    async with platform(request).tx() as tx:
        row = (
            await tx.conn.execute(
                select(meal_orders).where(meal_orders.c.id == oid).with_for_update()
            )
        ).first()
        if row is None:
            raise not_found("meal_order")
        await elder_for(tx.conn, p, row.elder_id)  # 404 for other tenants
        if row.status != "ordered":
            raise ApiError(409, "meal.not_cancellable", "this order is already cancelled or out")
        menu_row = await service.menu_row(tx.conn, station_id=row.station_id, day=row.day)
        menu = service.menu_from_row(menu_row) if menu_row is not None else None
        if menu is None or menu_row.closed or tx.now >= menu.cutoff_at():
            raise ApiError(
                409,
                "meal.order_closed",
                "订餐已截止，不能取消 / past the cut-off: the kitchen is cooking",
            )
        await tx.conn.execute(
            update(meal_orders)
            .where(meal_orders.c.id == oid)
            .values(status="cancelled", cancelled_at=tx.now)
        )
        await audit(tx, actor=p.user_id, action="cancel", object_type="meal_order", object_id=oid)
        row = (await tx.conn.execute(select(meal_orders).where(meal_orders.c.id == oid))).one()
    return ok(_order_out(row))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/v1/elders/{elder_id}/meal-orders", list_orders),
        web.post("/api/v1/meal-orders/{order_id}/cancel", cancel_order),
    ]
