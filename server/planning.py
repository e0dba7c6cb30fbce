"""The thin service around dispatch/'s day plans: build a snapshot from the store, solve
off the event loop, write the assignments back, push what changed.

Triggers: an operator asks (``POST /api/v1/stations/{id}/plans``), and an accepted help call
(the emergency is inserted into the caregiver's day and the rest repaired across the team).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web
from pydantic import Field
from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table, insert, select, update

from dispatch.dayplan import insert_emergency, plan_day
from dispatch.geo import GeoPoint
from dispatch.model import (
    Caregiver,
    DayPlan,
    DaySnapshot,
    PlannedVisit,
    PlanParams,
    Priority,
    Route,
    Task,
)
from dispatch.routing import SolverParams
from dispatch.travel import TravelMode
from schemas.common import Model
from server.auth.principal import Role
from server.clock import SHANGHAI
from server.http import int_param, ok, parse, platform, require
from server.incidents.notify import to_operators
from server.platform import Platform, Tx, queue_push
from server.registry.guards import station_scope
from server.services.service import sync_booking_status  # bookings follow their tasks
from server.store.meta import metadata
from server.store.tables import Id, caregivers, elders, incidents, stations, tasks
from server.store.types import UtcDateTime

day_plans = Table(
    "day_plans", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("day", String(10), nullable=False),
    Column("trigger", String(40), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("travel_s", Integer, nullable=False),
    Column("summary", JSON, nullable=False),
)

_locks: dict[int, asyncio.Lock] = {}


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


def _secs(at: datetime | None, day: date, default: int) -> int:
    if at is None:
        return default
    return int((at.astimezone(SHANGHAI) - _midnight(day)).total_seconds())


def _hhmm(value: str) -> int:
    h, m = value.split(":")
    return int(h) * 3600 + int(m) * 60


async def build_snapshot(tx: Tx, station_id: int, day: date, now: datetime) -> DaySnapshot:
    """The station's team and open work for one local day, as dispatch/ sees it."""
    st = (await tx.conn.execute(select(stations).where(stations.c.id == station_id))).one()
    now_s = max(0, _secs(now, day, 0))
    team = []
    for c in (await tx.conn.execute(select(caregivers).where(
            caregivers.c.station_id == station_id, caregivers.c.active.is_(True)))).all():
        shifts = [s for s in c.shifts if int(s["weekday"]) == day.weekday()]
        if not shifts:
            continue
        loc = GeoPoint(c.lat, c.lng) if c.lat is not None and c.on_duty else None
        team.append(Caregiver(
            caregiver_id=c.id, name=c.name, shift_start_s=min(_hhmm(s["start"]) for s in shifts),
            shift_end_s=max(_hhmm(s["end"]) for s in shifts), skills=frozenset(c.skills),
            home=GeoPoint(c.home_lat, c.home_lng) if c.home_lat is not None else None,
            mode=TravelMode(c.travel_mode), location=loc,
            available_from_s=now_s if loc is not None else None))
    start, end = _midnight(day), _midnight(day) + timedelta(days=1)
    rows = (await tx.conn.execute(
        select(tasks, elders.c.care_level, elders.c.preferred_caregiver_id)
        .join(elders, elders.c.id == tasks.c.elder_id, isouter=True)
        .where(tasks.c.station_id == station_id, tasks.c.kind != "emergency",
               tasks.c.status.in_(("open", "planned", "en_route", "in_progress")),
               tasks.c.window_start >= start, tasks.c.window_start < end))).all()
    work = [_task(r, day, now) for r in rows if r.lat is not None]
    return DaySnapshot(station=GeoPoint(st.lat, st.lng), caregivers=tuple(team), tasks=tuple(work),
                       now_s=now_s, previous=await _previous(tx, station_id, day))


