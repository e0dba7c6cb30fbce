"""A station's day plan: planned again when an operator asks (from the plan in force, traded
against emergency cover), and repaired when a help call is accepted (the emergency inserted
into the caregiver's day, the rest of the team re-planned around it)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Row, select

from dispatch.cover import HighRiskElder, emergency_cover
from dispatch.dayplan import emergency_snapshot, fallback_plan
from dispatch.geo import GeoPoint
from dispatch.model import DayPlan, DaySnapshot, PlanParams, Priority, Task
from server.clock import SHANGHAI
from server.incidents.tables import incidents
from server.planning import model
from server.planning.flows import solve
from server.planning.flows.snapshot import build_snapshot, high_risk_elders
from server.planning.flows.store import store_plan
from server.planning.out import cover_json, latest_plan_row, plan_out
from server.planning.tables import day_plans
from server.platform import Platform, Tx
from server.registry.tables import caregivers
from server.texts import render


async def replan(
    platform: Platform,
    station_id: int,
    *,
    day: date | None = None,
    time_limit_s: float = 5.0,
    trigger: str = model.OPERATOR,
) -> tuple[int, DayPlan]:
    """Plan the station's day again from the plan in force (warm start), traded against
    emergency cover; the solver runs in a worker process under a watchdog."""
    async with solve.station_lock(platform, station_id):
        now = platform.clock.now()
        day = day or now.astimezone(SHANGHAI).date()
        async with platform.store.read() as conn:
            t = Tx(conn=conn, now=now)
            snap = await build_snapshot(t, station_id, day, now)
            at_risk = await high_risk_elders(t, station_id, now)
        params = PlanParams(solver=solve.solver_params(platform, "day_plan", time_limit_s))
        time_limit_s = params.solver.time_limit_s
        travel = await solve.station_travel(
            platform,
            solve.snapshot_points(snap, at_risk),
            sorted({c.mode for c in snap.caregivers}),
        )
        if solve.greedy(platform):
            # The baseline plans by hand: one pass over the visits in booking order, each
            # where it starts earliest.
            plan = fallback_plan(snap, params, travel=travel, booking_order=True)
            rep = emergency_cover(plan, snap, at_risk, params=params, travel=travel)
            pid = await store_plan(
                platform, station_id, day, plan, trigger, cover_json(rep, len(at_risk))
            )
            return pid, plan
        try:
            plan, rep = await solve.run_guarded(
                solve.DAY_JOB, (snap, at_risk, params, travel), solve.deadline_for(time_limit_s)
            )
        except solve.SolverStalled as exc:
            await solve.stalled(platform, station_id, "day plan", exc)
            plan = fallback_plan(snap, params, travel=travel)
            rep = emergency_cover(plan, snap, at_risk, params=params, travel=travel)
            trigger = model.fallback(trigger)
        pid = await store_plan(
            platform, station_id, day, plan, trigger, cover_json(rep, len(at_risk))
        )
        return pid, plan


async def plan_now(
    platform: Platform, station_id: int, *, day: date | None, time_limit_s: float
) -> dict[str, Any]:
    """An operator's re-plan, answered with the plan as stored (and its trigger)."""
    pid, _ = await replan(platform, station_id, day=day, time_limit_s=time_limit_s)
    async with platform.store.read() as conn:
        stored = (await conn.execute(select(day_plans).where(day_plans.c.id == pid))).one()
    return {"plan_id": pid, "trigger": stored.trigger, **stored.summary}


async def latest(platform: Platform, station_id: int) -> dict[str, Any]:
    """The station's plan in force, as stored."""
    async with platform.store.read() as conn:
        return plan_out(await latest_plan_row(conn, station_id=station_id))


