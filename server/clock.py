"""Time as a dependency: the system clock in production, a movable one in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Aware UTC wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """Wall-clock time moved to start at ``start``: it runs at the real pace from there.

    For a demo or a test run that must see the same time of day whatever the hour
    (``ANXIN_CLOCK_START``); production refuses it."""

    def __init__(self, start: datetime) -> None:
        self._shift = as_utc(start) - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._shift


def make_clock(start: datetime | None) -> Clock:
    """The system clock, or one shifted to begin at ``start``."""
    return SystemClock() if start is None else ShiftedClock(start)


class FakeClock:
    """A clock that moves only when a test says so."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0, **kw: float) -> datetime:
        self._now += timedelta(seconds=seconds, **kw)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when


def as_utc(value: datetime) -> datetime:
    """Stored datetimes come back naive from SQLite; they are always UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
