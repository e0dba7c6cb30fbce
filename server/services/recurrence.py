"""Recurring bookings set by the operator per elder ("every Tuesday 9-11 bathing help",
"weekly door-knock for elders who live alone", "the village clinic's call on the 5th of each
month", "the quarterly health check"), expanded into dated occurrences.

A weekly rule on a non-working day is skipped (when asked); a monthly or quarterly one is
moved to the next working day instead (it must still happen that month), and the occurrence
says where it was moved from. Its key keeps the date it was due, so moving never books twice.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from server.welfare.workdays import SHANGHAI

WEEKLY: Final = "weekly"
MONTHS: Final = {"monthly": 1, "quarterly": 3, "yearly": 12}
MAX_MOVE_DAYS: Final = 14  # a holiday week (国庆) is the longest stretch without working days


class RecurrenceError(ValueError):
    """A rule that cannot produce sensible occurrences."""


@dataclass(frozen=True)
class RecurrenceRule:
    """Weekly pattern: on these weekdays (0 = Monday), from `start` to `end` local time."""

    rule_id: str
    elder_id: str
    item_code: str
    weekdays: frozenset[int]
    start: time
    end: time
    starts_on: date
    until: date | None = None
    every_weeks: int = 1
    skip_non_workdays: bool = False  # weekly: skip; monthly, quarterly: move to the next one
    notes: str = ""
    frequency: str = WEEKLY
    month_day: int | None = None

    def __post_init__(self) -> None:
        if self.frequency != WEEKLY:
            if self.frequency not in MONTHS:
                raise RecurrenceError(f"unknown frequency {self.frequency!r}")
            if self.month_day is None or not 1 <= self.month_day <= 31:
                raise RecurrenceError("a monthly or quarterly rule needs a month_day 1..31")
        elif not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise RecurrenceError("weekdays must be a non-empty subset of 0..6")
        if self.end <= self.start:
            raise RecurrenceError("end must be after start")
        if self.every_weeks < 1:
            raise RecurrenceError("every_weeks must be >= 1")
        if self.until is not None and self.until < self.starts_on:
            raise RecurrenceError("until is before starts_on")


@dataclass(frozen=True)
class Occurrence:
    """One dated visit from a rule; `key` makes materialising it idempotent."""

    key: str
    rule_id: str
    elder_id: str
    item_code: str
    start: datetime  # aware, UTC
    end: datetime
    moved_from: date | None = None  # due on a non-working day, moved to the next working day


def _occurrence(rule: RecurrenceRule, due: date, on: date) -> Occurrence:
    start = datetime.combine(on, rule.start, SHANGHAI)
    end = datetime.combine(on, rule.end, SHANGHAI)
    return Occurrence(
        key=f"{rule.rule_id}:{due.isoformat()}",
        rule_id=rule.rule_id,
        elder_id=rule.elder_id,
        item_code=rule.item_code,
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
        moved_from=due if on != due else None,
    )


def month_dates(rule: RecurrenceRule, first: date, last: date) -> list[date]:
    """The due dates of a monthly or quarterly rule between first and last: its day of the
    month (the month's last day where it is shorter), every one or three months from the
    month it starts in."""
    assert rule.month_day is not None
    step = MONTHS[rule.frequency]
    out: list[date] = []
    y, m = rule.starts_on.year, rule.starts_on.month
    while date(y, m, 1) <= last:
        d = date(y, m, min(rule.month_day, monthrange(y, m)[1]))
        if d >= rule.starts_on and first <= d <= last:
            out.append(d)
        m += step
        y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    return out


def expand(
    rule: RecurrenceRule,
    first: date,
    last: date,
    *,
    is_workday: Callable[[date], bool] | None = None,
) -> tuple[Occurrence, ...]:
    """Occurrences of `rule` on the Shanghai dates first..last (inclusive)."""
    if rule.skip_non_workdays and is_workday is None:
        raise RecurrenceError("skip_non_workdays needs a working-day calendar")
    lo = max(first, rule.starts_on)
    hi = last if rule.until is None else min(last, rule.until)
    if rule.frequency != WEEKLY:
        monthly: list[Occurrence] = []
        for due in month_dates(rule, lo, hi):
            on = due
            if rule.skip_non_workdays and is_workday is not None:
                while not is_workday(on):
                    on += timedelta(days=1)
                    if (on - due).days > MAX_MOVE_DAYS:
                        raise RecurrenceError(f"no working day within two weeks of {due}")
            monthly.append(_occurrence(rule, due, on))
        return tuple(monthly)
    week0 = rule.starts_on - timedelta(days=rule.starts_on.weekday())
    out: list[Occurrence] = []
    d = lo
    while d <= hi:
        weeks = (d - week0).days // 7
        if (
            d.weekday() in rule.weekdays
            and weeks % rule.every_weeks == 0
            and not (rule.skip_non_workdays and is_workday is not None and not is_workday(d))
        ):
            out.append(_occurrence(rule, d, d))
        d += timedelta(days=1)
    return tuple(out)


def fits_item(
    weekdays: frozenset[int],
    start: time,
    end: time,
    *,
    duration_min: int,
    days: frozenset[int],
    opens: time,
    closes: time,
) -> str | None:
    """Why a weekly rule can never be booked for an item (a stable code), or None if it can:
    its window must hold the item's duration, on days and inside hours the item is offered."""
    if (datetime.combine(date.min, end) - datetime.combine(date.min, start)) < timedelta(
        minutes=duration_min
    ):
        return "recurrence.window_too_short"
    if not weekdays <= days or start < opens or end > closes:
        return "recurrence.outside_hours"
    return None