def _task(r: Any, day: date, now: datetime) -> Task:
    prio = Priority(min(max(int(r.priority), 1), 4))
    duration = int(r.duration_s)
    if r.status == "in_progress" and r.started_at is not None:
        # Only what is left of work already under way.
        duration = max(60, duration - int((now - r.started_at).total_seconds()))
    if r.care_level == "失能":
        prio = max(prio, Priority.ESSENTIAL)
    pinned = r.caregiver_id if r.status in ("en_route", "in_progress") else None
    return Task(
        task_id=str(r.id), elder_id=r.elder_id or 0, location=GeoPoint(r.lat, r.lng),
        earliest_s=_secs(r.window_start, day, 8 * 3600), latest_s=_secs(r.window_end, day, 18 * 3600),
        duration_s=duration, required_skills=frozenset(r.required_skills), priority=prio,
        preferred_caregiver=r.preferred_caregiver_id, pinned_to=pinned,
        interruptible=bool(r.interruptible), label=r.title)


async def _previous(tx: Tx, station_id: int, day: date) -> DayPlan | None:
    row = (await tx.conn.execute(select(day_plans).where(
        day_plans.c.station_id == station_id, day_plans.c.day == day.isoformat())
        .order_by(day_plans.c.id.desc()).limit(1))).first()
    if row is None:
        return None
    routes = tuple(Route(caregiver_id=r["caregiver_id"], start_s=r["start_s"], end_s=r["end_s"],
                         travel_s=r["travel_s"], visits=tuple(PlannedVisit(**v) for v in r["visits"]))
                   for r in row.summary["routes"])
    return DayPlan(routes=routes, unassigned=(), travel_s=row.travel_s, objective=0, seconds=0.0)


def summary(plan: DayPlan) -> dict[str, Any]:
    return {
        "routes": [{"caregiver_id": r.caregiver_id, "start_s": r.start_s, "end_s": r.end_s,
                    "travel_s": r.travel_s,
                    "visits": [{"task_id": v.task_id, "caregiver_id": v.caregiver_id, "start_s": v.start_s,
                                "end_s": v.end_s, "travel_s": v.travel_s} for v in r.visits]}
                   for r in plan.routes],
        "unassigned": [{"task_id": u.task_id, "why": u.why.value, "text": u.text} for u in plan.unassigned],
        "diff": {"added": plan.diff.added, "removed": plan.diff.removed, "moved": plan.diff.moved,
                 "retimed": plan.diff.retimed},
        "seconds": round(plan.seconds, 3),
    }


async def store_plan(platform: Platform, station_id: int, day: date, plan: DayPlan, trigger: str) -> int:
    """Write assignments back to the tasks, record the plan, push each changed route."""
    async with platform.tx() as tx:
        base = _midnight(day)
        for r in plan.routes:
            for v in r.visits:
                if not v.task_id.isdigit():
                    continue
                await tx.conn.execute(update(tasks).where(
                    tasks.c.id == int(v.task_id), tasks.c.status.in_(("open", "planned"))).values(
                    caregiver_id=r.caregiver_id, status="planned",
                    planned_start=base + timedelta(seconds=v.start_s)))
        for u in plan.unassigned:
            if u.task_id.isdigit():
                await tx.conn.execute(update(tasks).where(
                    tasks.c.id == int(u.task_id), tasks.c.status.in_(("open", "planned"))).values(
                    caregiver_id=None, status="open", planned_start=None))
        await sync_booking_status(tx, station_id=station_id)  # bookings become planned
        body = summary(plan)
        pid = int((await tx.conn.execute(insert(day_plans).values(
            station_id=station_id, day=day.isoformat(), trigger=trigger, created_at=tx.now,
            travel_s=plan.travel_s, summary=body).returning(day_plans.c.id))).scalar_one())
        touched = plan.diff.touched_caregivers() if plan.diff is not None else frozenset()
        if not touched and trigger == "operator":
            touched = frozenset(r.caregiver_id for r in plan.routes)
        for cid in touched:
            await _push_route(tx, cid, body, day)
        await to_operators(tx, station_id, "plan.updated", {
            "plan_id": pid, "day": day.isoformat(), "trigger": trigger, "travel_s": plan.travel_s,
            "unassigned": body["unassigned"]})
    return pid


async def _push_route(tx: Tx, caregiver_id: int, body: dict[str, Any], day: date) -> None:
    uid = (await tx.conn.execute(select(caregivers.c.user_id).where(caregivers.c.id == caregiver_id))).scalar()
    route = next((r for r in body["routes"] if r["caregiver_id"] == caregiver_id), None)
    if uid is not None:
        queue_push(tx, f"user:{uid}", "plan.changed", {"day": day.isoformat(),
                                                        "visits": route["visits"] if route else []})


