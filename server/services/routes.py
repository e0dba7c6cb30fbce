"""Services endpoints: the station's menu, bookings (book, cancel, complete) and recurring rules;
the whole services URL table (meals live in meal_routes.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from dispatch.geo import GeoPoint
from schemas.services import (
    BookingIn,
    BookingOut,
    CompleteIn,
    HoursIn,
    ItemIn,
    ItemOut,
    ItemPatch,
    MenuLine,
)
from server.auth.principal import Role
from server.errors import ApiError, not_found
from server.geo import CoordSystem, to_store
from server.http import int_param, ok, parse, platform, require
from server.platform import audit, emit
from server.registry.guards import elder_for, station_scope
from server.services import completion, meal_orders, recurring, service
from server.services.bookings import BookingStatus, Window, check_cancel, quote
from server.services.catalogue import ServiceItem
from server.services.completion import lock_booking
from server.services.meal_routes import get_menu, order_meal, put_menu
from server.services.tables import (
    bookings,
    service_items,
)
from server.services.tasks import routes as task_routes
from server.tasks.tables import tasks
from server.welfare import flows as welfare_flows
from server.welfare import service as welfare


def _item_out(item: ServiceItem) -> ItemOut:
    v = service.item_values(item)
    return ItemOut(**{**v, "hours": HoursIn(**v["hours"])})


def _booking_out(r: Any) -> BookingOut:
    return BookingOut(
        id=r.id,
        elder_id=r.elder_id,
        item_code=r.item_code,
        status=r.status,
        start=r.window_start,
        end=r.window_end,
        asap=r.asap,
        notes=r.notes,
        price_fen=int(r.price_fen),
        subsidy_fen=int(r.quoted_subsidy_fen),
        self_pay_fen=int(r.quoted_self_pay_fen),
        task_id=r.task_id,
    )


# ----- menu -------------------------------------------------------------------------------


async def seed_menu(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    async with platform(request).tx() as tx:
        added = await service.seed_menu(tx, station_id=sid, actor=p.user_id)
    return ok({"added": added})


async def list_items(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    async with platform(request).store.read() as conn:
        rows = (
            await conn.execute(
                select(service_items)
                .where(service_items.c.station_id == sid)
                .order_by(service_items.c.id)
            )
        ).all()
    return ok([_item_out(service.item_from_row(r)) for r in rows])


def _hours(h: HoursIn) -> dict[str, Any]:
    return {"days": h.days, "opens": h.opens, "closes": h.closes}


async def create_item(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    body = await parse(request, ItemIn)
    values = {**body.model_dump(), "category": body.category.value, "hours": _hours(body.hours)}
    try:
        async with platform(request).tx() as tx:
            await tx.conn.execute(
                insert(service_items).values(**values, station_id=sid, updated_at=tx.now)
            )
            await audit(
                tx,
                actor=p.user_id,
                action="create",
                object_type="service_item",
                object_id=f"{sid}:{body.code}",
            )
    except IntegrityError as exc:
        raise ApiError(409, "service_item_exists", "this code is already on the menu") from exc
    return ok(_item_out(service.item_from_row(service.AttrRow(values))), 201)


async def patch_item(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    body = await parse(request, ItemPatch)
    changes = body.model_dump(exclude_unset=True)
    if "hours" in changes and body.hours is not None:
        changes["hours"] = _hours(body.hours)
    async with platform(request).tx() as tx:
        row = await service.item_row(tx.conn, station_id=sid, code=request.match_info["code"])
        merged = service.item_from_row(
            service.AttrRow({**row._asdict(), **changes})
        )  # validates the result
        await tx.conn.execute(
            update(service_items)
            .where(service_items.c.id == row.id)
            .values(**changes, updated_at=tx.now)
        )
        await audit(
            tx,
            actor=p.user_id,
            action="update",
            object_type="service_item",
            object_id=f"{sid}:{row.code}",
            detail={"fields": sorted(changes)},
        )
    return ok(_item_out(merged))


async def elder_menu(request: web.Request) -> web.Response:
    """The elder's station menu with what the subsidy covers for each item right now."""
    p = require(request, *service.BOOKERS)
    eid = int_param(request, "elder_id")
    async with platform(request).tx() as tx:
        elder = await elder_for(tx.conn, p, eid)
        elig, _, left, _ = await welfare.quota_left(tx.conn, elder=elder, now=tx.now)
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
    out = []
    for r in rows:
        item = service.item_from_row(r)
        q = quote(item, quota_left_fen=left)
        out.append(
            MenuLine(
                **_item_out(item).model_dump(),
                subsidy_fen=q.subsidy_fen,
                self_pay_fen=q.self_pay_fen,
                bookable=item.usable_by(cls),
            )
        )
    return ok(out)


# ----- bookings ---------------------------------------------------------------------------


