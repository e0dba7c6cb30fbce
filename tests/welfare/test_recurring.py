"""Recurring rules through the real app: checked against the item on creation, listed,
changed (the old pattern's future bookings cancelled, the new one booked), stopped, booked
every night by the station's durable timer, and applied several times at once without a
double booking."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import BACKENDS
from tests.support.api import Api
from tests.welfare.test_api_welfare import setup

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

TUESDAYS = {
    "item_code": "bath-help",
    "weekdays": [1],
    "start": "09:00",
    "end": "11:00",
    "starts_on": "2026-11-01",
}


async def rule(api: Api, **kw: Any) -> Any:
    return await api.call(
        "POST",
        f"/api/v1/elders/{api.ids['elder']}/recurring-bookings",
        "operator",
        json={**TUESDAYS, **kw},
    )


async def active_days(api: Api) -> list[str]:
    rows = await api.call("GET", f"/api/v1/elders/{api.ids['elder']}/bookings", "elder", expect=200)
    return sorted(b["start"][:10] for b in rows if b["status"] in ("requested", "planned"))


async def test_a_rule_must_fit_its_item(api: Api) -> None:
    await setup(api)
    status, problem = await rule(api, end="10:00")  # bathing help takes 90 minutes
    assert (status, problem["code"]) == (422, "recurrence.window_too_short")
    status, problem = await rule(api, start="17:00", end="19:00")  # offered 08:00-18:00
    assert (status, problem["code"]) == (422, "recurrence.outside_hours")
    status, problem = await rule(api, weekdays=[7])
    assert (status, problem["code"]) == (422, "recurrence.invalid")


async def test_change_and_stop_a_rule(api: Api) -> None:
    await setup(api)
    status, r = await rule(api)
    assert status == 201 and r["version"] == 1
    s = api.ids["station"]
    await api.call(
        "POST",
        f"/api/v1/stations/{s}/recurring-bookings/materialise",
        "operator",
        json={"days": 14},
        expect=200,
    )
    assert await active_days(api) == ["2026-11-24", "2026-12-01"]
    listed = await api.call(
        "GET", f"/api/v1/elders/{api.ids['elder']}/recurring-bookings", "family", expect=200
    )
    assert [x["id"] for x in listed] == [r["id"]]
    status, _ = await api.call(
        "PATCH", f"/api/v1/recurring-bookings/{r['id']}", "operator2", json={"weekdays": [3]}
    )
    assert status == 404  # another station's rule
    changed = await api.call(
        "PATCH",
        f"/api/v1/recurring-bookings/{r['id']}",
        "operator",
        json={"weekdays": [3]},
        expect=200,
    )
    assert len(changed["cancelled"]) == 2 and changed["rule"]["version"] == 2
    assert await active_days(api) == ["2026-11-26", "2026-12-03"]  # Thursdays now
    stopped = await api.call(
        "POST", f"/api/v1/recurring-bookings/{r['id']}/stop", "operator", expect=200
    )
    assert len(stopped["cancelled"]) == 2 and stopped["rule"]["active"] is False
    assert await active_days(api) == []
    made = await api.call(
        "POST",
        f"/api/v1/stations/{s}/recurring-bookings/materialise",
        "operator",
        json={"days": 14},
        expect=200,
    )
    assert made["created"] == []


async def test_the_daily_timer_books_the_next_two_weeks(api: Api) -> None:
    await setup(api)
    await rule(api)
    assert await active_days(api) == []
    # 01:00 Shanghai on Tuesday 24 November is 23 Nov 17:00 UTC
    await api.advance((datetime(2026, 11, 23, 17, 1, tzinfo=UTC) - api.clock.now()).total_seconds())
    assert await active_days(api) == ["2026-11-24", "2026-12-01", "2026-12-08"]
    await api.advance(7 * 24 * 3600)  # a week of nights later: one more Tuesday, nothing twice
    assert await active_days(api) == ["2026-11-24", "2026-12-01", "2026-12-08", "2026-12-15"]


async def test_the_same_rule_applied_several_times_at_once(api: Api) -> None:
    await setup(api)
    await rule(api)
    s = api.ids["station"]
    res = await asyncio.gather(
        *[
            api.call(
                "POST",
                f"/api/v1/stations/{s}/recurring-bookings/materialise",
                "operator",
                json={"days": 14},
            )
            for _ in range(3)
        ]
    )
    assert [st for st, _ in res] == [200, 200, 200], res
    assert sum(len(b["created"]) for _, b in res) == 2
    assert await active_days(api) == ["2026-11-24", "2026-12-01"]
    knocks = await asyncio.gather(
        *[
            api.call(
                "POST",
                f"/api/v1/stations/{s}/recurring-bookings/door-knock",
                "operator",
                json={"weekday": 3, "starts_on": "2026-11-23"},
            )
            for _ in range(3)
        ]
    )
    assert sorted(b["added"] for _, b in knocks) == [0, 0, 2], knocks
