"""Meal routes: orders closed at cut-off become pickup-at-kitchen and delivery pairs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from dispatch.geo import GeoPoint, plausible_location
from dispatch.model import (
    HOUR,
    MINUTE,
    UNASSIGNED_TEXT,
    Priority,
    Unassigned,
    UnassignedWhy,
    default_drop_penalties,
)
from dispatch.routing import RoutingProblem, SolverParams, VehicleSpec, solve
from dispatch.travel import GreatCircleTravel, TravelMode, TravelParams, TravelTimeModel


@dataclass(frozen=True)
class MealOrder:
    """A lunch order for an elder's home; `boxes` meal boxes."""

    order_id: str
    elder_id: int
    location: GeoPoint
    boxes: int = 1
    priority: Priority = Priority.HIGH


@dataclass(frozen=True)
class Courier:
    """Whoever carries the boxes (a caregiver or a volunteer), with a box capacity."""

    courier_id: int
    name: str
    start_s: int = 10 * HOUR + 30 * MINUTE
    end_s: int = 13 * HOUR + 30 * MINUTE
    capacity_boxes: int = 12
    mode: TravelMode = TravelMode.EBIKE


@dataclass(frozen=True)
class MealParams:
    """Lunch window, food readiness, the hot-food limit and the service circle."""

    ready_s: int = 10 * HOUR + 45 * MINUTE  # the kitchen has boxes from this time
    window: tuple[int, int] = (11 * HOUR, 12 * HOUR + 30 * MINUTE)  # delivery starts inside
    max_kitchen_to_door_s: int = 30 * MINUTE
    load_s: int = 30  # per order, at the kitchen
    handover_s: int = 2 * MINUTE  # at the door
    circle_minutes: float = 15.0
    solver: SolverParams = field(
        default_factory=lambda: SolverParams(time_limit_s=2.0, portfolio_share=0.2)
    )
    travel: TravelParams = field(default_factory=TravelParams)

    def __post_init__(self) -> None:
        if self.window[0] > self.window[1]:
            raise ValueError("window must start before it ends")
        if self.max_kitchen_to_door_s <= 0:
            raise ValueError("max_kitchen_to_door_s must be > 0")
        if self.load_s < 0 or self.handover_s < 0:
            raise ValueError("load_s and handover_s must be >= 0")
        if not self.circle_minutes > 0:
            raise ValueError("circle_minutes must be > 0")


class StopKind(StrEnum):
    """What happens at a stop."""

    PICKUP = "pickup"
    DELIVER = "deliver"


@dataclass(frozen=True)
class MealStop:
    """A stop on a meal route: load at the kitchen or hand over at the door."""

    kind: StopKind
    order_id: str
    at_s: int
    load_after: int


@dataclass(frozen=True)
class MealRoute:
    """One courier's round(s) from the kitchen."""

    courier_id: int
    stops: tuple[MealStop, ...]
    travel_s: int


@dataclass(frozen=True)
class MealPlan:
    """Routes, orders that could not be delivered and why, the longest kitchen-to-door time."""

    routes: tuple[MealRoute, ...]
    unassigned: tuple[Unassigned, ...]
    max_kitchen_to_door_s: int
    seconds: float


def _why(order_id: str, why: UnassignedWhy) -> Unassigned:
    return Unassigned(order_id, why, UNASSIGNED_TEXT[why])


