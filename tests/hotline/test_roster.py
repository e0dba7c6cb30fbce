"""The duty roster: who is on duty at a given moment (Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from hotline.roster import SHANGHAI, DutyRole, DutySlot, on_duty

NIGHT = DutySlot(
    "duty:1",
    "刘值班",
    "13600000001",
    DutyRole.OPERATOR,
    frozenset({0, 1, 2, 3, 4}),
    time(22),
    time(8),
)
DAY = DutySlot(
    "duty:2", "陈白班", "13600000002", DutyRole.OPERATOR, frozenset(range(7)), time(8), time(22)
)
HEAD = DutySlot(
    "head:3", "赵站长", "13600000003", DutyRole.HEAD, frozenset(range(7)), time(0), time(0)
)


def sh(day: int, hh: int, mm: int = 0) -> datetime:
    """A moment in Shanghai time on 2026-11-<day> (the 23rd is a Monday), stored as UTC."""
    return datetime(2026, 11, day, hh, mm, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(
    ("at", "who"),
    [
        (sh(23, 23), ["duty:1"]),  # Monday 23:00
        (sh(24, 3), ["duty:1"]),  # Tuesday 03:00 belongs to Monday night
        (sh(24, 9), ["duty:2"]),
        (sh(23, 3), []),  # Monday 03:00 belongs to Sunday night: not on the weekday roster
        (sh(28, 23), []),  # Saturday night
    ],
)
def test_operator_on_duty(at: datetime, who: list[str]) -> None:
    day_weekdays_only = DutySlot(
        "duty:2",
        "陈白班",
        "13600000002",
        DutyRole.OPERATOR,
        frozenset({0, 1, 2, 3, 4}),
        time(8),
        time(22),
    )
    assert [s.person for s in on_duty([NIGHT, day_weekdays_only], at, DutyRole.OPERATOR)] == who


def test_day_slot_has_its_own_hours() -> None:
    assert [s.person for s in on_duty([DAY], sh(24, 21, 59), DutyRole.OPERATOR)] == ["duty:2"]
    assert on_duty([DAY], sh(24, 22), DutyRole.OPERATOR) == []


def test_all_day_head() -> None:
    assert [s.person for s in on_duty([NIGHT, HEAD], sh(25, 12), DutyRole.HEAD)] == ["head:3"]


def test_slot_validates() -> None:
    with pytest.raises(ValueError):
        DutySlot("duty:9", "x", "13600000009", DutyRole.OPERATOR, frozenset({7}), time(8), time(9))
    with pytest.raises(ValueError):
        DutySlot("duty:9", "x", "", DutyRole.OPERATOR, frozenset({1}), time(8), time(9))
