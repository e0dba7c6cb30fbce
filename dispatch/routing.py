"""The routing core: one OR-Tools VRPTW model shared by day plans, meal routes and benchmarks.

Everything is in integers (seconds, or tenths of a unit for the Solomon bench). Nodes are
numbered 0..n-1; vehicles start and end at nodes; every node that is not a start or end of
a vehicle is a *visit*. A visit with a penalty may be dropped at that cost; a visit without
one must be served (use that only for pinned work). The solver always returns what it
dropped, never loses it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.constraint_solver import (
    pywrapcp,
    routing_enums_pb2,
    routing_heuristic_parameters_pb2,
    routing_parameters_pb2,
)
from ortools.util.optional_boolean_pb2 import BOOL_FALSE, BOOL_TRUE

from dispatch import regions
from dispatch.regions import SolveRegion

FIRST_SOLUTION_STRATEGIES: frozenset[str] = frozenset(
    k
    for k in routing_enums_pb2.FirstSolutionStrategy.Value.keys()  # noqa: SIM118
    if k not in {"UNSET", "FIRST_UNBOUND_MIN_VALUE", "EVALUATOR_STRATEGY"}
)
METAHEURISTICS: frozenset[str] = frozenset(
    k
    for k in routing_enums_pb2.LocalSearchMetaheuristic.Value.keys()  # noqa: SIM118
    if k != "UNSET"
)

# What we measured on the 56 Solomon instances (docs/dispatch.md): trying a few insertion
# heuristics briefly and improving the best one with guided local search beats the usual
# PATH_CHEAPEST_ARC start by a wide margin.
DEFAULT_PORTFOLIO: tuple[str, ...] = (
    "PARALLEL_CHEAPEST_INSERTION",
    "LOCAL_CHEAPEST_INSERTION",
    "SAVINGS",
    "PATH_CHEAPEST_ARC",
)


# Fewer visits than this: no ruin and recreate (the polish alone solves them well).
ILS_MIN_VISITS = 8
# Time for a fresh model to be built and the final routes read back, per node (seconds), so
# the region search stops early enough for the whole to stay within the limit.
READ_BACK_S_PER_NODE = 2e-4
# A warm start (the plan in force, repaired) is repaired only when it serves at least this
# share of the visits; otherwise the full search runs.
WARM_MIN_SHARE = 0.5
# Under a solution limit no phase is timed: OR-Tools gets this limit, which only a hang can
# reach (the caller's watchdog is the guard then), so phases end by counting alone.
UNTIMED_S = 1e7
# A repair whose routes had to be cut stands when it costs at most this share of the
# search's first start; ruin and recreate took the day's fresh starts down by 23-63 % (the
# five-station day's captured plans), so a repair closer to the start than that is likely
# worse than the fresh search: the two repairs of that day the fresh search beat by most
# cost 0.88 and 0.97 of their start, the others 0.36-0.81.
REPAIR_MARGIN = 0.85


@dataclass(frozen=True)
class SolverParams:
    """How hard and how to search. Validates itself; deterministic for a seed (one worker).

    Three phases share the time limit: each of `first_solutions` is built once (together at
    most `portfolio_share` of the time) and the cheapest start is kept; then, when
    `ruin_and_recreate` is on, OR-Tools' iterated local search (SISR ruin, cheapest-insertion
    recreate, simulated-annealing acceptance with temperatures relative to the average leg
    of the start) runs for the rest but `polish_share`; finally `metaheuristic` (guided local
    search) polishes the best solution. Under a time limit the result depends on the
    machine's speed; with `solution_limit` set it depends only on inputs and seed: every
    phase then ends by counting (solutions, or greedy descent's local optimum) and
    `time_limit_s` is not consulted, except by a polish other than greedy descent (guided
    local search may never reach its count) and the region search's per-region slices: with
    greedy descent and `regions` off the answer never depends on the machine.

    From `region_min_visits` visits on (a fresh solve, not a repair), ruin and recreate and
    the polish give way to the region search of `dispatch.regions`: OR-Tools' moves get
    slower with the size of the model, so the best start is improved a few neighbouring
    routes at a time (`region_seconds` per region).
    """

    first_solutions: tuple[str, ...] = DEFAULT_PORTFOLIO
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    time_limit_s: float = 5.0
    seed: int = 0
    solution_limit: int | None = None
    portfolio_share: float = 0.1
    ruin_and_recreate: bool = True
    polish_share: float = 0.2
    ruin_visits: int = 15
    ruin_sequence: int = 15
    temperature: tuple[float, float] = (7.0, 0.07)
    lean_operators: bool = True
    ils_local_search: bool = False  # local search after each ruin and recreate
    gls_lambda: float = 0.1
    log_search: bool = False
    regions: bool = True
    region_min_visits: int = 150
    region_seconds: float | None = None  # per region; default 6% of the limit, 0.1-1 s

    def __post_init__(self) -> None:
        if not self.first_solutions:
            raise ValueError("first_solutions must name at least one strategy")
        for name in self.first_solutions:
            if name not in FIRST_SOLUTION_STRATEGIES:
                raise ValueError(f"unknown first-solution strategy {name!r}")
        if self.metaheuristic not in METAHEURISTICS:
            raise ValueError(f"unknown metaheuristic {self.metaheuristic!r}")
        if not (math.isfinite(self.time_limit_s) and self.time_limit_s > 0):
            raise ValueError(f"time_limit_s must be > 0, got {self.time_limit_s}")
        if self.solution_limit is not None and self.solution_limit < 1:
            raise ValueError(f"solution_limit must be >= 1, got {self.solution_limit}")
        for name in ("portfolio_share", "polish_share"):
            share = getattr(self, name)
            if not (0.0 <= share <= 1.0):
                raise ValueError(f"{name} must be in [0, 1], got {share}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if not self.gls_lambda > 0:
            raise ValueError(f"gls_lambda must be > 0, got {self.gls_lambda}")
        if self.ruin_visits < 1 or self.ruin_sequence < 1:
            raise ValueError("ruin_visits and ruin_sequence must be >= 1")
        if self.region_min_visits < 1:
            raise ValueError(f"region_min_visits must be >= 1, got {self.region_min_visits}")
        if self.region_seconds is not None and not (
            math.isfinite(self.region_seconds) and self.region_seconds > 0
        ):
            raise ValueError(f"region_seconds must be > 0, got {self.region_seconds}")
        t0, t1 = self.temperature
        if not (t0 >= t1 > 0):
            raise ValueError(f"temperature must be (start >= end > 0), got {self.temperature}")


@dataclass(frozen=True)
class Break:
    """A break of `duration` starting somewhere in [earliest, latest] (e.g. lunch)."""

    earliest: int
    latest: int
    duration: int


@dataclass(frozen=True)
class VehicleSpec:
    """A caregiver or courier: where they start and end, when, with what and how fast."""

    start: int
    end: int
    earliest: int = 0
    latest: int = 10**9
    profile: int = 0  # which travel matrix (walk / e-bike / car)
    capacity: int | None = None
    max_work: int | None = None  # longest allowed span from start to end
    breaks: tuple[Break, ...] = ()
    unary_cost: tuple[int, ...] | None = None  # extra cost per node served (continuity)
    # Soft cap on this vehicle's work (travel + service, waiting not counted); each unit
    # above costs the problem's `work_cost` (balances working minutes across a team).
    fair_work: int | None = None


@dataclass(frozen=True)
class RoutingProblem:
    """A VRPTW with optional pickup-delivery pairs; see the module docstring."""

    travel: Sequence[Sequence[Sequence[int]]]  # travel[profile][i][j]
    service: Sequence[int]
    windows: Sequence[tuple[int, int]]
    vehicles: Sequence[VehicleSpec]
    penalties: Sequence[int | None]  # per node; None = mandatory (ignored for depots)
    demands: Sequence[int] | None = None
    allowed: Sequence[frozenset[int] | None] | None = None  # vehicles allowed per node
    cost: Sequence[Sequence[Sequence[int]]] | None = None  # arc cost per profile; default travel
    pairs: Sequence[tuple[int, int]] = ()  # (pickup, delivery)
    max_pair_time: int | None = None  # most time from pickup to delivery
    max_visits: int | None = None  # soft cap on visits per vehicle (workload balance)
    balance_cost: int = 0  # cost per visit above max_visits
    work_cost: int = 0  # cost per unit of work above a vehicle's `fair_work`
    horizon: int | None = None
    skip: frozenset[int] = frozenset()  # nodes that are neither visits nor depots (done work)

    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.service)


@dataclass(frozen=True)
class Stop:
    """A visit on a route and the earliest time its service can start."""

    node: int
    arrival: int


@dataclass(frozen=True)
class RoutingSolution:
    """Routes (visits only, no start/end), dropped visits, costs and how the search went."""

    routes: tuple[tuple[Stop, ...], ...]
    dropped: tuple[int, ...]
    objective: int
    arc_cost: int
    found: bool
    seconds: float
    start_strategy: str
    route_end: tuple[int, ...] = field(default=())  # time each vehicle reaches its end
    break_starts: tuple[tuple[int, ...], ...] = field(default=())  # per vehicle
    # (phase, seconds since the solve began when it ended, best objective so far or -1)
    phases: tuple[tuple[str, float, int], ...] = field(default=())


def _fs(name: str) -> int:
    return int(routing_enums_pb2.FirstSolutionStrategy.Value.Value(name))


_LEAN_OFF = (
    # Insertion-based LNS operators: useful when many visits are optional, slow otherwise.
    "use_global_cheapest_insertion_path_lns",
    "use_local_cheapest_insertion_path_lns",
    "use_relocate_path_global_cheapest_insertion_insert_unperformed",
    "use_global_cheapest_insertion_visit_types_lns",
    "use_local_cheapest_insertion_visit_types_lns",
    "use_shortest_path_swap_active",
    "use_swap_active_chain",
    "use_shortest_path_two_opt",
    "use_make_chain_inactive",
)


_INSERT_DROPPED = (
    "use_relocate_and_make_active",
    "use_exchange_and_make_active",
    "use_relocate_path_global_cheapest_insertion_insert_unperformed",
    "use_global_cheapest_insertion_path_lns",
)


def _search_params(
    params: SolverParams,
    strategy: str,
    limit_s: float,
    phase: str,
    avg_leg: float = 100.0,
    visits: int | None = None,
) -> routing_parameters_pb2.RoutingSearchParameters:
    """Search parameters for a phase: "start", "ils" or "polish"."""
    sp = pywrapcp.DefaultRoutingSearchParameters()
    sp.first_solution_strategy = _fs(strategy)
    sp.time_limit.FromMilliseconds(max(1, int(limit_s * 1000)))
    sp.log_search = params.log_search
    if params.lean_operators:
        for name in _LEAN_OFF:
            setattr(sp.local_search_operators, name, BOOL_FALSE)
    if phase == "start":
        sp.solution_limit = 1  # the first solution, no local search
        return sp
    if params.solution_limit is not None:
        sp.solution_limit = params.solution_limit
    if phase == "ils":
        sp.use_iterated_local_search = True
        sp.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
        ils = sp.iterated_local_search_parameters
        ils.improve_perturbed_solution = params.ils_local_search
        rr = ils.ruin_recreate_parameters
        del rr.ruin_strategies[:]
        sisr = rr.ruin_strategies.add().sisr
        # A ruin never asks for more visits than there are.
        cap = max(1, visits) if visits is not None else params.ruin_visits
        sisr.max_removed_sequence_size = min(params.ruin_sequence, cap)
        sisr.avg_num_removed_visits = min(params.ruin_visits, cap)
        sisr.bypass_factor = 0.01
        # Recreate in random order, as SISR does (the default order never varies).
        recreate = rr.recreate_strategy
        recreate.heuristic = routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION
        recreate.parameters.local_cheapest_insertion.insertion_sorting_properties.append(
            routing_heuristic_parameters_pb2.LocalCheapestInsertionParameters.SORTING_PROPERTY_RANDOM
        )
        sa = ils.reference_solution_acceptance_strategy.simulated_annealing
        sa.initial_temperature = max(1e-3, params.temperature[0] * avg_leg)
        sa.final_temperature = max(1e-4, params.temperature[1] * avg_leg)
        return sp
    sp.local_search_metaheuristic = int(
        routing_enums_pb2.LocalSearchMetaheuristic.Value.Value(params.metaheuristic)
    )
    sp.guided_local_search_lambda_coefficient = params.gls_lambda
    return sp


_Matrices = dict[int, tuple[list[list[int]], list[list[int]]]]


def _visit_indices_safe(p: RoutingProblem) -> bool:
    """Whether OR-Tools' ruin-and-recreate can draw every visit in the file's node order.

    Its ruin procedures pick a random performed visit by drawing variable indices in
    [0, nodes - depots] until one is a performed visit (OR-Tools 9.15, routing/ils.cc). Start
    nodes get their indices in node order among the visits, so with several start nodes
    before the visits the last visits are never drawn, and when only those are performed
    the draw never ends (a hang past any time limit). Safe when no visit index exceeds the
    drawn range.
    """
    starts = {v.start for v in p.vehicles}
    ends = {v.end for v in p.vehicles}
    depots = starts | ends
    top = p.n - len(depots)
    index = 0
    for i in range(p.n):
        if i in starts or i not in ends:
            if i not in depots and index > top:
                return False
            index += 1
    return True


def _node_order(p: RoutingProblem) -> list[int]:
    """The order in which nodes are handed to OR-Tools: the file's order when that is safe,
    otherwise every visit first, then the depots (see `_visit_indices_safe`)."""
    if _visit_indices_safe(p):
        return list(range(p.n))
    depots = {v.start for v in p.vehicles} | {v.end for v in p.vehicles}
    return [i for i in range(p.n) if i not in depots] + [i for i in range(p.n) if i in depots]


def _matrices(p: RoutingProblem, order: Sequence[int]) -> _Matrices:
    """Per travel profile: the time matrix (travel + service at the origin) and the cost one,
    both in OR-Tools' node order."""
    out: _Matrices = {}
    ix = np.ix_(order, order)
    service = np.asarray(p.service, dtype=np.int64)[list(order)]
    for prof in sorted({v.profile for v in p.vehicles}):
        t = np.asarray(p.travel[prof], dtype=np.int64)[ix]
        tm = t + service[:, None]
        c = np.asarray(p.cost[prof], dtype=np.int64)[ix] if p.cost is not None else t
        out[prof] = (tm.tolist(), c.tolist())
    return out


class _Built:
    """An OR-Tools model built from a RoutingProblem (a fresh one per solve)."""

    def __init__(
        self,
        p: RoutingProblem,
        seed: int,
        mats: _Matrices | None = None,
        order: Sequence[int] | None = None,
    ) -> None:
        n, nv = p.n, len(p.vehicles)
        self.p = p
        # OR-Tools sees the nodes in `order` (manager node k is problem node order[k]).
        self.order = list(order) if order is not None else _node_order(p)
        self.pos = {node: k for k, node in enumerate(self.order)}
        starts = [v.start for v in p.vehicles]
        ends = [v.end for v in p.vehicles]
        self.manager = pywrapcp.RoutingIndexManager(
            n, nv, [self.pos[i] for i in starts], [self.pos[i] for i in ends]
        )
        self.routing = pywrapcp.RoutingModel(self.manager)
        routing = self.routing
        if seed:
            routing.solver().ReSeed(seed)
        depots = set(starts) | set(ends)
        self.visits = [i for i in range(n) if i not in depots and i not in p.skip]
        for i in p.skip:
            if i not in depots:
                routing.AddDisjunction([self.index(i)], 0)
                routing.ActiveVar(self.index(i)).SetValue(0)
        horizon = _horizon(p)

        # RegisterTransitMatrix and RegisterUnaryTransitVector are indexed by node.
        mats = mats if mats is not None else _matrices(p, self.order)
        time_cb: dict[int, int] = {}
        cost_cb: dict[int, int] = {}
        for prof, (tm, cm) in mats.items():
            time_cb[prof] = routing.RegisterTransitMatrix(tm)
            cost_cb[prof] = routing.RegisterTransitMatrix(cm)
        # Per-vehicle costs of serving a node (continuity, stability) go into that vehicle's
        # arc costs (added on arrival). A dimension with vehicle-dependent unary transits
        # would be lighter, but OR-Tools 9.15 then finds no solution at all on some models.
        by_unary: dict[tuple[int, tuple[int, ...]], int] = {}
        for v, spec in enumerate(p.vehicles):
            if spec.unary_cost is None or not any(spec.unary_cost):
                routing.SetArcCostEvaluatorOfVehicle(cost_cb[spec.profile], v)
                continue
            u = tuple(
                0 if i in depots or i in p.skip else int(spec.unary_cost[i]) for i in self.order
            )
            key = (spec.profile, u)
            if key not in by_unary:
                base = np.asarray(mats[spec.profile][1], dtype=np.int64)
                by_unary[key] = routing.RegisterTransitMatrix(
                    (base + np.asarray(u, dtype=np.int64)[None, :]).tolist()
                )
            routing.SetArcCostEvaluatorOfVehicle(by_unary[key], v)

        routing.AddDimensionWithVehicleTransits(
            [time_cb[spec.profile] for spec in p.vehicles], horizon, horizon, False, "time"
        )
        self.time = routing.GetDimensionOrDie("time")
        time_dim = self.time
        for i in self.visits:
            a, b = p.windows[i]
            time_dim.CumulVar(self.index(i)).SetRange(max(0, a), max(0, b))
        for v, spec in enumerate(p.vehicles):
            lo = max(spec.earliest, p.windows[spec.start][0])
            hi = min(spec.latest, p.windows[spec.end][1])
            time_dim.CumulVar(routing.Start(v)).SetRange(lo, max(lo, hi))
            time_dim.CumulVar(routing.End(v)).SetRange(lo, max(lo, hi))
            if spec.max_work is not None:
                time_dim.SetSpanUpperBoundForVehicle(spec.max_work, v)
            routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(v)))
            routing.AddVariableMaximizedByFinalizer(time_dim.CumulVar(routing.Start(v)))

        self.breaks: dict[int, list[pywrapcp.IntervalVar]] = {}
        if any(spec.breaks for spec in p.vehicles):
            solver = routing.solver()
            node_visit_transit = [0] * routing.Size()
            for k in range(routing.Size()):
                node_visit_transit[k] = p.service[self.node(k)]
            for v, spec in enumerate(p.vehicles):
                if not spec.breaks:
                    continue
                intervals = [
                    solver.FixedDurationIntervalVar(
                        b.earliest, max(b.earliest, b.latest), b.duration, False, f"break{v}_{k}"
                    )
                    for k, b in enumerate(spec.breaks)
                ]
                time_dim.SetBreakIntervalsOfVehicle(intervals, v, node_visit_transit)
                for iv in intervals:
                    routing.AddIntervalToAssignment(iv)
                self.breaks[v] = intervals

        if p.demands is not None and any(spec.capacity is not None for spec in p.vehicles):
            dem = p.demands
            demand_cb = routing.RegisterUnaryTransitVector(
                [0 if i in depots or i in p.skip else dem[i] for i in self.order]
            )
            caps = [spec.capacity if spec.capacity is not None else 10**9 for spec in p.vehicles]
            routing.AddDimensionWithVehicleCapacity(demand_cb, 0, caps, True, "load")

        if p.max_visits is not None and p.balance_cost > 0:
            one = routing.RegisterUnaryTransitVector(
                [0 if i in depots or i in p.skip else 1 for i in self.order]
            )
            routing.AddDimension(one, 0, n + 1, True, "visits")
            count = routing.GetDimensionOrDie("visits")
            for v in range(nv):
                count.SetCumulVarSoftUpperBound(routing.End(v), p.max_visits, p.balance_cost)

        if p.work_cost > 0 and any(spec.fair_work is not None for spec in p.vehicles):
            routing.AddDimensionWithVehicleTransits(
                [time_cb[spec.profile] for spec in p.vehicles], 0, horizon * 4, True, "work"
            )
            work = routing.GetDimensionOrDie("work")
            for v, spec in enumerate(p.vehicles):
                if spec.fair_work is not None:
                    work.SetCumulVarSoftUpperBound(
                        routing.End(v), max(0, spec.fair_work), p.work_cost
                    )

        for a, b in p.pairs:
            ia, ib = self.index(a), self.index(b)
            routing.AddPickupAndDelivery(ia, ib)
            solver = routing.solver()
            solver.Add(routing.VehicleVar(ia) == routing.VehicleVar(ib))
            solver.Add(time_dim.CumulVar(ia) <= time_dim.CumulVar(ib))
            if p.max_pair_time is not None:
                solver.Add(time_dim.CumulVar(ib) - time_dim.CumulVar(ia) <= p.max_pair_time)

        if p.allowed is not None:
            for i in self.visits:
                allowed = p.allowed[i]
                if allowed is not None:
                    # -1 keeps "not performed" possible; the disjunction decides its cost.
                    routing.VehicleVar(self.index(i)).SetValues([-1, *sorted(allowed)])

        for i in self.visits:
            pen = p.penalties[i]
            if pen is None:
                continue
            routing.AddDisjunction([self.index(i)], pen)

    def index(self, node: int) -> int:
        """OR-Tools' variable index of a problem node (not for a vehicle's start or end)."""
        return int(self.manager.NodeToIndex(self.pos[node]))

    def node(self, index: int) -> int:
        """The problem node of an OR-Tools variable index."""
        return self.order[int(self.manager.IndexToNode(index))]


