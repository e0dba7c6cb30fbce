"""A re-plan repairs the plan in force: each route keeps the part that still fits, in its
order, and only what no longer fits goes back to the search."""

from __future__ import annotations

from dataclasses import replace

from dispatch.dayplan import plan_day
from dispatch.model import HOUR, MINUTE, DaySnapshot, PlanParams, Route
from dispatch.routing import Break, RoutingProblem, SolverParams, VehicleSpec, solve
from tests.dispatch.helpers import STATION, caregiver, task

# The simulator's limits: counted, first start only, greedy descent.
COUNTED = SolverParams(
    first_solutions=("PARALLEL_CHEAPEST_INSERTION",),
    metaheuristic="GREEDY_DESCENT",
    time_limit_s=60,
    solution_limit=50,
    regions=False,
)
START = 8 * HOUR
STEP = 20 * MINUTE  # visit k's window opens at START + k * STEP, for 10 minutes
N = 10


def a_street(breaks: tuple[Break, ...] = ()) -> RoutingProblem:
    """Ten doors along a street, five minutes apart, each to be called at within ten minutes
    of its turn (so the order is forced), ten minutes each; two caregivers at the station
    (node 0), 25 minutes from the first door. The first has `breaks`; the second is idle, and
    each door she takes costs ten minutes more (they are the first one's elders)."""
    pos = [0] + [25 + 5 * k for k in range(N)]  # minutes from the station
    travel = [[abs(a - b) * 60 for b in pos] for a in pos]
    windows = [(0, 20 * HOUR)] + [
        (START + k * STEP, START + k * STEP + 10 * MINUTE) for k in range(N)
    ]
    return RoutingProblem(
        travel=[travel],
        service=[0] + [10 * MINUTE] * N,
        windows=windows,
        vehicles=[
            VehicleSpec(0, 0, earliest=7 * HOUR, latest=18 * HOUR, breaks=breaks),
            VehicleSpec(0, 0, earliest=7 * HOUR, latest=18 * HOUR, unary_cost=(0,) + (600,) * N),
        ],
        penalties=[None] + [2 * HOUR] * N,
    )


PLAN_IN_FORCE = [list(range(1, N + 1)), []]
# A meal round put into the first caregiver's day at the fifth door's turn: she can no
# longer call there in time, so her route as it stands does not fit.
ROUND = Break(START + 4 * STEP - 4 * MINUTE, START + 4 * STEP - 4 * MINUTE, 18 * MINUTE)


def test_without_the_round_the_plan_in_force_stands_and_with_it_door_five_cannot() -> None:
    """The premise: the plan in force is kept as it is while it fits; the round leaves the
    first caregiver no way to call at the fifth door in its turn."""
    kept = solve(a_street(), COUNTED, initial_routes=PLAN_IN_FORCE)
    assert [s.node for s in kept.routes[0]] == PLAN_IN_FORCE[0]
    cut = solve(a_street((ROUND,)), COUNTED, initial_routes=PLAN_IN_FORCE)
    assert 5 not in [s.node for s in cut.routes[0]]


def test_a_route_cut_by_a_round_keeps_the_rest_in_order() -> None:
    """The first caregiver keeps her nine other doors in their order; the fifth goes to her
    idle colleague; it is a repair (no ruin and recreate), as good as a fresh search."""
    p = a_street((ROUND,))
    repaired = solve(p, COUNTED, initial_routes=PLAN_IN_FORCE)
    fresh = solve(p, COUNTED)
    assert [s.node for s in repaired.routes[0]] == [1, 2, 3, 4, 6, 7, 8, 9, 10]
    assert [s.node for s in repaired.routes[1]] == [5]
    assert repaired.start_strategy == "warm"
    assert "ils" not in [ph[0] for ph in repaired.phases]
    assert repaired.objective <= fresh.objective * 1.02


def test_the_more_valuable_visit_survives_a_cut() -> None:
    """When the round leaves room for only one of two doors, the one worth more stays in the
    route (the other goes back to the search) even though it comes later."""
    p = a_street((ROUND,))
    # Door 4 and door 5 both before the round, only one fits: door 5's window moved earlier.
    windows = list(p.windows)
    windows[5] = windows[4]
    penalties = list(p.penalties)
    penalties[5] = 24 * HOUR
    one_car = replace(
        p,
        windows=windows,
        penalties=penalties,
        vehicles=[p.vehicles[0]],
    )
    sol = solve(one_car, COUNTED, initial_routes=[PLAN_IN_FORCE[0]])
    assert 5 in [s.node for s in sol.routes[0]]
    assert sol.dropped == (4,)
    assert sol.start_strategy == "warm"


def a_morning() -> DaySnapshot:
    """Two caregivers and twelve visits around the station, half an hour apart, at 07:00."""
    tasks = tuple(
        task(
            f"v{k}",
            (k % 4) - 1.5,
            (k // 4) - 1.0,
            from_h=8 + k * 0.5,
            to_h=8.5 + k * 0.5,
            minutes=20,
        )
        for k in range(12)
    )
    team = (caregiver(1, 7.5, 16.5), caregiver(2, 7.5, 16.5))
    return DaySnapshot(station=STATION, caregivers=team, tasks=tasks, now_s=7 * HOUR)


def a_round_in_her_morning(params: PlanParams) -> tuple[DaySnapshot, Route]:
    """The morning planned, then at 07:30 a lunch round lands in the middle of the busier
    caregiver's route: the snapshot then (with the plan in force) and her route before."""
    snap = a_morning()
    before = plan_day(snap, params)
    busiest = max(before.routes, key=lambda r: len(r.visits))
    middle = busiest.visits[len(busiest.visits) // 2]
    rnd = (middle.start_s - 5 * MINUTE, middle.start_s + 40 * MINUTE)
    team = tuple(
        replace(c, busy=(rnd,)) if c.caregiver_id == busiest.caregiver_id else c
        for c in snap.caregivers
    )
    later = replace(snap, caregivers=team, now_s=7 * HOUR + 30 * MINUTE, previous=before)
    return later, busiest


def test_a_day_plan_cut_by_a_meal_round_is_repaired_in_order() -> None:
    """The visits of her route that still fit keep their order and her."""
    later, busiest = a_round_in_her_morning(PlanParams(solver=COUNTED))
    repaired = plan_day(later, PlanParams(solver=COUNTED))
    was = [pv.task_id for pv in busiest.visits]
    now = [
        pv.task_id
        for r in repaired.routes
        if r.caregiver_id == busiest.caregiver_id
        for pv in r.visits
    ]
    kept = [t for t in now if t in was]
    assert kept == [t for t in was if t in kept]
    assert len(kept) >= len(was) - 2
