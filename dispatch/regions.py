"""Large instances, region by region: a decomposition search around the OR-Tools core.

OR-Tools' local search evaluates its moves over the whole model, so each move costs more as
the model grows (about 50 ms per accepted move at 600 customers, measured; docs/dispatch.md).
Past a few hundred visits the core therefore improves the plan one *region* at a time: a few
neighbouring routes (the routes of the visits nearest to a seed visit), the dropped visits
near it and a spare vehicle or two become a small problem of their own, which OR-Tools
improves from the current routes in a fraction of a second; the region's routes are
replaced when that is cheaper.

The split is exact: every cost of a `RoutingProblem` belongs to one vehicle (its arcs, its
per-node costs, its soft caps on work and visits) or to one dropped visit (its penalty), and
every constraint is within one vehicle (windows, capacity, shift, breaks, skills, the two
halves of a pickup-delivery pair), so a region that gets cheaper makes the whole plan cheaper
by the same amount. Pure: this module never calls OR-Tools; `routing.py` passes in the
function that solves a region.

Seeds sweep the plan (each comes from the visits no region of the current sweep has covered).
Two stages: greedy descent on small regions for `greedy_sweeps` sweeps (cheap, drains the easy
improvements; cut short after `fails_to_switch` regions in a row without gain or
`greedy_share` of the time), then guided local search on larger ones. Half of the regions
are built around a dropped visit while there is one worth another try: larger, under guided
local search, with the moves that make room and insert (see `routing._INSERT_DROPPED`), and
with routes from anywhere in the plan that have room for it (`_with_room`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:  # routing.py imports this module; the types are only for annotations
    from dispatch.routing import RoutingProblem, VehicleSpec


@dataclass(frozen=True)
class RegionParams:
    """How big the regions are and when the search moves from the first stage to the second."""

    greedy_visits: int = 40  # visits per region while descending greedily
    visits: int = 80  # visits per region under guided local search
    min_routes: int = 3  # routes per region under guided local search, at least
    greedy_min_routes: int = 2
    spare_vehicles: int = 2  # unused vehicles offered to each region
    # Around a dropped visit: larger regions under guided local search (making room for a
    # visit that fits nowhere takes several routes giving way).
    drop_visits: int = 120
    drop_min_routes: int = 6
    greedy_sweeps: int = 2  # greedy passes over every visit before switching
    fails_to_switch: int = 15  # greedy regions in a row without gain before switching
    greedy_share: float = 0.4  # at most this share of the time in the greedy stage


DEFAULT_PARAMS = RegionParams()


@dataclass(frozen=True)
class Region:
    """Vehicles (problem indices) whose routes are re-planned, and the visits they may serve."""

    vehicles: tuple[int, ...]
    visits: tuple[int, ...]


class SolveRegion(Protocol):
    """Improves a region's routes: (cost before, cost after or None, new routes). None means
    no valid answer; the region then stays as it was."""

    def __call__(
        self, sub: RoutingProblem, routes: list[list[int]], greedy: bool, seed: int
    ) -> tuple[int, int | None, list[list[int]]]: ...


@dataclass
class RegionStats:
    """What the region search did (for `RoutingSolution.phases` and the benchmark)."""

    regions: int = 0
    improved: int = 0
    gain: int = 0
    switched_after: int | None = None  # regions tried before guided local search took over


@dataclass(frozen=True)
class Matrices:
    """The problem's matrices as arrays, converted once (a 1,000-node list of lists takes
    tens of milliseconds to convert, far too slow to redo for every region)."""

    travel: tuple[np.ndarray, ...]
    cost: tuple[np.ndarray, ...] | None

    @classmethod
    def of(cls, problem: RoutingProblem) -> Matrices:
        travel = tuple(np.asarray(m, dtype=np.int64) for m in problem.travel)
        cost = (
            tuple(np.asarray(m, dtype=np.int64) for m in problem.cost)
            if problem.cost is not None
            else None
        )
        return cls(travel, cost)


def nearness(m: Matrices) -> np.ndarray:
    """Symmetric closeness between nodes: the mean of the two travel times (profile 0)."""
    t = m.travel[0]
    out: np.ndarray = (t + t.T) // 2
    return out


def pick_region(
    problem: RoutingProblem,
    routes: Sequence[Sequence[int]],
    dropped: Sequence[int],
    seed_visit: int,
    near: np.ndarray,
    size: int,
    spare: int,
    min_routes: int = 1,
) -> Region:
    """The routes of the visits nearest to `seed_visit` until `size` visits and `min_routes`
    routes are covered (long routes: a region must still be able to move visits between
    routes), the dropped visits among them (at most a quarter of `size`, pickup-delivery partners
    together) and up to `spare` unused vehicles, those starting nearest first."""
    on: dict[int, int] = {x: v for v, r in enumerate(routes) for x in r}
    drop_set = set(dropped)
    partner: dict[int, int] = {}
    for a, b in problem.pairs:
        partner[a], partner[b] = b, a
    vehicles: list[int] = []
    visits: list[int] = []
    taken: set[int] = set()
    max_dropped = max(1, size // 4)
    n_dropped = 0
    for x in np.argsort(near[seed_visit], kind="stable"):
        node = int(x)
        if len(visits) >= size and len(vehicles) >= min_routes:
            break
        v = on.get(node)
        if v is not None:
            if v not in vehicles:
                vehicles.append(v)
                visits.extend(routes[v])
                taken.update(routes[v])
        elif node in drop_set and node not in taken and n_dropped < max_dropped:
            group = [node] + ([partner[node]] if node in partner else [])
            for g in group:
                if g in drop_set and g not in taken:
                    visits.append(g)
                    taken.add(g)
                    n_dropped += 1
    unused = [v for v in range(len(routes)) if not routes[v]]
    unused.sort(key=lambda v: int(near[problem.vehicles[v].start][seed_visit]))
    vehicles.extend(unused[:spare])
    return Region(tuple(vehicles), tuple(visits))


def fits_route(
    problem: RoutingProblem, m: Matrices, v: int, route: Sequence[int], visit: int
) -> int | None:
    """The cheapest detour (travel of the vehicle's profile) at which `visit` slips into
    vehicle `v`'s `route` as it stands, or None. A quick check of windows, the shift and
    capacity only (breaks, the longest span and pickup-delivery pairs are left to the
    solver): it picks routes for a region, it does not accept plans."""
    spec = problem.vehicles[v]
    if problem.allowed is not None:
        may = problem.allowed[visit]
        if may is not None and v not in may:
            return None
    dem = problem.demands
    if spec.capacity is not None and dem is not None:
        load = sum(dem[x] for x in route) + dem[visit]
        if load > spec.capacity:
            return None
    t = m.travel[spec.profile]
    svc, win = problem.service, problem.windows
    begin = max(spec.earliest, win[spec.start][0])
    finish = min(spec.latest, win[spec.end][1])
    best: int | None = None
    for k in range(len(route) + 1):
        seq = [*route[:k], visit, *route[k:]]
        time, prev, ok = begin, spec.start, True
        for x in seq:
            time = max(time + svc[prev] + int(t[prev, x]), win[x][0])
            if time > win[x][1]:
                ok = False
                break
            prev = x
        if not ok or time + svc[prev] + int(t[prev, spec.end]) > finish:
            continue
        a = route[k - 1] if k else spec.start
        b = route[k] if k < len(route) else spec.end
        detour = int(t[a, visit] + t[visit, b] - t[a, b])
        if best is None or detour < best:
            best = detour
    return best


def _with_room(
    problem: RoutingProblem,
    m: Matrices,
    routes: Sequence[Sequence[int]],
    region: Region,
    visit: int,
    most: int,
) -> Region:
    """The region around dropped `visit`, plus up to `most` routes from elsewhere that have
    room for it: routes it slips into as they stand (cheapest first), or else a route it
    slips into once one of its visits leaves, with a route that visit slips into.

    A full fleet's free capacity is often a route far away in space that idles at the start
    or the end of its shift; the nearest routes never include it (R1_10_1: 91 of its 1,000
    visits can only be a route's first stop, 89 of the 100 routes start with one, and the
    last two of them stayed dropped through the whole search while a route that waited all
    morning could take one)."""
    inside = set(region.vehicles)
    outside = [v for v in range(len(routes)) if v not in inside and routes[v]]
    fit = [
        (d, v) for v in outside if (d := fits_route(problem, m, v, routes[v], visit)) is not None
    ]
    extra = [v for _, v in sorted(fit)[:most]]
    if not extra and most >= 2:
        extra = _room_after_one_move(problem, m, routes, inside, outside, visit)
    return Region(
        region.vehicles + tuple(extra),
        region.visits + tuple(x for v in extra for x in routes[v]),
    )


def _room_after_one_move(
    problem: RoutingProblem,
    m: Matrices,
    routes: Sequence[Sequence[int]],
    inside: set[int],
    outside: Sequence[int],
    visit: int,
) -> list[int]:
    """One step of an ejection chain: a route v outside the region that `visit` fits into
    once one of v's visits moves to a route w with room for it; [v, w] (or [v] when w is in
    the region already), or [] if there is none. Checks are capped (each costs a pass per
    position), so a visit that fits nowhere costs a region a fraction of a second."""
    budget = 20 * len(routes)
    for v in outside:
        for f in routes[v]:
            budget -= 1
            if budget < 0:
                return []
            if fits_route(problem, m, v, [x for x in routes[v] if x != f], visit) is None:
                continue
            for w in range(len(routes)):
                budget -= 1
                if w != v and fits_route(problem, m, w, routes[w], f) is not None:
                    return [v] if w in inside else [v, w]
                if budget < 0:
                    return []
    return []


def subproblem(
    problem: RoutingProblem, region: Region, horizon: int, m: Matrices | None = None
) -> tuple[RoutingProblem, list[int]]:
    """The region as a problem of its own, and its node k's node in `problem`.

    Nodes: the region's depots first (in vehicle order), then its visits. Everything that
    belongs to a vehicle or a visit comes along; `allowed` is renumbered to the region's
    vehicles (a visit none of them may serve stays dropped)."""
    depots: list[int] = []
    for v in region.vehicles:
        for d in (problem.vehicles[v].start, problem.vehicles[v].end):
            if d not in depots:
                depots.append(d)
    nodes = depots + [i for i in region.visits if i not in depots]
    pos = {node: k for k, node in enumerate(nodes)}
    m = m if m is not None else Matrices.of(problem)
    ix = np.ix_(nodes, nodes)
    travel = [t[ix].tolist() for t in m.travel]
    cost = [c[ix].tolist() for c in m.cost] if m.cost is not None else None
    renumber = {v: k for k, v in enumerate(region.vehicles)}
    vehicles: list[VehicleSpec] = []
    for v in region.vehicles:
        spec = problem.vehicles[v]
        unary = spec.unary_cost
        vehicles.append(
            replace(
                spec,
                start=pos[spec.start],
                end=pos[spec.end],
                unary_cost=tuple(unary[i] for i in nodes) if unary is not None else None,
            )
        )
    allowed = None
    if problem.allowed is not None:
        allowed = []
        for i in nodes:
            a = problem.allowed[i]
            allowed.append(
                None if a is None else frozenset(renumber[x] for x in a if x in renumber)
            )
    sub = replace(
        problem,
        travel=travel,
        cost=cost,
        service=[problem.service[i] for i in nodes],
        windows=[problem.windows[i] for i in nodes],
        vehicles=vehicles,
        penalties=[problem.penalties[i] for i in nodes],
        demands=[problem.demands[i] for i in nodes] if problem.demands is not None else None,
        allowed=allowed,
        pairs=[(pos[a], pos[b]) for a, b in problem.pairs if a in pos and b in pos],
        horizon=horizon,
        skip=frozenset(),
    )
    return sub, nodes


def improve(
    problem: RoutingProblem,
    routes: list[list[int]],
    visits: Sequence[int],
    solve_region: SolveRegion,
    *,
    seed: int,
    horizon: int,
    time_left: Callable[[], float],
    max_regions: int | None = None,
    params: RegionParams = DEFAULT_PARAMS,
    total_s: float = 0.0,
) -> tuple[list[list[int]], RegionStats]:
    """Improve `routes` (problem nodes per vehicle, modified in place and returned) region
    by region until `time_left()` runs out or `max_regions` have been tried (the
    deterministic budget used with a solution limit). Seeds come from a `random.Random(seed)`;
    with `max_regions` (and the solver's solution limit) the same inputs and seed give the
    same regions in the same order; under a time limit the stage switch depends on time."""
    rng = random.Random(seed)
    arrays = Matrices.of(problem)
    near = nearness(arrays)
    stats = RegionStats()
    greedy = True
    fails = 0
    visit_list = list(visits)
    start_left = time_left()
    # Seeds sweep the plan: each comes from the visits no region of this sweep has covered.
    uncovered: list[int] = []
    sweeps = 0
    # Dropped visits a region around them could not fit in (a full day drops some for good);
    # tried again once a region around another dropped visit has fitted it in.
    given_up: set[int] = set()
    while time_left() > 0 and (max_regions is None or stats.regions < max_regions):
        served = {x for r in routes for x in r}
        dropped = [x for x in visit_list if x not in served]
        if not uncovered:
            if stats.regions:
                sweeps += 1
            uncovered = list(visit_list)
        if greedy and sweeps >= params.greedy_sweeps:
            greedy = False
            stats.switched_after = stats.regions
        # Dropped visits are the first thing worth fixing: seed from them half of the time.
        worth = [x for x in dropped if x not in given_up]
        at_drop = bool(worth) and rng.random() < 0.5
        pool = worth if at_drop else uncovered
        seed_visit = pool[rng.randrange(len(pool))]
        size = params.greedy_visits if greedy else params.visits
        min_routes = params.greedy_min_routes if greedy else params.min_routes
        if at_drop:
            size, min_routes = params.drop_visits, params.drop_min_routes
        region = pick_region(
            problem, routes, dropped, seed_visit, near, size, params.spare_vehicles, min_routes
        )
        if at_drop:
            region = _with_room(problem, arrays, routes, region, seed_visit, params.spare_vehicles)
        covered = set(region.visits) | {seed_visit}
        uncovered = [x for x in uncovered if x not in covered]
        if not region.visits:
            stats.regions += 1
            continue
        sub, nodes = subproblem(problem, region, horizon, arrays)
        pos = {node: k for k, node in enumerate(nodes)}
        sub_routes = [[pos[x] for x in routes[v]] for v in region.vehicles]
        before, after, new_routes = solve_region(
            sub, sub_routes, greedy and not at_drop, seed + stats.regions
        )
        stats.regions += 1
        if after is not None and after < before:
            stats.improved += 1
            stats.gain += before - after
            fails = 0
            for k, v in enumerate(region.vehicles):
                routes[v] = [nodes[x] for x in new_routes[k]]
            if at_drop:
                given_up.clear()
        else:
            fails += 1
            if at_drop:
                given_up.add(seed_visit)
        spent = start_left - time_left()
        greedy_over = fails >= params.fails_to_switch or (
            max_regions is None and total_s > 0 and spent > params.greedy_share * total_s
        )
        if greedy and greedy_over:
            greedy = False
            stats.switched_after = stats.regions
            uncovered = []
    return routes, stats
