"""Who should go to a help call: candidates ranked by ETA, with the reasons for the console."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeGuard

from dispatch.geo import GeoPoint
from dispatch.travel import TravelMode, TravelTimeModel

ExclusionCode = Literal["declined", "off_duty", "no_location", "on_emergency", "missing_skill"]


@dataclass(frozen=True, order=True)
class Exclusion:
    """Why a caregiver is not a candidate, as data: a code, and the skills they lack."""

    code: ExclusionCode
    skills: tuple[str, ...] = ()

    def params(self) -> dict[str, Any]:
        """The fields besides the code, as JSON values."""
        return {"skills": list(self.skills)} if self.skills else {}


WHY_DECLINED = Exclusion("declined")  # said no, or did not answer, a few minutes ago
WHY_OFF_DUTY = Exclusion("off_duty")
WHY_NO_LOCATION = Exclusion("no_location")
WHY_ON_EMERGENCY = Exclusion("on_emergency")


def missing_skills(skills: frozenset[str]) -> Exclusion:
    """Left out for lacking a required skill (``skills``, sorted)."""
    return Exclusion("missing_skill", tuple(sorted(skills)))


OVERRUN_FLOOR_S = 600  # a visit past its booked length still needs up to this much


def remaining_work_s(duration_s: float, elapsed_s: float) -> int:
    """Time a visit in progress still needs: the booked rest while it runs to time, and once
    it runs over, not zero but a quarter of its length, at most OVERRUN_FLOOR_S. The
    caregiver is still in it (an overrunning bath is not finished), and the dispatcher must
    not count her as free the moment the booking says she should be."""
    booked_left = duration_s - elapsed_s
    floor = min(OVERRUN_FLOOR_S, 0.25 * max(0.0, duration_s))
    return int(max(booked_left, floor))


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


ReasonCode = Literal["idle", "busy_can_break_off", "busy_must_finish"]
REASON_CODES: tuple[ReasonCode, ...] = ("idle", "busy_can_break_off", "busy_must_finish")


@dataclass(frozen=True)
class Reason:
    """Why a caregiver is a candidate, as data: a ``code`` and its ``params()``.

    The ranking and the offer store exactly these; server/texts renders them for each reader
    in Chinese or English (``dispatch_reason``). Nothing here is a sentence.
    """

    mode: TravelMode
    travel_min: int  # 0: already close by
    busy_with: str | None = None  # the current work's label ("" if it has none); None: idle
    interruptible: bool = True
    finish_min: int = 0
    first_aid: bool = False
    alone: bool = False  # asked again: nobody else who can make the promise can go (ask_again)

    @property
    def code(self) -> ReasonCode:
        if self.busy_with is None:
            return "idle"
        return "busy_can_break_off" if self.interruptible else "busy_must_finish"

    def params(self) -> dict[str, Any]:
        """The fields besides the code, as JSON values (``interruptible`` is in the code;
        ``alone`` only when set, so that every other stored reason reads as before)."""
        return {
            "mode": self.mode.value,
            "travel_min": self.travel_min,
            "busy_with": self.busy_with,
            "finish_min": self.finish_min,
            "first_aid": self.first_aid,
            **({"alone": True} if self.alone else {}),
        }

    @classmethod
    def from_data(cls, code: Any, params: Any) -> Reason | None:
        """The Reason behind a stored code and params, or None when they do not read as one
        (a row written by hand or by another version)."""
        if code not in REASON_CODES or not isinstance(params, Mapping):
            return None
        raw_mode = params.get("mode")
        if raw_mode not in tuple(
            m.value for m in TravelMode
        ):  # (a tuple: the value may be unhashable)
            return None
        mode = TravelMode(raw_mode)
        travel, finish = params.get("travel_min"), params.get("finish_min", 0)
        busy_with, first_aid = params.get("busy_with"), params.get("first_aid", False)
        alone = params.get("alone", False)
        if not _count(travel) or not _count(finish) or not isinstance(first_aid, bool):
            return None
        if not isinstance(alone, bool):
            return None
        if code == "idle":
            return cls(mode=mode, travel_min=travel, first_aid=first_aid, alone=alone)
        if not isinstance(busy_with, str):
            return None
        return cls(
            mode=mode,
            travel_min=travel,
            busy_with=busy_with,
            interruptible=code == "busy_can_break_off",
            finish_min=finish,
            first_aid=first_aid,
            alone=alone,
        )


def _count(v: object) -> TypeGuard[int]:
    """A whole number of minutes (not a bool, not negative)."""
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


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
    why: Reason  # the reason, as data
    interrupts: str | None = None  # task_id that would be broken off, if any
    lent: bool = False  # of a neighbouring station (dispatch.neighbours)
    again: bool = False  # did not take the call a moment ago, asked again (ask_again)


@dataclass(frozen=True)
class EmergencyRanking:
    """The choice, the runners-up (best first), who was left out and why."""

    best: Candidate | None
    candidates: tuple[Candidate, ...]
    excluded: tuple[tuple[int, Exclusion], ...]
    can_meet_target: bool
    target_s: int


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60)) if seconds > 0 else 0


def _reason(c: CaregiverState, finish_s: int, travel_s: int, has_preferred: bool) -> Reason:
    return Reason(
        mode=c.mode,
        travel_min=_minutes(travel_s),
        busy_with=c.current.label if c.current is not None else None,
        interruptible=c.current.interruptible if c.current is not None else True,
        finish_min=_minutes(finish_s),
        first_aid=has_preferred,
    )


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
    excluded: list[tuple[int, Exclusion]] = []
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
            excluded.append((c.caregiver_id, missing_skills(missing)))
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
        why = _reason(c, finish, t, preferred)
        candidates.append(
            Candidate(
                caregiver_id=c.caregiver_id,
                name=c.name,
                eta_s=eta,
                travel_s=t,
                finish_s=finish,
                meets_target=eta <= target_s,
                has_preferred=preferred,
                why=why,
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


MAX_BACKUP_OFFERS = 2  # runners-up offered beside the first choice, at most


def offer_batch(
    ranking: EmergencyRanking, *, offer_timeout_s: int, max_backups: int = MAX_BACKUP_OFFERS
) -> tuple[Candidate, ...]:
    """Who is offered the call now: the first choice, and beside them each runner-up who can
    still make the promise now but could not after waiting one offer timeout for an answer
    (at most ``max_backups`` of them, in rank order).

    Offers go one at a time while that costs nothing: a runner-up with a timeout of slack can
    be asked after the first choice says no or lets the offer lapse. Where the roads are long
    a runner-up often has less slack than that, and asking in turn would make them late the
    moment the first choice does not answer; so they are asked at once, the first to accept
    goes and the other offers are withdrawn."""
    if ranking.best is None:
        return ()
    again = tuple(c for c in ranking.candidates if c.again)
    if not again:
        return _batch(ranking, offer_timeout_s, max_backups)
    # (ask_again) Those asked again, and beside them whoever would have been asked without
    # them: the first to accept goes, so the call is never worse off than without them.
    rest = tuple(c for c in ranking.candidates if not c.again)
    return (
        *_batch(_only(ranking, again), offer_timeout_s, max_backups),
        *_batch(_only(ranking, rest), offer_timeout_s, max_backups),
    )


def _only(ranking: EmergencyRanking, candidates: tuple[Candidate, ...]) -> EmergencyRanking:
    return replace(ranking, best=candidates[0] if candidates else None, candidates=candidates)


def _batch(
    ranking: EmergencyRanking, offer_timeout_s: int, max_backups: int
) -> tuple[Candidate, ...]:
    if ranking.best is None:
        return ()
    target = ranking.target_s
    # A runner-up whose ETA waits on the end of a bath or a rehab session is not asked beside
    # the first choice: that end is the booking's guess (she overruns, and her slack here is
    # under a minute), and if she answered first she would take the call from a first choice
    # who can keep her ETA.
    backups = [
        c
        for c in ranking.candidates[1:]
        if c.eta_s <= target
        and c.eta_s + offer_timeout_s > target
        and c.why.code != "busy_must_finish"
    ]
    return (ranking.best, *backups[:max_backups])


def in_time(ranking: EmergencyRanking, *, elapsed_s: int) -> bool:
    """Whether a candidate of the ranking can be on scene within the promise, which runs from
    the press (``elapsed_s`` ago), not from the ranking."""
    return any(elapsed_s + c.eta_s <= ranking.target_s for c in ranking.candidates)


def ask_again(
    first: EmergencyRanking, wider: EmergencyRanking, *, elapsed_s: int
) -> EmergencyRanking:
    """The ranking when nobody who can make the promise is left to ask: ``first`` ranks
    without anyone asked a moment ago, ``wider`` with those of them who may be asked again
    (the caller decides who, and after how long). Those who are back in ``wider`` come first,
    marked ``again`` and with ``alone`` in their reason ("nobody else can go"); ``first``'s
    candidates follow, and ``offer_batch`` asks both at once, so the call is never offered
    later than without them. With a runner-up in ``first`` (late, or there would be no
    asking again) only those who would still be on scene within the promise are asked again:
    one who is late as well is no better than the runner-up. With nobody in ``first``,
    whoever is back is the only one, in time or not."""
    if in_time(first, elapsed_s=elapsed_s):
        return first
    known = {c.caregiver_id for c in first.candidates}
    back = [c for c in wider.candidates if c.caregiver_id not in known]
    if first.best is not None:
        back = [c for c in back if elapsed_s + c.eta_s <= first.target_s]
    if not back:
        return first
    marked = tuple(replace(c, again=True, why=replace(c.why, alone=True)) for c in back)
    return EmergencyRanking(
        best=marked[0],
        candidates=(*marked, *first.candidates),
        excluded=wider.excluded,
        can_meet_target=any(c.meets_target for c in (*marked, *first.candidates)),
        target_s=first.target_s,
    )
