"""One-button terminals and pendants, repeated presses, and welfare checks. Pure.

- a device that has been silent for longer than its allowance, or whose battery is below 20%,
  becomes a task (one per episode: the task's source_ref names the heartbeat it dates from);
- presses within a short window of the elder's last press join one incident (intake does the
  joining; this module says whether a press is a repeat);
- test and accidental presses are classified by the operator after a call-back, never dropped;
- elders living alone who have not been seen (visit, app activity, call) for a configurable
  time get a welfare-check task, and missed scheduled door-knock visits become tasks too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

__all__ = [
    "DeviceIssue",
    "DeviceReading",
    "ElderActivity",
    "IssueKind",
    "PressTime",
    "ScheduledVisit",
    "WelfareCheck",
    "evaluate_devices",
    "is_repeat_press",
    "missed_visits",
    "press_time",
    "select_welfare_checks",
]

SILENT_AFTER: Final = timedelta(minutes=30)
LOW_BATTERY_PCT: Final = 20
PRESS_WINDOW: Final = timedelta(minutes=2)
NOT_SEEN_FOR: Final = timedelta(hours=48)
VISIT_GRACE: Final = timedelta(hours=24)
# A press that reaches the station this long after the device recorded it was buffered (the
# device had no network): it is taken as it is, with its device time, and shown as late.
LATE_AFTER: Final = timedelta(seconds=60)
# A device clock further ahead than this is wrong: its time is not believed.
CLOCK_AHEAD: Final = timedelta(minutes=5)


@dataclass(frozen=True)
class PressTime:
    """When a press happened, as far as the station can tell."""

    pressed_at: datetime | None  # the device's time, when believable
    late_s: int | None  # seconds between the press and its arrival, when it came late
    clock_ahead: bool = False  # the device's time was in the future: not believed


def press_time(device_at: datetime | None, received_at: datetime) -> PressTime:
    """A press is never refused for its time: an old one is late, a future one has a wrong
    clock (then the arrival time stands)."""
    if device_at is None:
        return PressTime(None, None)
    if device_at > received_at + CLOCK_AHEAD:
        return PressTime(None, None, clock_ahead=True)
    late = received_at - device_at
    return PressTime(device_at, int(late.total_seconds()) if late >= LATE_AFTER else None)


class IssueKind(StrEnum):
    """What is wrong with a device."""

    SILENT = "silent"
    LOW_BATTERY = "low_battery"
    NEVER_SEEN = "never_seen"


@dataclass(frozen=True, slots=True)
class DeviceReading:
    """The last thing a device told us."""

    device_id: str
    elder_id: int
    station_id: int
    registered_at: datetime
    last_heartbeat_at: datetime | None
    battery_pct: int | None
    silent_after: timedelta = SILENT_AFTER


@dataclass(frozen=True, slots=True)
class DeviceIssue:
    """A device problem that should become a task."""

    kind: IssueKind
    device_id: str
    elder_id: int
    station_id: int
    since: datetime
    source_ref: str
    title: str


def evaluate_devices(
    devices: Iterable[DeviceReading], now: datetime, *, low_battery_pct: int = LOW_BATTERY_PCT
) -> list[DeviceIssue]:
    """Silent, never-seen and low-battery devices at `now`."""
    out: list[DeviceIssue] = []
    for d in devices:
        last = d.last_heartbeat_at
        if last is None:
            if now - d.registered_at > d.silent_after:
                out.append(
                    DeviceIssue(
                        IssueKind.NEVER_SEEN,
                        d.device_id,
                        d.elder_id,
                        d.station_id,
                        d.registered_at,
                        f"device:{d.device_id}:never_seen",
                        "呼叫器从未上线，请上门检查 / Device never came online",
                    )
                )
            continue
        if now - last > d.silent_after:
            out.append(
                DeviceIssue(
                    IssueKind.SILENT,
                    d.device_id,
                    d.elder_id,
                    d.station_id,
                    last,
                    f"device:{d.device_id}:silent:{last.isoformat()}",
                    "呼叫器失联，请联系老人并检查设备 / Device silent: check on the elder",
                )
            )
        if d.battery_pct is not None and d.battery_pct < low_battery_pct:
            out.append(
                DeviceIssue(
                    IssueKind.LOW_BATTERY,
                    d.device_id,
                    d.elder_id,
                    d.station_id,
                    last,
                    # One task per day of low battery, not one per heartbeat.
                    f"device:{d.device_id}:battery:{last.date().isoformat()}",
                    f"呼叫器电量{d.battery_pct}%，请充电或更换电池 / Battery low",
                )
            )
    return out


def is_repeat_press(
    last_press_at: datetime | None, at: datetime, window: timedelta = PRESS_WINDOW
) -> bool:
    """A press within `window` after the previous one is a repeat of it."""
    return last_press_at is not None and timedelta(0) <= at - last_press_at <= window


# --- welfare checks -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ElderActivity:
    """When an elder was last seen by anyone or anything."""

    elder_id: int
    station_id: int
    lives_alone: bool
    last_visit_at: datetime | None = None
    last_app_at: datetime | None = None
    last_call_at: datetime | None = None

    @property
    def last_seen_at(self) -> datetime | None:
        """The latest sign of life."""
        seen = [t for t in (self.last_visit_at, self.last_app_at, self.last_call_at) if t]
        return max(seen) if seen else None


@dataclass(frozen=True, slots=True)
class WelfareCheck:
    """A check-on-the-elder task."""

    elder_id: int
    station_id: int
    last_seen_at: datetime | None
    source_ref: str
    title: str


def select_welfare_checks(
    elders: Iterable[ElderActivity], now: datetime, *, not_seen_for: timedelta = NOT_SEEN_FOR
) -> list[WelfareCheck]:
    """Elders living alone and unseen for longer than `not_seen_for`, longest unseen first."""
    out: list[WelfareCheck] = []
    for e in elders:
        if not e.lives_alone:
            continue
        seen = e.last_seen_at
        if seen is not None and now - seen <= not_seen_for:
            continue
        # One check per silence: a new sign of life starts a new episode.
        episode = seen.isoformat() if seen else "never"
        out.append(
            WelfareCheck(
                e.elder_id,
                e.station_id,
                seen,
                f"welfare:{e.elder_id}:{episode}",
                "独居老人长时间未见，请上门探访 / Welfare check: not seen",
            )
        )
    far_past = datetime.min.replace(tzinfo=now.tzinfo)
    return sorted(out, key=lambda c: (c.last_seen_at or far_past, c.elder_id))


@dataclass(frozen=True, slots=True)
class ScheduledVisit:
    """A scheduled door-knock (爱心敲门) visit."""

    visit_id: int
    elder_id: int
    station_id: int
    due_at: datetime
    done_at: datetime | None = None


def missed_visits(
    visits: Iterable[ScheduledVisit], now: datetime, *, grace: timedelta = VISIT_GRACE
) -> list[WelfareCheck]:
    """Door-knock visits not done within `grace` after their time, as check tasks."""
    return [
        WelfareCheck(
            v.elder_id,
            v.station_id,
            None,
            f"missed_visit:{v.visit_id}",
            "爱心敲门未完成，请补访 / Missed door-knock visit",
        )
        for v in visits
        if v.done_at is None and now - v.due_at > grace
    ]
