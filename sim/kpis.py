"""What a station head and a district officer judge a day by, computed from a run's log.

Help calls (the 20-minute promise counts *real emergencies*: type emergency, not a false
alarm, not a repeat press; see `HelpCall.real_emergency`):
- on scene within the promise (the first `arrived` at most `sla_s` after the press): as a
  share of the reachable ones (bound within the promise, `sim.bound`), as a count, and as a
  share of all; the unreachable ones are reported apart;
- response (press → first arrival) p50/p90/p99/max over those that had one (nearest rank);
- late arrivals: reachable ones not on scene within the promise, split into arrived late and
  never arrived;
- time to acceptance (press → first `accepted`), offers per call, and the escalation steps
  that fired, by step kind, over every call.
Visits: done; started more than 15 minutes after the latest start the elder was promised
(the booked length before the window closes: the window holds the whole visit; the same
yardstick for every policy); missed, by reason.
Meals: delivered; inside the kitchen's lunch window; within `max_minutes_to_door` (30) of
leaving the kitchen; missed, by reason.
Caregivers: travel and working minutes (travel, visits, meals, calls), and overtime (work
outside their shifts).
Cover: the minutes in which some high-risk elder had no caregiver of their station who
could be there within the promise (dispatch/cover.py's rule, on the day as it happened).
Completeness: every call and task of the day has an outcome, and no record names something
the day does not have.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

from sim.bound import CallBound
from sim.cover import uncovered_minutes
from sim.day import Day
from sim.log import CALL_ENDS, TASK_ENDS, WORK, Activity, CallStep, RunLog, TaskKind, TaskStep

LATE_VISIT_S = 15 * 60


@dataclass(frozen=True)
class Spread:
    """Seconds: how many, and the nearest-rank percentiles (None when there are none)."""

    n: int
    p50: int | None
    p90: int | None
    p99: int | None
    max: int | None


def percentile(values: Sequence[int], p: float) -> int | None:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def spread(values: Sequence[int]) -> Spread:
    return Spread(
        len(values),
        percentile(values, 50),
        percentile(values, 90),
        percentile(values, 99),
        max(values) if values else None,
    )


def share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


@dataclass(frozen=True)
class CallKpis:
    presses: int
    real_emergencies: int
    reachable: int
    unreachable: int
    on_scene_in_time: int  # of all real emergencies
    on_scene_in_time_reachable: int
    pct_of_reachable: float | None
    pct_of_all: float | None
    response_s: Spread
    late_arrivals: int  # reachable, not on scene in time
    arrived_late: int
    never_arrived: int
    time_to_accept_s: Spread
    offers_mean: float | None
    offers_max: int
    escalations: dict[str, int]
    unreachable_on_scene_in_time: int
    unreachable_response_s: Spread


@dataclass(frozen=True)
class VisitKpis:
    total: int
    done: int
    late_15: int
    missed: int
    missed_by_reason: dict[str, int]


@dataclass(frozen=True)
class MealKpis:
    total: int
    delivered: int
    in_window: int
    within_door_limit: int
    missed: int
    missed_by_reason: dict[str, int]


@dataclass(frozen=True)
class CaregiverKpis:
    caregiver_id: str
    name: str
    station_id: str
    travel_min: float
    working_min: float
    overtime_min: float


@dataclass(frozen=True)
class CoverKpis:
    high_risk_elders: int
    uncovered_minutes: int  # minutes in which at least one of them had nobody within reach
    elder_minutes: int


@dataclass(frozen=True)
class Completeness:
    calls_without_outcome: tuple[str, ...]
    tasks_without_outcome: tuple[str, ...]
    unknown_ids: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not (self.calls_without_outcome or self.tasks_without_outcome or self.unknown_ids)


@dataclass(frozen=True)
class Kpis:
    policy: str
    seed: int
    sla_s: int
    calls: CallKpis
    visits: VisitKpis
    meals: MealKpis
    caregivers: tuple[CaregiverKpis, ...]
    cover: CoverKpis
    completeness: Completeness

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["completeness"]["ok"] = self.completeness.ok
        return out

    def flat(self) -> dict[str, float]:
        """Every number as "section.name" (percentiles as "calls.response_s.p90"), for
        comparing runs; per-caregiver figures become totals and the maximum."""
        out: dict[str, float] = {}
        for section in ("calls", "visits", "meals", "cover"):
            _flatten(section, asdict(getattr(self, section)), out)
        team = self.caregivers
        out["caregivers.travel_min_total"] = round(sum(c.travel_min for c in team), 1)
        out["caregivers.working_min_total"] = round(sum(c.working_min for c in team), 1)
        out["caregivers.overtime_min_total"] = round(sum(c.overtime_min for c in team), 1)
        out["caregivers.overtime_min_max"] = max((c.overtime_min for c in team), default=0.0)
        return out


def _flatten(prefix: str, value: object, out: dict[str, float]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        out[prefix] = float(value)


def compute(day: Day, log: RunLog, call_bounds: Mapping[str, CallBound]) -> Kpis:
    """Every KPI of the run (see the module docstring for the definitions)."""
    sla = day.scenario.policy.sla_s
    return Kpis(
        policy=log.policy,
        seed=log.seed,
        sla_s=sla,
        calls=call_kpis(day, log, call_bounds, sla),
        visits=visit_kpis(day, log),
        meals=meal_kpis(day, log),
        caregivers=caregiver_kpis(day, log),
        cover=cover_kpis(day, log, sla),
        completeness=completeness(day, log),
    )


def _first(records: Iterable[tuple[int, CallStep]], step: CallStep) -> int | None:
    return min((at for at, s in records if s is step), default=None)


def call_kpis(day: Day, log: RunLog, call_bounds: Mapping[str, CallBound], sla_s: int) -> CallKpis:
    steps: dict[str, list[tuple[int, CallStep]]] = {c.id: [] for c in day.calls}
    escalations: Counter[str] = Counter()
    for r in log.calls:
        steps.setdefault(r.call_id, []).append((r.at_s, r.step))
        if r.step is CallStep.ESCALATED:
            escalations[r.detail] += 1
    real = [c for c in day.calls if c.real_emergency]
    reach = {c.id for c in real if c.id in call_bounds and call_bounds[c.id].reachable}
    response: dict[str, int] = {}
    accept: list[int] = []
    offers: list[int] = []
    for c in real:
        arrived = _first(steps[c.id], CallStep.ARRIVED)
        if arrived is not None:
            response[c.id] = arrived - c.at_s
        accepted = _first(steps[c.id], CallStep.ACCEPTED)
        if accepted is not None:
            accept.append(accepted - c.at_s)
        offers.append(sum(1 for _, s in steps[c.id] if s is CallStep.OFFERED))
    in_time = {k for k, v in response.items() if v <= sla_s}
    late = {k for k in response if k in reach and k not in in_time}
    never = {c.id for c in real if c.id in reach and c.id not in response}
    gone = [response[c.id] for c in real if c.id not in reach and c.id in response]
    return CallKpis(
        presses=len(day.calls),
        real_emergencies=len(real),
        reachable=len(reach),
        unreachable=len(real) - len(reach),
        on_scene_in_time=len(in_time),
        on_scene_in_time_reachable=len(in_time & reach),
        pct_of_reachable=share(len(in_time & reach), len(reach)),
        pct_of_all=share(len(in_time), len(real)),
        response_s=spread(list(response.values())),
        late_arrivals=len(late) + len(never),
        arrived_late=len(late),
        never_arrived=len(never),
        time_to_accept_s=spread(accept),
        offers_mean=round(sum(offers) / len(offers), 2) if offers else None,
        offers_max=max(offers, default=0),
        escalations=dict(sorted(escalations.items())),
        unreachable_on_scene_in_time=len(in_time - reach),
        unreachable_response_s=spread(gone),
    )


def _task_steps(log: RunLog, kind: TaskKind) -> dict[str, dict[TaskStep, list[tuple[int, str]]]]:
    """task id → step → [(time, detail)] in time order."""
    out: dict[str, dict[TaskStep, list[tuple[int, str]]]] = {}
    for r in log.tasks:
        if r.kind is kind:
            out.setdefault(r.task_id, {}).setdefault(r.step, []).append((r.at_s, r.detail))
    return out


def _missed(steps: Mapping[str, Mapping[TaskStep, list[tuple[int, str]]]]) -> Counter[str]:
    reasons: Counter[str] = Counter()
    for by_step in steps.values():
        if TaskStep.MISSED in by_step and TaskStep.DONE not in by_step:
            reasons[by_step[TaskStep.MISSED][-1][1] or "unknown"] += 1
    return reasons


def visit_kpis(day: Day, log: RunLog) -> VisitKpis:
    steps = _task_steps(log, TaskKind.VISIT)
    done = late = 0
    for v in day.visits:
        mine = steps.get(v.id, {})
        if TaskStep.DONE in mine:
            done += 1
        started = mine.get(TaskStep.STARTED)
        if started and started[0][0] - v.latest_start_s > LATE_VISIT_S:
            late += 1
    reasons = _missed({v.id: steps.get(v.id, {}) for v in day.visits})
    return VisitKpis(
        len(day.visits), done, late, sum(reasons.values()), dict(sorted(reasons.items()))
    )


def meal_kpis(day: Day, log: RunLog) -> MealKpis:
    steps = _task_steps(log, TaskKind.MEAL)
    delivered = in_window = hot = 0
    for m in day.meals:
        kitchen = day.station_by_id[m.station_id].kitchen
        mine = steps.get(m.id, {})
        if TaskStep.DONE not in mine or kitchen is None:
            continue
        at = mine[TaskStep.DONE][0][0]
        delivered += 1
        in_window += kitchen.lunch_opens_s <= at <= kitchen.lunch_closes_s
        left = mine.get(TaskStep.PICKED_UP)
        hot += left is not None and at - left[-1][0] <= kitchen.max_to_door_s
    reasons = _missed({m.id: steps.get(m.id, {}) for m in day.meals})
    return MealKpis(
        len(day.meals),
        delivered,
        in_window,
        hot,
        sum(reasons.values()),
        dict(sorted(reasons.items())),
    )


def _outside(start: int, end: int, spans: Iterable[tuple[int, int]]) -> int:
    """Seconds of [start, end) outside every span."""
    inside = sum(max(0, min(end, b) - max(start, a)) for a, b in spans)
    return max(0, end - start - inside)


def caregiver_kpis(day: Day, log: RunLog) -> tuple[CaregiverKpis, ...]:
    out = []
    for c in day.caregivers:
        travel = work = over = 0
        duty = [(s.start_s, s.end_s) for s in c.shifts]
        for seg in log.of_caregiver(c.id):
            length = seg.end_s - seg.start_s
            if seg.activity in WORK:
                work += length
                over += _outside(seg.start_s, seg.end_s, duty)
            if seg.activity is Activity.TRAVEL:
                travel += length
        out.append(
            CaregiverKpis(
                c.id,
                c.name,
                c.station_id,
                round(travel / 60, 1),
                round(work / 60, 1),
                round(over / 60, 1),
            )
        )
    return tuple(out)


def cover_kpis(day: Day, log: RunLog, sla_s: int) -> CoverKpis:
    minutes, elder_minutes = uncovered_minutes(day, log, sla_s)
    return CoverKpis(sum(1 for e in day.elders if e.high_risk), minutes, elder_minutes)


def completeness(day: Day, log: RunLog) -> Completeness:
    ended_calls = {r.call_id for r in log.calls if r.step in CALL_ENDS}
    ended_tasks = {r.task_id for r in log.tasks if r.step in TASK_ENDS}
    tasks = [v.id for v in day.visits] + [m.id for m in day.meals]
    known = set(day.call_by_id) | set(tasks) | set(day.caregiver_by_id)
    named = {r.call_id for r in log.calls} | {r.task_id for r in log.tasks}
    who = [r.caregiver_id for r in log.calls] + [r.caregiver_id for r in log.tasks]
    named |= {s.caregiver_id for s in log.segments} | {c for c in who if c is not None}
    return Completeness(
        tuple(c.id for c in day.calls if c.id not in ended_calls),
        tuple(t for t in tasks if t not in ended_tasks),
        tuple(sorted(named - known)),
    )
