"""The planner's HTTP face: plan a station's day, the plan and lunch routes in force, my route."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from schemas.planning import PlanRequest
from server.auth.principal import Role
from server.clock import SHANGHAI
from server.errors import not_found
from server.http import int_param, ok, parse_optional, platform, require
from server.planning import out
from server.planning.flows import day
from server.registry.guards import station_scope
from server.registry.tables import stations


async def _station(request: web.Request, sid: int) -> None:
    """A station that exists, or 404 (an administrator may name any id)."""
    async with platform(request).store.read() as conn:
        found = (await conn.execute(select(stations.c.id).where(stations.c.id == sid))).first()
    if found is None:
        raise not_found("station")


async def post_plan(request: web.Request) -> web.Response:
    """Plan (or re-plan) a station's day now."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    await _station(request, sid)
    body = await parse_optional(request, PlanRequest)
    pf = platform(request)
    plan = await day.plan_now(pf, sid, day=body.day, time_limit_s=body.time_limit_s)
    return ok(plan, 201)


async def latest_plan(request: web.Request) -> web.Response:
    """The station's day plan in force."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    await _station(request, sid)
    return ok(await day.latest(platform(request), sid))


async def my_route(request: web.Request) -> web.Response:
    """The signed-in caregiver's tasks today, in planned order."""
    p = require(request, Role.CAREGIVER)
    pf = platform(request)
    today = pf.clock.now().astimezone(SHANGHAI).date()
    async with pf.store.read() as conn:
        return ok(await out.route_of(conn, caregiver_id=p.caregiver_id, day=today))


async def latest_meal_plan(request: web.Request) -> web.Response:
    """The lunch routes in force: stops per courier, orders that cannot be delivered."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    await _station(request, sid)
    async with platform(request).store.read() as conn:
        return ok(out.meal_plan_out(await out.latest_meal_row(conn, station_id=sid)))


def routes() -> list[web.RouteDef]:
    """The planner's URL table."""
    return [
        web.post("/api/v1/stations/{station_id}/plans", post_plan),
        web.get("/api/v1/stations/{station_id}/plans/latest", latest_plan),
        web.get("/api/v1/stations/{station_id}/meal-plans/latest", latest_meal_plan),
        web.get("/api/v1/me/route", my_route),
    ]