def _extract(
    b: _Built, a: pywrapcp.Assignment | None
) -> tuple[tuple[tuple[Stop, ...], ...], tuple[int, ...], int, int, tuple[int, ...]]:
    routing, p = b.routing, b.p
    nv = len(p.vehicles)
    if a is None:
        return tuple(() for _ in range(nv)), tuple(b.visits), 0, 0, tuple(0 for _ in range(nv))
    routes: list[tuple[Stop, ...]] = []
    served: set[int] = set()
    arc = 0
    ends: list[int] = []
    for v in range(nv):
        idx = routing.Start(v)
        stops: list[Stop] = []
        prof = p.vehicles[v].profile
        cost = p.cost[prof] if p.cost is not None else p.travel[prof]
        while not routing.IsEnd(idx):
            nxt = a.Value(routing.NextVar(idx))
            arc += cost[b.node(idx)][b.node(nxt)]
            idx = nxt
            if not routing.IsEnd(idx):
                node = b.node(idx)
                served.add(node)
                stops.append(Stop(node, a.Min(b.time.CumulVar(idx))))
        if not stops:
            arc -= cost[p.vehicles[v].start][p.vehicles[v].end]
        ends.append(a.Min(b.time.CumulVar(idx)))
        routes.append(tuple(stops))
    dropped = tuple(i for i in b.visits if i not in served)
    return tuple(routes), dropped, int(a.ObjectiveValue()), arc, tuple(ends)


