"""The 2027 boundary with the fake clock: an application and a holiday-skipping recurring rule
are never refused for want of a calendar; deadlines in an unpublished year are provisional and
recomputed (with their overdue timer) when the year's official calendar is published."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import BACKENDS
from tests.support.api import Api
from tests.welfare.support import long_tokens
from tests.welfare.test_api_welfare import setup

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

MON_21_DEC = datetime(2026, 12, 21, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


async def test_application_across_new_year_is_provisional_then_recomputed(api: Api) -> None:
    long_tokens(api)  # before moving the clock a month on
    api.clock.set(MON_21_DEC)
    await setup(api)
    a = await api.call(
        "POST",
        f"/api/v1/elders/{api.ids['elder']}/applications",
        "family",
        json={"rule_id": "dibao"},
        expect=201,
    )
    # 10 working days, 1 January off by the fixed-date rule: 22-25, 28-31 Dec, 4 and 5 Jan
    assert (a["step_due_on"], a["provisional"]) == ("2027-01-05", True)
    years = await api.call("GET", "/api/v1/welfare/calendars", "operator", expect=200)
    assert {y["year"]: y["source"] for y in years}[2027] == "provisional"
    notice = {"holidays": ["2027-01-01", "2027-01-04"], "source": "国办发明电〔2026〕X号（测试）"}
    status, _ = await api.call("PUT", "/api/v1/welfare/calendars/2027", "operator", json=notice)
    assert status == 403  # district staff publish it
    bad = {"holidays": ["2027-01-01"], "workdays": ["2027-01-06"]}  # a Wednesday is no swap
    status, problem = await api.call("PUT", "/api/v1/welfare/calendars/2027", "admin", json=bad)
    assert (status, problem["code"]) == (422, "calendar.invalid")
    pub = await api.call("PUT", "/api/v1/welfare/calendars/2027", "admin", json=notice, expect=201)
    assert (pub["version"], pub["recomputed"]) == (1, [a["id"]])
    a = await api.call("GET", f"/api/v1/applications/{a['id']}", "operator", expect=200)
    assert (a["step_due_on"], a["provisional"]) == ("2027-01-06", False)
    assert a["events"][-1]["action"] == "due_recomputed"
    # the old due day's timer no longer flags anything; the new one does
    await api.advance((datetime(2027, 1, 6, 4, 0, tzinfo=UTC) - api.clock.now()).total_seconds())
    a = await api.call("GET", f"/api/v1/applications/{a['id']}", "operator", expect=200)
    assert "overdue" not in [e["action"] for e in a["events"]] and a["overdue"] is False
    await api.advance(24 * 3600)
    a = await api.call("GET", f"/api/v1/applications/{a['id']}", "operator", expect=200)
    assert [e["action"] for e in a["events"]].count("overdue") == 1 and a["overdue"] is True


async def test_holiday_skipping_rule_materialises_into_2027(api: Api) -> None:
    long_tokens(api)  # before moving the clock a month on
    api.clock.set(MON_21_DEC)
    await setup(api)
    rule = {
        "item_code": "bath-help",
        "weekdays": [4],
        "start": "09:00",
        "end": "11:00",
        "starts_on": "2026-12-21",
        "skip_non_workdays": True,
    }
    await api.call(
        "POST",
        f"/api/v1/elders/{api.ids['elder']}/recurring-bookings",
        "operator",
        json=rule,
        expect=201,
    )
    made = await api.call(
        "POST",
        f"/api/v1/stations/{api.ids['station']}/recurring-bookings/materialise",
        "operator",
        json={"days": 14},
        expect=200,
    )
    days = sorted(
        b["start"][:10]
        for b in await api.call(
            "GET", f"/api/v1/elders/{api.ids['elder']}/bookings", "elder", expect=200
        )
    )
    assert len(made["created"]) == 1 and days == ["2026-12-25"]  # Friday 1 January is off
