"""Meals: the daily menu, orders until the cut-off (and cancelling before it), the cut-off
that turns delivery orders into delivery tasks for the lunch window, and the money.

The money, per DOMAIN.md and the seeds ("服务补助只能用于购买居家养老服务，不得用于支付药费或购买
其他商品"): the food is goods, so the subsidy never pays for it; the elder pays the menu price.
Once the day's orders are final (the cut-off has passed and the order was not cancelled), the
price is written to the elder's self-pay account as a ledger line (`meal:{order_id}`, kind
`self_pay`, written once whoever settles first), and the monthly service record book lists it.
The delivery itself (送餐上门) is a service on the menu that a district may subsidise; it is not
charged automatically (see docs/welfare.md, known limits).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.services import MealOrderIn, MealOrderOut, MenuIn
from schemas.services import MealOrderStatus as M
from server.auth.principal import Principal
from server.errors import ApiError, not_found
from server.platform import Platform, Tx, audit, cancel_timer, emit, schedule
from server.registry.guards import elder_for
from server.registry.tables import elders
from server.services import model
from server.services.meals import (
    DailyMenu,
    MealMode,
    MealOrderRequest,
    check_meal_order,
    diet_warnings,
    order_total_fen,
)
from server.services.out import (
    AttrRow,
    menu_from_row,
    menu_out,
    order_out,
    station_order_out,
    stored_text,
)
from server.services.tables import meal_menus, meal_orders
from server.tasks.flows import create_task
from server.texts import Text, render
from server.welfare import ledger
from server.welfare.flows.quota import write_once
from server.welfare.flows.rulesets import district_of, ruleset_for
from server.welfare.ledger import Entry, EntryKind
from server.welfare.rules import Settlement
from server.welfare.statements import MealLine

CUTOFF_TIMER: Final = "meals.cutoff"
MEAL_STATUS: Final = {
    "meal.no_menu": 404,
    "meal.order_closed": 409,
    "meal.already_ordered": 409,
    "meal.elder_inactive": 409,
}
DIET_NOTE_SPLIT: Final = re.compile(r"[,，、;；\s]+")


async def menu_row(conn: AsyncConnection, *, station_id: int, day: date) -> Row[Any] | None:
    """The stored menu of a station for a day, or None."""
    return (
        await conn.execute(
            select(meal_menus).where(meal_menus.c.station_id == station_id, meal_menus.c.day == day)
        )
    ).first()


async def put_menu(
    plat: Platform, *, station_id: int, day: date, body: MenuIn, actor: int
) -> dict[str, Any]:
    """Set a day's menu (until its orders close) and the cut-off timer that closes them."""
    values = {
        "dishes": [d.model_dump() for d in body.dishes],
        "cutoff": body.cutoff,
        "lunch_opens": body.lunch_opens,
        "lunch_closes": body.lunch_closes,
    }
    async with plat.tx() as tx:
        old = await menu_row(tx.conn, station_id=station_id, day=day)
        try:
            menu = menu_from_row(AttrRow({**values, "day": day}))
        except ValueError as exc:
            raise ApiError(422, "meal.menu_invalid", str(exc)) from exc
        if old is not None and old.closed:
            raise ApiError(409, "meal.menu_closed", "orders for this day are already closed")
        if old is None:
            await tx.conn.execute(
                insert(meal_menus).values(
                    station_id=station_id, day=day, **values, updated_at=tx.now
                )
            )
        else:
            await cancel_timer(tx, f"{CUTOFF_TIMER}:{station_id}:{day}:{old.cutoff}")
            await tx.conn.execute(
                update(meal_menus)
                .where(meal_menus.c.id == old.id)
                .values(**values, updated_at=tx.now)
            )
        await schedule(
            tx,
            CUTOFF_TIMER,
            f"{CUTOFF_TIMER}:{station_id}:{day}:{body.cutoff}",
            menu.cutoff_at(),
            {"station_id": station_id, "day": day.isoformat()},
        )
        await audit(
            tx,
            actor=actor,
            action="put_menu",
            object_type="meal_menu",
            object_id=f"{station_id}:{day}",
        )
    return menu_out(AttrRow({**values, "station_id": station_id, "day": day}), with_closed=False)


async def get_menu(plat: Platform, *, station_id: int, day: date) -> dict[str, Any]:
    """A day's menu, or 404."""
    async with plat.store.read() as conn:
        row = await menu_row(conn, station_id=station_id, day=day)
    if row is None:
        raise ApiError(404, "meal.no_menu", "no menu for this day")
    return menu_out(AttrRow({**row._asdict(), "station_id": station_id, "day": day}))