def _visits_of(b: _Built, routes: Sequence[Sequence[int]]) -> list[list[int]]:
    """Per vehicle, the visits of `routes` the model knows, each once (first route wins)."""
    valid = set(b.visits)
    seen: set[int] = set()
    out: list[list[int]] = []
    for v in range(len(b.p.vehicles)):
        keep = []
        for node in routes[v] if v < len(routes) else []:
            if node in valid and node not in seen:
                seen.add(node)
                keep.append(node)
        out.append(keep)
    return out


def _routes_to_indices(b: _Built, routes: Sequence[Sequence[int]]) -> list[list[int]]:
    return [[b.index(node) for node in r] for r in _visits_of(b, routes)]


def _assignment(b: _Built, routes: Sequence[Sequence[int]]) -> pywrapcp.Assignment | None:
    return b.routing.ReadAssignmentFromRoutes(_routes_to_indices(b, routes), True)


def _route_fits(b: _Built, v: int, route: Sequence[int]) -> bool:
    """Whether vehicle `v` can drive `route` (the others idle): windows, breaks, shift, span."""
    trial: list[Sequence[int]] = [[] for _ in b.p.vehicles]
    trial[v] = route
    return _assignment(b, trial) is not None


def _surviving(b: _Built, v: int, route: Sequence[int]) -> list[int]:
    """The part of vehicle `v`'s route that still fits, in its order, the most valuable visits
    first: visits are taken by drop penalty (those that must be served, then the highest),
    each kept when the kept ones, in the route's order, still fit with it; a class of equal
    value is tried whole first (it usually fits: one trial instead of one per visit)."""
    allowed = b.p.allowed
    if allowed is not None:  # no longer hers (pinned to another, skills): not worth a trial
        route = [node for node in route if v in (allowed[node] or (v,))]
    if _route_fits(b, v, route):
        return list(route)
    if not _route_fits(b, v, []):
        return []
    where = {node: k for k, node in enumerate(route)}
    worth = {node: b.p.penalties[node] for node in route}
    top = max([w for w in worth.values() if w is not None], default=0) + 1
    classes: dict[int, list[int]] = {}
    for node in route:
        w = worth[node]
        classes.setdefault(top if w is None else w, []).append(node)
    kept: set[int] = set()

    def fits_with(extra: Sequence[int]) -> bool:
        return _route_fits(b, v, sorted(kept.union(extra), key=where.__getitem__))

    for value in sorted(classes, reverse=True):
        group = classes[value]
        if fits_with(group):
            kept.update(group)
            continue
        for node in group:
            if fits_with([node]):
                kept.add(node)
    return sorted(kept, key=where.__getitem__)


