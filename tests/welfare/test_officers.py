"""Street and district reviewers: each step by its own role, scoped to its street or district
(404 outside it, as for other tenants); district officers close and summarise their own
district only; admins keep every power."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from server.registry.tables import stations
from tests.conftest import BACKENDS
from tests.support.api import PASSWORD, Api
from tests.welfare.support import long_tokens
from tests.welfare.test_api_welfare import DISTRICT, setup

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

OFFICERS = {
    "street_hj": ("street_officer", DISTRICT, "呼家楼街道"),
    "street_other": ("street_officer", DISTRICT, "团结湖街道"),
    "district_cy": ("district_officer", DISTRICT, None),
    "district_hd": ("district_officer", "海淀区", None),
}


async def officers(api: Api) -> None:
    async with api.platform.store.begin() as conn:
        await conn.execute(
            update(stations).where(stations.c.id == api.ids["station"]).values(street="呼家楼街道")
        )
    for username, (role, district, street) in OFFICERS.items():
        body: dict[str, Any] = {
            "username": username,
            "display_name": username,
            "password": PASSWORD,
            "role": role,
            "district": district,
        }
        if street:
            body["street"] = street
        await api.call("POST", "/api/v1/welfare/officers", "admin", json=body, expect=201)
        await api.login(username)
    long_tokens(api)


async def test_each_step_by_its_own_officer_in_scope(api: Api) -> None:
    await setup(api)
    await officers(api)
    a = await api.call(
        "POST",
        f"/api/v1/elders/{api.ids['elder']}/applications",
        "family",
        json={"rule_id": "dibao"},
        expect=201,
    )
    url = f"/api/v1/applications/{a['id']}/decision"
    status, problem = await api.call("POST", url, "street_hj", json={"decision": "pass"})
    assert (status, problem["code"]) == (403, "application.wrong_level")  # community step
    await api.call("POST", url, "operator", json={"decision": "pass"}, expect=200)
    status, _ = await api.call("POST", url, "street_other", json={"decision": "pass"})
    assert status == 404  # another street's office does not see it
    status, problem = await api.call("POST", url, "district_cy", json={"decision": "pass"})
    assert (status, problem["code"]) == (403, "application.wrong_level")
    queue = await api.call("GET", "/api/v1/welfare/review-queue", "street_hj", expect=200)
    assert [x["id"] for x in queue] == [a["id"]]
    assert await api.call("GET", "/api/v1/welfare/review-queue", "street_other", expect=200) == []
    a = await api.call("POST", url, "street_hj", json={"decision": "pass"}, expect=200)
    assert a["status"] == "district"
    status, _ = await api.call("POST", url, "district_hd", json={"decision": "pass"})
    assert status == 404  # another district
    status, _ = await api.call("GET", f"/api/v1/applications/{a['id']}", "district_hd")
    assert status == 404
    a = await api.call("POST", url, "district_cy", json={"decision": "pass"}, expect=200)
    assert a["status"] == "approved"
    status, _ = await api.call("POST", "/api/v1/welfare/officers", "operator", json={})
    assert status == 403  # only admins open reviewer accounts


async def test_district_officers_close_and_summarise_only_their_district(api: Api) -> None:
    await setup(api)
    await officers(api)
    api.clock.set(api.clock.now().replace(month=12, day=1, hour=3))
    long_tokens(api)
    close = f"/api/v1/districts/{DISTRICT}/close"
    status, _ = await api.call("POST", close, "district_hd", json={"period": "2026-11"})
    assert status == 404
    status, _ = await api.call("POST", close, "street_hj", json={"period": "2026-11"})
    assert status == 403
    closes = await api.call("POST", close, "district_cy", json={"period": "2026-11"}, expect=200)
    assert len(closes) == 3
    summary = f"/api/v1/districts/{DISTRICT}/summaries/2026Q4.csv"
    r = await api.client.get(summary, headers=api.h("district_hd"))
    assert r.status == 404
    r = await api.client.get(summary, headers=api.h("district_cy"))
    assert r.status == 200
    r = await api.client.get(summary, headers=api.h("admin"))
    assert r.status == 200
