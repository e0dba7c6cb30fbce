"""Unmasking only through an audited path (issue 12): the duplicate-ID check says nothing
about another station's elder; a search by a whole number is counted and audited; a screen
pop shows another station's elder only as "registered at another station"; the caller's
full number only with an audit row."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from server.identity import make_id_number
from server.registry.flows.common import NUMBER_SEARCHES_PER_HOUR
from server.store.tables import audit_log
from tests.conftest import BACKENDS
from tests.hotline.support import cti, pushes, send_cti, set_station_phone
from tests.platform.test_registry import elder_body
from tests.support.api import Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def _audit(api: Api, action: str) -> list[Any]:
    async with api.platform.store.read() as db:
        return list((await db.execute(select(audit_log).where(audit_log.c.action == action))).all())


async def test_the_duplicate_id_check_says_nothing_about_another_station(api: Api) -> None:
    first = elder_body(api)
    await api.call("POST", "/api/v1/elders", "operator", json=first, expect=201)
    # Station 2's operator registers the same ID number: the answer is the one for a new
    # number (201), not "exists" (which would confirm a masked ID), and it is audited.
    other = elder_body(api, station_id=api.ids["station2"], name="周淑珍")
    made = await api.call("POST", "/api/v1/elders", "operator2", json=other, expect=201)
    fresh = elder_body(
        api,
        station_id=api.ids["station2"],
        id_number=make_id_number("110105", date(1944, 3, 8), 46),
    )
    new = await api.call("POST", "/api/v1/elders", "operator2", json=fresh, expect=201)
    assert set(made) == set(new) and made["id_number"].startswith("110***")
    [row] = await _audit(api, "id_number_elsewhere")
    assert row.actor_user_id == api.ids["operator2"]
    assert row.detail["other_station_id"] == api.ids["station"]
    # In one's own station it is still one file per number.
    status, body = await api.call("POST", "/api/v1/elders", "operator2", json=other)
    assert status == 409 and body["code"] == "elder_exists"


async def test_searches_by_a_whole_number_are_counted_and_audited(api: Api) -> None:
    path = "/api/v1/elders?q=13500000001"
    page = await api.call("GET", path, "operator", expect=200)
    assert page["total"] == 1
    rows = await _audit(api, "search_by_number")
    assert [(r.actor_user_id, r.object_id) for r in rows] == [(api.ids["operator"], "135****0001")]
    await api.call("GET", "/api/v1/elders?q=0001", "operator", expect=200)  # last 4: free
    assert len(await _audit(api, "search_by_number")) == 1
    for _ in range(NUMBER_SEARCHES_PER_HOUR - 1):
        await api.call("GET", path, "operator", expect=200)
    status, body = await api.call("GET", "/api/v1/elders?q=13500000099", "operator")
    assert status == 429 and body["code"] == "rate_limited" and body["retry_after_s"] > 0
    await api.call("GET", path, "operator2", expect=200)  # someone else's count is theirs


async def test_a_screen_pop_shows_another_stations_elder_only_as_elsewhere(api: Api) -> None:
    await set_station_phone(api)
    # Station 2's elder (13500000003) calls station 1's number.
    await send_cti(api, cti("e1", "ringing", "c-1", caller="13500000003"))
    [pop] = await pushes(api, "operator", "call.ringing")
    assert pop["caller"] == "135****0003"
    [m] = pop["matches"]
    assert m["elsewhere"] is True and m["elder_id"] == 0
    assert "张玉兰" not in str(pop) and m["address"] == ""
    # Its own elder is shown in full.
    await send_cti(api, cti("e2", "ringing", "c-2", caller="13500000001"))
    own = (await pushes(api, "operator", "call.ringing"))[-1]
    assert own["matches"][0]["name"] == "王秀英" and own["matches"][0]["elsewhere"] is False
    listed = await api.call("GET", "/api/v1/hotline/calls", "operator", expect=200)
    assert listed and all("*" in c["caller"] for c in listed if c["caller"])


async def test_the_callers_full_number_only_with_an_audit_row(api: Api) -> None:
    await set_station_phone(api)
    await send_cti(api, cti("e1", "ringing", "c-1", caller="13500000003"))
    status, _ = await api.call("POST", "/api/v1/hotline/calls/c-1/caller", "operator2")
    assert status == 404  # another station's call: like a missing one
    got = await api.call("POST", "/api/v1/hotline/calls/c-1/caller", "operator", expect=200)
    assert got["caller"] == "13500000003"
    [row] = await _audit(api, "reveal_caller")
    assert (row.actor_user_id, row.object_id) == (api.ids["operator"], "c-1")


async def test_full_reads_of_a_file_are_rate_limited(api: Api) -> None:
    from server.registry.flows.elders import REVEALS_PER_HOUR

    path = f"/api/v1/elders/{api.ids['elder']}?reveal=1"
    for _ in range(REVEALS_PER_HOUR):
        await api.call("GET", path, "operator", expect=200)
    status, body = await api.call("GET", path, "operator")
    assert status == 429 and body["code"] == "rate_limited"
    masked = await api.call("GET", f"/api/v1/elders/{api.ids['elder']}", "operator", expect=200)
    assert "*" in masked["phone"]  # the masked file is still there
    assert len(await _audit(api, "reveal")) == REVEALS_PER_HOUR
