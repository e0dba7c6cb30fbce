"""The duty roster: who answers at night, and who the station head is. Pure.

Each entry is a weekly slot in Asia/Shanghai time; a slot whose end is not after its start runs
overnight (22:00–08:00 belongs to the weekday it starts on). The escalation chain calls the
operator on duty when the console alarm is not enough (at night nobody watches the screen) and
the station head when nobody takes responsibility.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

__all__ = ["DutyRole", "DutySlot", "on_duty"]

SHANGHAI = ZoneInfo("Asia/Shanghai")


class DutyRole(StrEnum):
    """What a person on the roster is for."""

    OPERATOR = "operator"  # answers alarms (night duty, 夜间值班)
    HEAD = "head"  # station head (站长), called when nobody takes responsibility


@dataclass(frozen=True, slots=True)
class DutySlot:
    """One weekly slot: weekdays (0 = Monday), start and end in Shanghai time."""

    person: str
    name: str
    phone: str
    role: DutyRole
    weekdays: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError("weekdays must be a non-empty subset of 0..6")
        if not self.phone:
            raise ValueError("a duty slot needs a phone number")

    def covers(self, at: datetime) -> bool:
        """True when `at` falls inside this slot."""
        local = at.astimezone(SHANGHAI)
        t = local.time()
        if self.start < self.end:
            return local.weekday() in self.weekdays and self.start <= t < self.end
        # Overnight: the evening part belongs to today, the morning part to yesterday's slot.
        if t >= self.start:
            return local.weekday() in self.weekdays
        if t < self.end:
            return (local - timedelta(days=1)).weekday() in self.weekdays
        return False


def on_duty(slots: Iterable[DutySlot], at: datetime, role: DutyRole) -> list[DutySlot]:
    """The slots of `role` covering `at`, in roster order."""
    return [s for s in slots if s.role is role and s.covers(at)]
