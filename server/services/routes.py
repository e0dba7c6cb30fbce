"""Services endpoints: the station's menu, bookings (book, cancel, complete), recurring rules
and meals; the services URL table (the caregiver's task URLs are the tasks domain's)."""

from __future__ import annotations

from datetime import date
from typing import Final

from aiohttp import web

from schemas.services import (
    BookingIn,
    BookingOut,
    CompleteIn,
    DayQuery,
    DoorKnockIn,
    FestivalVisitsIn,
    ItemIn,
    ItemOut,
    ItemPatch,
    MaterialiseIn,
    MealOrderIn,
    MealOrderOut,
    MenuIn,
    MenuLine,
    RecurrenceIn,
    RecurrenceOut,
    RecurrencePatch,
    StationMealOrderOut,
)
from schemas.welfare import RecordOut
from server.auth.principal import Role
from server.errors import ApiError, not_found
from server.http import caller, int_param, ok, parse, parse_query, platform, require
from server.openapi import doc
from server.registry.guards import station_scope
from server.services.flows import bookings, meals, menu, recurring

# who may book for an elder (each still passes the elder guard)
BOOKERS: Final = (Role.ELDER, Role.FAMILY, Role.OPERATOR)


# ----- menu -------------------------------------------------------------------------------


async def seed_menu(request: web.Request) -> web.Response:
    """Put the seed items on the station's menu (those it does not have yet)."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    added = await menu.seed_menu(platform(request), station_id=sid, actor=p.user_id)
    return ok({"added": added})


@doc(response=list[ItemOut])
async def list_items(request: web.Request) -> web.Response:
    """The station's menu, active items or not."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    return ok(await menu.list_items(platform(request), station_id=sid))


@doc(response=ItemOut, status=201)
async def create_item(request: web.Request) -> web.Response:
    """Add an item to the station's menu."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    body = await parse(request, ItemIn)
    item = await menu.create_item(platform(request), station_id=sid, body=body, actor=p.user_id)
    return ok(item, 201)


@doc(response=ItemOut)
async def patch_item(request: web.Request) -> web.Response:
    """Change an item of the station's menu."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    body = await parse(request, ItemPatch)
    code = request.match_info["code"]
    return ok(
        await menu.patch_item(
            platform(request), station_id=sid, code=code, body=body, actor=p.user_id
        )
    )


@doc(response=list[MenuLine])
async def elder_menu(request: web.Request) -> web.Response:
    """The elder's station menu with what the subsidy covers for each item right now."""
    p = require(request, *BOOKERS)
    eid = int_param(request, "elder_id")
    return ok(await menu.elder_menu(platform(request), p, elder_id=eid))


# ----- bookings ---------------------------------------------------------------------------


@doc(response=BookingOut, status=201)
async def create_booking(request: web.Request) -> web.Response:
    """Book a service for the elder (a window, or as soon as possible)."""
    p = require(request, *BOOKERS)
    eid = int_param(request, "elder_id")
    body = await parse(request, BookingIn)
    return ok(await bookings.book(platform(request), p, elder_id=eid, body=body), 201)


@doc(response=list[BookingOut])
async def list_bookings(request: web.Request) -> web.Response:
    """The elder's bookings."""
    p = require(request, *BOOKERS)
    eid = int_param(request, "elder_id")
    return ok(await bookings.list_bookings(platform(request), p, elder_id=eid))


@doc(response=BookingOut)
async def cancel_booking(request: web.Request) -> web.Response:
    """The elder or family until 2 hours before the start; the operator until it is done (a
    visit that started and was broken off is cancelled, not completed)."""
    p = require(request, *BOOKERS)
    bid = int_param(request, "booking_id")
    return ok(await bookings.cancel(platform(request), p, booking_id=bid))


@doc(response=RecordOut, status=201)
async def complete_booking(request: web.Request) -> web.Response:
    """The caregiver (or operator) records the service: record + ledger in one transaction."""
    p = require(request, Role.CAREGIVER, Role.OPERATOR)
    bid = int_param(request, "booking_id")
    body = await parse(request, CompleteIn)
    return ok(await bookings.complete(platform(request), p, booking_id=bid, body=body), 201)


# ----- recurring rules --------------------------------------------------------------------


@doc(response=RecurrenceOut, status=201)
async def create_recurrence(request: web.Request) -> web.Response:
    """A recurring booking for the elder ("every Tuesday 9-11 bathing help")."""
    p = require(request, Role.OPERATOR)
    eid = int_param(request, "elder_id")
    body = await parse(request, RecurrenceIn)
    rule = await recurring.create_rule(platform(request), p, elder_id=eid, body=body)
    return ok(rule, 201)


@doc(response=list[RecurrenceOut])
async def list_elder_rules(request: web.Request) -> web.Response:
    """The elder's recurring rules."""
    p = require(request, *BOOKERS)
    eid = int_param(request, "elder_id")
    return ok(await recurring.list_elder_rules(platform(request), p, elder_id=eid))


@doc(response=list[RecurrenceOut])
async def list_station_rules(request: web.Request) -> web.Response:
    """The station's recurring rules (``active=1``: only those in force)."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    active_only = request.query.get("active") in ("1", "true")
    pf = platform(request)
    return ok(await recurring.list_station_rules(pf, station_id=sid, active_only=active_only))


async def patch_rule(request: web.Request) -> web.Response:
    """Change a rule: the future bookings of the old pattern are cancelled and the new pattern
    is booked at once (the next days) and by the daily timer from then on."""
    p = require(request, Role.OPERATOR)
    rule_id = int_param(request, "rule_id")
    body = await parse(request, RecurrencePatch)
    return ok(await recurring.change_rule(platform(request), p, rule_id=rule_id, body=body))


async def stop_rule(request: web.Request) -> web.Response:
    """Stop a rule from today: no more bookings, and its bookings not yet started are
    cancelled."""
    p = require(request, Role.OPERATOR)
    rule_id = int_param(request, "rule_id")
    return ok(await recurring.stop_rule(platform(request), p, rule_id=rule_id))


async def door_knock_for_the_alone(request: web.Request) -> web.Response:
    """Give every active elder of the station who lives alone a weekly door-knock rule."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    body = await parse(request, DoorKnockIn)
    pf = platform(request)
    return ok(
        await recurring.door_knock_for_the_alone(pf, station_id=sid, body=body, actor=p.user_id)
    )


