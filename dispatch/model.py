"""The day-plan vocabulary: caregivers, tasks, snapshots, plans and their diffs (frozen data)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from types import MappingProxyType

from dispatch.geo import GeoPoint
from dispatch.routing import SolverParams
from dispatch.travel import TravelMode, TravelParams

HOUR = 3600
MINUTE = 60


class Priority(IntEnum):
    """How much it hurts to leave a task out; the higher, the later it is dropped."""

    LOW = 1  # paid housekeeping that can move to another day
    NORMAL = 2
    HIGH = 3  # subsidised care, medicine delivery
    ESSENTIAL = 4  # free service (无偿) or fully dependent (失能) elders
    EMERGENCY = 5  # a help call inserted into the plan


def default_drop_penalties() -> Mapping[Priority, int]:
    # In seconds of travel: a NORMAL task is worth up to two hours of extra riding.
    return MappingProxyType(
        {
            Priority.LOW: 1 * HOUR,
            Priority.NORMAL: 2 * HOUR,
            Priority.HIGH: 6 * HOUR,
            Priority.ESSENTIAL: 24 * HOUR,
            Priority.EMERGENCY: 10_000 * HOUR,
        }
    )


class UnassignedWhy(StrEnum):
    """Why a task is not in the plan (stable codes; `UNASSIGNED_TEXT` has the Chinese)."""

    DUPLICATE = "duplicate"
    BAD_LOCATION = "bad_location"
    BAD_WINDOW = "bad_window"
    WINDOW_CLOSED = "window_closed"
    NO_QUALIFIED = "no_qualified_caregiver"
    NO_SHIFT = "no_shift_fits"
    NO_TEAM = "no_caregivers"
    NO_ROOM = "no_room_in_plan"
    PIN_INVALID = "pinned_caregiver_unknown"
    TOO_FAR_FOR_HOT = "too_far_to_arrive_hot"
    TOO_MANY_BOXES = "too_many_boxes"
    OUTSIDE_CIRCLE = "outside_service_circle"
    UNREACHABLE = "unreachable_location"


UNASSIGNED_TEXT: Mapping[UnassignedWhy, str] = MappingProxyType(
    {
        UnassignedWhy.DUPLICATE: "重复的任务",
        UnassignedWhy.BAD_LOCATION: "地址坐标无效或不在服务范围内",
        UnassignedWhy.BAD_WINDOW: "时间窗无效",
        UnassignedWhy.WINDOW_CLOSED: "时间窗已过",
        UnassignedWhy.NO_QUALIFIED: "没有具备所需技能的护理员",
        UnassignedWhy.NO_SHIFT: "没有护理员的班次能覆盖该时间",
        UnassignedWhy.NO_TEAM: "今天没有在岗护理员",
        UnassignedWhy.NO_ROOM: "排不进今天的计划（时间或人手不足）",
        UnassignedWhy.PIN_INVALID: "锁定的护理员不在班",
        UnassignedWhy.TOO_FAR_FOR_HOT: "离厨房太远，无法在规定时间内热食送达",
        UnassignedWhy.TOO_MANY_BOXES: "餐盒数量超过送餐员的装载能力",
        UnassignedWhy.OUTSIDE_CIRCLE: "超出15分钟服务圈",
        UnassignedWhy.UNREACHABLE: "离服务站太远，护理员无法到达（可能在水上或坐标有误）",
    }
)


def latest_start_s(window_start_s: int, window_end_s: int, duration_s: int) -> int:
    """The latest start of work booked for a window: done by the window's end. A booking's
    window holds the whole visit, as the booking service books it (it refuses a window shorter
    than the service, offers as soon as possible a window exactly the service's length, and
    refuses two bookings of one elder whose windows overlap); a task's window means the same.
    A window shorter than the work (a hotline task due soon) starts it when the window opens."""
    return max(window_start_s, window_end_s - max(0, duration_s))


@dataclass(frozen=True)
class Lunch:
    """A lunch break of `duration_s` starting between `earliest_s` and `latest_s`."""

    earliest_s: int = 11 * HOUR + 30 * MINUTE
    latest_s: int = 13 * HOUR
    duration_s: int = 30 * MINUTE


@dataclass(frozen=True)
class Caregiver:
    """A caregiver on today's roster. Times are seconds since local midnight (Asia/Shanghai)."""

    caregiver_id: int
    name: str
    shift_start_s: int
    shift_end_s: int
    skills: frozenset[str] = frozenset()
    home: GeoPoint | None = None  # start and end at home when set, else at the station
    mode: TravelMode = TravelMode.EBIKE
    lunch: Lunch | None = field(default_factory=Lunch)
    max_work_s: int | None = None
    # When re-planning during the day: where they are now and from when they are free.
    location: GeoPoint | None = None
    available_from_s: int | None = None
    # When their working day began (counts against max_work_s on a re-plan); when unset, the
    # start of the plan in force, or the shift start once it has passed.
    started_s: int | None = None
    # Fixed blocks of the day taken by other work (a meal round): (start, end) seconds.
    busy: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Task:
    """A scheduled service at an elder's home; the service must start inside the window
    [earliest_s, latest_s] (for booked work, `latest_start_s`: so that it ends by the window's
    end)."""

    task_id: str
    elder_id: int
    location: GeoPoint
    earliest_s: int
    latest_s: int
    duration_s: int
    required_skills: frozenset[str] = frozenset()
    priority: Priority = Priority.NORMAL
    preferred_caregiver: int | None = None  # continuity of care: the elder's usual caregiver
    pinned_to: int | None = None  # started or en route: stays with this caregiver, first
    interruptible: bool = True  # a bath or a meal round cannot be broken off
    label: str = ""