async def create_booking(request: web.Request) -> web.Response:
    p = require(request, *service.BOOKERS)
    eid = int_param(request, "elder_id")
    body = await parse(request, BookingIn)
    async with platform(request).tx() as tx:
        elder = await elder_for(tx.conn, p, eid)
        row = await service.create_booking(
            tx,
            elder=elder,
            item_code=body.item_code,
            start=body.start,
            end=body.end,
            notes=body.notes,
            actor=p.user_id,
        )
        await audit(tx, actor=p.user_id, action="book", object_type="booking", object_id=row.id)
    return ok(_booking_out(row), 201)


async def list_bookings(request: web.Request) -> web.Response:
    p = require(request, *service.BOOKERS)
    eid = int_param(request, "elder_id")
    async with platform(request).store.read() as conn:
        await elder_for(conn, p, eid)
        rows = (
            await conn.execute(
                select(bookings).where(bookings.c.elder_id == eid).order_by(bookings.c.window_start)
            )
        ).all()
    return ok([_booking_out(r) for r in rows])


async def cancel_booking(request: web.Request) -> web.Response:
    """The elder or family until 2 hours before the start; the operator until it is done (a
    visit that started and was broken off is cancelled, not completed)."""
    p = require(request, *service.BOOKERS)
    bid = int_param(request, "booking_id")
    async with platform(request).tx() as tx:
        row = await lock_booking(tx, bid)  # a completion racing this waits, then sees 409
        if row is None:
            raise not_found("booking")
        await elder_for(tx.conn, p, row.elder_id)  # 404 for other tenants
        err = check_cancel(
            window=Window(row.window_start, row.window_end),
            status=BookingStatus(row.status),
            now=tx.now,
            cutoff=None if p.is_staff() else timedelta(hours=2),
        )
        if err is not None:
            raise service.booking_error([err])
        await tx.conn.execute(
            update(bookings)
            .where(bookings.c.id == bid)
            .values(status="cancelled", cancelled_at=tx.now)
        )
        if row.task_id:
            await tx.conn.execute(
                update(tasks).where(tasks.c.id == row.task_id).values(status="cancelled")
            )
        await audit(tx, actor=p.user_id, action="cancel", object_type="booking", object_id=bid)
        await emit(
            tx,
            "booking.cancelled",
            {"booking_id": bid, "task_id": row.task_id, "station_id": row.station_id},
        )
        row = (await tx.conn.execute(select(bookings).where(bookings.c.id == bid))).one()
    return ok(_booking_out(row))


def arrival_point(body: CompleteIn) -> GeoPoint | None:
    """The arrival fix in the store's coordinate system (GCJ-02)."""
    if body.arrival is None:
        return None
    lat, lng = to_store(
        body.arrival.lat, body.arrival.lng, CoordSystem(body.arrival.coord_system.value)
    )
    return GeoPoint(lat, lng)


async def complete_booking(request: web.Request) -> web.Response:
    """The caregiver (or operator) records the service: record + ledger in one transaction."""
    p = require(request, Role.CAREGIVER, Role.OPERATOR)
    bid = int_param(request, "booking_id")
    body = await parse(request, CompleteIn)
    plat = platform(request)
    async with plat.tx() as tx:
        rec = await completion.complete_booking(
            tx,
            p,
            bid,
            started_at=body.started_at,
            ended_at=body.ended_at,
            arrival=arrival_point(body),
            arrival_accuracy_m=body.arrival.accuracy_m if body.arrival else None,
            door_code=body.door_code,
            notes=body.notes,
            secret=plat.settings.jwt_secret,
        )
    return ok(welfare_flows.record_out(rec), 201)


def routes() -> list[web.RouteDef]:
    """The services URL table."""
    return [
        *task_routes(),
        web.post("/api/v1/stations/{station_id}/service-items/seed", seed_menu),
        web.get("/api/v1/stations/{station_id}/service-items", list_items),
        web.post("/api/v1/stations/{station_id}/service-items", create_item),
        web.patch("/api/v1/stations/{station_id}/service-items/{code}", patch_item),
        web.get("/api/v1/elders/{elder_id}/menu", elder_menu),
        web.post("/api/v1/elders/{elder_id}/bookings", create_booking),
        web.get("/api/v1/elders/{elder_id}/bookings", list_bookings),
        web.post("/api/v1/bookings/{booking_id}/cancel", cancel_booking),
        web.post("/api/v1/bookings/{booking_id}/complete", complete_booking),
        *recurring.routes(),
        *meal_orders.routes(),
        web.put("/api/v1/stations/{station_id}/meal-menus/{day}", put_menu),
        web.get("/api/v1/stations/{station_id}/meal-menus/{day}", get_menu),
        web.post("/api/v1/elders/{elder_id}/meal-orders", order_meal),
    ]
