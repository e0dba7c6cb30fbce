"""Monthly grants and period closes through the real app: first reads of a month racing on
PostgreSQL, closes only of past periods, every eligible elder granted and closed by the
district's own recurring timer, and a household's grant being its highest member's amount."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from server.registry.tables import elders
from server.store.tables import timers
from tests.conftest import BACKENDS
from tests.support.api import Api
from tests.welfare.support import long_tokens
from tests.welfare.test_api_welfare import DISTRICT, RULESET, assign, book, done, setup

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def quota_entries(api: Api, key: str = "elder") -> list[dict[str, Any]]:
    who = "operator2" if key == "elder_s2" else "operator"
    led = await api.call("GET", f"/api/v1/elders/{api.ids[key]}/ledger", who, expect=200)
    return [e for e in led["entries"] if e["account"].startswith("quota:")]


async def test_first_reads_of_a_month_at_once_grant_once(api: Api) -> None:
    await setup(api)
    eid = api.ids["elder"]
    res = await asyncio.gather(
        *[
            api.call("GET", f"/api/v1/elders/{eid}/eligibility", who)
            for who in ("elder", "family", "operator") * 3
        ]
    )
    assert [s for s, _ in res] == [200] * 9, res
    assert {b["quota_left_fen"] for _, b in res} == {20000}
    assert [e["entry_id"] for e in await quota_entries(api)] == [f"grant:quota:elder:{eid}:2026-11"]


async def test_booking_completion_and_reads_at_the_start_of_a_month(api: Api) -> None:
    await setup(api)
    eid = api.ids["elder"]
    start, end = "2026-12-01T09:00:00+08:00", "2026-12-01T10:30:00+08:00"
    b = await book(api, start, end)  # made in November: only November is granted
    await assign(api, b)
    api.clock.set(datetime(2026, 12, 1, 2, 35, tzinfo=UTC))  # 10:35 Shanghai, nobody read December
    res = await asyncio.gather(
        api.call("POST", f"/api/v1/bookings/{b['id']}/complete", "cg_b", json=done(start, end)),
        api.call(
            "POST",
            f"/api/v1/elders/{eid}/bookings",
            "family",
            json={
                "item_code": "chat",
                "start": "2026-12-02T09:00:00+08:00",
                "end": "2026-12-02T10:00:00+08:00",
            },
        ),
        *[api.call("GET", f"/api/v1/elders/{eid}/eligibility", w) for w in ("elder", "family")],
    )
    assert [s for s, _ in res] == [201, 201, 200, 200], res
    december = [e for e in await quota_entries(api) if e["period"] == "2026-12"]
    assert sorted(e["kind"] for e in december) == ["grant", "spend"]
    assert sum(e["amount_fen"] for e in december) == 20000 - 6000


async def test_only_a_past_period_of_the_right_kind_can_be_closed(api: Api) -> None:
    await setup(api)
    url = f"/api/v1/districts/{DISTRICT}/close"
    for period, code in (
        ("2026-12", "close.period_not_over"),  # the future
        ("2026-11", "close.period_not_over"),  # the current month, mid-month
        ("2026Q3", "close.wrong_period"),  # a monthly district closes months
    ):
        status, problem = await api.call("POST", url, "admin", json={"period": period})
        assert (status, problem["code"]) == (422, code), period
    e = await api.call("GET", f"/api/v1/elders/{api.ids['elder']}/eligibility", "elder", expect=200)
    assert e["quota_left_fen"] == 20000  # nothing expired


async def test_the_district_timer_closes_every_eligible_elder_and_rearms(api: Api) -> None:
    """Nobody was served and nobody read a quota: the timer set when the rule set was published
    still grants and closes November for every eligible elder, and arms December's close."""
    await setup(api)
    # 1 December 00:30 in Shanghai is 30 Nov 16:30 UTC
    await api.advance(
        (datetime(2026, 11, 30, 16, 31, tzinfo=UTC) - api.clock.now()).total_seconds()
    )
    for key in ("elder", "elder_other", "elder_s2"):
        nov = [e for e in await quota_entries(api, key) if e["period"] == "2026-11"]
        assert [(e["kind"], e["amount_fen"]) for e in nov] == [("grant", 20000), ("expiry", -20000)]
    async with api.platform.store.read() as conn:
        pending = (
            await conn.execute(
                select(timers.c.ref, timers.c.due_at).where(
                    timers.c.kind == "welfare.period_close", timers.c.state == "pending"
                )
            )
        ).all()
    assert [(r.ref, r.due_at.astimezone(UTC)) for r in pending] == [
        (f"welfare.close:{DISTRICT}:2026-12", datetime(2026, 12, 31, 16, 30, tzinfo=UTC))
    ]
    r = await api.client.get(
        f"/api/v1/districts/{DISTRICT}/summaries/2026Q4.csv", headers=api.h("admin")
    )
    text = (await r.read()).decode("utf-8-sig")
    for key in ("elder", "elder_other", "elder_s2"):
        assert f"quota:elder:{api.ids[key]},2026-11,20000,0,20000" in text


async def test_a_household_gets_its_highest_members_amount_whoever_reads_first(api: Api) -> None:
    long_tokens(api)
    rules = {
        **RULESET,
        "classes": {"H": "subsidised", "P": "paid"},
        "rules": [
            {
                "id": "h-80",
                "class": "H",
                "monthly_quota_fen": 10000,
                "basis": "household",
                "automatic": True,
                "when": {"min_age": 80},
            },
            {
                "id": "h-care",
                "class": "H",
                "monthly_quota_fen": 15000,
                "basis": "household",
                "automatic": True,
                "when": {"min_age": 80, "care_levels": ["失能"]},
            },
        ],
    }
    await api.call("POST", "/api/v1/welfare/rulesets", "admin", json=rules, expect=201)
    async with api.platform.store.begin() as conn:
        await conn.execute(
            update(elders)
            .where(elders.c.id.in_([api.ids["elder"], api.ids["elder_other"]]))
            .values(household_id="h-9")
        )
        await conn.execute(
            update(elders).where(elders.c.id == api.ids["elder_other"]).values(care_level="失能")
        )
    # the elder whose own amount is lower reads first
    e = await api.call("GET", f"/api/v1/elders/{api.ids['elder']}/eligibility", "elder", expect=200)
    assert (e["quota_account"], e["monthly_quota_fen"], e["quota_left_fen"]) == (
        "quota:household:h-9",
        10000,
        15000,
    )