def _warm_start(
    b: _Built, initial: Sequence[Sequence[int]]
) -> tuple[pywrapcp.Assignment | None, bool]:
    """The plan in force as a start (`b`'s model closed): as it is when it still fits;
    otherwise each route keeps the part that still fits, in order, and the visits that no
    longer fit are left for the search to insert. A change inside one route (a help call
    pinned first, a meal round in a courier's day, a visit done) thus costs only the visits
    it displaces, not the whole route. With pickup and delivery pairs (no subsequence of a
    route need fit when a longer one does) whole routes only. Also whether it fitted whole."""
    a = _assignment(b, initial)
    if a is not None:
        return a, True
    routes = _visits_of(b, initial)
    nv = len(b.p.vehicles)
    if not b.p.pairs:
        a = _assignment(b, [_surviving(b, v, routes[v]) for v in range(nv)])
        if a is not None:
            return a, False
    kept: list[list[int]] = [[] for _ in range(nv)]
    for v in range(nv):
        trial = [list(r) for r in kept]
        trial[v] = routes[v]
        if trial[v] and _assignment(b, trial) is not None:
            kept = trial
    return _assignment(b, kept), False


def _node_routes(routes: tuple[tuple[Stop, ...], ...]) -> list[list[int]]:
    return [[s.node for s in r] for r in routes]


