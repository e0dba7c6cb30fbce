"""Day plans: a VRPTW per station with caregivers as vehicles, and re-plans after emergencies."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from dispatch.cover import CoverReport, HighRiskElder, emergency_cover
from dispatch.geo import GeoPoint, haversine_m, plausible_location
from dispatch.model import (
    UNASSIGNED_TEXT,
    Caregiver,
    DayPlan,
    DaySnapshot,
    PlanDiff,
    PlannedVisit,
    PlanParams,
    Priority,
    Route,
    Task,
    Unassigned,
    UnassignedWhy,
)
from dispatch.routing import Break, RoutingProblem, VehicleSpec, solve
from dispatch.travel import (
    GreatCircleTravel,
    TravelMode,
    TravelTimeModel,
    service_circle_radius_m,
)

DAY_END_S = 30 * 3600  # plans may run past midnight a little; nothing later


def _unassigned(task_id: str, why: UnassignedWhy) -> Unassigned:
    return Unassigned(task_id, why, UNASSIGNED_TEXT[why])


def _unreachable(task_id: str, metres: float) -> Unassigned:
    km = metres / 1000
    text = f"距服务站约{km:.1f}公里，{UNASSIGNED_TEXT[UnassignedWhy.UNREACHABLE]}"
    return Unassigned(task_id, UnassignedWhy.UNREACHABLE, text, round(metres))


def _reach_m(team: Sequence[Caregiver], params: PlanParams) -> float:
    """How far from the station a task may be: `reach_circles` service-circle radii of the
    team's fastest mode (car, e-bike, walk)."""
    modes = {c.mode for c in team} or {TravelMode.EBIKE}
    fastest = max(service_circle_radius_m(params.travel, m, params.circle_minutes) for m in modes)
    return params.reach_circles * fastest


def _vehicle_window(c: Caregiver, now_s: int) -> tuple[int, int]:
    start = max(c.shift_start_s, now_s, c.available_from_s or 0)
    return start, c.shift_end_s


@dataclass(frozen=True)
class _Screened:
    tasks: list[Task]
    allowed: dict[str, frozenset[int]]  # task_id -> vehicle indices
    rejected: list[Unassigned]


def _screen(snap: DaySnapshot, params: PlanParams) -> _Screened:
    """Report what cannot be planned at all (and why) before the solver sees it."""
    seen: set[str] = set()
    ok: list[Task] = []
    allowed: dict[str, frozenset[int]] = {}
    rejected: list[Unassigned] = []
    team = snap.caregivers
    index = {c.caregiver_id: v for v, c in enumerate(team)}
    reach_m = _reach_m(team, params)
    for t in snap.tasks:
        if t.task_id in seen:
            rejected.append(_unassigned(t.task_id, UnassignedWhy.DUPLICATE))
            continue
        seen.add(t.task_id)
        if not plausible_location(t.location, snap.station, params.max_distance_m):
            rejected.append(_unassigned(t.task_id, UnassignedWhy.BAD_LOCATION))
            continue
        away = haversine_m(t.location, snap.station)
        if away > reach_m:
            rejected.append(_unreachable(t.task_id, away))
            continue
        if t.earliest_s > t.latest_s or t.duration_s < 0:
            rejected.append(_unassigned(t.task_id, UnassignedWhy.BAD_WINDOW))
            continue
        pinned = t.pinned_to is not None
        if not pinned and t.latest_s < snap.now_s:
            rejected.append(_unassigned(t.task_id, UnassignedWhy.WINDOW_CLOSED))
            continue
        if not team:
            rejected.append(_unassigned(t.task_id, UnassignedWhy.NO_TEAM))
            continue
        if pinned:
            if t.pinned_to not in index:
                rejected.append(_unassigned(t.task_id, UnassignedWhy.PIN_INVALID))
                continue
            ok.append(t)
            allowed[t.task_id] = frozenset({index[t.pinned_to]})
            continue
        qualified = [v for v, c in enumerate(team) if t.required_skills <= c.skills]
        if not qualified:
            rejected.append(_unassigned(t.task_id, UnassignedWhy.NO_QUALIFIED))
            continue
        fits = []
        for v in qualified:
            lo, hi = _vehicle_window(team[v], snap.now_s)
            begin = max(lo, t.earliest_s)
            if begin <= t.latest_s and begin + t.duration_s <= hi:
                fits.append(v)
        if not fits:
            rejected.append(_unassigned(t.task_id, UnassignedWhy.NO_SHIFT))
            continue
        ok.append(t)
        allowed[t.task_id] = frozenset(fits)
    return _Screened(ok, allowed, rejected)


