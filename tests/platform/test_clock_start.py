"""The server's clock can start at a chosen instant (demo and tests), never in production."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.clock import ShiftedClock, SystemClock, make_clock
from server.settings import Settings

MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_a_shifted_clock_starts_where_asked_and_runs_at_the_real_pace() -> None:
    clock = ShiftedClock(MONDAY_10)
    first = clock.now()
    assert abs(first - MONDAY_10) < timedelta(seconds=2)
    assert clock.now() >= first
    assert isinstance(make_clock(None), SystemClock)


def test_clock_start_is_read_from_the_environment_and_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANXIN_CLOCK_START", "2026-11-23T10:00:00+08:00")
    assert Settings.from_env().clock_start == MONDAY_10
    monkeypatch.setenv("ANXIN_CLOCK_START", "2026-11-23T10:00:00")
    with pytest.raises(SystemExit, match="offset"):
        Settings.from_env()
    monkeypatch.setenv("ANXIN_CLOCK_START", "tomorrow morning")
    with pytest.raises(SystemExit, match="ISO 8601"):
        Settings.from_env()


def test_production_refuses_a_moved_clock() -> None:
    settings = Settings(production=True, clock_start=MONDAY_10, jwt_secret="x" * 40)
    with pytest.raises(SystemExit, match="ANXIN_CLOCK_START"):
        settings.check_production()
