"""The simulator's scenario file: one district's day, as data (docs/sim.md explains it).

A scenario names the stations and their teams, the elders (a list, or how to generate them),
the day's bookings, meals and help calls (a list, or a process to draw them from), how the
simulated people behave, what goes wrong, the travel model, the solver's *work* limits and
the policy's timings. Times of day are local (Asia/Shanghai) "HH:MM" strings; every point is
in `coord_system` (GCJ-02 unless said otherwise) and converted to GCJ-02 on loading.

Shape rules are here (types, ranges, unknown fields refused); rules that need the whole file
(references, coverage, overlapping shifts, coordinates that look wrong) are in
``sim/scenario.py``, which reports both kinds with the field and the row.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from schemas.common import CoordSystemName, Model
from schemas.hotline import OverrideIn
from schemas.incidents import CallType
from schemas.registry import SKILLS, CareLevel, Living

Key = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
        description="an identifier: letters, digits, '_' and '-'",
    ),
]
CaregiverRef = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*\.[1-9][0-9]*$",
        description="a caregiver as STATION.N: the N-th caregiver of the station, counting "
        "the team's rows in order and each row's count",
    ),
]
ClockTime = Annotated[
    str,
    Field(
        pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?|24:00)$",
        description="local time of day, HH:MM or HH:MM:SS (24:00 ends the day)",
    ),
]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Seconds = Annotated[float, Field(ge=0, le=86_400, allow_inf_nan=False)]
Rate = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]  # at most 1 per elder-hour
Metres = Annotated[float, Field(gt=0, le=100_000, allow_inf_nan=False)]


def clock_s(value: str) -> int:
    """Seconds after local midnight of a ClockTime ("24:00" is 86,400)."""
    parts = [int(p) for p in value.split(":")]
    return parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) == 3 else 0)


class Coord(Model):
    """A point in the scenario's `coord_system`."""

    lat: float = Field(ge=-90, le=90, strict=True, allow_inf_nan=False)
    lng: float = Field(ge=-180, le=180, strict=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _swapped(cls, data: Any) -> Any:
        # Said before the range check, which would only say "lat must be <= 90".
        if isinstance(data, dict):
            lat, lng = data.get("lat"), data.get("lng")
            if (
                isinstance(lat, int | float)
                and isinstance(lng, int | float)
                and abs(lat) > 90 >= abs(lng)
            ):
                raise ValueError(f"lat {lat:g} and lng {lng:g} look swapped (lat is -90..90)")
        return data


class Hours(Model):
    """A daily window, local time; `closes` is after `opens`."""

    opens: ClockTime
    closes: ClockTime

    @model_validator(mode="after")
    def _ordered(self) -> Hours:
        if clock_s(self.closes) <= clock_s(self.opens):
            raise ValueError(f"closes ({self.closes}) must be after opens ({self.opens})")
        return self


class Delay(Model):
    """A random duration in seconds: log-normal with this median and 90th percentile, cut
    at `max_s`. `p90_s` equal to `median_s` makes it fixed; a median of 0 makes it 0."""

    median_s: Seconds
    p90_s: Seconds
    max_s: Seconds | None = Field(default=None, description="no draw is longer (default: none)")

    @model_validator(mode="after")
    def _ordered(self) -> Delay:
        if self.p90_s < self.median_s:
            raise ValueError(f"p90_s ({self.p90_s}) must be >= median_s ({self.median_s})")
        if self.max_s is not None and self.max_s < self.median_s:
            raise ValueError(f"max_s ({self.max_s}) must be >= median_s ({self.median_s})")
        return self


class Factor(Model):
    """A random multiplier: log-normal with median 1 and this 90th percentile, kept inside
    [`min`, `max`]. `p90` of 1 means no noise."""

    p90: float = Field(default=1.0, ge=1, le=5, allow_inf_nan=False)
    min: float = Field(default=0.5, gt=0, le=1, allow_inf_nan=False)
    max: float = Field(default=3.0, ge=1, le=10, allow_inf_nan=False)


# ----- the district -------------------------------------------------------------------


class Kitchen(Model):
    """The central kitchen (中央厨房) whose couriers deliver this station's lunches."""

    name: str = Field(min_length=1, max_length=100)
    location: Coord | None = Field(default=None, description="default: at the station")
    cutoff: ClockTime = Field(default="09:30", description="orders close (then routes are made)")
    ready: ClockTime = Field(default="10:45", description="the first boxes are ready")
    lunch: Hours = Field(
        default=Hours(opens="11:00", closes="12:30"), description="deliveries arrive inside"
    )
    max_minutes_to_door: int = Field(
        default=30, ge=5, le=120, description="hot food: kitchen to door at most"
    )
    box_capacity: int = Field(default=12, ge=1, le=100, description="boxes one courier carries")


class Shift(Model):
    """One shift. An `end` not after `start` runs past midnight: the simulated day is
    00:00-24:00, so 20:00-08:00 means on duty 00:00-08:00 and 20:00-24:00 of that day."""

    start: ClockTime
    end: ClockTime
    on_call: bool = Field(
        default=False,
        description="night on-call (夜间值班): help calls only, from home, after a wake-up delay",
    )


class Answers(Model):
    """How a caregiver answers an offer: the chance to accept and to decline (what is left
    is no answer at all: the offer times out), and how long each takes."""

    accept: Share = 0.9
    decline: Share = 0.05
    accept_delay: Delay = Delay(median_s=15, p90_s=45, max_s=300)
    decline_delay: Delay = Delay(median_s=10, p90_s=30, max_s=300)

    @model_validator(mode="after")
    def _at_most_one(self) -> Answers:
        if self.accept + self.decline > 1 + 1e-9:
            raise ValueError(f"accept + decline is {self.accept + self.decline:g}, above 1")
        return self


class TeamRow(Model):
    """One caregiver, or `count` alike (named `name`1, `name`2, ... when a name is given)."""

    count: int = Field(default=1, ge=1, le=200)
    name: str | None = Field(default=None, min_length=1, max_length=40)
    shifts: list[Shift] = Field(min_length=1, max_length=6)
    skills: list[str] = Field(default=[], description="from the registry's skills")
    mode: Literal["walk", "ebike", "car"] = "ebike"
    home: Coord | None = Field(
        default=None, description="start and end here instead of the station"
    )
    home_radius_m: Metres | None = Field(
        default=None, description="without `home`: draw a home this far from the station at most"
    )
    lunch: bool = Field(default=True, description="a 30-minute break between 11:30 and 13:00")
    answers: Answers | None = Field(default=None, description="default: behaviour.answers")

    @field_validator("skills")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        unknown = sorted(set(v) - set(SKILLS))
        if unknown:
            raise ValueError(f"unknown skills {unknown}; known: {list(SKILLS)}")
        return sorted(set(v))


class Station(Model):
    """A community station (社区养老服务站) and its team."""

    id: Key
    name: str = Field(min_length=1, max_length=100)
    location: Coord
    circle_minutes: int = Field(default=15, ge=5, le=60, description="the service circle")
    circle_mode: Literal["walk", "ebike", "car"] = Field(
        default="ebike", description="the circle is how far this mode gets in circle_minutes"
    )
    hours: Hours = Field(
        default=Hours(opens="08:00", closes="18:00"), description="visits are booked inside"
    )
    kitchen: Kitchen | None = None
    caregivers: list[TeamRow] = Field(default=[], max_length=100)


class District(Model):
    name: str = Field(min_length=1, max_length=100)
    stations: list[Station] = Field(min_length=1, max_length=200)


# ----- elders -------------------------------------------------------------------------


class ElderRow(Model):
    """One elder, given explicitly."""

    id: Key
    name: str | None = Field(default=None, min_length=1, max_length=50)
    station: Key | None = Field(default=None, description="default: the nearest station")
    location: Coord
    care_level: CareLevel = CareLevel.SELF_CARE
    living: Living = Living.WITH_FAMILY
    high_risk: bool = False
    device: bool = Field(default=True, description="has a help button; else calls by phone")
    age: int = Field(default=75, ge=60, le=120)


class ElderList(Model):
    kind: Literal["list"]
    rows: list[ElderRow] = Field(min_length=1, max_length=50_000)


class Compound(Model):
    """A residential compound (小区) or village: elders within `radius_m` of the centre."""

    name: str = Field(min_length=1, max_length=60)
    centre: Coord
    size: Weight = Field(description="relative: a compound of size 2 gets twice the elders of 1")
    radius_m: Metres = 150
    station: Key | None = Field(default=None, description="default: the nearest station")


class AgeRange(Model):
    """Ages drawn from a triangle between `min` and `max` peaking at `mode`."""

    min: int = Field(default=60, ge=60, le=120)
    mode: int = Field(default=74, ge=60, le=120)
    max: int = Field(default=98, ge=60, le=120)

    @model_validator(mode="after")
    def _ordered(self) -> AgeRange:
        if not self.min <= self.mode <= self.max:
            raise ValueError("ages must satisfy min <= mode <= max")
        return self


def _care_mix() -> dict[CareLevel, float]:
    return {CareLevel.SELF_CARE: 0.7, CareLevel.SEMI_DEPENDENT: 0.2, CareLevel.DEPENDENT: 0.1}


def _risk_by_care() -> dict[CareLevel, float]:
    return {CareLevel.SELF_CARE: 0.02, CareLevel.SEMI_DEPENDENT: 0.15, CareLevel.DEPENDENT: 0.4}


class ElderGenerator(Model):
    """`count` elders: the scattered share uniformly inside the stations' circles, the rest
    in the compounds in proportion to their sizes."""

    kind: Literal["generate"]
    count: int = Field(ge=1, le=50_000)
    compounds: list[Compound] = Field(default=[], max_length=2_000)
    scattered_share: Share = 0.1
    care_levels: dict[CareLevel, Weight] = Field(
        default=_care_mix(), description="relative weights of 自理 / 半失能 / 失能"
    )
    living_alone_share: Share = Field(default=0.2, description="独居")
    empty_nest_share: Share = Field(default=0.3, description="空巢 (of those not living alone)")
    high_risk_by_care_level: dict[CareLevel, Share] = Field(
        default=_risk_by_care(), description="chance of being high-risk per care level"
    )
    alone_risk_factor: float = Field(
        default=2.0, ge=1, le=10, description="living alone multiplies that chance (capped at 1)"
    )
    device_share: Share = Field(default=0.6, description="share with a help button (一键呼)")
    age: AgeRange = AgeRange()


Elders = Annotated[ElderList | ElderGenerator, Field(discriminator="kind")]


# ----- the day's work -----------------------------------------------------------------


class BookingRow(Model):
    """One visit: the service `item` (a menu code) inside the window [start, end]."""

    elder: Key
    item: str = Field(min_length=1, max_length=40)
    start: ClockTime
    end: ClockTime

    @model_validator(mode="after")
    def _ordered(self) -> BookingRow:
        if clock_s(self.end) <= clock_s(self.start):
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


class BookingList(Model):
    kind: Literal["list"]
    rows: list[BookingRow] = Field(default=[], max_length=50_000)


def _care_weight() -> dict[CareLevel, float]:
    return {CareLevel.SELF_CARE: 1.0, CareLevel.SEMI_DEPENDENT: 2.5, CareLevel.DEPENDENT: 4.0}


def _default_menu() -> dict[str, float]:
    # Items whose skill the registry knows (or that need none); see sim/menu.py.
    return {
        "door-knock": 14,
        "chat": 12,
        "medicine-delivery": 12,
        "shopping": 10,
        "read-news": 6,
        "laundry": 8,
        "gas-grain": 4,
        "bath-help": 12,
        "haircut": 5,
        "rehab": 8,
        "festival-visit": 3,
    }


class BookingGenerator(Model):
    """`count` visits over the district: items drawn from `menu` (code: weight), elders by
    `care_weight`, windows of `window_minutes` inside the station's hours."""

    kind: Literal["generate"]
    count: int = Field(ge=0, le=50_000)
    menu: dict[str, Weight] = Field(default=_default_menu())
    window_minutes: int = Field(default=120, ge=15, le=600)
    care_weight: dict[CareLevel, Weight] = Field(default=_care_weight())


Bookings = Annotated[BookingList | BookingGenerator, Field(discriminator="kind")]


class MealRow(Model):
    elder: Key
    boxes: int = Field(default=1, ge=1, le=10)


class MealList(Model):
    kind: Literal["list"]
    rows: list[MealRow] = Field(default=[], max_length=50_000)


class MealGenerator(Model):
    """`count` lunch deliveries, at most one per elder, among elders of stations with a
    kitchen, drawn by `care_weight`."""

    kind: Literal["generate"]
    count: int = Field(ge=0, le=50_000)
    care_weight: dict[CareLevel, Weight] = Field(default=_care_weight())
    boxes: int = Field(default=1, ge=1, le=10)


Meals = Annotated[MealList | MealGenerator, Field(discriminator="kind")]


# ----- help calls ---------------------------------------------------------------------


class CallRow(Model):
    """One press (or phone call) at a given time."""

    elder: Key
    at: ClockTime
    type: CallType = CallType.EMERGENCY
    false_alarm: bool = Field(default=False, description="a test or accidental press")
    repeat_after_s: Seconds | None = Field(default=None, description="pressed again this later")


class CallList(Model):
    kind: Literal["list"]
    rows: list[CallRow] = Field(default=[], max_length=50_000)


def _type_mix() -> dict[CallType, float]:
    return {
        CallType.EMERGENCY: 0.25,
        CallType.HEALTH: 0.3,
        CallType.SERVICE: 0.3,
        CallType.FAMILY: 0.15,
    }


def _care_factor() -> dict[CareLevel, float]:
    return {CareLevel.SELF_CARE: 1.0, CareLevel.SEMI_DEPENDENT: 1.5, CareLevel.DEPENDENT: 2.0}


class CallProcess(Model):
    """Help calls as a non-homogeneous Poisson process: `rate_per_1000_per_hour[h]` calls
    per 1,000 elders in hour h (0 = 00:00-01:00), split among elders by `care_factor` and
    `high_risk_factor` (the station's total stays the rate)."""

    kind: Literal["generate"]
    rate_per_1000_per_hour: list[Rate] = Field(min_length=24, max_length=24)
    types: dict[CallType, Weight] = Field(
        default=_type_mix(), description="急救 / 健康咨询 / 为老服务 / 亲情, relative"
    )
    false_alarm_share: Share = Field(default=0.3, description="tests and accidental presses")
    test_share_of_false_alarms: Share = 0.4
    repeat_press_share: Share = Field(default=0.1, description="pressed again shortly after")
    repeat_delay: Delay = Delay(median_s=60, p90_s=240, max_s=900)
    care_factor: dict[CareLevel, Weight] = Field(default=_care_factor())
    high_risk_factor: float = Field(default=3.0, ge=0, le=100, allow_inf_nan=False)


Calls = Annotated[CallList | CallProcess, Field(discriminator="kind")]


# ----- behaviour and disruptions ------------------------------------------------------


class Offline(Model):
    """A phone drops off: in each on-duty hour with this chance, for a drawn length."""

    chance_per_hour: Share = 0.02
    length: Delay = Delay(median_s=600, p90_s=1800, max_s=7200)


class Answerer(Model):
    """Someone the escalation chain calls (a neighbour, the family): the chance they take
    responsibility when called, and how long after the call."""

    chance: Share
    delay: Delay


class Behaviour(Model):
    """How the simulated people act."""

    answers: Answers = Answers()
    depart_delay: Delay = Field(
        default=Delay(median_s=30, p90_s=90, max_s=300), description="accepted → on the way"
    )
    on_call_depart_delay: Delay = Field(
        default=Delay(median_s=300, p90_s=600, max_s=1200), description="the same, woken at home"
    )
    offline: Offline = Offline()
    travel_noise: Factor = Factor(p90=1.2)
    service_noise: Factor = Factor(p90=1.25)
    on_scene: Delay = Field(
        default=Delay(median_s=1200, p90_s=2700, max_s=7200), description="arrived → resolved"
    )
    operator_callback: Delay = Field(
        default=Delay(median_s=60, p90_s=180, max_s=900), description="press → the call-back"
    )
    neighbour: Answerer = Answerer(chance=0.6, delay=Delay(median_s=120, p90_s=300))
    family: Answerer = Answerer(chance=0.7, delay=Delay(median_s=180, p90_s=600))


class Sick(Model):
    """A caregiver goes off sick at `at` for the rest of the day."""

    kind: Literal["sick"]
    caregiver: CaregiverRef
    at: ClockTime


class SlowArea(Model):
    """Trips starting or ending inside the circle take `factor` times as long (roadworks,
    a market, snow) between `start` and `end`."""

    kind: Literal["slow_area"]
    centre: Coord
    radius_m: Metres
    factor: float = Field(ge=1, le=10, allow_inf_nan=False)
    start: ClockTime = "00:00"
    end: ClockTime = "24:00"


class Surge(Model):
    """More calls between `start` and `end` (a heat wave): the rate times `factor`, at the
    listed stations (default all), with another type mix if given."""

    kind: Literal["surge"]
    start: ClockTime
    end: ClockTime
    factor: float = Field(gt=0, le=100, allow_inf_nan=False)
    stations: list[Key] | None = None
    types: dict[CallType, Weight] | None = None


Disruption = Annotated[Sick | SlowArea | Surge, Field(discriminator="kind")]


# ----- models and limits --------------------------------------------------------------


class Speeds(Model):
    """Metres per second."""

    walk: float = Field(default=1.2, gt=0, le=50, allow_inf_nan=False)
    ebike: float = Field(default=4.2, gt=0, le=50, allow_inf_nan=False)
    car: float = Field(default=6.0, gt=0, le=50, allow_inf_nan=False)


class Travel(Model):
    """dispatch/travel.py's great-circle model: distance × detour ÷ speed + overhead."""

    kind: Literal["great_circle"] = "great_circle"
    detour_factor: float = Field(default=1.3, ge=1, le=5, allow_inf_nan=False)
    speeds_mps: Speeds = Speeds()
    overhead_s: int = Field(default=120, ge=0, le=1800)


class SolverLimits(Model):
    """Work limits, not seconds, so a run gives the same answer on any machine: OR-Tools
    stops after this many improving solutions (or at a local optimum), and no phase of a
    solve reads the clock. `safety_seconds` only sets the watchdog's deadline (6 times it
    plus 15 s), after which a solve that hangs is killed and the solver-free plan is used."""

    day_plan_solutions: int = Field(default=200, ge=1, le=100_000)
    replan_solutions: int = Field(default=50, ge=1, le=100_000)
    meal_solutions: int = Field(default=100, ge=1, le=100_000)
    safety_seconds: float = Field(default=60, gt=0, le=3600, allow_inf_nan=False)


class Policy(Model):
    """The policy `sim run` uses unless told, and the timings production uses."""

    default: Literal["anxin", "greedy"] = "anxin"
    offer_timeout_s: int = Field(default=60, ge=10, le=600)
    sla_s: int = Field(default=1200, ge=60, le=7200, description="the 20-minute promise")
    plan_eta_s: int = Field(default=960, ge=60, le=7200, description="plan ETAs against this")
    repeat_press_window_min: int = Field(default=10, ge=0, le=60)
    escalation: OverrideIn | None = Field(
        default=None, description="changes to the default chain, as the hotline API takes them"
    )


class Scenario(Model):
    """One district's day."""

    version: Literal[1] = 1
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    start_date: date = Field(description="the simulated day (local)")
    coord_system: CoordSystemName = Field(
        default=CoordSystemName.GCJ02, description="of every point in the file"
    )
    district: District
    elders: Elders
    bookings: Bookings = BookingList(kind="list")
    meals: Meals = MealList(kind="list")
    calls: Calls
    behaviour: Behaviour = Behaviour()
    disruptions: list[Disruption] = Field(default=[], max_length=500)
    travel: Travel = Travel()
    solver: SolverLimits = SolverLimits()
    policy: Policy = Policy()
