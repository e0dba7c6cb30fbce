"""An emergency for another station's elder (issue 12's sharing rule): the elder rang the
wrong station. The screen pop shows them only as "registered at another station", yet the
operator who answered opens the emergency with one click, at the elder's own station; they
learn where it went, and the elder's name and address only where that station shares them in
an emergency. Nothing of the elder is reachable beyond what the call matched."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from server.hotline.tables import hotline_calls
from server.incidents.tables import incidents
from server.store.tables import audit_log
from tests.conftest import BACKENDS
from tests.hotline.support import cti, pushes, send_cti, set_station_phone
from tests.support.api import Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

FORWARD = "/api/v1/hotline/calls/c-1/forward"


async def _ring_from_station2s_elder(api: Api) -> None:
    await set_station_phone(api)
    await send_cti(api, cti("e1", "ringing", "c-1", caller="13500000003"))
    [pop] = await pushes(api, "operator", "call.ringing")
    assert pop["matches"][0]["elsewhere"] is True


async def _audit(api: Api, action: str) -> list[Any]:
    async with api.platform.store.read() as db:
        return list((await db.execute(select(audit_log).where(audit_log.c.action == action))).all())


async def _incident_count(api: Api) -> int:
    async with api.platform.store.read() as db:
        return int((await db.execute(select(func.count()).select_from(incidents))).scalar_one())


async def test_the_emergency_opens_at_the_elders_own_station(api: Api) -> None:
    await _ring_from_station2s_elder(api)
    got = await api.call("POST", FORWARD, "operator", json={"match": 0}, expect=201)
    assert got["station_id"] == api.ids["station2"] and got["station_name"] == "官长社区养老服务站"
    assert got["shared"] is False and got["elder_name"] == "" and got["address"] == ""
    iid = got["incident_id"]
    # Station 2 owns it: its operator sees the emergency and who forwarded it; station 1's
    # operator cannot open it.
    seen = await api.call("GET", f"/api/v1/incidents/{iid}", "operator2", expect=200)
    assert seen["kind"] == "emergency" and seen["elder_id"] == api.ids["elder_s2"]
    assert any(
        e["kind"] == "forwarded" and e["data"]["from_station_id"] == api.ids["station"]
        for e in seen["timeline"]
    )
    status, _ = await api.call("GET", f"/api/v1/incidents/{iid}", "operator")
    assert status == 404
    [row] = await _audit(api, "emergency_forwarded")
    assert (row.actor_user_id, row.object_id) == (api.ids["operator"], str(api.ids["elder_s2"]))
    assert await _audit(api, "emergency_shared") == []
    async with api.platform.store.read() as db:
        call = (await db.execute(select(hotline_calls))).one()
    assert call.incident_id == iid
    # Pressed again (a double click, a retry): the same emergency, joined.
    again = await api.call("POST", FORWARD, "operator", json={"match": 0}, expect=200)
    assert again["incident_id"] == iid and again["joined"] is True
    assert await _incident_count(api) == 1


async def test_a_station_that_shares_in_emergencies_gives_name_and_address(api: Api) -> None:
    settings = await api.call("GET", "/api/v1/hotline/settings", "operator2", expect=200)
    assert settings["share_in_emergency"] is False
    settings["share_in_emergency"] = True
    await api.call("PUT", "/api/v1/hotline/settings", "operator2", json=settings, expect=200)
    await _ring_from_station2s_elder(api)
    got = await api.call(
        "POST", FORWARD, "operator", json={"match": 0, "medical": True}, expect=201
    )
    assert got["shared"] is True and got["elder_name"] == "张玉兰" and got["address"]
    [row] = await _audit(api, "emergency_shared")
    assert row.actor_user_id == api.ids["operator"]


async def test_refusals_write_nothing(api: Api) -> None:
    await _ring_from_station2s_elder(api)
    status, body = await api.call("POST", FORWARD, "operator", json={"match": 1})
    assert status == 422 and body["code"] == "match_not_found"
    # Station 2 did not get this call: like a missing one.
    status, body = await api.call("POST", FORWARD, "operator2", json={"match": 0})
    assert status == 404 and body["code"] == "call_not_found"
    status, _ = await api.call("POST", FORWARD, "operator", json={"match": -1})
    assert status == 422
    # One's own elder is opened here, not forwarded.
    await send_cti(api, cti("e2", "ringing", "c-2", caller="13500000001"))
    status, body = await api.call(
        "POST", "/api/v1/hotline/calls/c-2/forward", "operator", json={"match": 0}
    )
    assert status == 409 and body["code"] == "elder_at_this_station"
    assert body["title_i18n"]["zh"]
    assert await _incident_count(api) == 0
    assert await _audit(api, "emergency_forwarded") == []
