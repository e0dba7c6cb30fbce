"""Realistic station instances and the day planner's figures on them.

    python -m bench.station --tasks 50 200 500 --seed 1

A generated station: elders clustered in residential compounds (小区) within ~2 km of a
station in Chaoyang, Beijing; a day of bookings from the service menu with windows, skills
and priorities; 5-30 caregivers with shifts, skills and lunch. For each size it prints one
JSON line: time to the first feasible plan, plan quality at short limits against a long
solve, the time to re-plan after an emergency insertion, emergency ranking time and the
emergency-cover minutes.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from dataclasses import replace
from typing import Any

from dispatch.cover import HighRiskElder, emergency_cover
from dispatch.dayplan import insert_emergency, plan_day
from dispatch.emergency import CaregiverState, CurrentWork, EmergencyRequest, rank_for_emergency
from dispatch.geo import GeoPoint
from dispatch.model import (
    HOUR,
    MINUTE,
    Caregiver,
    DayPlan,
    DaySnapshot,
    PlanParams,
    Priority,
    Task,
)
from dispatch.routing import SolverParams
from dispatch.travel import GreatCircleTravel

STATION = GeoPoint(39.9219, 116.4436)

# (label, minutes, skill, interruptible, share)
MENU: tuple[tuple[str, int, str | None, bool, float], ...] = (
    ("助浴", 45, "bath", False, 0.10),
    ("助洁", 60, None, True, 0.12),
    ("陪聊", 30, None, True, 0.15),
    ("送药", 10, None, True, 0.15),
    ("康复护理", 40, "nursing", False, 0.10),
    ("理发", 30, "haircut", True, 0.05),
    ("代购", 30, None, True, 0.13),
    ("测血压血糖", 15, "nursing", True, 0.10),
    ("爱心敲门", 10, None, True, 0.10),
)
SLOTS = ((8, 10), (9, 11), (10, 12), (13, 15), (14, 16), (15, 17), (9, 16))


def _offset(p: GeoPoint, east_m: float, north_m: float) -> GeoPoint:
    return GeoPoint(
        p.lat + north_m / 111_195.0,
        p.lng + east_m / (111_195.0 * math.cos(math.radians(p.lat))),
    )


def generate_station(seed: int, n_tasks: int, n_caregivers: int | None = None) -> DaySnapshot:
    """A station's day with `n_tasks` bookings; deterministic for a seed."""
    rng = random.Random(seed)
    n_cg = n_caregivers or max(5, min(30, round(n_tasks / 12)))
    compounds = [
        _offset(STATION, rng.uniform(-1800, 1800), rng.uniform(-1800, 1800))
        for _ in range(max(4, n_tasks // 25))
    ]
    n_elders = max(10, int(n_tasks * 0.6))
    elders = [
        _offset(rng.choice(compounds), rng.gauss(0, 150), rng.gauss(0, 150))
        for _ in range(n_elders)
    ]
    dependent = {e for e in range(n_elders) if rng.random() < 0.2}
    caregivers = []
    all_skills = ["bath", "nursing", "haircut", "first_aid"]
    for c in range(n_cg):
        start = rng.choice([7, 8, 8, 8, 9])
        skills = frozenset(s for s in all_skills if rng.random() < 0.45) | (
            frozenset({"bath", "nursing"}) if c < 2 else frozenset()
        )
        home = _offset(STATION, rng.uniform(-2500, 2500), rng.uniform(-2500, 2500))
        caregivers.append(
            Caregiver(
                c + 1,
                f"护理员{c + 1}",
                start * HOUR,
                (start + 9) * HOUR,
                skills,
                home=home if rng.random() < 0.3 else None,
                max_work_s=9 * HOUR,
            )
        )
    usual = {e: rng.randint(1, n_cg) for e in range(n_elders)}
    weights = [m[4] for m in MENU]
    tasks = []
    for k in range(n_tasks):
        label, minutes, skill, interruptible, _ = rng.choices(MENU, weights)[0]
        e = rng.randrange(n_elders)
        lo, hi = rng.choice(SLOTS)
        prio = (
            Priority.ESSENTIAL
            if e in dependent
            else rng.choice([Priority.LOW, Priority.NORMAL, Priority.NORMAL, Priority.HIGH])
        )
        tasks.append(
            Task(
                f"T{k:04d}",
                e,
                elders[e],
                lo * HOUR,
                hi * HOUR - minutes * MINUTE,
                minutes * MINUTE,
                frozenset({skill}) if skill else frozenset(),
                prio,
                preferred_caregiver=usual[e] if rng.random() < 0.4 else None,
                interruptible=interruptible,
                label=label,
            )
        )
    return DaySnapshot(STATION, tuple(caregivers), tuple(tasks))


def high_risk(snap: DaySnapshot, k: int = 10) -> list[HighRiskElder]:
    """The first k distinct elders with an essential task: living alone and dependent."""
    seen: dict[int, HighRiskElder] = {}
    for t in snap.tasks:
        if t.priority == Priority.ESSENTIAL and t.elder_id not in seen:
            seen[t.elder_id] = HighRiskElder(t.elder_id, t.location, "独居失能")
    return list(seen.values())[:k]


def _summary(plan: DayPlan) -> dict[str, Any]:
    return {
        "planned": sum(len(r.visits) for r in plan.routes),
        "unassigned": len(plan.unassigned),
        "travel_min": round(plan.travel_s / 60),
        "objective": plan.objective,
        "seconds": round(plan.seconds, 2),
    }


def figures(seed: int, n_tasks: int, limits: list[float], long_s: float) -> dict[str, Any]:
    """All figures for one generated station."""
    snap = generate_station(seed, n_tasks)
    out: dict[str, Any] = {"tasks": n_tasks, "caregivers": len(snap.caregivers), "seed": seed}
    first = PlanParams(
        solver=SolverParams(
            first_solutions=("PARALLEL_CHEAPEST_INSERTION",),
            ruin_and_recreate=False,
            solution_limit=1,
            time_limit_s=120,
            seed=seed,
        )
    )
    out["first_feasible"] = _summary(plan_day(snap, first))
    long = plan_day(snap, PlanParams(solver=SolverParams(time_limit_s=long_s, seed=seed)))
    out[f"long_{long_s:g}s"] = _summary(long)
    for s in limits:
        p = plan_day(snap, PlanParams(solver=SolverParams(time_limit_s=s, seed=seed)))
        row = _summary(p)
        row["objective_vs_long_pct"] = round(
            100 * (p.objective - long.objective) / long.objective, 2
        )
        out[f"limit_{s:g}s"] = row
    # An emergency at 10:30 near a random elder, given to the best-ranked caregiver.
    now = 10 * HOUR + 30 * MINUTE
    rng = random.Random(seed + 1)
    where = rng.choice(snap.tasks).location
    travel = GreatCircleTravel()
    states = []
    by_id = {t.task_id: t for t in snap.tasks}
    for c in snap.caregivers:
        route = next(r for r in long.routes if r.caregiver_id == c.caregiver_id)
        loc = c.home or snap.station
        current = None
        for v in route.visits:
            if v.start_s <= now:
                loc = by_id[v.task_id].location
            if v.start_s <= now < v.end_s:
                t = by_id[v.task_id]
                current = CurrentWork(
                    t.task_id, t.interruptible, v.end_s - now, t.location, t.label
                )
        states.append(CaregiverState(c.caregiver_id, c.name, loc, True, c.skills, current=current))
    t0 = time.perf_counter()
    for _ in range(100):
        ranking = rank_for_emergency(EmergencyRequest(1, where), states, travel)
    out["rank_ms"] = round((time.perf_counter() - t0) * 10, 3)
    assert ranking.best is not None
    chosen = ranking.best.caregiver_id
    # Tasks done or under way at `now` leave the snapshot; under-way ones are pinned.
    todo = []
    assign = long.assignment()
    for t in snap.tasks:
        pv = long.visit_of(t.task_id)
        if pv is not None and pv.end_s <= now:
            continue
        if pv is not None and pv.start_s <= now:
            # In progress: pinned, with the time it still needs.
            t = replace(t, pinned_to=assign[t.task_id], duration_s=pv.end_s - now)
        elif pv is not None and pv.start_s - pv.travel_s <= now:
            t = replace(t, pinned_to=assign[t.task_id])  # en route
        todo.append(t)
    locs = {s.caregiver_id: s.location for s in states}
    team = tuple(replace(c, location=locs[c.caregiver_id]) for c in snap.caregivers)
    em = Task("EMERGENCY", -1, where, now, now + 20 * MINUTE, 30 * MINUTE, label="紧急呼叫")
    resnap = DaySnapshot(snap.station, team, tuple(todo), now, long)
    for s in (0.5, 2.0):
        rp = insert_emergency(
            resnap, em, chosen, PlanParams(solver=SolverParams(time_limit_s=s, seed=seed))
        )
        row = _summary(rp)
        row["moved"] = len(rp.diff.moved)
        row["removed"] = len(rp.diff.removed)
        ev = rp.visit_of("EMERGENCY")
        row["emergency_arrives_min_after_call"] = (
            round((ev.start_s - now) / 60, 1) if ev is not None else None
        )
        out[f"replan_{s:g}s"] = row
    t0 = time.perf_counter()
    cover = emergency_cover(long, snap, high_risk(snap))
    out["cover"] = {
        "high_risk": len(cover.by_elder),
        "uncovered_minutes": cover.uncovered_minutes,
        "elder_minutes": cover.elder_minutes,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    return out


def main(argv: list[str]) -> int:
    """`python -m bench.station --tasks 50 200 500`."""
    ap = argparse.ArgumentParser(prog="anxin bench station", description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=int, nargs="+", default=[50, 200, 500])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limits", type=float, nargs="+", default=[2.0, 5.0])
    ap.add_argument("--long", type=float, default=60.0, help="seconds of the reference solve")
    args = ap.parse_args(argv)
    for n in args.tasks:
        print(
            json.dumps(figures(args.seed, n, args.limits, args.long), ensure_ascii=False),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
