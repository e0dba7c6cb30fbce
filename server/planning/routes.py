"""The planner's HTTP face: plan a station's day, the plan and lunch routes in force, my route."""

from __future__ import annotations

from datetime import date, timedelta

from aiohttp import web
from pydantic import Field
from sqlalchemy import select

from schemas.common import Model
from server.auth.principal import Role
from server.clock import SHANGHAI
from server.http import int_param, ok, parse_optional, platform, require
from server.planning.flows import _midnight, replan
from server.planning.tables import day_plans, meal_plans
from server.registry.guards import station_scope
from server.registry.tables import elders
from server.tasks.tables import tasks


class PlanRequest(Model):
    day: date | None = None
    time_limit_s: float = Field(default=5.0, gt=0, le=60)


async def post_plan(request: web.Request) -> web.Response:
    """Plan (or re-plan) a station's day now."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    body = await parse_optional(request, PlanRequest)
    pf = platform(request)
    pid, _ = await replan(pf, sid, day=body.day, time_limit_s=body.time_limit_s)
    async with pf.store.read() as conn:
        stored = (await conn.execute(select(day_plans).where(day_plans.c.id == pid))).one()
    return ok({"plan_id": pid, "trigger": stored.trigger, **stored.summary}, 201)


async def latest_plan(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    async with platform(request).store.read() as conn:
        row = (
            await conn.execute(
                select(day_plans)
                .where(day_plans.c.station_id == sid)
                .order_by(day_plans.c.id.desc())
                .limit(1)
            )
        ).first()
    if row is None:
        return ok({"plan_id": None, "routes": [], "unassigned": []})
    return ok({"plan_id": row.id, "day": row.day, "trigger": row.trigger, **row.summary})


async def my_route(request: web.Request) -> web.Response:
    """The signed-in caregiver's tasks today, in planned order."""
    p = require(request, Role.CAREGIVER)
    pf = platform(request)
    day = pf.clock.now().astimezone(SHANGHAI).date()
    start = _midnight(day)
    async with pf.store.read() as conn:
        rows = (
            await conn.execute(
                select(tasks, elders.c.name.label("elder_name"), elders.c.address)
                .join(elders, elders.c.id == tasks.c.elder_id, isouter=True)
                .where(
                    tasks.c.caregiver_id == p.caregiver_id,
                    tasks.c.status.notin_(("cancelled",)),
                    tasks.c.planned_start >= start,
                    tasks.c.planned_start < start + timedelta(days=1),
                )
                .order_by(tasks.c.planned_start)
            )
        ).all()
    return ok(
        [
            {
                "task_id": r.id,
                "title": r.title,
                "kind": r.kind,
                "status": r.status,
                "elder_id": r.elder_id,
                "elder_name": r.elder_name,
                "address": r.address,
                "lat": r.lat,
                "lng": r.lng,
                "planned_start": r.planned_start,
                "duration_s": r.duration_s,
            }
            for r in rows
        ]
    )


async def latest_meal_plan(request: web.Request) -> web.Response:
    """The lunch routes in force: stops per courier, orders that cannot be delivered."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    async with platform(request).store.read() as conn:
        row = (
            await conn.execute(
                select(meal_plans)
                .where(meal_plans.c.station_id == sid)
                .order_by(meal_plans.c.id.desc())
                .limit(1)
            )
        ).first()
    if row is None:
        return ok({"meal_plan_id": None, "routes": [], "unassigned": []})
    return ok({"meal_plan_id": row.id, "day": row.day, **row.summary})


def routes() -> list[web.RouteDef]:
    return [
        web.post("/api/v1/stations/{station_id}/plans", post_plan),
        web.get("/api/v1/stations/{station_id}/plans/latest", latest_plan),
        web.get("/api/v1/stations/{station_id}/meal-plans/latest", latest_meal_plan),
        web.get("/api/v1/me/route", my_route),
    ]