async def order_meal(
    plat: Platform, p: Principal, *, elder_id: int, body: MealOrderIn
) -> dict[str, Any]:
    """Order a day's lunch before its cut-off; dishes that clash with the elder's diet notes
    are warned about, not refused."""
    async with plat.tx() as tx:
        elder = await elder_for(tx.conn, p, elder_id)
        oid, total, warnings = await place_order(tx, elder=elder, body=body, actor=p.user_id)
    return {
        "id": oid,
        "day": body.day.isoformat(),
        "mode": body.mode,
        "dishes": body.dishes,
        "total_fen": total,
        "diet_warnings": list(warnings),
    }


async def place_order(
    tx: Tx, *, elder: Any, body: MealOrderIn, actor: int | None
) -> tuple[int, int, tuple[str, ...]]:
    """Check and write one meal order in the caller's transaction (the day-care lunch uses it
    too); returns its id, total and diet warnings, or refuses as ``order_meal`` does."""
    row = await menu_row(tx.conn, station_id=elder.station_id, day=body.day)
    menu = await _check_order(tx, elder, None if row is None else menu_from_row(row), body)
    notes = [n for n in DIET_NOTE_SPLIT.split(elder.diet_notes or "") if n]
    warnings = diet_warnings([d for d in menu.dishes if d.code in body.dishes], notes)
    total = order_total_fen(menu, body.dishes)
    oid = await model.insert_meal_order(
        tx,
        {
            "station_id": elder.station_id,
            "elder_id": elder.id,
            "day": body.day,
            "mode": body.mode,
            "dishes": body.dishes,
            "total_fen": total,
            "diet_warnings": list(warnings),
            "notes": body.notes,
            "ordered_by": actor,
            "created_at": tx.now,
        },
    )
    return oid, total, warnings


async def _check_order(tx: Tx, elder: Any, menu: DailyMenu | None, body: MealOrderIn) -> DailyMenu:
    """The day's menu, if the rules take the order; else the refusal (all codes listed, the
    first one answers)."""
    done = (
        await tx.conn.execute(
            select(meal_orders.c.day).where(
                meal_orders.c.elder_id == elder.id,
                meal_orders.c.day == body.day,
                meal_orders.c.status != M.CANCELLED.value,
            )
        )
    ).all()
    req = MealOrderRequest(
        str(elder.id),
        body.day,
        MealMode(body.mode),
        tuple(body.dishes),
        elder_active=bool(elder.active),
        has_address=bool(elder.address),
    )
    errors = check_meal_order(req, menu, now=tx.now, existing_days=[d.day for d in done])
    if errors or menu is None:
        first = errors[0].value
        raise ApiError(
            MEAL_STATUS.get(first, 422),
            first,
            "meal order refused",
            codes=[e.value for e in errors],
        )
    return menu


async def list_orders(plat: Platform, p: Principal, *, elder_id: int) -> list[MealOrderOut]:
    """The elder's meal orders by day."""
    async with plat.store.read() as conn:
        await elder_for(conn, p, elder_id)
        rows = (
            await conn.execute(
                select(meal_orders)
                .where(meal_orders.c.elder_id == elder_id)
                .order_by(meal_orders.c.day, meal_orders.c.id)
            )
        ).all()
    return [order_out(r) for r in rows]


async def station_orders(plat: Platform, *, station_id: int, day: date) -> list[Any]:
    """A station's meal orders for a day, cancelled ones too, with the elders' names: what
    the kitchen cooks and the couriers carry."""
    async with plat.store.read() as conn:
        rows = (
            await conn.execute(
                select(meal_orders, elders.c.name.label("elder_name"))
                .join(elders, elders.c.id == meal_orders.c.elder_id)
                .where(meal_orders.c.station_id == station_id, meal_orders.c.day == day)
                .order_by(meal_orders.c.mode, elders.c.name, meal_orders.c.id)
            )
        ).all()
    return [station_order_out(r) for r in rows]


async def cancel_order(plat: Platform, p: Principal, *, order_id: int) -> MealOrderOut:
    """The elder, a bound family member or the operator cancels an order before the cut-off
    (after it the kitchen has cooked and the delivery is planned)."""
    async with plat.tx() as tx:
        row = (
            await tx.conn.execute(
                select(meal_orders).where(meal_orders.c.id == order_id).with_for_update()
            )
        ).first()
        if row is None:
            raise not_found("meal_order")
        await elder_for(tx.conn, p, row.elder_id)  # 404 for other tenants
        if row.status != M.ORDERED:
            raise ApiError(409, "meal.not_cancellable", "this order is already cancelled or out")
        menu_at = await menu_row(tx.conn, station_id=row.station_id, day=row.day)
        menu = menu_from_row(menu_at) if menu_at is not None else None
        if menu is None or menu_at is None or menu_at.closed or tx.now >= menu.cutoff_at():
            raise ApiError(409, "meal.order_closed", stored_text("meal.too_late_to_cancel"))
        await model.meal_transition(tx, row, M.CANCELLED, actor=p.user_id)
        row = (await tx.conn.execute(select(meal_orders).where(meal_orders.c.id == order_id))).one()
    return order_out(row)