async def replan(platform: Platform, station_id: int, *, day: date | None = None,
                 time_limit_s: float = 5.0, trigger: str = "operator") -> tuple[int, DayPlan]:
    """Plan the station's day again from the plan in force (warm start)."""
    lock = _locks.setdefault(station_id, asyncio.Lock())
    async with lock:
        now = platform.clock.now()
        day = day or now.astimezone(SHANGHAI).date()
        async with platform.store.read() as conn:
            snap = await build_snapshot(Tx(conn=conn, now=now), station_id, day, now)
        params = PlanParams(solver=SolverParams(time_limit_s=time_limit_s, portfolio_share=0.2))
        plan = await asyncio.to_thread(plan_day, snap, params)
        return await store_plan(platform, station_id, day, plan, trigger), plan


async def on_accepted(platform: Platform, payload: dict[str, Any]) -> None:
    """Insert an accepted help call into the caregiver's day and repair the team's plan."""
    iid, cid = int(payload["incident_id"]), int(payload["caregiver_id"])
    async with platform.store.read() as conn:
        inc = (await conn.execute(select(incidents).where(incidents.c.id == iid))).one()
        if (await conn.execute(select(day_plans.c.id).where(
                day_plans.c.trigger == f"emergency:{iid}"))).first() is not None:
            return  # already inserted (the outbox may deliver twice)
        now = platform.clock.now()
        day = now.astimezone(SHANGHAI).date()
        snap = await build_snapshot(Tx(conn=conn, now=now), inc.station_id, day, now)
    if not any(c.caregiver_id == cid for c in snap.caregivers):
        return  # not on today's roster (e.g. called in off shift): nothing to repair
    emergency = Task(task_id=f"incident:{iid}", elder_id=inc.elder_id, location=GeoPoint(inc.lat, inc.lng),
                     earliest_s=snap.now_s, latest_s=snap.now_s + platform.settings.sla_s,
                     duration_s=1800, priority=Priority.EMERGENCY, label="紧急呼叫")
    # Not on the help call's path (the offer is already accepted): take time to repair well.
    params = PlanParams(solver=SolverParams(time_limit_s=3.0, portfolio_share=0.2))
    plan = await asyncio.to_thread(insert_emergency, replace(snap), emergency, cid, params)
    await store_plan(platform, inc.station_id, day, plan, f"emergency:{iid}")


class PlanRequest(Model):
    day: date | None = None
    time_limit_s: float = Field(default=5.0, gt=0, le=60)


async def post_plan(request: web.Request) -> web.Response:
    """Plan (or re-plan) a station's day now."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    body = await parse(request, PlanRequest) if await request.read() else PlanRequest()
    pid, plan = await replan(platform(request), sid, day=body.day, time_limit_s=body.time_limit_s)
    return ok({"plan_id": pid, **summary(plan)}, 201)


async def latest_plan(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    async with platform(request).store.read() as conn:
        row = (await conn.execute(select(day_plans).where(day_plans.c.station_id == sid)
                                  .order_by(day_plans.c.id.desc()).limit(1))).first()
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
        rows = (await conn.execute(
            select(tasks, elders.c.name.label("elder_name"), elders.c.address)
            .join(elders, elders.c.id == tasks.c.elder_id, isouter=True)
            .where(tasks.c.caregiver_id == p.caregiver_id, tasks.c.status.notin_(("cancelled",)),
                   tasks.c.planned_start >= start, tasks.c.planned_start < start + timedelta(days=1))
            .order_by(tasks.c.planned_start))).all()
    return ok([{"task_id": r.id, "title": r.title, "kind": r.kind, "status": r.status,
                "elder_id": r.elder_id, "elder_name": r.elder_name, "address": r.address,
                "lat": r.lat, "lng": r.lng, "planned_start": r.planned_start,
                "duration_s": r.duration_s} for r in rows])


def routes() -> list[web.RouteDef]:
    return [
        web.post("/api/v1/stations/{station_id}/plans", post_plan),
        web.get("/api/v1/stations/{station_id}/plans/latest", latest_plan),
        web.get("/api/v1/me/route", my_route),
    ]


def register(platform: Platform) -> None:
    platform.on_event("incident.accepted", on_accepted)