async def on_accepted(platform: Platform, payload: dict[str, Any]) -> None:
    """Insert an accepted help call into the caregiver's day and repair the team's plan."""
    if solve.greedy(platform):
        return  # the baseline neither inserts the call nor re-plans the team
    iid, cid = int(payload["incident_id"]), int(payload["caregiver_id"])
    async with platform.store.read() as conn:
        # Her own station's day is repaired, also when she was lent to a neighbour's call.
        sid = (
            await conn.execute(select(caregivers.c.station_id).where(caregivers.c.id == cid))
        ).scalar_one()
    # Under the station's lock: a re-plan running meanwhile must not store over this one.
    async with solve.station_lock(platform, sid):
        loaded = await _for_insertion(platform, iid, (sid, cid))
        if loaded is None:
            return  # already inserted (the outbox may deliver twice)
        inc, day, snap, at_risk = loaded
        if not any(c.caregiver_id == cid for c in snap.caregivers):
            return  # not on today's roster (e.g. called in off shift): nothing to repair
        call = _emergency(inc, snap, sla_s=platform.settings.sla_s)
        await _insert(platform, sid, day, (iid, cid), call, snap, at_risk)


async def _for_insertion(
    platform: Platform, incident_id: int, who: tuple[int, int]
) -> tuple[Row[Any], date, DaySnapshot, list[HighRiskElder]] | None:
    """The incident, today, the day of the caregiver's station (``who``: station, caregiver)
    as the planner sees it and its elders at risk; None once the incident is inserted."""
    station_id, caregiver_id = who
    triggers = (model.emergency(incident_id), model.fallback(model.emergency(incident_id)))
    async with platform.store.read() as conn:
        inc = (await conn.execute(select(incidents).where(incidents.c.id == incident_id))).one()
        # Inserted for this caregiver: a call handed on (from a neighbour's caregiver, or
        # from one of the station's own) goes into the day of the one who took it now.
        done = select(day_plans.c.summary).where(
            day_plans.c.station_id == station_id, day_plans.c.trigger.in_(triggers)
        )
        call = f"incident:{incident_id}"
        if any(_in_route(r.summary, caregiver_id, call) for r in await conn.execute(done)):
            return None
        now = platform.clock.now()
        day = now.astimezone(SHANGHAI).date()
        t = Tx(conn=conn, now=now)
        snap = await build_snapshot(t, station_id, day, now)
        return inc, day, snap, await high_risk_elders(t, station_id, now)


def _in_route(summary: Any, caregiver_id: int, task_id: str) -> bool:
    """Whether a stored plan has the task in the caregiver's route."""
    routes = summary.get("routes", []) if isinstance(summary, dict) else []
    return any(
        r.get("caregiver_id") == caregiver_id
        and any(v.get("task_id") == task_id for v in r.get("visits", []))
        for r in routes
    )


def _emergency(inc: Any, snap: DaySnapshot, *, sla_s: int) -> Task:
    """The help call as a task: from now, inside the promise, before anything else."""
    return Task(
        task_id=f"incident:{inc.id}",
        elder_id=inc.elder_id,
        location=GeoPoint(inc.lat, inc.lng),
        earliest_s=snap.now_s,
        latest_s=snap.now_s + sla_s,
        duration_s=1800,
        priority=Priority.EMERGENCY,
        label=render("task.emergency"),
    )


async def _insert(
    platform: Platform,
    station_id: int,
    day: date,
    who: tuple[int, int],
    call: Task,
    snap: DaySnapshot,
    at_risk: list[HighRiskElder],
) -> None:
    """Solve the insertion of incident ``who[0]`` for caregiver ``who[1]`` (a solver-free plan
    if the solver stalls) and store it."""
    incident_id, caregiver_id = who
    # Not on the help call's path (the offer is already accepted): take time to repair well.
    params = PlanParams(solver=solve.solver_params(platform, "replan", 3.0))
    limit = params.solver.time_limit_s
    points = [*solve.snapshot_points(snap, at_risk), call.location]
    modes = sorted({c.mode for c in snap.caregivers})
    travel = await solve.station_travel(platform, points, modes)
    trigger = model.emergency(incident_id)
    try:
        plan, rep = await solve.run_guarded(
            solve.EMERGENCY_JOB,
            (snap, call, caregiver_id, at_risk, params, travel),
            solve.deadline_for(limit),
        )
    except solve.SolverStalled as exc:
        await solve.stalled(platform, station_id, "help call insertion", exc)
        with_call, _ = emergency_snapshot(snap, call, caregiver_id)
        plan = fallback_plan(with_call, params, travel=travel)
        rep = emergency_cover(plan, with_call, at_risk, params=params, travel=travel)
        trigger = model.fallback(trigger)
    await store_plan(platform, station_id, day, plan, trigger, cover_json(rep, len(at_risk)))
