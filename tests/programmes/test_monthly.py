"""Monthly and quarterly recurrences: the village clinic's monthly visit on the calendar, a
date that falls on a weekend moved to the next working day (and saying so), the 31st in a
short month, a quarterly health check; bad rules refused."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import select

from server.services.flows.recurring import next_anniversary
from server.services.recurrence import RecurrenceRule, expand
from server.services.tables import bookings, recurrence_rules
from server.welfare.workdays import SHANGHAI
from tests.conftest import BACKENDS
from tests.support.api import Api
from tests.welfare.support import long_tokens


def rule(frequency: str, day: int, starts: date, **kw: object) -> RecurrenceRule:
    return RecurrenceRule(
        rule_id="rr1",
        elder_id="1",
        item_code="clinic-visit",
        weekdays=frozenset(),
        start=time(9),
        end=time(10),
        starts_on=starts,
        frequency=frequency,
        month_day=day,
        **kw,  # type: ignore[arg-type]
    )


def local_days(r: RecurrenceRule, first: date, last: date) -> list[date]:
    return [o.start.astimezone(SHANGHAI).date() for o in expand(r, first, last, is_workday=weekday)]


def weekday(d: date) -> bool:
    return d.weekday() < 5


def test_monthly_on_the_31st_falls_on_the_last_day_of_short_months() -> None:
    r = rule("monthly", 31, date(2027, 1, 1))
    assert local_days(r, date(2027, 1, 1), date(2027, 4, 30)) == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
    ]


def test_quarterly_counts_from_the_month_it_starts() -> None:
    r = rule("quarterly", 10, date(2026, 11, 23))
    assert local_days(r, date(2026, 11, 1), date(2027, 12, 31)) == [
        date(2027, 2, 10),
        date(2027, 5, 10),
        date(2027, 8, 10),
        date(2027, 11, 10),
    ]  # 2026-11-10 is before it starts


def test_a_weekend_date_moves_to_monday_and_keeps_its_key() -> None:
    r = rule("monthly", 5, date(2026, 12, 1), skip_non_workdays=True)
    (occ,) = expand(r, date(2026, 12, 1), date(2026, 12, 31), is_workday=weekday)
    assert occ.start.astimezone(SHANGHAI).date() == date(2026, 12, 7)  # the 5th is a Saturday
    assert (occ.moved_from, occ.key) == (date(2026, 12, 5), "rr1:2026-12-05")


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_the_monthly_clinic_visit_is_on_the_calendar(api: Api) -> None:
    long_tokens(api)
    s, eid = api.ids["station"], api.ids["elder"]
    await api.call("POST", f"/api/v1/stations/{s}/service-items/seed", "operator", expect=200)
    body = {
        "item_code": "clinic-visit",
        "frequency": "monthly",
        "month_day": 5,
        "start": "09:00",
        "end": "10:00",
        "starts_on": "2026-11-23",
        "skip_non_workdays": True,
    }
    for bad in (
        {**body, "month_day": None},
        {**body, "month_day": 32},
        {**body, "frequency": "daily"},
    ):
        status, problem = await api.call(
            "POST", f"/api/v1/elders/{eid}/recurring-bookings", "operator", json=bad
        )
        assert (status, problem["code"]) == (422, "validation_error")
    made = await api.call(
        "POST", f"/api/v1/elders/{eid}/recurring-bookings", "operator", json=body, expect=201
    )
    assert (made["frequency"], made["month_day"]) == ("monthly", 5)
    for _ in range(2):  # twice: booked once
        await api.call(
            "POST",
            f"/api/v1/stations/{s}/recurring-bookings/materialise",
            "operator",
            json={"days": 50},
            expect=200,
        )
    async with api.platform.store.read() as conn:
        rows = (
            await conn.execute(
                select(bookings).where(bookings.c.elder_id == eid).order_by(bookings.c.window_start)
            )
        ).all()
        n_rules = len((await conn.execute(select(recurrence_rules))).all())
    assert n_rules == 1
    got = [(r.window_start.astimezone(SHANGHAI).date(), r.occurrence_key) for r in rows]
    rid = made["id"]
    assert got == [
        (date(2026, 12, 7), f"rr{rid}:2026-12-05"),  # Saturday the 5th, moved to Monday
        (date(2027, 1, 5), f"rr{rid}:2027-01-05"),
    ]
    assert "2026-12-05" in rows[0].notes  # the move is shown on the booking


def test_a_birthday_on_29_february_is_kept_on_the_28th_in_common_years() -> None:
    born = date(1944, 2, 29)
    starts = next_anniversary(born, date(2026, 11, 23))
    assert starts == date(2027, 2, 28)
    r = rule("yearly", born.day, starts)
    assert local_days(r, date(2027, 1, 1), date(2029, 12, 31)) == [
        date(2027, 2, 28),
        date(2028, 2, 29),
        date(2029, 2, 28),
    ]


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_birthday_and_festival_visits_come_from_the_elder_file(api: Api) -> None:
    long_tokens(api)
    s = api.ids["station"]
    await api.call("POST", f"/api/v1/stations/{s}/service-items/seed", "operator", expect=200)
    body = {
        "festivals": [{"name_zh": "冬至", "on": "2026-12-22"}],
        "starts_on": "2026-11-23",
    }
    url = f"/api/v1/stations/{s}/recurring-bookings/festival-visits"
    none = await api.call(
        "POST", url, "operator", json={**body, "categories": ["独居"]}, expect=200
    )
    assert none["added"] == 0  # nobody of the station lives alone
    status, problem = await api.call("POST", url, "operator", json={**body, "start": "25:00"})
    assert status == 422
    made = await api.call("POST", url, "operator", json=body, expect=200)
    assert (made["added"], made["elders"]) == (
        4,
        sorted([api.ids["elder"], api.ids["elder_other"]]),
    )
    again = await api.call("POST", url, "operator", json=body, expect=200)
    assert again["added"] == 0  # made once
    rules = await api.call(
        "GET", f"/api/v1/elders/{api.ids['elder']}/recurring-bookings", "operator", expect=200
    )
    birthday = next(r for r in rules if r["frequency"] == "yearly")
    assert (birthday["starts_on"], birthday["month_day"]) == ("2027-03-08", 8)  # born 1944-03-08
    await api.call(
        "POST",
        f"/api/v1/stations/{s}/recurring-bookings/materialise",
        "operator",
        json={"days": 40},
        expect=200,
    )
    async with api.platform.store.read() as conn:
        rows = (
            await conn.execute(select(bookings).where(bookings.c.item_code == "festival-visit"))
        ).all()
    assert sorted(r.window_start.astimezone(SHANGHAI).date() for r in rows) == [
        date(2026, 12, 22),
        date(2026, 12, 22),
    ]