async def materialise(request: web.Request) -> web.Response:
    """Turn the station's recurring rules into bookings for the next days now (idempotent; the
    daily timer does the same every night)."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    body = await parse(request, MaterialiseIn)
    created, skipped = await recurring.materialise_station(
        platform(request), station_id=sid, days=body.days, actor=p.user_id
    )
    return ok({"created": created, "skipped": skipped})


# ----- meals ------------------------------------------------------------------------------


def _day(request: web.Request) -> date:
    try:
        return date.fromisoformat(request.match_info["day"])
    except ValueError as exc:
        raise ApiError(404, "not_found", "no such day") from exc


async def put_menu(request: web.Request) -> web.Response:
    """Set a day's lunch menu and its cut-off."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    day = _day(request)
    body = await parse(request, MenuIn)
    pf = platform(request)
    return ok(await meals.put_menu(pf, station_id=sid, day=day, body=body, actor=p.user_id))


async def get_menu(request: web.Request) -> web.Response:
    """A day's lunch menu."""
    p = caller(request)
    sid = int_param(request, "station_id")
    day = _day(request)
    if p.role in (Role.OPERATOR, Role.CAREGIVER) and p.station_id != sid:
        raise not_found("station")
    return ok(await meals.get_menu(platform(request), station_id=sid, day=day))


async def order_meal(request: web.Request) -> web.Response:
    """Order a day's lunch for the elder, before the cut-off."""
    p = require(request, *BOOKERS)
    eid = int_param(request, "elder_id")
    body = await parse(request, MealOrderIn)
    return ok(await meals.order_meal(platform(request), p, elder_id=eid, body=body), 201)


@doc(response=list[MealOrderOut])
async def list_orders(request: web.Request) -> web.Response:
    """The elder's meal orders."""
    p = require(request, *BOOKERS)
    eid = int_param(request, "elder_id")
    return ok(await meals.list_orders(platform(request), p, elder_id=eid))


@doc(response=list[StationMealOrderOut])
async def station_orders(request: web.Request) -> web.Response:
    """A station's meal orders for a day (`?day=2026-11-24`), cancelled ones too."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    q = parse_query(request, DayQuery)
    return ok(await meals.station_orders(platform(request), station_id=sid, day=q.day))


@doc(response=MealOrderOut)
async def cancel_order(request: web.Request) -> web.Response:
    """Cancel a meal order before the cut-off (after it the kitchen has cooked)."""
    p = require(request, *BOOKERS)
    oid = int_param(request, "order_id")
    return ok(await meals.cancel_order(platform(request), p, order_id=oid))


async def festival_visits(request: web.Request) -> web.Response:
    """Birthday visits from the elders' files and festival visits on the dates given."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    body = await parse(request, FestivalVisitsIn)
    return ok(
        await recurring.festival_visits(
            platform(request), station_id=sid, body=body, actor=p.user_id
        )
    )


def routes() -> list[web.RouteDef]:
    """The services URL table."""
    return [
        web.post("/api/v1/stations/{station_id}/service-items/seed", seed_menu),
        web.get("/api/v1/stations/{station_id}/service-items", list_items),
        web.post("/api/v1/stations/{station_id}/service-items", create_item),
        web.patch("/api/v1/stations/{station_id}/service-items/{code}", patch_item),
        web.get("/api/v1/elders/{elder_id}/menu", elder_menu),
        web.post("/api/v1/elders/{elder_id}/bookings", create_booking),
        web.get("/api/v1/elders/{elder_id}/bookings", list_bookings),
        web.post("/api/v1/bookings/{booking_id}/cancel", cancel_booking),
        web.post("/api/v1/bookings/{booking_id}/complete", complete_booking),
        web.post("/api/v1/elders/{elder_id}/recurring-bookings", create_recurrence),
        web.get("/api/v1/elders/{elder_id}/recurring-bookings", list_elder_rules),
        web.get("/api/v1/stations/{station_id}/recurring-bookings", list_station_rules),
        web.patch("/api/v1/recurring-bookings/{rule_id}", patch_rule),
        web.post("/api/v1/recurring-bookings/{rule_id}/stop", stop_rule),
        web.post("/api/v1/stations/{station_id}/recurring-bookings/materialise", materialise),
        web.post(
            "/api/v1/stations/{station_id}/recurring-bookings/door-knock", door_knock_for_the_alone
        ),
        web.post(
            "/api/v1/stations/{station_id}/recurring-bookings/festival-visits", festival_visits
        ),
        web.get("/api/v1/elders/{elder_id}/meal-orders", list_orders),
        web.get("/api/v1/stations/{station_id}/meal-orders", station_orders),
        web.post("/api/v1/meal-orders/{order_id}/cancel", cancel_order),
        web.put("/api/v1/stations/{station_id}/meal-menus/{day}", put_menu),
        web.get("/api/v1/stations/{station_id}/meal-menus/{day}", get_menu),
        web.post("/api/v1/elders/{elder_id}/meal-orders", order_meal),
    ]
