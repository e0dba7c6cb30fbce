"""The thin service around dispatch/'s day plans: build a snapshot from the store, solve
off the event loop, write the assignments back, push what changed.

Triggers: an operator asks (``POST /api/v1/stations/{id}/plans``), and an accepted help call
(the emergency is inserted into the caregiver's day and the rest repaired across the team).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import insert, or_, select, update

from dispatch.cover import CoverReport, HighRiskElder, emergency_cover
from dispatch.dayplan import (
    emergency_snapshot,
    fallback_plan,
    insert_emergency,
    plan_day_with_cover,
)
from dispatch.geo import GeoPoint
from dispatch.meals import Courier, MealOrder, MealParams, MealPlan, plan_meals
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
from dispatch.travel import GreatCircleTravel, TravelMode, TravelTimeModel, prefetch
from server.clock import SHANGHAI
from server.incidents.alarms import raise_alarm
from server.incidents.dispatcher import travel_mode_of
from server.incidents.notify import to_operators
from server.incidents.tables import incidents
from server.planning.tables import day_plans, meal_plans
from server.platform import Platform, Tx, queue_push
from server.registry.tables import caregivers, elders, stations
from server.registry.views import skills_of
from server.services.service import sync_booking_status  # bookings follow their tasks
from server.tasks.tables import tasks

log = logging.getLogger("anxin.planning")


def station_lock(platform: Platform, station_id: int) -> asyncio.Lock:
    """One planning at a time per station (a re-plan, a help call's insertion, meals); kept
    on the platform, so each app (and event loop) has its own."""
    locks: dict[int, asyncio.Lock] = platform.extras.setdefault("planning_locks", {})
    return locks.setdefault(station_id, asyncio.Lock())


# ----- the solver in a worker process, with a watchdog ----------------------------------
#
# OR-Tools holds the GIL while it searches, so a search that does not stop (it happened:
# ruin and recreate spinning past any time limit) would freeze the whole server, and no
# thread can interrupt it. Every solve therefore runs in a child of a fork server (cheap
# to start, nothing of the event loop inherited) and is killed when it overruns its
# deadline; the caller then falls back to a solver-free plan and raises an alarm.

WATCHDOG_FACTOR = 6.0  # a solve may legitimately run a few limits (a start over time)
WATCHDOG_GRACE_S = 15.0
_CTX = multiprocessing.get_context("forkserver")
_CTX.set_forkserver_preload(["dispatch.dayplan", "dispatch.meals", "server.planning.flows"])

T = TypeVar("T")


class SolverStalled(Exception):
    """The solver did not answer in time (killed) or failed in its process."""


def _worker(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        conn.send((True, fn(*args)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which falls back
        conn.send((False, f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def deadline_for(time_limit_s: float) -> float:
    return WATCHDOG_FACTOR * time_limit_s + WATCHDOG_GRACE_S


async def run_guarded(fn: Callable[..., T], args: tuple[Any, ...], deadline_s: float) -> T:
    """Run `fn(*args)` in a worker process; SolverStalled when it is not done by the deadline
    (the process is killed) or fails."""
    parent, child = _CTX.Pipe(duplex=False)
    proc = _CTX.Process(target=_worker, args=(child, fn, args), daemon=True)
    try:
        await asyncio.to_thread(proc.start)
        child.close()
        if not await asyncio.to_thread(parent.poll, deadline_s):
            raise SolverStalled(f"no answer within {deadline_s:.0f} s")
        try:
            done, value = await asyncio.to_thread(parent.recv)
        except EOFError as exc:  # the worker died without a word
            raise SolverStalled(f"solver process died (exit {proc.exitcode})") from exc
        if not done:
            raise SolverStalled(str(value))
        return value  # type: ignore[no-any-return]
    finally:
        parent.close()
        if proc.is_alive():
            proc.kill()
        await asyncio.to_thread(proc.join, 5)


def day_job(
    snap: DaySnapshot, elders_: Sequence[HighRiskElder], params: PlanParams, travel: TravelTimeModel
) -> tuple[DayPlan, CoverReport]:
    """In the worker: the day plan traded against emergency cover."""
    return plan_day_with_cover(snap, elders_, params, travel=travel)


def emergency_job(
    snap: DaySnapshot,
    emergency: Task,
    caregiver_id: int,
    elders_: Sequence[HighRiskElder],
    params: PlanParams,
    travel: TravelTimeModel,
) -> tuple[DayPlan, CoverReport]:
    """In the worker: the help call inserted, the team repaired, and the cover after it."""
    plan = insert_emergency(snap, emergency, caregiver_id, params, travel=travel)
    with_call, _ = emergency_snapshot(snap, emergency, caregiver_id)
    return plan, emergency_cover(plan, with_call, elders_, params=params, travel=travel)


def meal_job(
    kitchen: GeoPoint,
    orders: Sequence[MealOrder],
    couriers: Sequence[Courier],
    params: MealParams,
    station: GeoPoint,
    travel: TravelTimeModel,
) -> MealPlan:
    """In the worker: lunch routes."""
    return plan_meals(kitchen, orders, couriers, params, station=station, travel=travel)


# Indirection for tests (a job that hangs); the worker imports it by name.
DAY_JOB: Callable[..., tuple[DayPlan, CoverReport]] = day_job
EMERGENCY_JOB: Callable[..., tuple[DayPlan, CoverReport]] = emergency_job


async def _stalled(platform: Platform, station_id: int, what: str, exc: Exception) -> None:
    log.error("planning stalled at station %s (%s): %s", station_id, what, exc)
    async with platform.tx() as tx:
        await raise_alarm(
            tx,
            station_id,
            None,
            "planning_stalled",
            {"what": what},
        )


async def station_travel(
    platform: Platform, points: Sequence[GeoPoint], modes: Sequence[TravelMode]
) -> TravelTimeModel:
    """The station's travel model for a solve: road times fetched now (in a thread, in
    blocks) when a map service is configured, great-circle for anything it cannot answer."""
    from server.incidents.dispatcher import travel_model
    from server.travel import does_io

    model = travel_model(platform)
    if not does_io(model):
        return model if isinstance(model, GreatCircleTravel) else GreatCircleTravel()
    return await asyncio.to_thread(prefetch, model, points, modes)


def _snapshot_points(snap: DaySnapshot, elders_: Sequence[HighRiskElder]) -> list[GeoPoint]:
    pts = [snap.station]
    for c in snap.caregivers:
        pts += [p for p in (c.location, c.home) if p is not None]
    pts += [t.location for t in snap.tasks]
    pts += [e.location for e in elders_]
    return pts


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


def _secs(at: datetime | None, day: date, default: int) -> int:
    if at is None:
        return default
    return int((at.astimezone(SHANGHAI) - _midnight(day)).total_seconds())


_HHMM = re.compile(r"^(\d{1,2}):(\d\d)$")


def _hhmm(value: object) -> int:
    """Seconds after midnight of an "HH:MM" time (up to 24:00); ValueError for anything else."""
    m = _HHMM.match(value) if isinstance(value, str) else None
    if m is None or int(m.group(2)) >= 60 or int(m.group(1)) * 60 + int(m.group(2)) > 24 * 60:
        raise ValueError(f"not a time of day: {str(value)[:20]!r}")
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60


def _shift(raw: object) -> tuple[int, int, int]:
    """One stored shift as (weekday, start_s, end_s); ValueError when it does not read as one."""
    if not isinstance(raw, dict):
        raise ValueError(f"not an object but {type(raw).__name__}")
    weekday = raw.get("weekday")
    if isinstance(weekday, str) and weekday.isdigit():
        weekday = int(weekday)  # written as text by an old import
    if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
        raise ValueError(f"weekday is {str(weekday)[:20]!r}")
    start, end = _hhmm(raw.get("start")), _hhmm(raw.get("end"))
    if end <= start:
        # The day plan has no overnight shifts; one written that way cannot be planned.
        raise ValueError(f"end {raw.get('end')} is not after start {raw.get('start')}")
    return weekday, start, end


def shifts_on(c: Any, day: date, *, warn: bool = True) -> list[tuple[int, int]]:
    """A caregiver's shifts on ``day`` as (start_s, end_s). The API validates shifts, but old or
    hand-edited rows can hold anything: a shift that does not read is skipped with a warning
    (so is a shifts field that is not a list), and the day is planned with the rest. ``warn``
    off for readers that run on every page load (the planner has said it already)."""
    raw = c.shifts
    if not isinstance(raw, list):
        if raw is not None and warn:
            log.warning(
                "caregiver shifts are not a list; no shifts read",
                extra={"caregiver_id": c.id, "shifts_type": type(raw).__name__},
            )
        return []
    out = []
    for i, item in enumerate(raw):
        try:
            weekday, start, end = _shift(item)
        except ValueError as exc:
            if warn:
                log.warning(
                    "malformed caregiver shift skipped",
                    extra={"caregiver_id": c.id, "shift_index": i, "why": str(exc)},
                )
            continue
        if weekday == day.weekday():
            out.append((start, end))
    return out


async def build_snapshot(tx: Tx, station_id: int, day: date, now: datetime) -> DaySnapshot:
    """The station's team and open work for one local day, as dispatch/ sees it."""
    st = (await tx.conn.execute(select(stations).where(stations.c.id == station_id))).one()
    now_s = max(0, _secs(now, day, 0))
    busy = await _meal_rounds(tx, station_id, day)
    team = []
    for c in (
        await tx.conn.execute(
            select(caregivers).where(
                caregivers.c.station_id == station_id, caregivers.c.active.is_(True)
            )
        )
    ).all():
        shifts = shifts_on(c, day)
        if not shifts:
            continue
        loc = GeoPoint(c.lat, c.lng) if c.lat is not None and c.on_duty else None
        team.append(
            Caregiver(
                caregiver_id=c.id,
                name=c.name,
                shift_start_s=min(a for a, _ in shifts),
                shift_end_s=max(b for _, b in shifts),
                skills=skills_of(c.skills),
                home=GeoPoint(c.home_lat, c.home_lng) if c.home_lat is not None else None,
                mode=travel_mode_of(c.travel_mode),
                location=loc,
                available_from_s=now_s if loc is not None else None,
                # The contract is the roster: no longer than today's shifts add up to (a split
                # shift's gap is not working time).
                max_work_s=sum(b - a for a, b in shifts),
                busy=busy.get(c.id, ()),
            )
        )
    start, end = _midnight(day), _midnight(day) + timedelta(days=1)
    rows = (
        await tx.conn.execute(
            select(tasks, elders.c.care_level, elders.c.preferred_caregiver_id)
            .join(elders, elders.c.id == tasks.c.elder_id, isouter=True)
            .where(
                tasks.c.station_id == station_id,
                # Help calls are inserted by on_accepted; lunch is routed by the meal planner.
                tasks.c.kind.notin_(("emergency", "meal_delivery")),
                tasks.c.status.in_(("open", "planned", "en_route", "in_progress")),
                tasks.c.window_start >= start,
                tasks.c.window_start < end,
            )
        )
    ).all()
    work = [_task(r, day, now) for r in rows if r.lat is not None]
    return DaySnapshot(
        station=GeoPoint(st.lat, st.lng),
        caregivers=tuple(team),
        tasks=tuple(work),
        now_s=now_s,
        previous=await _previous(tx, station_id, day),
    )


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
        task_id=str(r.id),
        elder_id=r.elder_id or 0,
        location=GeoPoint(r.lat, r.lng),
        earliest_s=_secs(r.window_start, day, 8 * 3600),
        latest_s=_secs(r.window_end, day, 18 * 3600),
        duration_s=duration,
        required_skills=frozenset(r.required_skills),
        priority=prio,
        preferred_caregiver=r.preferred_caregiver_id,
        pinned_to=pinned,
        interruptible=bool(r.interruptible),
        label=r.title,
    )


