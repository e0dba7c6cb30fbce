"""Lunch routes, made when the meal cut-off has turned the day's delivery orders into tasks:
pickups at the kitchen, box capacity per courier, the lunch window and the hot-food limit."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Row, select

from dispatch.geo import GeoPoint
from dispatch.meals import Courier, MealOrder, MealParams
from dispatch.model import Priority
from dispatch.routing import SolverParams
from dispatch.travel import TravelMode
from server.incidents.flows.snapshot import travel_mode_of
from server.planning import model
from server.planning.flows import solve
from server.planning.flows.snapshot import shifts_on
from server.planning.flows.store import store_meals
from server.platform import Platform
from server.registry.tables import caregivers, stations
from server.tasks.model import PLANNABLE
from server.tasks.tables import tasks


def _meal_params(st: Any, lunch: tuple[int, int], solver: SolverParams) -> MealParams:
    kitchen = st.kitchen or {}
    return MealParams(
        ready_s=max(0, lunch[0] - 15 * 60),
        window=lunch,
        max_kitchen_to_door_s=int(kitchen.get("max_minutes_to_door", 30)) * 60,
        circle_minutes=float(st.circle_minutes or 15),
        solver=solver,
    )


def _couriers(
    team: list[Row[Any]], day: date, lunch: tuple[int, int], params: MealParams, capacity: int
) -> list[Courier]:
    """Caregivers on shift when lunch opens, each with the boxes one trip carries."""
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
    return couriers


def _order(r: Row[Any]) -> MealOrder:
    """A delivery task as one box to one door (a task without a place cannot be routed)."""
    at = GeoPoint(r.lat, r.lng) if r.lat is not None else GeoPoint(float("nan"), float("nan"))
    return MealOrder(str(r.id), r.elder_id or 0, at, 1, Priority.HIGH)


async def _load(
    platform: Platform, station_id: int, day: date
) -> tuple[Row[Any], list[Row[Any]], list[Row[Any]]]:
    """The station, the day's deliveries still to route, and the team."""
    start = model.midnight(day)
    async with platform.store.read() as conn:
        st = (await conn.execute(select(stations).where(stations.c.id == station_id))).one()
        rows = await conn.execute(
            select(tasks).where(
                tasks.c.station_id == station_id,
                tasks.c.kind == "meal_delivery",
                tasks.c.status.in_([s.value for s in PLANNABLE]),
                tasks.c.window_start >= start,
                tasks.c.window_start < start + timedelta(days=1),
            )
        )
        deliveries = list(rows.all())
        team = await conn.execute(
            select(caregivers).where(
                caregivers.c.station_id == station_id, caregivers.c.active.is_(True)
            )
        )
        return st, deliveries, list(team.all())


async def route_meals(platform: Platform, station_id: int, day: date) -> int | None:
    """Lunch routes for the day's delivery tasks (made at the cut-off): pickups at the
    kitchen, box capacity per courier, the lunch window and the hot-food limit; the
    deliveries are assigned to their couriers, the routes stored and pushed."""
    async with solve.station_lock(platform, station_id):
        now = platform.clock.now()
        st, rows, team = await _load(platform, station_id, day)
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
            model.secs(rows[0].window_start, day, 11 * 3600),
            model.secs(rows[0].window_end, day, 12 * 3600 + 1800),
        )
        params = _meal_params(st, lunch, solve.solver_params(platform, "meals", 2.0))
        couriers = _couriers(team, day, lunch, params, int(kitchen_row.get("box_capacity", 12)))
        orders = [_order(r) for r in rows]
        travel = await solve.station_travel(
            platform,
            [kitchen, station, *(o.location for o in orders)],
            sorted({c.mode for c in couriers}) or [TravelMode.EBIKE],
        )
        try:
            mp = await solve.run_guarded(
                solve.meal_job,
                (kitchen, orders, couriers, params, station, travel),
                solve.deadline_for(params.solver.time_limit_s),
            )
        except solve.SolverStalled as exc:
            await solve.stalled(platform, station_id, "lunch routes", exc)
            return None
        return await store_meals(platform, station_id, day, mp, params, now)


async def on_meals_closed(platform: Platform, payload: dict[str, Any]) -> None:
    """The cut-off closed the day's orders and made the delivery tasks: route them."""
    await route_meals(platform, int(payload["station_id"]), date.fromisoformat(payload["day"]))