_Extracted = tuple[tuple[tuple[Stop, ...], ...], tuple[int, ...], int, int, tuple[int, ...]]


def _break_starts(b: _Built, a: pywrapcp.Assignment | None) -> tuple[tuple[int, ...], ...]:
    """When each vehicle's breaks start in a solution (empty for vehicles without breaks)."""
    nv = len(b.p.vehicles)
    if a is None:
        return tuple(() for _ in range(nv))
    return tuple(tuple(int(a.StartMin(iv)) for iv in b.breaks.get(v, [])) for v in range(nv))


def _region_solver(params: SolverParams, limit_s: Callable[[], float]) -> SolveRegion:
    """Solves one region (see `dispatch.regions`) from its current routes: greedy descent or
    the metaheuristic for at most `limit_s()` seconds (or the solution limit)."""

    def solve_region(
        sub: RoutingProblem, routes: list[list[int]], greedy: bool, seed: int
    ) -> tuple[int, int | None, list[list[int]]]:
        order = _node_order(sub)
        b = _Built(sub, seed, _matrices(sub, order), order)
        limit = max(0.01, limit_s())
        sp = _search_params(params, params.first_solutions[0], limit, "polish")
        if greedy:
            sp.local_search_metaheuristic = (
                routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
            )
        depots = {v.start for v in sub.vehicles} | {v.end for v in sub.vehicles}
        has_dropped = sum(len(r) for r in routes) < sub.n - len(depots)
        if has_dropped:
            # Dropped visits in the region: the moves that make room for them and put them in.
            for name in _INSERT_DROPPED:
                setattr(sp.local_search_operators, name, BOOL_TRUE)
        init = _closed_with(b, sp, limit, routes)
        if init is None:
            return 0, None, routes
        before = int(init.ObjectiveValue())
        a = b.routing.SolveFromAssignmentWithParameters(init, sp)
        if a is None:
            return before, None, routes
        found = _extract(b, a)
        # An assignment without values (out of time) is not a solution (see `keep`).
        if found[2] < sum(sub.penalties[i] or 0 for i in found[1]):
            return before, None, routes
        return before, found[2], _node_routes(found[0])

    return solve_region


