"""The region search for large instances: the split is exact, plans stay valid, answers repeat."""

from __future__ import annotations

import random
from dataclasses import replace

from hypothesis import HealthCheck, given, settings

from dispatch import regions
from dispatch.dayplan import plan_day
from dispatch.model import DaySnapshot, PlanParams
from dispatch.routing import (
    Break,
    RoutingProblem,
    SolverParams,
    VehicleSpec,
    _assignment,
    _Built,
    solve,
)
from tests.dispatch.helpers import STATION
from tests.dispatch.test_dayplan_properties import caregivers, check_plan, tasks


def grid_problem(n_visits: int, seed: int = 1, rich: bool = False) -> RoutingProblem:
    """A depot in the middle of a 100 x 100 square, `n_visits` customers at random points
    with two-hour-ish windows, 10 units of service and demand 1..3; 12 vehicles of capacity
    40. `rich` adds what day plans use: two travel profiles, a lunch break, per-vehicle
    serving costs, vehicles only some visits allow, soft caps on work, homes as depots."""
    rng = random.Random(seed)
    homes = 3 if rich else 0
    pts = [(50.0, 50.0)] + [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(homes)]
    pts += [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(n_visits)]
    n = len(pts)
    dist = [[int(((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5) for b in pts] for a in pts]
    slow = [[d * 2 for d in row] for row in dist]
    first = 1 + homes
    windows = [(0, 1000)] * first
    for _ in range(n_visits):
        a = rng.randint(0, 800)
        windows.append((a, a + rng.randint(60, 200)))
    nv = 12
    vehicles = []
    for v in range(nv):
        depot = 1 + v % homes if rich and v % 2 else 0
        vehicles.append(
            VehicleSpec(
                start=depot,
                end=0,
                capacity=40,
                profile=v % 2 if rich else 0,
                breaks=(Break(300, 500, 30),) if rich and v % 3 == 0 else (),
                unary_cost=(
                    tuple(rng.choice([0, 0, 15]) if i >= first else 0 for i in range(n))
                    if rich and v % 4 == 1
                    else None
                ),
                fair_work=500 if rich else None,
            )
        )
    allowed = None
    if rich:
        allowed = [None] * first + [
            frozenset(rng.sample(range(nv), 6)) if rng.random() < 0.2 else None
            for _ in range(n_visits)
        ]
    return RoutingProblem(
        travel=[dist, slow] if rich else [dist],
        service=[0] * first + [10] * n_visits,
        windows=windows,
        vehicles=vehicles,
        penalties=[None] * first + [5000] * n_visits,
        demands=[0] * first + [rng.randint(1, 3) for _ in range(n_visits)],
        allowed=allowed,
        work_cost=1 if rich else 0,
    )


def objective(p: RoutingProblem, routes: list[list[int]]) -> int:
    """OR-Tools' objective of given routes on the full model (reads them back)."""
    from dispatch.routing import _search_params

    b = _Built(p, 0)
    params = SolverParams()
    b.routing.CloseModelWithParameters(
        _search_params(params, "PARALLEL_CHEAPEST_INSERTION", 5.0, "polish")
    )
    a = _assignment(b, routes)
    assert a is not None, "routes do not fit the model"
    return int(a.ObjectiveValue())


def test_a_region_costs_exactly_its_share_of_the_plan() -> None:
    """Cost(plan) - cost(plan without the region's routes) = cost(region as its own problem)
    - penalties of its visits: every cost and constraint belongs to one vehicle or one visit,
    so improving a region improves the plan by as much. Checked on a model with two travel
    profiles, breaks, per-vehicle costs, restricted vehicles, soft caps on work and homes."""
    p = grid_problem(60, rich=True)
    sol = solve(p, SolverParams(time_limit_s=5, solution_limit=50, regions=False))
    assert sol.found
    routes = [[s.node for s in r] for r in sol.routes]
    arrays = regions.Matrices.of(p)
    near = regions.nearness(arrays)
    served = {x for r in routes for x in r}
    seed_visit = next(iter(served))
    region = regions.pick_region(p, routes, list(sol.dropped), seed_visit, near, 20, 2, 2)
    assert len(region.vehicles) >= 2 and len(region.visits) >= 20
    sub, nodes = regions.subproblem(p, region, 1000, arrays)
    pos = {node: k for k, node in enumerate(nodes)}
    sub_routes = [[pos[x] for x in routes[v]] for v in region.vehicles]
    without = [[] if v in region.vehicles else list(r) for v, r in enumerate(routes)]
    region_penalties = sum(p.penalties[i] or 0 for i in region.visits)
    assert objective(p, routes) - objective(p, without) == (
        objective(sub, sub_routes) - region_penalties
    )


def test_a_region_takes_the_nearest_routes_and_dropped_visits() -> None:
    """Three routes on a line; the region around a visit of the middle one holds it and its
    nearer neighbour's route, the dropped visit beside it, and the one unused vehicle."""
    pts = [0, 10, 11, 20, 21, 30, 31, 12]  # depot, 3 routes of 2, a dropped visit at 12
    m = [[abs(a - b) for b in pts] for a in pts]
    p = RoutingProblem(
        travel=[m],
        service=[0] * 8,
        windows=[(0, 100)] * 8,
        vehicles=[VehicleSpec(0, 0) for _ in range(4)],
        penalties=[None] + [100] * 7,
    )
    routes = [[1, 2], [3, 4], [5, 6], []]
    near = regions.nearness(regions.Matrices.of(p))
    region = regions.pick_region(p, routes, [7], 3, near, size=4, spare=1, min_routes=2)
    assert region.vehicles == (1, 0, 3)
    assert set(region.visits) == {1, 2, 3, 4, 7}


def test_a_dropped_visit_is_offered_a_far_route_with_room_for_it() -> None:
    """A visit at 12 that must be served at time 12 fits neither route near it (both are out
    at -30 or -20 then), but does fit the far route at 30 that idles until 60: the region
    around it gets that route too, and nothing else."""
    pts = [0, -30, 11, -20, 13, 30, 31, 12]  # depot, 3 routes of 2, a dropped visit at 12
    m = [[abs(a - b) for b in pts] for a in pts]
    windows = [(0, 200), (30, 30), (100, 110), (20, 20), (100, 110), (60, 70), (61, 71)]
    p = RoutingProblem(
        travel=[m],
        service=[0] * 8,
        windows=[*windows, (12, 12)],
        vehicles=[VehicleSpec(0, 0) for _ in range(3)],
        penalties=[None] + [100] * 7,
    )
    routes = [[1, 2], [3, 4], [5, 6]]
    arrays = regions.Matrices.of(p)
    assert regions.fits_route(p, arrays, 0, routes[0], 7) is None
    assert regions.fits_route(p, arrays, 1, routes[1], 7) is None
    assert regions.fits_route(p, arrays, 2, routes[2], 7) == 0  # on the way out to 30
    near = regions.nearness(arrays)
    region = regions.pick_region(p, routes, [7], 7, near, size=2, spare=0, min_routes=1)
    assert 2 not in region.vehicles
    wider = regions._with_room(p, arrays, routes, region, 7, 2)
    assert wider.vehicles == (*region.vehicles, 2)
    assert set(wider.visits) == set(region.visits) | {5, 6}


def test_large_problems_go_region_by_region_and_stay_valid() -> None:
    """200 visits: the region search runs (it says so in the phases) and the plan keeps
    every window and capacity, serving everyone it can."""
    p = grid_problem(200)
    sol = solve(p, SolverParams(time_limit_s=10, solution_limit=100))
    assert sol.found
    assert any(name.startswith("regions:") for name, _, _ in sol.phases)
    for v, r in enumerate(sol.routes):
        t, prev, load = 0, p.vehicles[v].start, 0
        for s in r:
            lo, hi = p.windows[s.node]
            assert lo <= s.arrival <= hi, "outside the window"
            assert s.arrival >= t + p.service[prev] + p.travel[0][prev][s.node], "no time to go"
            t, prev = s.arrival, s.node
            load += (p.demands or [])[s.node]
        assert load <= 40
    served = [s.node for r in sol.routes for s in r]
    assert len(served) == len(set(served))
    assert sorted(served + list(sol.dropped)) == list(range(1, 201))


def test_region_search_repeats_with_a_solution_limit() -> None:
    """Same inputs, seed and solution limit: the same plan, region search included."""
    p = grid_problem(160, seed=2)
    params = SolverParams(time_limit_s=10, solution_limit=60, seed=4)
    a, b = solve(p, params), solve(p, params)
    assert any(name.startswith("regions:") for name, _, _ in a.phases)
    assert a.routes == b.routes and a.objective == b.objective


def test_region_search_never_makes_the_start_worse() -> None:
    """The plan after the region search costs no more than the best start it began from."""
    p = grid_problem(180, seed=3)
    sol = solve(p, SolverParams(time_limit_s=10, solution_limit=40))
    starts = [obj for name, _, obj in sol.phases if name.startswith("start:")]
    assert sol.objective <= min(starts)


REGION_DAY = PlanParams(
    solver=SolverParams(
        first_solutions=("PARALLEL_CHEAPEST_INSERTION",),
        time_limit_s=2.0,
        solution_limit=30,
        region_min_visits=1,  # force the region search on small days
    )
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(caregivers(), tasks())
def test_day_plans_from_the_region_search_are_valid(team: tuple, todo: tuple) -> None:  # type: ignore[type-arg]
    """Random small stations planned through the region search: windows, skills, shifts and
    travel hold and no task is lost (the day planner's skills, lunch and costs ride along)."""
    snap = DaySnapshot(STATION, team, todo)
    check_plan(snap, plan_day(snap, REGION_DAY))


def test_warm_starts_do_not_use_regions() -> None:
    """A re-plan repairs the plan in force; the region search is for fresh solves only."""
    p = grid_problem(160, seed=5)
    first = solve(p, SolverParams(time_limit_s=10, solution_limit=30))
    again = solve(
        replace(p),
        SolverParams(time_limit_s=10, solution_limit=30),
        initial_routes=[[s.node for s in r] for r in first.routes],
    )
    assert not any(name.startswith("regions:") for name, _, _ in again.phases)
    assert again.objective <= first.objective
