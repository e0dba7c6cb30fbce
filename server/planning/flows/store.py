"""Writing a solved plan back: its tasks go to their caregivers (and their bookings follow),
the plan is recorded, and each changed route is pushed; the same for lunch routes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from dispatch.meals import MealParams, MealPlan, StopKind
from dispatch.model import DayPlan
from schemas.planning import (
    MealRouteChanged,
    MealsRouted,
    PlanChanged,
    PlanUpdated,
    VisitOut,
)
from server.incidents.notify import to_operators
from server.planning import model
from server.planning.out import meal_summary, plan_summary
from server.planning.tables import day_plans, meal_plans
from server.platform import Platform, Tx, queue_push
from server.registry.tables import caregivers
from server.services.model import follow_tasks  # bookings follow their tasks
from server.tasks import model as task_model


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
        base = model.midnight(day)
        for r in plan.routes:
            for v in r.visits:
                if v.task_id.isdigit():
                    at = base + timedelta(seconds=v.start_s)
                    await task_model.plan(
                        tx, int(v.task_id), caregiver_id=r.caregiver_id, planned_start=at
                    )
        for u in plan.unassigned:
            if u.task_id.isdigit():
                await task_model.unplan(tx, int(u.task_id))
        await follow_tasks(tx, station_id=station_id)  # bookings become planned
        body = plan_summary(plan, cover)
        stored = body.model_dump(mode="json", exclude_unset=True)  # distance_m where known
        pid = await _record(tx, station_id, day, plan, trigger, stored)
        touched = plan.diff.touched_caregivers()
        if not touched and trigger == model.OPERATOR:
            touched = frozenset(r.caregiver_id for r in plan.routes)
        for cid in touched:
            visits = next((r.visits for r in body.routes if r.caregiver_id == cid), [])
            await _push_route(tx, cid, day, visits)
        updated = PlanUpdated(
            station_id=station_id,
            plan_id=pid,
            day=day.isoformat(),
            trigger=trigger,
            travel_s=plan.travel_s,
            unassigned=body.unassigned,
            cover=body.cover,
        )
        await to_operators(tx, updated)
    return pid


async def _record(
    tx: Tx, station_id: int, day: date, plan: DayPlan, trigger: str, body: dict[str, Any]
) -> int:
    """The plan's row: the latest of the day is in force."""
    row = await tx.conn.execute(
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
    return int(row.scalar_one())


async def _user_of(tx: Tx, caregiver_id: int) -> int | None:
    uid = (
        await tx.conn.execute(select(caregivers.c.user_id).where(caregivers.c.id == caregiver_id))
    ).scalar()
    return None if uid is None else int(uid)


async def _push_route(tx: Tx, caregiver_id: int, day: date, visits: list[VisitOut]) -> None:
    uid = await _user_of(tx, caregiver_id)
    if uid is not None:
        queue_push(tx, f"user:{uid}", PlanChanged(day=day.isoformat(), visits=visits))


async def store_meals(
    platform: Platform, station_id: int, day: date, mp: MealPlan, params: MealParams, now: datetime
) -> int:
    """Give each delivery to its courier, record the lunch routes, push each round."""
    base = model.midnight(day)
    body = meal_summary(mp, params.handover_s)
    async with platform.tx() as tx:
        for r in mp.routes:
            for st in r.stops:
                if st.kind is StopKind.DELIVER and st.order_id.isdigit():
                    at = base + timedelta(seconds=st.at_s)
                    await task_model.plan(
                        tx, int(st.order_id), caregiver_id=r.courier_id, planned_start=at
                    )
        for u in mp.unassigned:
            if u.task_id.isdigit():
                await task_model.unplan(tx, int(u.task_id))
        mid = int(
            (
                await tx.conn.execute(
                    insert(meal_plans)
                    .values(
                        station_id=station_id,
                        day=day.isoformat(),
                        created_at=now,
                        summary=body.model_dump(mode="json"),
                    )
                    .returning(meal_plans.c.id)
                )
            ).scalar_one()
        )
        for route in body.routes:
            uid = await _user_of(tx, route.courier_id)
            if uid is not None and route.stops:
                msg = MealRouteChanged(day=day.isoformat(), **dict(route))
                queue_push(tx, f"user:{uid}", msg)
        routed = MealsRouted(
            station_id=station_id,
            meal_plan_id=mid,
            day=day.isoformat(),
            unassigned=body.unassigned,
            max_kitchen_to_door_s=mp.max_kitchen_to_door_s,
        )
        await to_operators(tx, routed)
    return mid
