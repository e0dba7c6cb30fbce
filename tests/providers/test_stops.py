"""停发补贴 as a fraud decision: from the day on, the elder's services are all self-paid (her
quota untouched) until an officer lifts the stop; one stop at a time; audited; out of another
district's reach."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import select

from server.store.tables import audit_log
from tests.conftest import BACKENDS
from tests.providers.support import DISTRICT
from tests.support.api import Api
from tests.welfare.support import long_tokens
from tests.welfare.test_api_welfare import assign, book, done, setup

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

TUE = "2026-11-24T{}:00+08:00"


async def quota_left(api: Api) -> int:
    led = await api.call("GET", f"/api/v1/elders/{api.ids['elder']}/ledger", "elder", expect=200)
    return int(led["quota_left_fen"])


async def test_a_stopped_subsidy_makes_every_visit_self_paid_until_lifted(api: Api) -> None:
    long_tokens(api)
    await setup(api)
    before = await quota_left(api)
    a = await book(api, TUE.format("09:00"), TUE.format("10:30"))
    b = await book(api, TUE.format("13:00"), TUE.format("14:30"))
    for x in (a, b):
        await assign(api, x)
    path = f"/api/v1/elders/{api.ids['elder']}/subsidy-stops"
    body = {"reason": "冒领补贴：家属代签服务记录", "starts_on": "2026-11-24"}
    got, problem = await api.call("POST", path, "admin", json={**body, "hold_id": 999})
    assert (got, problem["code"], problem["field"]) == (422, "unknown_hold", "hold_id")
    stop = await api.call("POST", path, "admin", json=body, expect=201)
    assert (stop["status"], stop["district"], stop["starts_on"]) == (
        "active",
        DISTRICT,
        "2026-11-24",
    )
    again, problem = await api.call("POST", path, "admin", json=body)
    assert (again, problem["code"]) == (409, "subsidy.already_stopped")
    api.clock.advance(hours=30)
    elig_path = f"/api/v1/elders/{api.ids['elder']}/eligibility"
    elig = await api.call("GET", elig_path, "admin", expect=200)
    assert elig["subsidy_stopped_since"] == "2026-11-24"
    assert elig["reasons"][0].startswith("自2026-11-24起停发补贴")
    complete = "/api/v1/bookings/{}/complete"
    rec = await api.call(
        "POST",
        complete.format(a["id"]),
        "cg_b",
        json=done(TUE.format("09:00"), TUE.format("10:30")),
        expect=201,
    )
    assert (rec["subsidy_fen"], rec["self_pay_fen"]) == (0, rec["price_fen"])
    assert await quota_left(api) == before  # nothing charged to her quota
    # lifted: the next visit is subsidised again
    await api.call("POST", f"/api/v1/subsidy-stops/{stop['id']}/lift", "admin", expect=200)
    rec = await api.call(
        "POST",
        complete.format(b["id"]),
        "cg_b",
        json=done(TUE.format("13:00"), TUE.format("14:30")),
        expect=201,
    )
    assert rec["subsidy_fen"] > 0 and await quota_left(api) == before - rec["subsidy_fen"]
    elig = await api.call("GET", elig_path, "admin", expect=200)
    assert elig["subsidy_stopped_since"] is None
    assert not any("停发" in r for r in elig["reasons"])
    listed = await api.call(
        "GET", f"/api/v1/districts/{quote(DISTRICT)}/subsidy-stops", "admin", expect=200
    )
    assert [(s["id"], s["status"]) for s in listed] == [(stop["id"], "lifted")]
    async with api.platform.store.read() as conn:
        actions = list(
            (
                await conn.execute(
                    select(audit_log.c.action).where(
                        audit_log.c.action.in_(["subsidy_stopped", "subsidy_stop_lifted"])
                    )
                )
            ).scalars()
        )
    assert sorted(actions) == ["subsidy_stop_lifted", "subsidy_stopped"]
    # the station's operator may not stop a subsidy
    status, _ = await api.call("POST", path, "operator", json=body)
    assert status == 403
