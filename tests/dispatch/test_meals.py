"""Meal routes: pickup at the kitchen, delivery at the door, boxes, window, hot food."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.geo import GeoPoint
from dispatch.meals import Courier, MealOrder, MealParams, StopKind, plan_meals
from dispatch.model import UnassignedWhy
from dispatch.routing import SolverParams
from tests.dispatch.helpers import STATION, at

FAST = MealParams(
    solver=SolverParams(
        first_solutions=("PARALLEL_CHEAPEST_INSERTION",), time_limit_s=2, solution_limit=100
    )
)


def orders(n: int, boxes: int = 1) -> list[MealOrder]:
    """n orders spread within a kilometre of the kitchen."""
    return [
        MealOrder(f"o{i}", i, at(0.3 * (i % 4) - 0.5, 0.3 * (i // 4) - 0.5), boxes)
        for i in range(n)
    ]


def check(plan_orders: list[MealOrder], couriers: list[Courier], params: MealParams) -> None:
    """Run a plan and check capacity, pairing, window and the hot-food limit."""
    plan = plan_meals(STATION, plan_orders, couriers, params)
    boxes = {o.order_id: o.boxes for o in plan_orders}
    cap = {c.courier_id: c.capacity_boxes for c in couriers}
    delivered = set()
    for r in plan.routes:
        picked: dict[str, int] = {}
        for s in r.stops:
            assert 0 <= s.load_after <= cap[r.courier_id]
            if s.kind is StopKind.PICKUP:
                picked[s.order_id] = s.at_s
            else:
                assert s.order_id in picked, "delivered before picked up"
                assert s.at_s - picked[s.order_id] <= params.max_kitchen_to_door_s
                assert params.window[0] <= s.at_s <= params.window[1]
                delivered.add(s.order_id)
    left = {u.task_id for u in plan.unassigned}
    assert delivered | left == set(boxes) and not delivered & left


def test_one_courier_small_box_capacity_makes_two_rounds() -> None:
    """Six one-box orders, one courier carrying four: two rounds from the kitchen."""
    plan = plan_meals(STATION, orders(6), [Courier(1, "A", capacity_boxes=4)], FAST)
    stops = plan.routes[0].stops
    assert plan.unassigned == ()
    assert max(s.load_after for s in stops) <= 4
    kinds = "".join("p" if s.kind is StopKind.PICKUP else "d" for s in stops)
    assert "dp" in kinds  # went back to the kitchen between deliveries
    check(orders(6), [Courier(1, "A", capacity_boxes=4)], FAST)


def test_food_arrives_hot() -> None:
    """No order is on the road longer than the limit."""
    plan = plan_meals(STATION, orders(10), [Courier(1, "A"), Courier(2, "B")], FAST)
    assert plan.max_kitchen_to_door_s <= FAST.max_kitchen_to_door_s
    check(orders(10), [Courier(1, "A"), Courier(2, "B")], FAST)


def test_bad_orders_are_reported() -> None:
    """Sea, too many boxes, outside the circle, duplicate: each reported with its reason."""
    bad = [
        MealOrder("sea", 1, GeoPoint(0.0, 0.0)),
        MealOrder("big", 2, at(0.2, 0.2), boxes=50),
        MealOrder("far", 3, at(6, 0)),
        MealOrder("o0", 4, at(0.1, 0.1)),
    ]
    plan = plan_meals(STATION, orders(2) + bad, [Courier(1, "A")], FAST)
    why = {u.task_id: u.why for u in plan.unassigned}
    assert why == {
        "sea": UnassignedWhy.BAD_LOCATION,
        "big": UnassignedWhy.TOO_MANY_BOXES,
        "far": UnassignedWhy.OUTSIDE_CIRCLE,
        "o0": UnassignedWhy.DUPLICATE,
    }


def test_no_couriers() -> None:
    """Nobody to carry: every order reported, no exception."""
    plan = plan_meals(STATION, orders(3), [], FAST)
    assert {u.why for u in plan.unassigned} == {UnassignedWhy.NO_TEAM}


def test_too_many_orders_for_the_window() -> None:
    """Forty orders, one courier: some are left out and reported, the rest are valid."""
    check(orders(40), [Courier(1, "A", capacity_boxes=6)], FAST)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.floats(-2, 2), st.floats(-2, 2), st.integers(1, 5)), min_size=0, max_size=10
    ),
    st.lists(st.integers(1, 8), min_size=0, max_size=3),
)
def test_every_meal_plan_respects_capacity_and_time(
    spots: list[tuple[float, float, int]], caps: list[int]
) -> None:
    """Random orders and couriers: loads within capacity, pickups before deliveries, hot food,
    the lunch window, nothing lost."""
    todo = [MealOrder(f"o{i}", i, at(x, y), boxes) for i, (x, y, boxes) in enumerate(spots)]
    couriers = [Courier(k + 1, f"c{k}", capacity_boxes=c) for k, c in enumerate(caps)]
    check(todo, couriers, FAST)