def _day_began(c: Caregiver, snap: DaySnapshot) -> int:
    """When the caregiver's working day began, for the time they have already worked."""
    if c.started_s is not None:
        return c.started_s
    if snap.previous is not None:
        for r in snap.previous.routes:
            if r.caregiver_id == c.caregiver_id and r.visits:
                # The day began when the plan in force sent them out (later than now: not yet).
                return max(c.shift_start_s, r.start_s)
    return c.shift_start_s


def _work_left(c: Caregiver, free_s: int, snap: DaySnapshot) -> int | None:
    """What is left of the caregiver's maximum working time once they are free at `free_s`:
    everything since their day began counts (work done before a re-plan included)."""
    if c.max_work_s is None:
        return None
    began = min(_day_began(c, snap), free_s)
    return max(0, c.max_work_s - (free_s - began))


def _fair_work(
    tasks: Sequence[Task],
    team: Sequence[Caregiver],
    travel_m: Sequence[Sequence[Sequence[int]]],
    profile_of: Mapping[TravelMode, int],
    node_of: Mapping[str, int],
    ready: Sequence[int],
    now_s: int,
) -> list[int]:
    """Each caregiver's fair share of the day's work in seconds (travel + service).

    The team's work is the service of every open task plus, per task, the shortest ride to
    it (a lower bound of the travel); it is shared in proportion to the time each caregiver
    is on shift, less the pinned work they already carry, with 15% slack so that balance
    only bites on real imbalance.
    """
    open_tasks = [t for t in tasks if t.pinned_to is None]
    if not open_tasks or not team:
        return [0] * len(team)
    tm = travel_m[0]
    nodes = [node_of[t.task_id] for t in open_tasks]
    legs = 0
    for i in nodes:
        legs += min((tm[j][i] for j in range(len(tm)) if j != i and tm[j][i] > 0), default=0)
    total = sum(t.duration_s for t in open_tasks) + legs
    windows = [_vehicle_window(c, now_s) for c in team]
    avail = [max(0, hi - lo) for lo, hi in windows]
    pinned = [max(0, ready[v] - windows[v][0]) for v in range(len(team))]
    whole = sum(avail) or 1
    return [
        max(0, math.ceil(1.15 * (total + sum(pinned)) * avail[v] / whole) - pinned[v])
        for v in range(len(team))
    ]