async def cancel_before_cutoff(tx: Tx, *, order_id: int, actor: int | None) -> bool:
    """Cancel an order in the caller's transaction if the kitchen has not closed it yet (the
    day-care absence notice uses it); whether it was cancelled."""
    row = (
        await tx.conn.execute(
            select(meal_orders).where(meal_orders.c.id == order_id).with_for_update()
        )
    ).first()
    if row is None or row.status != M.ORDERED:
        return False
    menu_at = await menu_row(tx.conn, station_id=row.station_id, day=row.day)
    if menu_at is None or menu_at.closed or tx.now >= menu_from_row(menu_at).cutoff_at():
        return False
    await model.meal_transition(tx, row, M.CANCELLED, actor=actor)
    return True


async def close_orders(tx: Tx, *, station_id: int, day: date) -> None:
    """At the cut-off: close the day's orders and turn delivery orders into delivery tasks for
    the lunch window; ``meals.closed`` wakes the lunch routing."""
    row = await menu_row(tx.conn, station_id=station_id, day=day)
    if row is None:
        return
    start, end = menu_from_row(row).lunch_window()
    orders = (
        await tx.conn.execute(
            select(meal_orders).where(
                meal_orders.c.station_id == station_id,
                meal_orders.c.day == day,
                meal_orders.c.status == M.ORDERED.value,
                meal_orders.c.mode == MealMode.DELIVERY.value,
            )
        )
    ).all()
    for o in orders:
        elder = (await tx.conn.execute(select(elders).where(elders.c.id == o.elder_id))).one()
        tid = await create_task(
            tx,
            station_id=station_id,
            elder_id=o.elder_id,
            kind="meal_delivery",
            title=render("task.meal_delivery"),
            window=(start, end),
            duration_s=300,
            where=(elder.lat, elder.lng),
            source="meal",
            source_ref=f"meal:{day.isoformat()}:{o.elder_id}",
            notes="; ".join(o.diet_warnings),
        )
        if tid is not None:
            await model.meal_transition(tx, o, M.DELIVERING, {"task_id": tid})
    await tx.conn.execute(update(meal_menus).where(meal_menus.c.id == row.id).values(closed=True))
    done = {"station_id": station_id, "day": day.isoformat(), "deliveries": len(orders)}
    await emit(tx, "meals.closed", done)


# ----- the money ------------------------------------------------------------------------------


def line_text(order: Any, dishes_of_menu: list[dict[str, Any]]) -> Text:
    """A meal order as a statement line: its dishes and how it was served."""
    names = {d["code"]: d["name_zh"] for d in dishes_of_menu}
    dishes = "、".join(names.get(c, c) for c in order.dishes)
    mode = Text("meal.mode.delivery" if order.mode == MealMode.DELIVERY else "meal.mode.dine_in")
    return Text("meal.line", {"dishes": dishes, "mode": mode})


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
            .where(
                meal_orders.c.elder_id == elder_id,
                meal_orders.c.status.in_([s.value for s in model.SETTLED]),
            )
            .order_by(meal_orders.c.day)
        )
    ).all()
    return [r for r in rows if now >= _menu_of(r).cutoff_at()]


def _menu_of(r: Any) -> DailyMenu:
    """The menu joined onto an order row."""
    return menu_from_row(
        AttrRow(
            {
                "day": r.menu_day,
                "dishes": r.menu_dishes,
                "cutoff": r.cutoff,
                "lunch_opens": r.lunch_opens,
                "lunch_closes": r.lunch_closes,
            }
        )
    )


async def settle_meals(conn: AsyncConnection, *, elder: Any, now: datetime) -> list[MealLine]:
    """Write the self-pay ledger line of each final order (once), and return the meal lines
    for the elder's statement."""
    orders = await final_orders(conn, elder_id=elder.id, now=now)
    district = await district_of(conn, station_id=elder.station_id)
    lines: list[MealLine] = []
    entries: list[Entry] = []
    for o in orders:
        rs = await ruleset_for(conn, district=district, on=o.day)
        settlement = rs.settlement if rs is not None else Settlement.MONTHLY
        label = line_text(o, o.menu_dishes).render("zh")
        lines.append(MealLine(o.day, label, int(o.total_fen)))
        if int(o.total_fen):
            memo = render("meal.memo", day=o.day.isoformat(), line=label)
            entries.append(
                Entry(
                    entry_id=f"meal:{o.id}",
                    account=ledger.selfpay_account(str(elder.id)),
                    kind=EntryKind.SELF_PAY,
                    amount_fen=int(o.total_fen),
                    period=ledger.settlement_period(o.day, settlement),
                    at=now,
                    memo=memo[:200],
                )
            )
    await write_once(conn, entries)  # whoever settles first writes it
    return lines