def plan_meals(
    kitchen: GeoPoint,
    orders: Sequence[MealOrder],
    couriers: Sequence[Courier],
    params: MealParams | None = None,
    *,
    station: GeoPoint | None = None,
    travel: TravelTimeModel | None = None,
) -> MealPlan:
    """Plan lunch delivery: capacity, window, hot-food limit, the station's service circle."""
    t0 = time.perf_counter()
    params = params if params is not None else MealParams()
    model: TravelTimeModel = travel if travel is not None else GreatCircleTravel(params.travel)
    centre = station if station is not None else kitchen
    circle_s = int(params.circle_minutes * 60)
    rejected: list[Unassigned] = []
    ok: list[MealOrder] = []
    seen: set[str] = set()
    modes = sorted({c.mode for c in couriers}, key=lambda m: list(TravelMode).index(m))
    biggest = max((c.capacity_boxes for c in couriers), default=0)
    fastest = modes[-1] if modes else TravelMode.EBIKE  # CAR > EBIKE > WALK in enum order
    candidates = [o for o in orders if plausible_location(o.location, centre)]
    reach = model.matrix([kitchen, centre], [o.location for o in candidates], fastest)
    reach_of = {id(o): (reach[0][k], reach[1][k]) for k, o in enumerate(candidates)}
    for o in orders:
        if o.order_id in seen:
            rejected.append(_why(o.order_id, UnassignedWhy.DUPLICATE))
            continue
        seen.add(o.order_id)
        if id(o) not in reach_of:
            rejected.append(_why(o.order_id, UnassignedWhy.BAD_LOCATION))
        elif not couriers:
            rejected.append(_why(o.order_id, UnassignedWhy.NO_TEAM))
        elif o.boxes > biggest or o.boxes <= 0:
            rejected.append(_why(o.order_id, UnassignedWhy.TOO_MANY_BOXES))
        elif reach_of[id(o)][1] > circle_s:
            rejected.append(_why(o.order_id, UnassignedWhy.OUTSIDE_CIRCLE))
        elif params.load_s + reach_of[id(o)][0] > params.max_kitchen_to_door_s:
            rejected.append(_why(o.order_id, UnassignedWhy.TOO_FAR_FOR_HOT))
        else:
            ok.append(o)
    if not ok or not couriers:
        return MealPlan(
            tuple(MealRoute(c.courier_id, (), 0) for c in couriers),
            tuple(rejected),
            0,
            time.perf_counter() - t0,
        )

    # Node 0 the kitchen; then for order k: pickup 1 + 2k (at the kitchen), delivery 2 + 2k.
    points = [kitchen]
    for o in ok:
        points += [kitchen, o.location]
    len(points)
    travel_m = [model.matrix(points, points, m) for m in modes]
    profile_of = {m: k for k, m in enumerate(modes)}
    service = [0] + [x for _ in ok for x in (params.load_s, params.handover_s)]
    lo, hi = params.window
    windows = [(0, 24 * HOUR)] + [w for _ in ok for w in ((params.ready_s, hi), (lo, hi))]
    demands = [0] + [x for o in ok for x in (o.boxes, -o.boxes)]
    penalties = default_drop_penalties()
    pen: list[int | None] = [None] + [
        x for o in ok for x in (penalties[o.priority], penalties[o.priority])
    ]
    pairs = [(1 + 2 * k, 2 + 2 * k) for k in range(len(ok))]
    vehicles = [
        VehicleSpec(
            start=0,
            end=0,
            earliest=c.start_s,
            latest=c.end_s,
            profile=profile_of[c.mode],
            capacity=c.capacity_boxes,
        )
        for c in couriers
    ]
    sol = solve(
        RoutingProblem(
            travel=travel_m,
            service=service,
            windows=windows,
            vehicles=vehicles,
            penalties=pen,
            demands=demands,
            pairs=pairs,
            max_pair_time=params.max_kitchen_to_door_s,
            horizon=24 * HOUR,
        ),
        params.solver,
    )
    routes: list[MealRoute] = []
    picked: dict[int, int] = {}
    longest = 0
    for v, c in enumerate(couriers):
        stops: list[MealStop] = []
        load = 0
        prev = 0
        leg_sum = 0
        tm = travel_m[profile_of[c.mode]]
        for s in sol.routes[v] if sol.found else ():
            k = (s.node - 1) // 2
            load += demands[s.node]
            leg_sum += tm[prev][s.node]
            prev = s.node
            if s.node % 2 == 1:
                picked[k] = s.arrival
                stops.append(MealStop(StopKind.PICKUP, ok[k].order_id, s.arrival, load))
            else:
                longest = max(longest, s.arrival - picked.get(k, s.arrival))
                stops.append(MealStop(StopKind.DELIVER, ok[k].order_id, s.arrival, load))
        if stops:
            leg_sum += tm[prev][0]
        routes.append(MealRoute(c.courier_id, tuple(stops), leg_sum))
    dropped = {(i - 1) // 2 for i in sol.dropped} if sol.found else set(range(len(ok)))
    rejected += [_why(ok[k].order_id, UnassignedWhy.NO_ROOM) for k in sorted(dropped)]
    return MealPlan(tuple(routes), tuple(rejected), longest, time.perf_counter() - t0)
