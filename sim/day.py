"""A generated day: frozen data, in GCJ-02, times in seconds after local midnight.

`sim.generate.generate(scenario, seed)` makes a `Day`; the driver turns it into timed events
and acts for the people in it. What depends on how the day goes (which caregiver is offered
which call, which trip is ridden) cannot be drawn in advance, so the Day draws it on demand
from a stream named by what is asked (`offer_answer`, `trip_s`): the same caregiver asked about
the same call answers the same way under every policy, which keeps policy comparisons fair
(common random numbers).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo

from dispatch.geo import GeoPoint, haversine_m
from dispatch.model import latest_start_s
from dispatch.routing import SolverParams
from dispatch.travel import GreatCircleTravel, TravelMode, TravelParams
from schemas.hotline import PressOutcome
from schemas.incidents import CallType
from schemas.registry import CareLevel, Living
from schemas.sim import Delay, Factor, Scenario

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY_S = 86_400
_Z90 = 1.2815515655446004  # the standard normal's 90th percentile


def stream(seed: int, purpose: str, *keys: object) -> random.Random:
    """An independent random stream for one purpose (and key): drawing more of one thing
    never shifts another. String seeds are hashed with SHA-512, the same on every machine."""
    return random.Random(f"anxin-sim/{seed}/{purpose}/" + "/".join(str(k) for k in keys))


def draw_delay(rng: random.Random, d: Delay) -> int:
    """Whole seconds from a Delay (log-normal by median and 90th percentile)."""
    if d.median_s <= 0:
        return 0
    sigma = math.log(d.p90_s / d.median_s) / _Z90 if d.p90_s > d.median_s else 0.0
    value = d.median_s * math.exp(sigma * rng.gauss(0.0, 1.0)) if sigma else d.median_s
    if d.max_s is not None:
        value = min(value, d.max_s)
    return round(value)


def draw_factor(rng: random.Random, f: Factor) -> float:
    """A multiplier with median 1 (log-normal), inside [f.min, f.max]."""
    sigma = math.log(f.p90) / _Z90
    return min(f.max, max(f.min, math.exp(sigma * rng.gauss(0.0, 1.0))))


@dataclass(frozen=True)
class Kitchen:
    name: str
    location: GeoPoint
    cutoff_s: int
    ready_s: int
    lunch_opens_s: int
    lunch_closes_s: int
    max_to_door_s: int
    box_capacity: int


@dataclass(frozen=True)
class Station:
    id: str
    name: str
    location: GeoPoint
    circle_minutes: int
    circle_mode: TravelMode
    circle_radius_m: float
    opens_s: int
    closes_s: int
    kitchen: Kitchen | None


@dataclass(frozen=True)
class Elder:
    id: str
    name: str
    station_id: str
    location: GeoPoint
    care_level: CareLevel
    living: Living
    high_risk: bool
    device: bool  # a help button; without one the elder phones the hotline
    age: int
    compound: str | None = None  # None: an explicit row or scattered


@dataclass(frozen=True)
class Span:
    """A stretch of duty; on-call spans take help calls only, from home."""

    start_s: int
    end_s: int
    on_call: bool = False


@dataclass(frozen=True)
class AnswerParams:
    accept: float
    decline: float
    accept_delay: Delay = field(hash=False)
    decline_delay: Delay = field(hash=False)


@dataclass(frozen=True)
class Caregiver:
    id: str  # STATION.N
    station_id: str
    name: str
    skills: frozenset[str]
    mode: TravelMode
    base: GeoPoint  # where shifts start and end: home if set, else the station
    home: GeoPoint | None
    shifts: tuple[Span, ...]
    lunch: bool
    answers: AnswerParams
    sick_from_s: int | None = None
    offline: tuple[tuple[int, int], ...] = ()  # phone off: (start, end) seconds

    def span_at(self, t: int) -> Span | None:
        """The shift covering t, if the caregiver is on duty (not yet off sick)."""
        if self.sick_from_s is not None and t >= self.sick_from_s:
            return None
        return next((s for s in self.shifts if s.start_s <= t < s.end_s), None)

    def on_duty(self, t: int) -> bool:
        return self.span_at(t) is not None

    def duty_until(self, t: int) -> int | None:
        """When the stretch of duty covering t ends: through any span that starts as the one
        before ends (a day shift that runs into night call is one stretch), or when she falls
        sick. None off duty."""
        span = self.span_at(t)
        if span is None:
            return None
        end = span.end_s
        while nxt := next((s for s in self.shifts if s.start_s <= end < s.end_s), None):
            end = nxt.end_s
        return end if self.sick_from_s is None else min(end, self.sick_from_s)

    def offline_at(self, t: int) -> bool:
        return any(a <= t < b for a, b in self.offline)


@dataclass(frozen=True)
class Visit:
    """A booked service: done inside [window_start_s, window_end_s] (the booking service's
    rule: the window holds the whole visit), so it starts by `latest_start_s`."""

    id: str
    elder_id: str
    station_id: str
    location: GeoPoint
    item: str
    name_zh: str
    skill: str | None
    interruptible: bool
    window_start_s: int
    window_end_s: int
    planned_s: int  # the menu's duration
    actual_s: int  # how long it takes today (service noise)

    @property
    def latest_start_s(self) -> int:
        """The latest start the elder was promised: the booked length before the window ends
        (the planner's rule, `dispatch.model.latest_start_s`)."""
        return latest_start_s(self.window_start_s, self.window_end_s, self.planned_s)


@dataclass(frozen=True)
class Meal:
    id: str
    elder_id: str
    station_id: str
    location: GeoPoint
    boxes: int


@dataclass(frozen=True)
class HelpCall:
    """One press or phone call, with what will happen around it whoever responds."""

    id: str
    elder_id: str
    station_id: str
    at_s: int
    type: CallType
    outcome: PressOutcome  # what the operator's call-back finds
    via: Literal["device", "phone"]
    location: GeoPoint
    repeat_of: str | None  # a second press of the same need
    surge: bool  # drawn from a surge's extra rate
    callback_after_s: int  # press → the operator's call-back
    on_scene_s: int  # a caregiver's time on scene before resolving
    neighbour_after_s: int | None  # takes responsibility this long after being called; None: never
    family_after_s: int | None

    @property
    def real_emergency(self) -> bool:
        """An emergency that the 20-minute promise counts: real, and not a repeat press."""
        return (
            self.type is CallType.EMERGENCY
            and self.outcome is PressOutcome.REAL
            and self.repeat_of is None
        )


@dataclass(frozen=True)
class SlowArea:
    centre: GeoPoint
    radius_m: float
    factor: float
    start_s: int
    end_s: int

    def applies(self, a: GeoPoint, b: GeoPoint, at_s: int) -> bool:
        if not self.start_s <= at_s < self.end_s:
            return False
        return min(haversine_m(a, self.centre), haversine_m(b, self.centre)) <= self.radius_m


@dataclass(frozen=True)
class OfferAnswer:
    """What a caregiver does with an offer: answer after `after_s` (for "none", never: the
    offer times out), and once accepted leave `depart_after_s` later."""

    answer: Literal["accept", "decline", "none"]
    after_s: int
    depart_after_s: int


SolverKind = Literal["day_plan", "replan", "meals"]


@dataclass(frozen=True)
class Day:
    """Everything that happens in the day whatever the policy does."""

    scenario: Scenario = field(hash=False, compare=False, repr=False)
    seed: int
    date: date
    stations: tuple[Station, ...]
    elders: tuple[Elder, ...]
    caregivers: tuple[Caregiver, ...]
    visits: tuple[Visit, ...]
    meals: tuple[Meal, ...]
    calls: tuple[HelpCall, ...]
    slow_areas: tuple[SlowArea, ...]
    travel: TravelParams = field(hash=False)

    # ----- looking things up -------------------------------------------------------------

    @cached_property
    def station_by_id(self) -> Mapping[str, Station]:
        return {s.id: s for s in self.stations}

    @cached_property
    def elder_by_id(self) -> Mapping[str, Elder]:
        return {e.id: e for e in self.elders}

    @cached_property
    def caregiver_by_id(self) -> Mapping[str, Caregiver]:
        return {c.id: c for c in self.caregivers}

    def team(self, station_id: str) -> tuple[Caregiver, ...]:
        return tuple(c for c in self.caregivers if c.station_id == station_id)

    def at(self, seconds: float) -> datetime:
        """The moment `seconds` after local midnight of the day, as aware UTC (for a clock)."""
        midnight = datetime.combine(self.date, time(0), SHANGHAI)
        return (midnight + timedelta(seconds=seconds)).astimezone(UTC)

    # ----- models ----------------------------------------------------------------------

    def travel_model(self) -> GreatCircleTravel:
        """The nominal model (what the dispatcher is told), without noise or slow areas."""
        return GreatCircleTravel(self.travel)

    def solver_params(self, kind: SolverKind, seed: int | None = None) -> SolverParams:
        """OR-Tools parameters bounded by work, not time. The region search is off: it gives
        each region a slice of wall-clock time, which would make runs machine-dependent."""
        limits = self.scenario.solver
        solutions = {
            "day_plan": limits.day_plan_solutions,
            "replan": limits.replan_solutions,
            "meals": limits.meal_solutions,
        }[kind]
        return SolverParams(
            time_limit_s=limits.safety_seconds,
            solution_limit=solutions,
            seed=self.seed if seed is None else seed,
            regions=False,
        )

    # ----- draws on demand -------------------------------------------------------------

    def offer_answer(self, caregiver_id: str, call_id: str, attempt: int = 1) -> OfferAnswer:
        """How `caregiver_id` answers the `attempt`-th offer of `call_id`."""
        c = self.caregiver_by_id[caregiver_id]
        rng = stream(self.seed, "offer", caregiver_id, call_id, attempt)
        u = rng.random()
        b = self.scenario.behaviour
        span = c.span_at(self.call_by_id[call_id].at_s) if call_id in self.call_by_id else None
        depart = b.on_call_depart_delay if span is not None and span.on_call else b.depart_delay
        if u < c.answers.accept:
            return OfferAnswer(
                "accept", draw_delay(rng, c.answers.accept_delay), draw_delay(rng, depart)
            )
        if u < c.answers.accept + c.answers.decline:
            return OfferAnswer("decline", draw_delay(rng, c.answers.decline_delay), 0)
        return OfferAnswer("none", 0, 0)

    @cached_property
    def call_by_id(self) -> Mapping[str, HelpCall]:
        return {c.id: c for c in self.calls}

    def travel_factor(self, caregiver_id: str, key: str) -> float:
        """The noise on one trip, named by its purpose (e.g. "call:H0012", "visit:V0031")."""
        rng = stream(self.seed, "trip", caregiver_id, key)
        return draw_factor(rng, self.scenario.behaviour.travel_noise)

    def slow_factor(self, a: GeoPoint, b: GeoPoint, at_s: int) -> float:
        return max((s.factor for s in self.slow_areas if s.applies(a, b, at_s)), default=1.0)

    def trip_s(self, caregiver_id: str, a: GeoPoint, b: GeoPoint, at_s: int, key: str) -> int:
        """How long the trip really takes when started at `at_s`: the nominal model × the
        trip's noise × any slow area at either end."""
        c = self.caregiver_by_id[caregiver_id]
        nominal = self.travel_model().seconds(a, b, c.mode)
        if nominal == 0:
            return 0
        return math.ceil(
            nominal * self.travel_factor(caregiver_id, key) * self.slow_factor(a, b, at_s)
        )
