"""Plans as stored and shown: a solved day plan and its cover → ``PlanSummary``, lunch routes →
``MealPlanSummary``, and the reads of the plans in force and of a caregiver's route."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dispatch.cover import CoverReport
from dispatch.meals import MealPlan
from dispatch.model import DayPlan
from schemas.planning import (
    CoverOut,
    ElderCoverOut,
    MealPlanSummary,
    MealRouteOut,
    MealStopOut,
    MealUnassignedOut,
    PlanDiffOut,
    PlanSummary,
    RouteOut,
    UnassignedOut,
    VisitOut,
)
from schemas.tasks import TaskStatus
from server.planning.model import midnight
from server.planning.tables import day_plans, meal_plans
from server.registry.tables import elders
from server.tasks.tables import tasks


def cover_out(rep: CoverReport | None, elders_n: int) -> CoverOut | None:
    """Emergency cover of a plan, for the console: minutes in which some high-risk elder had
    nobody within 20 minutes."""
    if rep is None:
        return None
    return CoverOut(
        uncovered_minutes=rep.uncovered_minutes,
        elder_minutes=rep.elder_minutes,
        elders=elders_n,
        by_elder=[ElderCoverOut(elder_id=e, minutes=m) for e, m in rep.by_elder if m],
        day_start_s=rep.day_start_s,
        day_end_s=rep.day_end_s,
    )


def cover_json(rep: CoverReport | None, elders_n: int) -> dict[str, Any] | None:
    """``cover_out`` as stored JSON."""
    cover = cover_out(rep, elders_n)
    return None if cover is None else cover.model_dump(mode="json")


def _unassigned(u: Any) -> UnassignedOut:
    # distance_m only where it is known: left unset, it is left out of the stored JSON
    known = {"distance_m": u.distance_m} if u.distance_m is not None else {}
    return UnassignedOut(task_id=u.task_id, why=u.why.value, text=u.text, **known)


def plan_summary(plan: DayPlan, cover: dict[str, Any] | None = None) -> PlanSummary:
    """A solved day plan as the summary stored with it."""
    diff = plan.diff
    return PlanSummary(
        routes=[
            RouteOut(
                caregiver_id=r.caregiver_id,
                start_s=r.start_s,
                end_s=r.end_s,
                travel_s=r.travel_s,
                visits=[
                    VisitOut(
                        task_id=v.task_id,
                        caregiver_id=v.caregiver_id,
                        start_s=v.start_s,
                        end_s=v.end_s,
                        travel_s=v.travel_s,
                    )
                    for v in r.visits
                ],
            )
            for r in plan.routes
        ],
        unassigned=[_unassigned(u) for u in plan.unassigned],
        diff=PlanDiffOut(
            added=list(diff.added),
            removed=list(diff.removed),
            moved=list(diff.moved),
            retimed=list(diff.retimed),
        ),
        seconds=round(plan.seconds, 3),
        cover=None if cover is None else CoverOut.model_validate(cover),
    )


def meal_summary(mp: MealPlan, handover_s: int) -> MealPlanSummary:
    """Lunch routes as the summary stored with them: each round from its first stop to the
    last handover."""
    routes = []
    for r in mp.routes:
        first = r.stops[0].at_s if r.stops else 0
        last = r.stops[-1].at_s + handover_s if r.stops else 0
        stops = [
            MealStopOut(
                kind=st.kind.value, task_id=st.order_id, at_s=st.at_s, load_after=st.load_after
            )
            for st in r.stops
        ]
        routes.append(
            MealRouteOut(
                courier_id=r.courier_id,
                stops=stops,
                travel_s=r.travel_s,
                start_s=first,
                end_s=last,
            )
        )
    return MealPlanSummary(
        routes=routes,
        unassigned=[
            MealUnassignedOut(task_id=u.task_id, why=u.why.value, text=u.text)
            for u in mp.unassigned
        ],
        max_kitchen_to_door_s=mp.max_kitchen_to_door_s,
        seconds=round(mp.seconds, 3),
    )


# ----- reads ----------------------------------------------------------------------------------


async def latest_plan_row(
    conn: AsyncConnection, *, station_id: int, day: str | None = None
) -> Row[Any] | None:
    """The station's plan in force (of ``day``, when given)."""
    stmt = select(day_plans).where(day_plans.c.station_id == station_id)
    if day is not None:
        stmt = stmt.where(day_plans.c.day == day)
    return (await conn.execute(stmt.order_by(day_plans.c.id.desc()).limit(1))).first()


async def latest_meal_row(
    conn: AsyncConnection, *, station_id: int, day: str | None = None
) -> Row[Any] | None:
    """The station's lunch routes in force (of ``day``, when given)."""
    stmt = select(meal_plans).where(meal_plans.c.station_id == station_id)
    if day is not None:
        stmt = stmt.where(meal_plans.c.day == day)
    return (await conn.execute(stmt.order_by(meal_plans.c.id.desc()).limit(1))).first()


def plan_out(row: Row[Any] | None) -> dict[str, Any]:
    """The plan in force as the console reads it (the stored summary, as stored)."""
    if row is None:
        return {"plan_id": None, "routes": [], "unassigned": []}
    return {"plan_id": row.id, "day": row.day, "trigger": row.trigger, **row.summary}


def meal_plan_out(row: Row[Any] | None) -> dict[str, Any]:
    """The lunch routes in force as the console reads them."""
    if row is None:
        return {"meal_plan_id": None, "routes": [], "unassigned": []}
    return {"meal_plan_id": row.id, "day": row.day, **row.summary}


async def route_of(conn: AsyncConnection, *, caregiver_id: int | None, day: date) -> list[Any]:
    """A caregiver's tasks on ``day``, in planned order, as the route page reads them."""
    start = midnight(day)
    rows = (
        await conn.execute(
            select(tasks, elders.c.name.label("elder_name"), elders.c.address)
            .join(elders, elders.c.id == tasks.c.elder_id, isouter=True)
            .where(
                tasks.c.caregiver_id == caregiver_id,
                tasks.c.status.notin_((TaskStatus.CANCELLED.value,)),
                tasks.c.planned_start >= start,
                tasks.c.planned_start < start + timedelta(days=1),
            )
            .order_by(tasks.c.planned_start)
        )
    ).all()
    return [
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
