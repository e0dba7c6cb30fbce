"""Working days in Asia/Shanghai with the official holiday calendar (法定节假日与调休).

China's State Council publishes each year's holidays in the preceding November or December,
with *swapped workdays* (调休): some Saturdays or Sundays become working days to bridge a
long holiday. The `chinese_calendar` package carries the published years; years it does not
cover must be supplied as data (`YearCalendar`) before any deadline in them is computed.
A year that is in neither raises `CalendarNotCovered` from the strict calendar; the service
uses `fallback=True` instead (weekends and the fixed-date statutory holidays) and marks such
deadlines provisional, recomputing them when the year's calendar is published: an application
is never refused because the State Council's notice is not in yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

import chinese_calendar

from schemas.welfare import ApplicationStatus

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")


class CalendarNotCovered(LookupError):
    """The holiday calendar of a year is unknown: neither the package nor an override has it."""

    def __init__(self, year: int) -> None:
        super().__init__(
            f"no official holiday calendar for {year}: add a YearCalendar override for it "
            "(holidays and swapped workdays from the State Council notice)"
        )
        self.year = year


@dataclass(frozen=True)
class YearCalendar:
    """One year's published calendar: statutory days off on weekdays and swapped weekend workdays."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        for d in self.holidays | self.workdays:
            if d.year != self.year:
                raise ValueError(f"{d.isoformat()} is not in {self.year}")
        both = self.holidays & self.workdays
        if both:
            raise ValueError(f"dates both holiday and workday: {sorted(both)}")
        for d in self.workdays:
            if d.weekday() < 5:
                raise ValueError(f"swapped workday {d.isoformat()} is not a weekend day")

    def is_workday(self, d: date) -> bool:
        """Whether `d` (a date of this year) is a working day."""
        if d in self.workdays:
            return True
        if d in self.holidays:
            return False
        return d.weekday() < 5

    @classmethod
    def from_dict(cls, year: int, data: Mapping[str, Iterable[str]]) -> YearCalendar:
        """Parse `{"holidays": ["2027-01-01", ...], "workdays": ["2027-02-06", ...]}`."""
        unknown = set(data) - {"holidays", "workdays"}
        if unknown:
            raise ValueError(f"unknown keys in calendar for {year}: {sorted(unknown)}")
        return cls(
            year=year,
            holidays=frozenset(date.fromisoformat(s) for s in data.get("holidays", ())),
            workdays=frozenset(date.fromisoformat(s) for s in data.get("workdays", ())),
        )


def _package_is_workday(d: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError as exc:  # the package's "year not supported"
        raise CalendarNotCovered(d.year) from exc


# Statutory holidays that fall on the same Gregorian dates every year (全体公民放假的节日,
# 2025 rules): New Year's Day, Labour Day (1-2 May) and National Day (1-3 October). The lunar
# holidays (Spring Festival, Qingming, Dragon Boat, Mid-Autumn) and the swapped workdays are
# only known from the State Council's notice.
FIXED_HOLIDAYS: Final = ((1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3))


def fallback_is_workday(d: date) -> bool:
    """A provisional guess for a year whose notice is not in yet: weekends and the fixed-date
    statutory holidays are days off. Deadlines computed with it are marked provisional."""
    return d.weekday() < 5 and (d.month, d.day) not in FIXED_HOLIDAYS


@dataclass(frozen=True)
class WorkCalendar:
    """The official working-day calendar: overrides (published as data) first, then the
    chinese_calendar package, then, with `fallback`, the provisional weekend-and-fixed-holidays
    rule (never a refusal: an elder's application is never turned away for want of a calendar)."""

    overrides: Mapping[int, YearCalendar] = field(default_factory=dict)
    use_package: bool = True
    fallback: bool = False

    def is_workday(self, d: date) -> bool:
        """Whether `d` is a working day (weekday not a holiday, or a swapped weekend workday)."""
        override = self.overrides.get(d.year)
        if override is not None:
            return override.is_workday(d)
        if self.use_package:
            try:
                return _package_is_workday(d)
            except CalendarNotCovered:
                if not self.fallback:
                    raise
        elif not self.fallback:
            raise CalendarNotCovered(d.year)
        return fallback_is_workday(d)

    def covers(self, year: int) -> bool:
        """Whether the official calendar of `year` is known (not just the fallback guess)."""
        if year in self.overrides:
            return True
        if not self.use_package:
            return False
        try:
            _package_is_workday(date(year, 6, 1))
        except CalendarNotCovered:
            return False
        return True

    def provisional(self, start: date, end: date) -> bool:
        """Whether a span of days leans on the fallback guess for any of its years."""
        return any(not self.covers(y) for y in range(start.year, end.year + 1))

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (`start` itself never counts; n=0 gives `start`)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        d = start
        remaining = n
        while remaining:
            d += timedelta(days=1)
            if self.is_workday(d):
                remaining -= 1
        return d

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how many have passed since `start` by the end of `end`."""
        if end <= start:
            return 0
        count = 0
        d = start
        while d < end:
            d += timedelta(days=1)
            if self.is_workday(d):
                count += 1
        return count

    def with_overrides(self, years: Mapping[int, YearCalendar]) -> WorkCalendar:
        """A calendar with more (or corrected) years."""
        return WorkCalendar(
            overrides={**self.overrides, **years},
            use_package=self.use_package,
            fallback=self.fallback,
        )


def load_overrides(data: Mapping[str, Any] | str) -> dict[int, YearCalendar]:
    """Parse overrides from JSON text or a dict keyed by year: `{"2027": {"holidays": [...]}}`."""
    raw: Mapping[str, Any] = json.loads(data) if isinstance(data, str) else data
    return {int(y): YearCalendar.from_dict(int(y), v) for y, v in raw.items()}


OFFICIAL: Final = WorkCalendar()  # strict: raises CalendarNotCovered past the package's years


def business_date(at: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware instant."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: pass an aware (UTC) instant")
    return at.astimezone(SHANGHAI).date()


class ReviewStep(StrEnum):
    """The three review steps of a subsidy application (社区初审 → 街道复审 → 区民政核准): the
    application's statuses while it is under review."""

    COMMUNITY = ApplicationStatus.COMMUNITY.value
    STREET = ApplicationStatus.STREET.value
    DISTRICT = ApplicationStatus.DISTRICT.value


# Seed 001/003: 社区工作站 10 个工作日内完成初审（含公示时间）; 街道 5 个工作日; 区民政 10 个工作日.
STEP_WORKING_DAYS: Final[Mapping[ReviewStep, int]] = {
    ReviewStep.COMMUNITY: 10,
    ReviewStep.STREET: 5,
    ReviewStep.DISTRICT: 10,
}
STEP_ORDER: Final = (ReviewStep.COMMUNITY, ReviewStep.STREET, ReviewStep.DISTRICT)


def step_due(
    step: ReviewStep,
    received: date,
    calendar: WorkCalendar = OFFICIAL,
    limits: Mapping[ReviewStep, int] = STEP_WORKING_DAYS,
) -> date:
    """Last day on which `step` may finish when its papers arrived on `received`."""
    return calendar.add_working_days(received, limits[step])


def is_overdue(due: date, today: date) -> bool:
    """A step is overdue once its due day has passed without a decision."""
    return today > due


def planned_deadlines(received: date, calendar: WorkCalendar = OFFICIAL) -> dict[ReviewStep, date]:
    """Latest due day of every step if each one uses its full allowance after the previous."""
    out: dict[ReviewStep, date] = {}
    d = received
    for step in STEP_ORDER:
        d = step_due(step, d, calendar)
        out[step] = d
    return out
