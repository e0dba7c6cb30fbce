"""The routing core's parameters and a tiny VRPTW a person can check."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dispatch.routing import RoutingProblem, SolverParams, VehicleSpec, solve


@pytest.mark.parametrize(
    "kwargs",
    [
        {"first_solutions": ()},
        {"first_solutions": ("NOT_A_STRATEGY",)},
        {"metaheuristic": "MAGIC"},
        {"time_limit_s": 0},
        {"time_limit_s": float("nan")},
        {"solution_limit": 0},
        {"seed": -1},
        {"portfolio_share": 1.5},
        {"temperature": (0.1, 1.0)},
    ],
)
def test_bad_solver_params_are_refused(kwargs: dict[str, object]) -> None:
    """Solver parameters validate themselves."""
    with pytest.raises(ValueError):
        SolverParams(**kwargs)  # type: ignore[arg-type]


def line_problem(penalty: int | None = 1000) -> RoutingProblem:
    """A depot at 0 and three customers on a line at 1, 2, 3; one vehicle, capacity 2."""
    pos = [0, 1, 2, 3]
    m = [[abs(a - b) * 10 for b in pos] for a in pos]
    return RoutingProblem(
        travel=[m],
        service=[0, 1, 1, 1],
        windows=[(0, 1000), (0, 1000), (0, 1000), (0, 1000)],
        vehicles=[VehicleSpec(0, 0, capacity=2)],
        penalties=[None, penalty, penalty, penalty],
        demands=[0, 1, 1, 1],
    )


def test_capacity_forces_a_drop() -> None:
    """Capacity 2, three customers of 1: one is dropped, and it is the farthest (3)."""
    sol = solve(line_problem(), SolverParams(time_limit_s=1, solution_limit=50))
    assert sol.found and sol.dropped == (3,)
    assert sorted(s.node for s in sol.routes[0]) == [1, 2]


def test_no_vehicles_drops_everything() -> None:
    """No vehicles: nothing planned, no exception."""
    p = line_problem()
    empty = RoutingProblem(p.travel, p.service, p.windows, [], p.penalties, p.demands)
    assert solve(empty, SolverParams(time_limit_s=1)).routes == ()


def test_same_seed_same_answer() -> None:
    """With a solution limit the answer is the same every time."""
    params = SolverParams(time_limit_s=1, solution_limit=30, seed=3)
    a, b = solve(line_problem(), params), solve(line_problem(), params)
    assert a.routes == b.routes and a.objective == b.objective


def test_per_vehicle_costs_with_restricted_vehicles_still_solve() -> None:
    """Per-vehicle serving costs on a visit only one vehicle may take (OR-Tools finds nothing
    when such costs sit in a vehicle-dependent dimension): the plan still comes back."""
    p = line_problem()
    vehicles = [
        VehicleSpec(0, 0, capacity=3, unary_cost=(0, 5, 5, 0)),
        VehicleSpec(0, 0, capacity=3, unary_cost=(0, 7, 0, 0)),
    ]
    allowed = [None, frozenset({1}), None, frozenset()]
    prob = RoutingProblem(p.travel, p.service, p.windows, vehicles, p.penalties, p.demands, allowed)
    sol = solve(prob, SolverParams(time_limit_s=1, solution_limit=30))
    assert sol.found and 3 in sol.dropped
    assert 1 in [s.node for s in sol.routes[1]]


def two_homes_one_visit() -> RoutingProblem:
    """Node 0 the station, node 1 a caregiver's home, node 2 the only visit; one vehicle
    lives at each depot (the shape of a day with one task and two caregivers)."""
    m = [[0, 10, 10], [10, 0, 10], [10, 10, 0]]
    return RoutingProblem(
        travel=[m],
        service=[0, 0, 5],
        windows=[(0, 1000)] * 3,
        vehicles=[VehicleSpec(1, 1), VehicleSpec(0, 0)],
        penalties=[None, None, 100],
    )


HANG_CHECK = """
import dispatch.routing as r
r.ILS_MIN_VISITS = {min_visits}
from tests.dispatch.test_routing import two_homes_one_visit
sol = r.solve(two_homes_one_visit(), r.SolverParams(time_limit_s=0.5))
print(sol.found, sol.dropped)
"""


@pytest.mark.parametrize("min_visits", [0, 8])
def test_one_visit_two_depots_returns_within_its_limit(min_visits: int) -> None:
    """Default search (ruin and recreate on, no solution limit) on one visit and two
    vehicles with different depots used to spin for ever inside OR-Tools' ruin step, which
    could only draw the start nodes. It must come back, with the visit served. Run in a
    child process: a hang inside OR-Tools holds the GIL, so no in-process timeout fires.
    `min_visits=0` forces ruin and recreate on (the node order is the fix); 8 is the default
    (tiny problems skip it)."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", HANG_CHECK.format(min_visits=min_visits)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.split() == ["True", "()"]


def test_visits_come_before_depots_when_the_file_order_is_unsafe() -> None:
    """With several start nodes ahead of the visits, OR-Tools gets the visits first."""
    from dispatch.routing import _node_order

    p = two_homes_one_visit()
    assert _node_order(p) == [2, 0, 1]
    single = line_problem()
    assert _node_order(single) == [0, 1, 2, 3]  # depot first is safe: order kept


def windowed_problem(n: int = 30, seed: int = 7) -> RoutingProblem:
    """A depot and `n` optional visits with time windows scattered on a grid, three vehicles:
    big enough that a millisecond's limit would cut every phase of a timed search."""
    import random

    rng = random.Random(seed)
    pos = [(0, 0)] + [(rng.randint(-50, 50), rng.randint(-50, 50)) for _ in range(n)]
    m = [[abs(ax - bx) + abs(ay - by) for bx, by in pos] for ax, ay in pos]
    windows = [(0, 2000)]
    for _ in range(n):
        lo = rng.randint(0, 1500)
        windows.append((lo, lo + rng.randint(100, 400)))
    return RoutingProblem(
        travel=[m],
        service=[0] + [20] * n,
        windows=windows,
        vehicles=[VehicleSpec(0, 0, latest=2000) for _ in range(3)],
        penalties=[None] + [500] * n,
    )


def test_a_counted_solve_never_reads_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a solution limit and greedy descent (the simulator's work limits) every phase
    ends by counting: a tiny safety cap and a clock that leaps an hour at every reading (a machine loaded
    beyond reason) give the same plan as a generous cap on a steady clock."""
    import time

    p = windowed_problem()
    params = SolverParams(
        time_limit_s=60, solution_limit=40, seed=2, metaheuristic="GREEDY_DESCENT"
    )
    steady = solve(p, params)

    ticks = iter(range(0, 10**9, 3600))
    monkeypatch.setattr(time, "perf_counter", lambda: float(next(ticks)))
    tiny = replace(params, time_limit_s=1e-3)
    loaded = solve(p, tiny)
    assert steady.found and loaded.found
    assert loaded.routes == steady.routes and loaded.dropped == steady.dropped
    assert loaded.objective == steady.objective
    assert [ph[0] for ph in loaded.phases] == [ph[0] for ph in steady.phases]