def _move_cost(task: Task, near: bool, displaced: bool, params: PlanParams) -> int:
    """What moving a task to another caregiver costs on a re-plan (stability).

    Never as much as dropping it: a near task costs at most half its drop penalty to move
    (otherwise the solver drops it while a colleague is idle), and a task an emergency
    displaced costs only the small move cost (it has to go somewhere).
    """
    if displaced or not near:
        return min(params.move_cost_s, params.drop_penalty_s[task.priority] // 4)
    return min(params.stability_cost_s, params.drop_penalty_s[task.priority] // 2)


def _pinned_chains(tasks: Sequence[Task]) -> dict[int, list[Task]]:
    """Per caregiver, pinned work in the order it will be done: work that cannot be broken
    off first, then an emergency, then the rest by window."""
    chains: dict[int, list[Task]] = {}
    for t in tasks:
        if t.pinned_to is not None:
            chains.setdefault(t.pinned_to, []).append(t)
    for chain in chains.values():
        chain.sort(key=lambda x: (x.interruptible, -int(x.priority), x.earliest_s, x.task_id))
    return chains


def plan_day(
    snapshot: DaySnapshot,
    params: PlanParams | None = None,
    *,
    travel: TravelTimeModel | None = None,
    arrival_cost_s: Mapping[str, int] | None = None,
    displaced: frozenset[str] = frozenset(),
) -> DayPlan:
    """Plan (or re-plan) a station's day. Never raises on bad data: it reports it.

    `arrival_cost_s` adds a soft cost (in seconds of travel) to going to a task; the cover
    trade-off uses it to keep caregivers near high-risk elders. `displaced` names tasks an
    emergency pushed out of their caregiver's day: moving them carries no stability cost.
    """
    t0 = time.perf_counter()
    params = params if params is not None else PlanParams()
    model: TravelTimeModel = travel if travel is not None else GreatCircleTravel(params.travel)
    snap = snapshot
    screened = _screen(snap, params)
    tasks = screened.tasks
    team = snap.caregivers
    if not tasks or not team:
        plan = DayPlan(
            routes=tuple(Route(c.caregiver_id, (), 0, 0, 0) for c in team),
            unassigned=tuple(screened.rejected),
            travel_s=0,
            objective=0,
            seconds=time.perf_counter() - t0,
        )
        return _with_diff(plan, snap, params)

    # Nodes: 0 the station, then each caregiver's start and end (if not the station), tasks.
    points: list[GeoPoint] = [snap.station]
    starts: list[int] = []
    ends: list[int] = []
    home_nodes: set[int] = set()
    for c in team:
        here = c.location if c.location is not None and c.location.is_valid() else c.home
        if here is not None and here.is_valid():
            points.append(here)
            starts.append(len(points) - 1)
            home_nodes.add(len(points) - 1)
        else:
            starts.append(0)
        if c.home is not None and c.home.is_valid():
            points.append(c.home)
            ends.append(len(points) - 1)
            home_nodes.add(len(points) - 1)
        else:
            ends.append(0)
    first_task = len(points)
    points.extend(t.location for t in tasks)
    n = len(points)
    node_of = {t.task_id: first_task + k for k, t in enumerate(tasks)}

    modes = sorted({c.mode for c in team}, key=lambda m: list(TravelMode).index(m))
    profile_of = {m: k for k, m in enumerate(modes)}
    travel_m = [model.matrix(points, points, m) for m in modes]
    circle_s = int(params.circle_minutes * 60)
    extra = [0] * n
    for t in tasks:
        extra[node_of[t.task_id]] = (arrival_cost_s or {}).get(t.task_id, 0)
    cost_m = [
        [
            [
                tm[i][j]
                + extra[j]
                + (
                    params.long_leg_cost_s
                    if tm[i][j] > circle_s and i not in home_nodes and j not in home_nodes
                    else 0
                )
                for j in range(n)
            ]
            for i in range(n)
        ]
        for tm in travel_m
    ]

    # Pinned work is a fixed prefix of the caregiver's day: the solver sees the caregiver
    # starting where the last pinned task is, free once it is done.
    chains = _pinned_chains(tasks)
    prefix: list[list[PlannedVisit]] = []
    skip: set[int] = set()
    ready: list[int] = []
    for v, c in enumerate(team):
        lo, _ = _vehicle_window(c, snap.now_s)
        tm = travel_m[profile_of[c.mode]]
        at_node: int = starts[v]
        clock = lo
        done: list[PlannedVisit] = []
        for t in chains.get(c.caregiver_id, []):
            i = node_of[t.task_id]
            leg = tm[at_node][i]
            done.append(
                PlannedVisit(
                    t.task_id, c.caregiver_id, clock + leg, clock + leg + t.duration_s, leg
                )
            )
            at_node, clock = i, clock + leg + t.duration_s
        prefix.append(done)
        ready.append(clock)
        skip.update(node_of[pv.task_id] for pv in done[:-1])
        starts[v] = at_node

    # Places that are no one's start or end any more (the station, a location left behind
    # for a pinned task) are not visits.
    skip.update(i for i in range(first_task) if i not in starts and i not in ends)

    service = [0] * n
    windows = [(0, DAY_END_S)] * n
    penalties: list[int | None] = [None] * n
    allowed: list[frozenset[int] | None] = [None] * n
    for t in tasks:
        i = node_of[t.task_id]
        if t.pinned_to is not None:
            continue  # part of a vehicle's fixed prefix now, not a visit
        service[i] = t.duration_s
        windows[i] = (max(t.earliest_s, snap.now_s), t.latest_s)
        penalties[i] = params.drop_penalty_s[t.priority]
        allowed[i] = screened.allowed[t.task_id]

    # Soft costs per caregiver and task: continuity of care, and stability of near tasks.
    before = snap.previous.assignment() if snap.previous is not None else {}
    near: set[str] = set()
    if snap.previous is not None:
        for r in snap.previous.routes:
            for pv in r.visits:
                if pv.start_s <= snap.now_s + params.stability_window_s:
                    near.add(pv.task_id)
    fair = _fair_work(tasks, team, travel_m, profile_of, node_of, ready, snap.now_s)
    vehicles: list[VehicleSpec] = []
    for v, c in enumerate(team):
        _, hi = _vehicle_window(c, snap.now_s)
        lo = ready[v]
        unary = [0] * n
        for t in tasks:
            i = node_of[t.task_id]
            if t.preferred_caregiver is not None and t.preferred_caregiver != c.caregiver_id:
                unary[i] += params.continuity_cost_s
            was = before.get(t.task_id)
            if was is not None and was != c.caregiver_id:
                unary[i] += _move_cost(t, t.task_id in near, t.task_id in displaced, params)
        breaks: tuple[Break, ...] = ()
        if c.lunch is not None and lo <= c.lunch.latest_s:
            b_lo = max(c.lunch.earliest_s, lo)
            if b_lo <= c.lunch.latest_s and c.lunch.latest_s + c.lunch.duration_s <= hi:
                breaks = (Break(b_lo, c.lunch.latest_s, c.lunch.duration_s),)
        for b_start, b_end in c.busy:
            # Other work at a fixed time (a meal round): a break the solver plans around.
            b_from = max(b_start, lo)
            if b_end > b_from and b_end <= hi:
                breaks += (Break(b_from, b_from, b_end - b_from),)
        # Work that cannot be broken off may end after the shift, and there is still the
        # ride home: her day ends then, late (overtime), never "no feasible end" — which
        # made the whole station's plan fail and every task unassigned.
        home_leg = travel_m[profile_of[c.mode]][starts[v]][ends[v]]
        work_left = _work_left(c, lo, snap)
        vehicles.append(
            VehicleSpec(
                start=starts[v],
                end=ends[v],
                earliest=lo,
                latest=max(lo + home_leg, hi),
                profile=profile_of[c.mode],
                max_work=None if work_left is None else max(work_left, home_leg),
                breaks=breaks,
                unary_cost=tuple(unary) if any(unary) else None,
                fair_work=fair[v],
            )
        )
    problem = RoutingProblem(
        travel=travel_m,
        service=service,
        windows=windows,
        vehicles=vehicles,
        penalties=penalties,
        allowed=allowed,
        cost=cost_m,
        work_cost=params.balance_weight,
        horizon=DAY_END_S,
        skip=frozenset(skip),
    )
    initial = None
    if snap.previous is not None:
        by_cg = {r.caregiver_id: r for r in snap.previous.routes}
        initial = []
        for c in team:
            old = by_cg.get(c.caregiver_id)
            initial.append(
                [node_of[pv.task_id] for pv in old.visits if pv.task_id in node_of] if old else []
            )
    sol = solve(problem, params.solver, initial_routes=initial)

    routes: list[Route] = []
    total_travel = 0
    for v, c in enumerate(team):
        tm = travel_m[profile_of[c.mode]]
        visits: list[PlannedVisit] = list(prefix[v])
        prev = starts[v]
        leg_sum = sum(pv.travel_s for pv in visits)
        for stop in sol.routes[v] if sol.found else ():
            t = tasks[stop.node - first_task]
            leg = tm[prev][stop.node]
            leg_sum += leg
            visits.append(
                PlannedVisit(
                    t.task_id, c.caregiver_id, stop.arrival, stop.arrival + t.duration_s, leg
                )
            )
            prev = stop.node
        if visits:
            back = tm[prev][ends[v]]
            leg_sum += back
            lunch = sol.break_starts[v] if v < len(sol.break_starts) else ()
            r = Route(
                c.caregiver_id,
                tuple(visits),
                visits[0].start_s - visits[0].travel_s,
                visits[-1].end_s + back,
                leg_sum,
                lunch[0] if lunch else None,
            )
        else:
            r = Route(c.caregiver_id, (), 0, 0, 0)
        total_travel += leg_sum
        routes.append(r)
    dropped = [
        _unassigned(tasks[i - first_task].task_id, UnassignedWhy.NO_ROOM) for i in sol.dropped
    ]
    if not sol.found:
        dropped = [_unassigned(t.task_id, UnassignedWhy.NO_ROOM) for t in tasks]
    plan = DayPlan(
        routes=tuple(routes),
        unassigned=tuple(screened.rejected + dropped),
        travel_s=total_travel,
        objective=sol.objective,
        seconds=time.perf_counter() - t0,
    )
    return _with_diff(plan, snap, params)


def _with_diff(plan: DayPlan, snap: DaySnapshot, params: PlanParams) -> DayPlan:
    """The plan with its changes from the plan in force (tasks done meanwhile not counted)."""
    return replace(
        plan,
        diff=diff_plans(
            snap.previous,
            plan,
            params.retime_threshold_s,
            current=frozenset(t.task_id for t in snap.tasks),
        ),
    )


def diff_plans(
    old: DayPlan | None,
    new: DayPlan,
    retime_threshold_s: int = 300,
    *,
    current: frozenset[str] | None = None,
) -> PlanDiff:
    """Every change from the old plan to the new one, per task.

    With `current` (the task ids still to do), tasks of the old plan that are no longer in
    it (done, cancelled) are not reported as removed.
    """
    before = old.assignment() if old is not None else {}
    if current is not None:
        before = {t: c for t, c in before.items() if t in current}
    after = new.assignment()
    added = tuple(sorted((t, c) for t, c in after.items() if t not in before))
    removed = tuple(sorted((t, c) for t, c in before.items() if t not in after))
    moved = tuple(
        sorted((t, before[t], c) for t, c in after.items() if t in before and before[t] != c)
    )
    retimed: list[tuple[str, int, int, int]] = []
    if old is not None:
        for t, c in after.items():
            if t in before and before[t] == c:
                a, b = old.visit_of(t), new.visit_of(t)
                if (
                    a is not None
                    and b is not None
                    and abs(a.start_s - b.start_s) >= retime_threshold_s
                ):
                    retimed.append((t, c, a.start_s, b.start_s))
    return PlanDiff(added, removed, moved, tuple(sorted(retimed)))


def insert_emergency(
    snapshot: DaySnapshot,
    emergency: Task,
    caregiver_id: int,
    params: PlanParams | None = None,
    *,
    travel: TravelTimeModel | None = None,
) -> DayPlan:
    """Put a help call first in the chosen caregiver's day and repair the rest across the team.

    `snapshot.previous` is the plan in force and `snapshot.now_s` the time of the call; the
    caregivers carry their current location. Work the caregiver can break off is unpinned and
    re-planned; work they cannot break off stays first and the emergency follows it.
    """
    snap, displaced = emergency_snapshot(snapshot, emergency, caregiver_id)
    return plan_day(snap, params, travel=travel, displaced=displaced)


def emergency_snapshot(
    snapshot: DaySnapshot, emergency: Task, caregiver_id: int
) -> tuple[DaySnapshot, frozenset[str]]:
    """The snapshot with the help call pinned first to the caregiver (after work they cannot
    break off), and the tasks it displaces from their day."""
    tasks: list[Task] = []
    for t in snapshot.tasks:
        if t.task_id == emergency.task_id:
            continue
        if t.pinned_to == caregiver_id and t.interruptible:
            t = replace(t, pinned_to=None)
        tasks.append(t)
    # The caregiver's other work is displaced by the call: it may move without penalty.
    before = snapshot.previous.assignment() if snapshot.previous is not None else {}
    displaced = frozenset(t for t, c in before.items() if c == caregiver_id)
    em = replace(
        emergency,
        pinned_to=caregiver_id,
        priority=Priority.EMERGENCY,
        interruptible=True,
        earliest_s=min(emergency.earliest_s, snapshot.now_s),
    )
    tasks.append(em)
    return replace(snapshot, tasks=tuple(tasks)), displaced


def fallback_plan(
    snapshot: DaySnapshot,
    params: PlanParams | None = None,
    *,
    travel: TravelTimeModel | None = None,
    booking_order: bool = False,
) -> DayPlan:
    """A plan without the solver, for when it failed or ran out of time: pinned work first,
    then each caregiver's visits of the plan in force in their order, re-timed, then the
    other tasks appended greedily where they start earliest, the most urgent first (with
    `booking_order`, as the simulator's phone-and-paper baseline plans: strictly in the order
    they were booked, i.e. task ids ascending). Windows, skills, shifts and maximum working
    time are kept; lunch breaks and balance are not. Pure Python, bounded (tasks ×
    caregivers), so it cannot hang.
    """
    t0 = time.perf_counter()
    params = params if params is not None else PlanParams()
    model: TravelTimeModel = travel if travel is not None else GreatCircleTravel(params.travel)
    snap = snapshot
    screened = _screen(snap, params)
    team = snap.caregivers
    by_id = {t.task_id: t for t in screened.tasks}
    index = {c.caregiver_id: v for v, c in enumerate(team)}
    chains = _pinned_chains(screened.tasks)
    previous = snap.previous.routes if snap.previous is not None else ()
    order: list[list[Task]] = [list(chains.get(c.caregiver_id, [])) for c in team]
    taken = {t.task_id for chain in order for t in chain}
    for r in previous:
        v = index.get(r.caregiver_id)
        for pv in r.visits if v is not None else ():
            t = by_id.get(pv.task_id)
            if (
                t is not None
                and t.pinned_to is None
                and t.task_id not in taken
                and v in screened.allowed[t.task_id]
            ):
                order[v].append(t)
                taken.add(t.task_id)
    rest = sorted(
        (t for t in screened.tasks if t.task_id not in taken),
        key=_booked if booking_order else _urgent,
    )

    def home(c: Caregiver) -> GeoPoint:
        return c.home if c.home is not None and c.home.is_valid() else snap.station

    def here(c: Caregiver) -> GeoPoint:
        where = c.location if c.location is not None and c.location.is_valid() else None
        return where or home(c)

    def ride(c: Caregiver, a: GeoPoint, b: GeoPoint) -> int:
        return int(model.matrix([a], [b], c.mode)[0][0])

    routes: list[list[PlannedVisit]] = [[] for _ in team]
    at: list[GeoPoint] = [here(c) for c in team]
    clock: list[int] = [_vehicle_window(c, snap.now_s)[0] for c in team]
    dropped: list[str] = []

    def fits(v: int, t: Task) -> PlannedVisit | None:
        c = team[v]
        leg = ride(c, at[v], t.location)
        start = clock[v] + leg if t.pinned_to is not None else max(clock[v] + leg, t.earliest_s)
        if t.pinned_to is None:
            end_of_day = start + t.duration_s + ride(c, t.location, home(c))
            free = _vehicle_window(c, snap.now_s)[0]
            left = _work_left(c, free, snap)
            if start > t.latest_s or end_of_day > c.shift_end_s:
                return None
            if left is not None and end_of_day - free > left:
                return None
        return PlannedVisit(t.task_id, c.caregiver_id, start, start + t.duration_s, leg)

    def place(v: int, pv: PlannedVisit, t: Task) -> None:
        routes[v].append(pv)
        at[v], clock[v] = t.location, pv.end_s

    for v, tasks in enumerate(order):
        for t in tasks:
            kept = fits(v, t)
            if kept is None:
                dropped.append(t.task_id)
            else:
                place(v, kept, t)
    for t in [by_id[x] for x in dropped] + rest:
        options = [
            (found.start_s, v, found)
            for v in sorted(screened.allowed[t.task_id])
            if (found := fits(v, t)) is not None
        ]
        if options:
            _, v, best = min(options, key=lambda o: (o[0], o[1]))
            place(v, best, t)
    planned = {pv.task_id for r in routes for pv in r}
    out_routes: list[Route] = []
    total = 0
    for v, c in enumerate(team):
        visits = tuple(routes[v])
        if not visits:
            out_routes.append(Route(c.caregiver_id, (), 0, 0, 0))
            continue
        back = ride(c, at[v], home(c))
        legs = sum(pv.travel_s for pv in visits) + back
        total += legs
        first = visits[0]
        out_routes.append(
            Route(
                c.caregiver_id,
                visits,
                first.start_s - first.travel_s,
                visits[-1].end_s + back,
                legs,
            )
        )
    missing = [
        _unassigned(t.task_id, UnassignedWhy.NO_ROOM)
        for t in screened.tasks
        if t.task_id not in planned
    ]
    plan = DayPlan(
        routes=tuple(out_routes),
        unassigned=tuple(screened.rejected + missing),
        travel_s=total,
        objective=0,
        seconds=time.perf_counter() - t0,
    )
    return _with_diff(plan, snap, params)


def _urgent(t: Task) -> tuple[int, int, int, str]:
    return (-int(t.priority), t.latest_s, t.earliest_s, t.task_id)


def _booked(t: Task) -> tuple[int, int, str]:
    """Booking order: the store numbers tasks as they are made (other ids after, by name)."""
    return (0, int(t.task_id), "") if t.task_id.isdigit() else (1, 0, t.task_id)


def plan_day_with_cover(
    snapshot: DaySnapshot,
    elders: Sequence[HighRiskElder],
    params: PlanParams | None = None,
    *,
    travel: TravelTimeModel | None = None,
    target_s: int = 1200,
) -> tuple[DayPlan, CoverReport]:
    """A day plan that trades travel against emergency cover of high-risk elders.

    Two plans share the time limit: the plain one, and one where going to a task from which
    no high-risk elder can be reached within the target costs `cover_leg_cost_s` more. The
    one with the lower `travel_s + cover_weight_s_per_min × uncovered minutes` is returned,
    with its cover report.
    """
    params = params if params is not None else PlanParams()
    if not elders or params.cover_weight_s_per_min <= 0:
        plan = plan_day(snapshot, params, travel=travel)
        return plan, emergency_cover(plan, snapshot, elders, params=params, travel=travel)
    model: TravelTimeModel = travel if travel is not None else GreatCircleTravel(params.travel)
    half = replace(
        params, solver=replace(params.solver, time_limit_s=params.solver.time_limit_s / 2)
    )
    plain = plan_day(snapshot, half, travel=travel)
    mode = snapshot.caregivers[0].mode if snapshot.caregivers else TravelMode.EBIKE
    places = [t.location for t in snapshot.tasks if t.location.is_valid()]
    ids = [t.task_id for t in snapshot.tasks if t.location.is_valid()]
    reach = model.matrix(places, [e.location for e in elders], mode) if places else []
    far = {
        tid: params.cover_leg_cost_s
        for tid, row in zip(ids, reach, strict=True)
        if min(row) > target_s - 60
    }
    near = plan_day(snapshot, half, travel=travel, arrival_cost_s=far) if far else plain
    best: tuple[int, DayPlan, CoverReport] | None = None
    for plan in (plain, near):
        rep = emergency_cover(
            plan, snapshot, elders, params=params, travel=model, target_s=target_s
        )
        # Fewer planned tasks is never a better cover: compare only equally complete plans.
        score = (
            len(plan.unassigned) * 10**9
            + plan.travel_s
            + params.cover_weight_s_per_min * rep.uncovered_minutes
        )
        if best is None or score < best[0]:
            best = (score, plan, rep)
    assert best is not None
    return best[1], best[2]
