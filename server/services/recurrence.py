"""Recurring bookings set by the operator per elder ("every Tuesday 9-11 bathing help",
"weekly door-knock for elders who live alone"), expanded into dated occurrences."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from server.welfare.workdays import SHANGHAI


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
    skip_non_workdays: bool = False  # e.g. skip statutory holidays for day-care
    notes: str = ""

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
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
            start = datetime.combine(d, rule.start, SHANGHAI)
            end = datetime.combine(d, rule.end, SHANGHAI)
            out.append(
                Occurrence(
                    key=f"{rule.rule_id}:{d.isoformat()}",
                    rule_id=rule.rule_id,
                    elder_id=rule.elder_id,
                    item_code=rule.item_code,
                    start=start.astimezone(UTC),
                    end=end.astimezone(UTC),
                )
            )
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
