"""Meal endpoints: the daily menu, orders until the cut-off, and the cut-off timer that turns
delivery orders into delivery tasks for the lunch window."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from aiohttp import web
from sqlalchemy import insert, select, update

from schemas.services import (
    MealOrderIn,
    MenuIn,
)
from server.auth.principal import Role
from server.errors import ApiError, not_found
from server.http import caller, int_param, ok, parse, platform, require
from server.platform import Platform, Tx, audit, cancel_timer, emit, schedule
from server.registry.guards import elder_for, station_scope
from server.registry.tables import elders
from server.services import service
from server.services.meals import (
    MealMode,
    MealOrderRequest,
    check_meal_order,
    diet_warnings,
    order_total_fen,
)
from server.services.tables import (
    meal_menus,
    meal_orders,
)
from server.tasks.tables import tasks

# ----- meals ------------------------------------------------------------------------------


def _day(request: web.Request) -> date:
    try:
        return date.fromisoformat(request.match_info["day"])
    except ValueError as exc:
        raise ApiError(404, "not_found", "no such day") from exc


async def put_menu(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    day = _day(request)
    body = await parse(request, MenuIn)
    values = {
        "dishes": [d.model_dump() for d in body.dishes],
        "cutoff": body.cutoff,
        "lunch_opens": body.lunch_opens,
        "lunch_closes": body.lunch_closes,
    }
    async with platform(request).tx() as tx:
        old = await service.menu_row(tx.conn, station_id=sid, day=day)
        try:
            menu = service.menu_from_row(service.AttrRow({**values, "day": day}))
        except ValueError as exc:
            raise ApiError(422, "meal.menu_invalid", str(exc)) from exc
        if old is not None and old.closed:
            raise ApiError(409, "meal.menu_closed", "orders for this day are already closed")
        if old is None:
            await tx.conn.execute(
                insert(meal_menus).values(station_id=sid, day=day, **values, updated_at=tx.now)
            )
        else:
            await cancel_timer(tx, f"meals.cutoff:{sid}:{day}:{old.cutoff}")
            await tx.conn.execute(
                update(meal_menus)
                .where(meal_menus.c.id == old.id)
                .values(**values, updated_at=tx.now)
            )
        await schedule(
            tx,
            "meals.cutoff",
            f"meals.cutoff:{sid}:{day}:{body.cutoff}",
            menu.cutoff_at(),
            {"station_id": sid, "day": day.isoformat()},
        )
        await audit(
            tx,
            actor=p.user_id,
            action="put_menu",
            object_type="meal_menu",
            object_id=f"{sid}:{day}",
        )
    return ok({"station_id": sid, "day": day.isoformat(), **values})


async def get_menu(request: web.Request) -> web.Response:
    p = caller(request)
    sid = int_param(request, "station_id")
    day = _day(request)
    if p.role in (Role.OPERATOR, Role.CAREGIVER) and p.station_id != sid:
        raise not_found("station")
    async with platform(request).store.read() as conn:
        row = await service.menu_row(conn, station_id=sid, day=day)
    if row is None:
        raise ApiError(404, "meal.no_menu", "no menu for this day")
    return ok(
        {
            "station_id": sid,
            "day": day.isoformat(),
            "dishes": row.dishes,
            "cutoff": row.cutoff,
            "lunch_opens": row.lunch_opens,
            "lunch_closes": row.lunch_closes,
            "closed": row.closed,
        }
    )


MEAL_STATUS = {
    "meal.no_menu": 404,
    "meal.order_closed": 409,
    "meal.already_ordered": 409,
    "meal.elder_inactive": 409,
}


async def order_meal(request: web.Request) -> web.Response:
    p = require(request, *service.BOOKERS)
    eid = int_param(request, "elder_id")
    body = await parse(request, MealOrderIn)
    async with platform(request).tx() as tx:
        elder = await elder_for(tx.conn, p, eid)
        row = await service.menu_row(tx.conn, station_id=elder.station_id, day=body.day)
        menu = service.menu_from_row(row) if row is not None else None
        done = (
            await tx.conn.execute(
                select(meal_orders.c.day).where(
                    meal_orders.c.elder_id == eid,
                    meal_orders.c.day == body.day,
                    meal_orders.c.status != "cancelled",
                )
            )
        ).all()
        req = MealOrderRequest(
            str(eid),
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
        notes = [n for n in re.split(r"[,，、;；\s]+", elder.diet_notes or "") if n]
        warnings = diet_warnings([d for d in menu.dishes if d.code in body.dishes], notes)
        oid = (
            await tx.conn.execute(
                insert(meal_orders)
                .values(
                    station_id=elder.station_id,
                    elder_id=eid,
                    day=body.day,
                    mode=body.mode,
                    dishes=body.dishes,
                    total_fen=order_total_fen(menu, body.dishes),
                    diet_warnings=list(warnings),
                    notes=body.notes,
                    status="ordered",
                    ordered_by=p.user_id,
                    created_at=tx.now,
                )
                .returning(meal_orders.c.id)
            )
        ).scalar_one()
    return ok(
        {
            "id": oid,
            "day": body.day.isoformat(),
            "mode": body.mode,
            "dishes": body.dishes,
            "total_fen": order_total_fen(menu, body.dishes),
            "diet_warnings": list(warnings),
        },
        201,
    )


async def on_meal_cutoff(plat: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """At cut-off: close the day's orders and turn delivery orders into delivery tasks."""
    sid, day = int(payload["station_id"]), date.fromisoformat(payload["day"])
    row = await service.menu_row(tx.conn, station_id=sid, day=day)
    if row is None:
        return
    menu = service.menu_from_row(row)
    start, end = menu.lunch_window()
    orders = (
        await tx.conn.execute(
            select(meal_orders).where(
                meal_orders.c.station_id == sid,
                meal_orders.c.day == day,
                meal_orders.c.status == "ordered",
                meal_orders.c.mode == "delivery",
            )
        )
    ).all()
    for o in orders:
        ref = f"meal:{day.isoformat()}:{o.elder_id}"
        if (await tx.conn.execute(select(tasks.c.id).where(tasks.c.source_ref == ref))).first():
            continue
        elder = (await tx.conn.execute(select(elders).where(elders.c.id == o.elder_id))).one()
        tid = (
            await tx.conn.execute(
                insert(tasks)
                .values(
                    station_id=sid,
                    elder_id=o.elder_id,
                    kind="meal_delivery",
                    title="送餐上门",
                    status="open",
                    priority=1,
                    interruptible=True,
                    required_skills=[],
                    window_start=start,
                    window_end=end,
                    duration_s=300,
                    lat=elder.lat,
                    lng=elder.lng,
                    source="meal",
                    source_ref=ref,
                    notes="; ".join(o.diet_warnings),
                    created_at=tx.now,
                )
                .returning(tasks.c.id)
            )
        ).scalar_one()
        await tx.conn.execute(
            update(meal_orders)
            .where(meal_orders.c.id == o.id)
            .values(status="delivering", task_id=tid)
        )
    await tx.conn.execute(update(meal_menus).where(meal_menus.c.id == row.id).values(closed=True))
    await emit(
        tx, "meals.closed", {"station_id": sid, "day": day.isoformat(), "deliveries": len(orders)}
    )