@dataclass(frozen=True)
class PlannedVisit:
    """A task in a caregiver's route: when service starts and ends, travel to get there."""

    task_id: str
    caregiver_id: int
    start_s: int
    end_s: int
    travel_s: int


@dataclass(frozen=True)
class Route:
    """One caregiver's day: visits in order, when they leave and return, total travel."""

    caregiver_id: int
    visits: tuple[PlannedVisit, ...]
    start_s: int
    end_s: int
    travel_s: int
    lunch_start_s: int | None = None  # when the lunch break starts, if there is one


@dataclass(frozen=True)
class Unassigned:
    """A task left out of the plan, with a stable code and a reason for people."""

    task_id: str
    why: UnassignedWhy
    text: str
    distance_m: int | None = None  # from the station, for an unreachable location


@dataclass(frozen=True)
class PlanDiff:
    """What changed against the previous plan, one entry per task (for pushes)."""

    added: tuple[tuple[str, int], ...] = ()  # (task_id, caregiver_id)
    removed: tuple[tuple[str, int], ...] = ()  # (task_id, former caregiver_id)
    moved: tuple[tuple[str, int, int], ...] = ()  # (task_id, from, to)
    retimed: tuple[tuple[str, int, int, int], ...] = ()  # (task_id, caregiver, old, new start)

    @property
    def empty(self) -> bool:
        """True when nothing changed."""
        return not (self.added or self.removed or self.moved or self.retimed)

    def touched_caregivers(self) -> frozenset[int]:
        """Caregivers whose day changed and who need a push."""
        ids = {c for _, c in self.added} | {c for _, c in self.removed}
        ids |= {a for _, a, _ in self.moved} | {b for _, _, b in self.moved}
        ids |= {c for _, c, _, _ in self.retimed}  # same caregiver, another time: tell them
        return frozenset(ids)


@dataclass(frozen=True)
class DayPlan:
    """Routes per caregiver, tasks left out and why, and the numbers the console shows."""

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    travel_s: int
    objective: int
    seconds: float
    diff: PlanDiff = field(default_factory=PlanDiff)

    def visit_of(self, task_id: str) -> PlannedVisit | None:
        """The planned visit of a task, if planned."""
        for r in self.routes:
            for v in r.visits:
                if v.task_id == task_id:
                    return v
        return None

    def assignment(self) -> dict[str, int]:
        """task_id -> caregiver_id for every planned task."""
        return {v.task_id: r.caregiver_id for r in self.routes for v in r.visits}


@dataclass(frozen=True)
class DaySnapshot:
    """Everything a day plan needs: station, team, tasks, the time now, the current plan."""

    station: GeoPoint
    caregivers: tuple[Caregiver, ...]
    tasks: tuple[Task, ...]
    now_s: int = 0
    previous: DayPlan | None = None


@dataclass(frozen=True)
class PlanParams:
    """Weights and limits of a day plan; validates itself."""

    solver: SolverParams = field(
        default_factory=lambda: SolverParams(time_limit_s=2.0, portfolio_share=0.2)
    )
    travel: TravelParams = field(default_factory=TravelParams)
    drop_penalty_s: Mapping[Priority, int] = field(default_factory=default_drop_penalties)
    continuity_cost_s: int = 15 * MINUTE  # cost of sending someone other than the usual one
    circle_minutes: float = 15.0
    long_leg_cost_s: int = 30 * MINUTE  # extra cost of a leg longer than the circle allows
    # Each second of work (travel + service) above the team's fair share costs as much as
    # this many seconds of travel: balanced workload in working minutes.
    balance_weight: int = 1
    stability_window_s: int = 2 * HOUR  # tasks starting this soon keep their caregiver ...
    stability_cost_s: int = 4 * HOUR  # ... unless it saves this much
    move_cost_s: int = 10 * MINUTE  # any other task that changes caregiver on a re-plan
    retime_threshold_s: int = 5 * MINUTE  # start moves smaller than this are not a change
    max_distance_m: float = 30_000  # tasks farther from the station are bad coordinates
    # Tasks farther from the station than this many times the team's service-circle radius
    # (fastest mode) cannot be reached in a working day's rides: unreachable, with distance.
    reach_circles: float = 4.0
    cover_weight_s_per_min: int = 60  # one uncovered minute is worth a minute of travel
    cover_leg_cost_s: int = 10 * MINUTE  # going where no high-risk elder is within reach

    # A mapping proxy cannot be pickled; the server hands params to a worker process.
    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "drop_penalty_s": dict(self.drop_penalty_s)}

    def __setstate__(self, state: dict[str, object]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "drop_penalty_s", MappingProxyType(dict(self.drop_penalty_s)))

    def __post_init__(self) -> None:
        for p in Priority:
            if self.drop_penalty_s.get(p, 0) <= 0:
                raise ValueError(f"drop penalty for {p.name} must be > 0")
        for name in (
            "continuity_cost_s",
            "long_leg_cost_s",
            "balance_weight",
            "stability_window_s",
            "stability_cost_s",
            "move_cost_s",
            "retime_threshold_s",
            "cover_weight_s_per_min",
            "cover_leg_cost_s",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if not self.circle_minutes > 0:
            raise ValueError("circle_minutes must be > 0")
        if not self.max_distance_m > 0:
            raise ValueError("max_distance_m must be > 0")
        if not self.reach_circles > 0:
            raise ValueError("reach_circles must be > 0")