def _closed_with(
    b: _Built,
    sp: routing_parameters_pb2.RoutingSearchParameters,
    limit_s: float,
    routes: Sequence[Sequence[int]],
) -> pywrapcp.Assignment | None:
    """Close `b`'s model with `sp` and read `routes` in as the start (None: they do not fit).
    Reading routes back runs a small search; it gets room before the real limit."""
    close = routing_parameters_pb2.RoutingSearchParameters()
    close.CopyFrom(sp)
    close.time_limit.FromMilliseconds(max(1000, int(limit_s * 1000)))
    b.routing.CloseModelWithParameters(close)
    return _assignment(b, routes)


def _repair_stands(repair: _Extracted, start: _Extracted) -> bool:
    """Whether a repair whose routes were cut is kept rather than searched afresh: when it
    is clearly cheaper than the search's first start (`REPAIR_MARGIN`), or when it plans
    every visit and is no dearer (ruin and recreate gains most by fitting more visits in)."""
    return repair[2] <= REPAIR_MARGIN * start[2] or (not repair[1] and repair[2] <= start[2])


# Moves that take a visit out to put a more valuable one in: a repair leaves out the visits
# that no longer fit where they were, some worth more than what stays (cheap to search).
_MAKE_ROOM = ("use_swap_active_chain", "use_shortest_path_swap_active", "use_make_chain_inactive")


def _polish_repair(
    problem: RoutingProblem,
    params: SolverParams,
    mats: _Matrices,
    order: Sequence[int],
    routes: Sequence[Sequence[int]],
    limit_s: float,
) -> tuple[_Extracted, str | None, tuple[tuple[int, ...], ...]] | None:
    """The repaired plan in force after greedy descent (which ends at a local optimum, so no
    clock is read under a solution limit), with the moves that make room for what it left
    out; None when OR-Tools finds nothing."""
    b = _Built(problem, params.seed, mats, order)
    sp = _search_params(params, params.first_solutions[0], max(limit_s, 0.01), "polish")
    sp.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    for name in _MAKE_ROOM:
        setattr(sp.local_search_operators, name, BOOL_TRUE)
    init = _closed_with(b, sp, limit_s, routes)
    a = b.routing.SolveFromAssignmentWithParameters(init, sp) if init is not None else None
    if a is None:
        return None
    return _extract(b, a), None, _break_starts(b, a)


def _horizon(p: RoutingProblem) -> int:
    return p.horizon or max([w[1] for w in p.windows] + [v.latest for v in p.vehicles] + [1])


