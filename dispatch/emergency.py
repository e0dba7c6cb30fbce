"""Who should go to a help call: candidates ranked by ETA, with the reasons for the console."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from dispatch.geo import GeoPoint
from dispatch.travel import TravelMode, TravelTimeModel

# Why a caregiver is not a candidate (shown on the console as is).
WHY_DECLINED = "已拒绝或已被排除"
WHY_OFF_DUTY = "不在岗"
WHY_NO_LOCATION = "位置未知"
WHY_ON_EMERGENCY = "正在处理另一起紧急呼叫"
WHY_MISSING_SKILL = "缺少技能"  # followed by "：" and the skills

_MODE_VERB = {TravelMode.WALK: "步行", TravelMode.EBIKE: "骑行", TravelMode.CAR: "驾车"}


@dataclass(frozen=True)
class CurrentWork:
    """What a caregiver is doing now: the task, whether it may be broken off, time left, where."""

    task_id: str
    interruptible: bool
    remaining_s: int
    location: GeoPoint
    label: str = ""


@dataclass(frozen=True)
class CaregiverState:
    """A caregiver as the dispatcher sees them at the moment of a help call."""

    caregiver_id: int
    name: str
    location: GeoPoint | None
    on_duty: bool
    skills: frozenset[str]
    mode: TravelMode = TravelMode.EBIKE
    current: CurrentWork | None = None
    on_emergency: bool = False


@dataclass(frozen=True)
class EmergencyRequest:
    """A help call: where, which skills are required, which are preferred."""

    incident_id: int
    location: GeoPoint
    required_skills: frozenset[str] = frozenset()
    preferred_skills: frozenset[str] = frozenset({"first_aid"})


@dataclass(frozen=True)
class Candidate:
    """One caregiver who could go, with ETA = finish or break off + travel."""

    caregiver_id: int
    name: str
    eta_s: int
    travel_s: int
    finish_s: int
    meets_target: bool
    has_preferred: bool
    reason: str
    interrupts: str | None = None  # task_id that would be broken off, if any


@dataclass(frozen=True)
class EmergencyRanking:
    """The choice, the runners-up (best first), who was left out and why."""

    best: Candidate | None
    candidates: tuple[Candidate, ...]
    excluded: tuple[tuple[int, str], ...]
    can_meet_target: bool
    target_s: int


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60)) if seconds > 0 else 0


def _reason(c: CaregiverState, finish_s: int, travel_s: int, has_preferred: bool) -> str:
    verb = _MODE_VERB[c.mode]
    trip = f"{verb}约{_minutes(travel_s)}分钟" if travel_s > 0 else "已在现场附近"
    if c.current is None:
        text = f"空闲，{trip}"
    else:
        label = c.current.label or "服务"
        if c.current.interruptible:
            text = f"正在{label}（可中断）约{_minutes(finish_s)}分钟后出发，再{trip}"
        else:
            text = f"正在{label}（不可中断）还需{_minutes(finish_s)}分钟，再{trip}"
    return text + ("，持急救证" if has_preferred else "")


def rank_for_emergency(
    request: EmergencyRequest,
    caregivers: Sequence[CaregiverState],
    travel: TravelTimeModel,
    *,
    target_s: int = 1200,
    plan_s: int = 960,
    exclude: frozenset[int] = frozenset(),
    break_off_s: int = 60,
) -> EmergencyRanking:
    """Rank on-duty caregivers for a help call.

    ETA = time to finish a task that cannot be interrupted (or `break_off_s` to leave one that
    can) + travel from where they are. Those who arrive within `plan_s` come first, and among
    them those with a preferred skill (first aid); then by ETA, then by caregiver id.
    """
    excluded: list[tuple[int, str]] = []
    eligible: list[tuple[CaregiverState, GeoPoint, int]] = []
    for c in caregivers:
        origin = c.current.location if c.current is not None else c.location
        missing = request.required_skills - c.skills
        if c.caregiver_id in exclude:
            excluded.append((c.caregiver_id, WHY_DECLINED))
        elif not c.on_duty:
            excluded.append((c.caregiver_id, WHY_OFF_DUTY))
        elif c.on_emergency:
            excluded.append((c.caregiver_id, WHY_ON_EMERGENCY))
        elif origin is None or not origin.is_valid():
            excluded.append((c.caregiver_id, WHY_NO_LOCATION))
        elif missing:
            excluded.append((c.caregiver_id, f"{WHY_MISSING_SKILL}：{'、'.join(sorted(missing))}"))
        else:
            finish = 0
            if c.current is not None:
                finish = (
                    min(break_off_s, max(0, c.current.remaining_s))
                    if c.current.interruptible
                    else max(0, c.current.remaining_s)
                )
            eligible.append((c, origin, finish))

    # One matrix call per travel mode (an OSRM adapter then makes one request per mode).
    travel_s: dict[int, int] = {}
    for mode in TravelMode:
        group = [(c, o) for c, o, _ in eligible if c.mode == mode]
        if group:
            rows = travel.matrix([o for _, o in group], [request.location], mode)
            for (c, _), row in zip(group, rows, strict=True):
                travel_s[c.caregiver_id] = int(row[0])

    candidates: list[Candidate] = []
    for c, _, finish in eligible:
        t = travel_s[c.caregiver_id]
        eta = finish + t
        preferred = bool(request.preferred_skills & c.skills)
        interrupts = (
            c.current.task_id if c.current is not None and c.current.interruptible else None
        )
        candidates.append(
            Candidate(
                caregiver_id=c.caregiver_id,
                name=c.name,
                eta_s=eta,
                travel_s=t,
                finish_s=finish,
                meets_target=eta <= target_s,
                has_preferred=preferred,
                reason=_reason(c, finish, t, preferred),
                interrupts=interrupts,
            )
        )

    def key(x: Candidate) -> tuple[bool, bool, int, int]:
        within = x.eta_s <= plan_s
        return (not within, not (within and x.has_preferred), x.eta_s, x.caregiver_id)

    candidates.sort(key=key)
    excluded.sort()
    return EmergencyRanking(
        best=candidates[0] if candidates else None,
        candidates=tuple(candidates),
        excluded=tuple(excluded),
        can_meet_target=any(c.meets_target for c in candidates),
        target_s=target_s,
    )
