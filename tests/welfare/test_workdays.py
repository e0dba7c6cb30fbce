"""Working days across Spring Festival and National Day, with the swapped weekend workdays."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.welfare.workdays import (
    OFFICIAL,
    CalendarNotCovered,
    ReviewStep,
    WorkCalendar,
    YearCalendar,
    is_overdue,
    load_overrides,
    planned_deadlines,
    step_due,
)


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        (date(2025, 1, 26), True),  # Sunday, swapped workday before Spring Festival 2025
        (date(2025, 1, 29), False),  # 春节 (lunar new year's day, Wednesday)
        (date(2025, 2, 4), False),  # last day of the 2025 Spring Festival break
        (date(2025, 2, 8), True),  # Saturday, swapped workday
        (date(2025, 9, 28), True),  # Sunday, swapped workday before National Day 2025
        (date(2025, 10, 8), False),  # National Day + Mid-Autumn, eight days
        (date(2025, 10, 11), True),  # Saturday, swapped workday
        (date(2026, 2, 14), True),  # Saturday, swapped workday before Spring Festival 2026
        (date(2026, 2, 23), False),  # Monday, still the 2026 Spring Festival break
        (date(2026, 2, 28), True),  # Saturday, swapped workday
        (date(2026, 10, 7), False),
        (date(2026, 10, 10), True),
        (date(2026, 11, 23), True),  # an ordinary Monday
        (date(2026, 11, 22), False),  # an ordinary Sunday
    ],
)
def test_official_calendar(day: date, workday: bool) -> None:
    assert OFFICIAL.is_workday(day) is workday


@pytest.mark.parametrize(
    ("received", "step", "due"),
    [
        # Friday before Spring Festival 2025: Sun 26 Jan counts, 28 Jan-4 Feb do not, Sat 8 Feb does.
        (date(2025, 1, 24), ReviewStep.COMMUNITY, date(2025, 2, 13)),
        (date(2025, 1, 24), ReviewStep.STREET, date(2025, 2, 7)),
        # Friday before National Day 2025: Sun 28 Sep and Sat 11 Oct count, 1-8 Oct do not.
        (date(2025, 9, 26), ReviewStep.DISTRICT, date(2025, 10, 16)),
        (date(2025, 9, 26), ReviewStep.STREET, date(2025, 10, 10)),
        # Spring Festival 2026: Sat 14 Feb and Sat 28 Feb count, 15-23 Feb do not.
        (date(2026, 2, 13), ReviewStep.COMMUNITY, date(2026, 3, 5)),
        (date(2026, 2, 13), ReviewStep.STREET, date(2026, 2, 27)),
        # National Day 2026: 1-7 Oct off, Sat 10 Oct counts.
        (date(2026, 9, 25), ReviewStep.COMMUNITY, date(2026, 10, 15)),
        # an ordinary fortnight: two weekends skipped
        (date(2026, 11, 2), ReviewStep.COMMUNITY, date(2026, 11, 16)),
    ],
)
def test_step_due_dates(received: date, step: ReviewStep, due: date) -> None:
    assert step_due(step, received) == due


def test_received_on_a_holiday_counts_from_the_next_working_day() -> None:
    # papers handed in on 春节 itself: the first working day is Wed 5 Feb 2025
    assert OFFICIAL.add_working_days(date(2025, 1, 29), 1) == date(2025, 2, 5)


def test_zero_working_days_is_the_start() -> None:
    assert OFFICIAL.add_working_days(date(2026, 10, 3), 0) == date(2026, 10, 3)


def test_planned_deadlines_chain_the_three_steps() -> None:
    plan = planned_deadlines(date(2026, 9, 25))
    assert plan == {
        ReviewStep.COMMUNITY: date(2026, 10, 15),
        ReviewStep.STREET: date(2026, 10, 22),
        ReviewStep.DISTRICT: date(2026, 11, 5),
    }


def test_working_days_between_counts_swapped_days() -> None:
    assert OFFICIAL.working_days_between(date(2026, 9, 30), date(2026, 10, 12)) == 4


def test_uncovered_year_fails_loudly() -> None:
    # 2027's notice is not in the package: a deadline crossing New Year must not be guessed
    with pytest.raises(CalendarNotCovered) as err:
        step_due(ReviewStep.COMMUNITY, date(2026, 12, 24))
    assert err.value.year == 2027


def test_override_supplies_a_missing_year() -> None:
    overrides = load_overrides('{"2027": {"holidays": ["2027-01-01"], "workdays": []}}')
    cal = OFFICIAL.with_overrides(overrides)
    assert cal.covers(2027)
    assert not OFFICIAL.covers(2027)
    # 25, 28, 29, 30, 31 Dec; 1 Jan off; 4, 5, 6, 7, 8 Jan
    assert step_due(ReviewStep.COMMUNITY, date(2026, 12, 24), cal) == date(2027, 1, 8)


def test_override_replaces_the_package_for_its_year() -> None:
    cal = WorkCalendar(
        overrides={2026: YearCalendar(2026, holidays=frozenset({date(2026, 11, 23)}))}
    )
    assert not cal.is_workday(date(2026, 11, 23))
    assert cal.is_workday(date(2026, 2, 16))  # the override is the whole year


def test_overrides_only_calendar_refuses_other_years() -> None:
    cal = WorkCalendar(use_package=False)
    with pytest.raises(CalendarNotCovered):
        cal.is_workday(date(2026, 1, 5))


@pytest.mark.parametrize(
    "bad",
    [
        {"holidays": ["2028-01-01"]},  # wrong year
        {"workdays": ["2027-01-04"]},  # a Monday cannot be a swapped workday
        {"holidays": ["2027-01-02"], "workdays": ["2027-01-02"]},
        {"holiday": ["2027-01-01"]},  # typo in the key
    ],
)
def test_bad_override_is_refused(bad: dict[str, list[str]]) -> None:
    with pytest.raises(ValueError):
        YearCalendar.from_dict(2027, bad)


def test_overdue_only_after_the_due_day() -> None:
    assert not is_overdue(date(2026, 10, 15), date(2026, 10, 15))
    assert is_overdue(date(2026, 10, 15), date(2026, 10, 16))


@settings(max_examples=200, deadline=None)
@given(start=st.dates(date(2025, 1, 1), date(2026, 10, 31)), n=st.integers(0, 25))
def test_add_working_days_properties(start: date, n: int) -> None:
    due = OFFICIAL.add_working_days(start, n)
    assert OFFICIAL.working_days_between(start, due) == n
    if n:
        assert OFFICIAL.is_workday(due)  # a deadline never falls on a day off


def test_fallback_for_an_unpublished_year_is_provisional() -> None:
    from server.welfare.workdays import WorkCalendar, fallback_is_workday

    cal = WorkCalendar(fallback=True)
    assert not cal.is_workday(date(2027, 1, 1))  # New Year's Day, a Friday
    assert not cal.is_workday(date(2027, 10, 1)) and not cal.is_workday(date(2027, 5, 2))
    assert not cal.is_workday(date(2027, 1, 2))  # a Saturday
    assert cal.is_workday(date(2027, 1, 4))
    assert cal.is_workday(date(2026, 2, 14))  # a published year keeps its swapped workday
    assert step_due(ReviewStep.COMMUNITY, date(2026, 12, 24), cal) == date(2027, 1, 8)
    assert cal.provisional(date(2026, 12, 24), date(2027, 1, 8))
    assert not cal.provisional(date(2026, 11, 2), date(2026, 11, 16))
    assert fallback_is_workday(date(2027, 2, 8))  # lunar holidays are only known from the notice