def solve(
    problem: RoutingProblem,
    params: SolverParams,
    *,
    initial_routes: Sequence[Sequence[int]] | None = None,
) -> RoutingSolution:
    """Solve a routing problem; returns the best plan found within the limits.

    With `initial_routes` (node lists per vehicle, e.g. the plan in force) the solve is a
    repair: each route keeps the part that still fits, in its order (`_warm_start`), the
    rest is left for the search to re-insert, and only the polish runs from there (no fresh
    starts, no ruin and recreate), so a re-plan changes as little as it can. The full search
    runs instead when the repair serves less than `WARM_MIN_SHARE` of the visits, or when
    routes had to be cut and the repair, polished by greedy descent, costs more than
    `REPAIR_MARGIN` of the search's first start.
    """
    t0 = time.perf_counter()
    nv = len(problem.vehicles)
    if nv == 0:
        return RoutingSolution((), tuple(range(problem.n)), 0, 0, True, 0.0, "none")

    # Counted (a solution limit): the clock is never read to decide anything, so the answer
    # is the same on a loaded machine; every OR-Tools phase gets UNTIMED_S.
    counted = params.solution_limit is not None

    def left() -> float:
        if counted:
            return UNTIMED_S
        return params.time_limit_s - (time.perf_counter() - t0)

    order = _node_order(problem)
    depots = {v.start for v in problem.vehicles} | {v.end for v in problem.vehicles}
    visit_nodes = {i for i in range(problem.n) if i not in depots and i not in problem.skip}
    mats = _matrices(problem, order)  # built once, shared by every phase's model

    best: _Extracted | None = None
    start_name = "none"

    best_breaks: tuple[tuple[int, ...], ...] = ()
    phases: list[tuple[str, float, int]] = []

    def mark(phase: str) -> None:
        phases.append((phase, round(time.perf_counter() - t0, 3), best[2] if best else -1))

    def keep(found: _Extracted, name: str | None, breaks: tuple[tuple[int, ...], ...]) -> None:
        nonlocal best, start_name, best_breaks
        # An objective below the penalties of what it drops is not a solution (OR-Tools can
        # hand back an assignment without values when a phase runs out of time).
        floor = sum(problem.penalties[i] or 0 for i in found[1])
        if found[2] < floor:
            return
        if best is None or found[2] < best[2]:
            best, best_breaks = found, breaks
            if name is not None:
                start_name = name

    # Phase 1: starts, each on a fresh model (a model is closed by its first solve).
    whole = True  # the plan in force fits as it is (or there is none)
    if initial_routes is not None:
        b = _Built(problem, params.seed, mats, order)
        b.routing.CloseModelWithParameters(
            _search_params(params, "PATH_CHEAPEST_ARC", max(1.0, left()), "start")
        )
        a, whole = _warm_start(b, initial_routes)
        if a is not None:
            keep(_extract(b, a), "warm", _break_starts(b, a))
        mark("warm")
    # A plan in force that serves few of today's visits (an empty one, or one from before
    # most bookings came in) is no start to repair from: run the full search, with it as
    # one more candidate.
    served = sum(len(r) for r in best[0]) if best is not None else 0
    warm = best is not None and served >= WARM_MIN_SHARE * len(visit_nodes)
    dropped_by_start: dict[str, int] = {}
    took: dict[str, float] = {}
    repaired = False
    if warm and not whole and best is not None:
        # Routes were cut: polish the repair by greedy descent and hold it against the
        # search's first start (one insertion, a tenth of a second on a hundred visits).
        # The repair stands when it is clearly better than that start (`REPAIR_MARGIN`);
        # otherwise the fresh search goes on from the start.
        fixed = _polish_repair(problem, params, mats, order, _node_routes(best[0]), left())
        if fixed is not None:
            keep(*fixed)
        mark("repair")
        name = params.first_solutions[0]
        began = time.perf_counter()
        b = _Built(problem, params.seed, mats, order)
        a = b.routing.SolveWithParameters(_search_params(params, name, max(left(), 0.01), "start"))
        took[name] = time.perf_counter() - began
        if a is not None:
            start = _extract(b, a)
            dropped_by_start[name] = len(start[1])
            repaired = fixed is not None and _repair_stands(fixed[0], start)
            keep(start, name, _break_starts(b, a))
        else:
            repaired = fixed is not None
        warm = repaired
        mark(f"start:{name}")
    share_total = params.time_limit_s * params.portfolio_share
    share = share_total / len(params.first_solutions)
    # A re-plan repairs the plan in force (stability): no fresh starts, no ruin and recreate.
    for name in () if warm else params.first_solutions:
        if name in took:
            continue  # built already, against the repair
        spent = time.perf_counter() - t0
        # Another start is worth it only if it fits the portfolio's share, judged by what
        # the last one took: on large instances (400+ visits) one start already takes a
        # tenth of the limit, and the time is better spent in ruin and recreate.
        last = max(took.values(), default=0.0)
        if (
            best is not None
            and not counted
            and (
                left() <= 0
                or spent > 2 * params.portfolio_share * params.time_limit_s
                or spent + last > share_total
            )
        ):
            break
        b = _Built(problem, params.seed, mats, order)
        # With a solution limit, phases end by counting solutions, not by the clock, so the
        # answer does not depend on the machine's load.
        # A start is cut by the clock only when it is really slow (a busy machine must not
        # lose the preferred start to a tight share).
        floor = min(0.1 * params.time_limit_s, max(left(), 0.01))
        limit = max(left(), 0.01) if params.solution_limit is not None else max(share, floor)
        if best is None and name == params.first_solutions[0]:
            limit = max(limit, left())  # the preferred start may use the whole limit
        began = time.perf_counter()
        a = b.routing.SolveWithParameters(_search_params(params, name, limit, "start"))
        took[name] = time.perf_counter() - began
        if a is not None and params.solution_limit is None and took[name] >= 0.95 * limit:
            a = None  # cut by the clock: OR-Tools returns it with the rest left unplanned
        if a is not None:
            start = _extract(b, a)
            dropped_by_start[name] = len(start[1])
            keep(start, name, _break_starts(b, a))
        mark(f"start:{name}")

    # Counted, an untimed start that found nothing is no slow start: the problem has no
    # solution an insertion can find, and path-cheapest-arc's depth-first search could run
    # for minutes before failing too (a help call's insertion on the five-station day did).
    if best is None and not counted:
        # No start within the limit (a large day on a busy machine). A plan matters more
        # than the limit: build the fastest start, allowing it up to 5x the limit.
        b = _Built(problem, params.seed, mats, order)
        overrun = max(5.0, 5 * params.time_limit_s)
        a = b.routing.SolveWithParameters(
            _search_params(params, "PATH_CHEAPEST_ARC", overrun, "start")
        )
        if a is not None:
            keep(_extract(b, a), "PATH_CHEAPEST_ARC (over time)", _break_starts(b, a))
        mark("start:over_time")

    # Large instances: region by region instead of ruin and recreate and polish (each move
    # of OR-Tools' local search costs more as the model grows; see dispatch/regions.py).
    if (
        params.regions
        and not warm
        and best is not None
        and len(visit_nodes) >= params.region_min_visits
    ):
        reserve = min(0.1 * params.time_limit_s, 0.02 + READ_BACK_S_PER_NODE * problem.n)
        per_region = params.region_seconds or min(1.0, max(0.1, 0.06 * params.time_limit_s))

        def region_left() -> float:
            return left() - reserve

        routes, stats = regions.improve(
            problem,
            _node_routes(best[0]),
            sorted(visit_nodes),
            _region_solver(params, lambda: min(per_region, region_left())),
            seed=params.seed,
            horizon=_horizon(problem),
            time_left=region_left,
            # With a solution limit the budget is counted, not timed (deterministic answers).
            max_regions=params.solution_limit // 10 if params.solution_limit is not None else None,
            total_s=max(0.0, region_left()),
            params=regions.DEFAULT_PARAMS,
        )
        b = _Built(problem, params.seed, mats, order)
        b.routing.CloseModelWithParameters(
            _search_params(params, params.first_solutions[0], max(1.0, left()), "polish")
        )
        a = _assignment(b, routes)
        if a is not None:
            keep(_extract(b, a), f"{start_name}+regions", _break_starts(b, a))
        phases.append(
            (
                f"regions:{stats.improved}/{stats.regions}"
                + (f" (guided after {stats.switched_after})" if stats.switched_after else ""),
                round(time.perf_counter() - t0, 3),
                best[2] if best else -1,
            )
        )
        return _solution(problem, b, best, best_breaks, start_name, phases, t0)

    # Phase 2: ruin and recreate. ILS builds its own start: the first strategy in the list
    # that serves as many visits as any (the cheapest start is often a poor one to perturb).
    if params.ruin_and_recreate and not warm and dropped_by_start and left() > 0:
        fewest = min(dropped_by_start.values())
        ils_start = next(n for n in params.first_solutions if dropped_by_start.get(n) == fewest)
    else:
        ils_start = None
    # ILS rebuilds its start; when that start is slow (a large day), polish instead.
    slow = took.get(ils_start or "", 0.0) > 0.25 * params.time_limit_s
    if slow and params.solution_limit is None:
        ils_start = None
    # Ruin and recreate has nothing to work with on a handful of visits; polish does it.
    active = len(visit_nodes)
    if active < ILS_MIN_VISITS:
        ils_start = None
    if ils_start is not None and best is not None:
        used = sum(1 for r in best[0] if r)
        served = sum(len(r) for r in best[0])
        avg_leg = max(1.0, best[3] / max(1, served + used))
        ils_s = max(0.01, left() * (1.0 - params.polish_share))
        if params.solution_limit is not None:
            ils_s = max(0.01, left())
        b = _Built(problem, params.seed, mats, order)
        a = b.routing.SolveWithIteratedLocalSearch(
            _search_params(params, ils_start, ils_s, "ils", avg_leg, active)
        )
        if a is not None:
            label = f"{ils_start}+ILS" if start_name != "warm" else None
            keep(_extract(b, a), label, _break_starts(b, a))
        mark("ils")

    # Phase 3: polish the best so far with the metaheuristic (or search from scratch).
    if repaired and params.metaheuristic == "GREEDY_DESCENT":
        return _solution(problem, b, best, best_breaks, start_name, phases, t0)  # polished
    polish_s = max(left(), 0.05 * params.time_limit_s, 0.01)
    if counted and params.metaheuristic != "GREEDY_DESCENT":
        # Guided local search may never find its count of improving solutions on a small
        # day (a test's one bath did not): it keeps the time limit as its end. Greedy
        # descent ends at a local optimum, so the simulator's solves never read the clock.
        polish_s = max(params.time_limit_s, 0.01)
    b = _Built(problem, params.seed, mats, order)
    sp = _search_params(params, params.first_solutions[0], polish_s, "polish")
    if best is None:
        # No start in time (a large day on a busy machine). When every visit is optional,
        # start from "nothing planned", which is always feasible, and let the search insert.
        optional = all(problem.penalties[i] is not None for i in b.visits)
        if optional:
            sp.first_solution_strategy = _fs("ALL_UNPERFORMED")
        # Counted, a depth-first search for a first solution has no count to stop it.
        a = b.routing.SolveWithParameters(sp) if optional or not counted else None
    else:
        # Reading routes back runs a small search; give it room before the real limit.
        b.routing.CloseModelWithParameters(
            _search_params(params, params.first_solutions[0], max(1.0, polish_s), "polish")
        )
        init = _assignment(b, _node_routes(best[0]))
        a = b.routing.SolveFromAssignmentWithParameters(init, sp) if init is not None else None
    if a is not None:
        keep(_extract(b, a), None, _break_starts(b, a))
    mark("polish")

    return _solution(problem, b, best, best_breaks, start_name, phases, t0)


def _solution(
    problem: RoutingProblem,
    b: _Built,
    best: _Extracted | None,
    best_breaks: tuple[tuple[int, ...], ...],
    start_name: str,
    phases: list[tuple[str, float, int]],
    t0: float,
) -> RoutingSolution:
    found = best is not None
    routes, dropped, obj, arc, ends = best if best is not None else _extract(b, None)
    return RoutingSolution(
        routes=routes,
        dropped=dropped,
        objective=obj,
        arc_cost=arc,
        found=found,
        seconds=time.perf_counter() - t0,
        start_strategy=start_name,
        phases=tuple(phases),
        route_end=ends,
        break_starts=best_breaks,
    )