async def _previous(tx: Tx, station_id: int, day: date) -> DayPlan | None:
    row = (
        await tx.conn.execute(
            select(day_plans)
            .where(day_plans.c.station_id == station_id, day_plans.c.day == day.isoformat())
            .order_by(day_plans.c.id.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    routes = tuple(
        Route(
            caregiver_id=r["caregiver_id"],
            start_s=r["start_s"],
            end_s=r["end_s"],
            travel_s=r["travel_s"],
            visits=tuple(PlannedVisit(**v) for v in r["visits"]),
        )
        for r in row.summary["routes"]
    )
    return DayPlan(routes=routes, unassigned=(), travel_s=row.travel_s, objective=0, seconds=0.0)


async def high_risk_elders(tx: Tx, station_id: int, now: datetime) -> list[HighRiskElder]:
    """Elders to keep within reach: flagged high-risk, living alone and dependent, or with a
    help call in the last 7 days."""
    recent = select(incidents.c.elder_id).where(
        incidents.c.station_id == station_id, incidents.c.opened_at >= now - timedelta(days=7)
    )
    rows = (
        await tx.conn.execute(
            select(
                elders.c.id,
                elders.c.lat,
                elders.c.lng,
                elders.c.high_risk,
                elders.c.living,
                elders.c.care_level,
            ).where(
                elders.c.station_id == station_id,
                elders.c.active.is_(True),
                or_(
                    elders.c.high_risk.is_(True),
                    (elders.c.living == "alone") & (elders.c.care_level != "自理"),
                    elders.c.id.in_(recent),
                ),
            )
        )
    ).all()
    out = []
    for r in rows:
        why = (
            "flagged"
            if r.high_risk
            else "alone_dependent"
            if r.living == "alone"
            else "recent_call"
        )
        out.append(HighRiskElder(r.id, GeoPoint(r.lat, r.lng), why))
    return out


def cover_json(rep: CoverReport | None, elders_n: int) -> dict[str, Any] | None:
    """Emergency cover of a plan, for the console: minutes in which some high-risk elder had
    nobody within 20 minutes."""
    if rep is None:
        return None
    return {
        "uncovered_minutes": rep.uncovered_minutes,
        "elder_minutes": rep.elder_minutes,
        "elders": elders_n,
        "by_elder": [{"elder_id": e, "minutes": m} for e, m in rep.by_elder if m],
        "day_start_s": rep.day_start_s,
        "day_end_s": rep.day_end_s,
    }


def summary(plan: DayPlan, cover: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "routes": [
            {
                "caregiver_id": r.caregiver_id,
                "start_s": r.start_s,
                "end_s": r.end_s,
                "travel_s": r.travel_s,
                "visits": [
                    {
                        "task_id": v.task_id,
                        "caregiver_id": v.caregiver_id,
                        "start_s": v.start_s,
                        "end_s": v.end_s,
                        "travel_s": v.travel_s,
                    }
                    for v in r.visits
                ],
            }
            for r in plan.routes
        ],
        "unassigned": [
            {
                "task_id": u.task_id,
                "why": u.why.value,
                "text": u.text,
                **({"distance_m": u.distance_m} if u.distance_m is not None else {}),
            }
            for u in plan.unassigned
        ],
        "diff": {
            "added": plan.diff.added,
            "removed": plan.diff.removed,
            "moved": plan.diff.moved,
            "retimed": plan.diff.retimed,
        },
        "seconds": round(plan.seconds, 3),
        "cover": cover,
    }


async def store_plan(
    platform: Platform,
    station_id: int,
    day: date,
    plan: DayPlan,
    trigger: str,
    cover: dict[str, Any] | None = None,
) -> int:
    """Write assignments back to the tasks, record the plan, push each changed route."""
    async with platform.tx() as tx:
        base = _midnight(day)
        for r in plan.routes:
            for v in r.visits:
                if not v.task_id.isdigit():
                    continue
                await tx.conn.execute(
                    update(tasks)
                    .where(tasks.c.id == int(v.task_id), tasks.c.status.in_(("open", "planned")))
                    .values(
                        caregiver_id=r.caregiver_id,
                        status="planned",
                        planned_start=base + timedelta(seconds=v.start_s),
                    )
                )
        for u in plan.unassigned:
            if u.task_id.isdigit():
                await tx.conn.execute(
                    update(tasks)
                    .where(tasks.c.id == int(u.task_id), tasks.c.status.in_(("open", "planned")))
                    .values(caregiver_id=None, status="open", planned_start=None)
                )
        await sync_booking_status(tx, station_id=station_id)  # bookings become planned
        body = summary(plan, cover)
        pid = int(
            (
                await tx.conn.execute(
                    insert(day_plans)
                    .values(
                        station_id=station_id,
                        day=day.isoformat(),
                        trigger=trigger,
                        created_at=tx.now,
                        travel_s=plan.travel_s,
                        summary=body,
                    )
                    .returning(day_plans.c.id)
                )
            ).scalar_one()
        )
        touched = plan.diff.touched_caregivers() if plan.diff is not None else frozenset()
        if not touched and trigger == "operator":
            touched = frozenset(r.caregiver_id for r in plan.routes)
        for cid in touched:
            await _push_route(tx, cid, body, day)
        await to_operators(
            tx,
            station_id,
            "plan.updated",
            {
                "plan_id": pid,
                "day": day.isoformat(),
                "trigger": trigger,
                "travel_s": plan.travel_s,
                "unassigned": body["unassigned"],
                "cover": cover,
            },
        )
    return pid


async def _push_route(tx: Tx, caregiver_id: int, body: dict[str, Any], day: date) -> None:
    uid = (
        await tx.conn.execute(select(caregivers.c.user_id).where(caregivers.c.id == caregiver_id))
    ).scalar()
    route = next((r for r in body["routes"] if r["caregiver_id"] == caregiver_id), None)
    if uid is not None:
        queue_push(
            tx,
            f"user:{uid}",
            "plan.changed",
            {"day": day.isoformat(), "visits": route["visits"] if route else []},
        )


async def replan(
    platform: Platform,
    station_id: int,
    *,
    day: date | None = None,
    time_limit_s: float = 5.0,
    trigger: str = "operator",
) -> tuple[int, DayPlan]:
    """Plan the station's day again from the plan in force (warm start), traded against
    emergency cover; the solver runs in a worker process under a watchdog."""
    async with station_lock(platform, station_id):
        now = platform.clock.now()
        day = day or now.astimezone(SHANGHAI).date()
        async with platform.store.read() as conn:
            t = Tx(conn=conn, now=now)
            snap = await build_snapshot(t, station_id, day, now)
            at_risk = await high_risk_elders(t, station_id, now)
        params = PlanParams(solver=SolverParams(time_limit_s=time_limit_s, portfolio_share=0.2))
        travel = await station_travel(
            platform, _snapshot_points(snap, at_risk), sorted({c.mode for c in snap.caregivers})
        )
        try:
            plan, rep = await run_guarded(
                DAY_JOB, (snap, at_risk, params, travel), deadline_for(time_limit_s)
            )
        except SolverStalled as exc:
            await _stalled(platform, station_id, "day plan", exc)
            plan = fallback_plan(snap, params, travel=travel)
            rep = emergency_cover(plan, snap, at_risk, params=params, travel=travel)
            trigger = f"{trigger}:fallback"
        pid = await store_plan(
            platform, station_id, day, plan, trigger, cover_json(rep, len(at_risk))
        )
        return pid, plan


async def on_accepted(platform: Platform, payload: dict[str, Any]) -> None:
    """Insert an accepted help call into the caregiver's day and repair the team's plan."""
    iid, cid = int(payload["incident_id"]), int(payload["caregiver_id"])
    async with platform.store.read() as conn:
        sid = (
            await conn.execute(select(incidents.c.station_id).where(incidents.c.id == iid))
        ).scalar_one()
    # Under the station's lock: a re-plan running meanwhile must not store over this one.
    async with station_lock(platform, sid):
        async with platform.store.read() as conn:
            inc = (await conn.execute(select(incidents).where(incidents.c.id == iid))).one()
            if (
                await conn.execute(
                    select(day_plans.c.id).where(
                        day_plans.c.trigger.in_((f"emergency:{iid}", f"emergency:{iid}:fallback"))
                    )
                )
            ).first():
                return  # already inserted (the outbox may deliver twice)
            now = platform.clock.now()
            day = now.astimezone(SHANGHAI).date()
            t = Tx(conn=conn, now=now)
            snap = await build_snapshot(t, inc.station_id, day, now)
            at_risk = await high_risk_elders(t, inc.station_id, now)
        if not any(c.caregiver_id == cid for c in snap.caregivers):
            return  # not on today's roster (e.g. called in off shift): nothing to repair
        emergency = Task(
            task_id=f"incident:{iid}",
            elder_id=inc.elder_id,
            location=GeoPoint(inc.lat, inc.lng),
            earliest_s=snap.now_s,
            latest_s=snap.now_s + platform.settings.sla_s,
            duration_s=1800,
            priority=Priority.EMERGENCY,
            label="紧急呼叫",
        )
        # Not on the help call's path (the offer is already accepted): take time to repair well.
        limit = 3.0
        params = PlanParams(solver=SolverParams(time_limit_s=limit, portfolio_share=0.2))
        points = [*_snapshot_points(snap, at_risk), emergency.location]
        travel = await station_travel(platform, points, sorted({c.mode for c in snap.caregivers}))
        trigger = f"emergency:{iid}"
        try:
            plan, rep = await run_guarded(
                EMERGENCY_JOB, (snap, emergency, cid, at_risk, params, travel), deadline_for(limit)
            )
        except SolverStalled as exc:
            await _stalled(platform, inc.station_id, "help call insertion", exc)
            with_call, _ = emergency_snapshot(snap, emergency, cid)
            plan = fallback_plan(with_call, params, travel=travel)
            rep = emergency_cover(plan, with_call, at_risk, params=params, travel=travel)
            trigger += ":fallback"
        await store_plan(
            platform, inc.station_id, day, plan, trigger, cover_json(rep, len(at_risk))
        )


# ----- lunch routes ----------------------------------------------------------------------


async def _meal_rounds(
    tx: Tx, station_id: int, day: date
) -> dict[int, tuple[tuple[int, int], ...]]:
    """Per caregiver, the time their lunch round takes (from the meal plan in force)."""
    row = (
        await tx.conn.execute(
            select(meal_plans.c.summary)
            .where(meal_plans.c.station_id == station_id, meal_plans.c.day == day.isoformat())
            .order_by(meal_plans.c.id.desc())
            .limit(1)
        )
    ).first()
    out: dict[int, tuple[tuple[int, int], ...]] = {}
    for r in row.summary["routes"] if row is not None else []:
        if r["stops"]:
            out[int(r["courier_id"])] = ((int(r["start_s"]), int(r["end_s"])),)
    return out


def _meal_params(st: Any, lunch: tuple[int, int]) -> MealParams:
    kitchen = st.kitchen or {}
    return MealParams(
        ready_s=max(0, lunch[0] - 15 * 60),
        window=lunch,
        max_kitchen_to_door_s=int(kitchen.get("max_minutes_to_door", 30)) * 60,
        circle_minutes=float(st.circle_minutes or 15),
        solver=SolverParams(time_limit_s=2.0, portfolio_share=0.2),
    )


async def route_meals(platform: Platform, station_id: int, day: date) -> int | None:
    """Lunch routes for the day's delivery tasks (made at the cut-off): pickups at the
    kitchen, box capacity per courier, the lunch window and the hot-food limit; the
    deliveries are assigned to their couriers, the routes stored and pushed."""
    async with station_lock(platform, station_id):
        now = platform.clock.now()
        async with platform.store.read() as conn:
            st = (await conn.execute(select(stations).where(stations.c.id == station_id))).one()
            start, end = _midnight(day), _midnight(day) + timedelta(days=1)
            rows = (
                await conn.execute(
                    select(tasks).where(
                        tasks.c.station_id == station_id,
                        tasks.c.kind == "meal_delivery",
                        tasks.c.status.in_(("open", "planned")),
                        tasks.c.window_start >= start,
                        tasks.c.window_start < end,
                    )
                )
            ).all()
            team = (
                await conn.execute(
                    select(caregivers).where(
                        caregivers.c.station_id == station_id, caregivers.c.active.is_(True)
                    )
                )
            ).all()
        if not rows:
            return None
        kitchen_row = st.kitchen or {}
        station = GeoPoint(st.lat, st.lng)
        kitchen = (
            GeoPoint(float(kitchen_row["lat"]), float(kitchen_row["lng"]))
            if "lat" in kitchen_row and "lng" in kitchen_row
            else station
        )
        lunch = (
            _secs(rows[0].window_start, day, 11 * 3600),
            _secs(rows[0].window_end, day, 12 * 3600 + 1800),
        )
        params = _meal_params(st, lunch)
        capacity = int(kitchen_row.get("box_capacity", 12))
        couriers = []
        for c in team:
            shifts = shifts_on(c, day)
            if not shifts:
                continue
            lo, hi = min(a for a, _ in shifts), max(b for _, b in shifts)
            if lo <= lunch[0] and hi >= lunch[0]:
                couriers.append(
                    Courier(
                        c.id,
                        c.name,
                        start_s=max(lo, params.ready_s - 15 * 60),
                        end_s=min(hi, lunch[1] + 3600),
                        capacity_boxes=capacity,
                        mode=travel_mode_of(c.travel_mode),
                    )
                )
        orders = [
            MealOrder(
                str(r.id),
                r.elder_id or 0,
                GeoPoint(r.lat, r.lng)
                if r.lat is not None
                else GeoPoint(float("nan"), float("nan")),
                1,
                Priority.HIGH,
            )
            for r in rows
        ]
        travel = await station_travel(
            platform,
            [kitchen, station, *(o.location for o in orders)],
            sorted({c.mode for c in couriers}) or [TravelMode.EBIKE],
        )
        try:
            mp = await run_guarded(
                meal_job,
                (kitchen, orders, couriers, params, station, travel),
                deadline_for(params.solver.time_limit_s),
            )
        except SolverStalled as exc:
            await _stalled(platform, station_id, "lunch routes", exc)
            return None
        return await _store_meals(platform, station_id, day, mp, params, now)


async def _store_meals(
    platform: Platform, station_id: int, day: date, mp: MealPlan, params: MealParams, now: datetime
) -> int:
    base = _midnight(day)
    routes = []
    for r in mp.routes:
        stops = [
            {
                "kind": st.kind.value,
                "task_id": st.order_id,
                "at_s": st.at_s,
                "load_after": st.load_after,
            }
            for st in r.stops
        ]
        first = r.stops[0].at_s if r.stops else 0
        last = r.stops[-1].at_s + params.handover_s if r.stops else 0
        routes.append(
            {
                "courier_id": r.courier_id,
                "stops": stops,
                "travel_s": r.travel_s,
                "start_s": first,
                "end_s": last,
            }
        )
    body = {
        "routes": routes,
        "unassigned": [
            {"task_id": u.task_id, "why": u.why.value, "text": u.text} for u in mp.unassigned
        ],
        "max_kitchen_to_door_s": mp.max_kitchen_to_door_s,
        "seconds": round(mp.seconds, 3),
    }
    async with platform.tx() as tx:
        for r in mp.routes:
            for st in r.stops:
                if st.kind.value == "deliver" and st.order_id.isdigit():
                    await tx.conn.execute(
                        update(tasks)
                        .where(
                            tasks.c.id == int(st.order_id), tasks.c.status.in_(("open", "planned"))
                        )
                        .values(
                            caregiver_id=r.courier_id,
                            status="planned",
                            planned_start=base + timedelta(seconds=st.at_s),
                        )
                    )
        for u in mp.unassigned:
            if u.task_id.isdigit():
                await tx.conn.execute(
                    update(tasks)
                    .where(tasks.c.id == int(u.task_id), tasks.c.status.in_(("open", "planned")))
                    .values(caregiver_id=None, status="open", planned_start=None)
                )
        mid = int(
            (
                await tx.conn.execute(
                    insert(meal_plans)
                    .values(
                        station_id=station_id, day=day.isoformat(), created_at=now, summary=body
                    )
                    .returning(meal_plans.c.id)
                )
            ).scalar_one()
        )
        for route in routes:
            uid = (
                await tx.conn.execute(
                    select(caregivers.c.user_id).where(caregivers.c.id == route["courier_id"])
                )
            ).scalar()
            if uid is not None and route["stops"]:
                queue_push(
                    tx, f"user:{uid}", "meal_route.changed", {"day": day.isoformat(), **route}
                )
        await to_operators(
            tx,
            station_id,
            "meals.routed",
            {
                "meal_plan_id": mid,
                "day": day.isoformat(),
                "unassigned": body["unassigned"],
                "max_kitchen_to_door_s": mp.max_kitchen_to_door_s,
            },
        )
    return mid


async def on_meals_closed(platform: Platform, payload: dict[str, Any]) -> None:
    """The cut-off closed the day's orders and made the delivery tasks: route them."""
    await route_meals(platform, int(payload["station_id"]), date.fromisoformat(payload["day"]))
