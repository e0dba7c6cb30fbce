"""Volunteers and the time bank: the registry; a volunteer without a watch agreement refused
as a step of an elder's chain (with the reason), one with it called with the neighbours; a
simple task's hours earned once when the elder confirms (twice: the same answer, not double);
spending never overdraws; hours given to a family member on the registry; the statement."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from server.hotline.tables import escalation_chains
from server.volunteers.tables import timebank_entries, volunteer_links
from tests.conftest import BACKENDS
from tests.support.api import Api
from tests.welfare.support import long_tokens

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def volunteer(api: Api, phone: str, **kw: Any) -> Any:
    body = {
        "name": "陈志远",
        "phone": phone,
        "skills": ["chat", "shopping"],
        "trainings": [{"name": "急救培训", "on": "2026-06-01"}],
        "availability": [{"weekday": 2, "start": "14:00", "end": "17:00"}],
        **kw,
    }
    return await api.call(
        "POST", f"/api/v1/stations/{api.ids['station']}/volunteers", "operator", json=body
    )


async def test_only_a_volunteer_with_a_watch_agreement_joins_a_chain(api: Api) -> None:
    long_tokens(api)
    eid = api.ids["elder"]
    status, plain = await volunteer(api, "13600000001")
    assert status == 201, plain
    status, problem = await api.call(
        "POST",
        f"/api/v1/elders/{eid}/chain-volunteers",
        "operator",
        json={"volunteer_id": plain["id"]},
    )
    assert (status, problem["code"]) == (409, "volunteer.no_watch_agreement")
    assert "watch agreement" in problem["title"]
    status, lapsed = await volunteer(
        api, "13600000002", agreement_no="KH07", agreement_expires="2026-01-31"
    )
    status, problem = await api.call(
        "POST",
        f"/api/v1/elders/{eid}/chain-volunteers",
        "operator",
        json={"volunteer_id": lapsed["id"]},
    )
    assert (status, problem["code"]) == (409, "volunteer.agreement_expired")
    status, signed = await volunteer(
        api, "13600000003", agreement_no="KH08", agreement_expires="2027-12-31"
    )
    await api.call(
        "POST",
        f"/api/v1/elders/{eid}/chain-volunteers",
        "operator",
        json={"volunteer_id": signed["id"]},
        expect=201,
    )
    async with api.platform.store.read() as conn:
        n = (await conn.execute(select(func.count()).select_from(volunteer_links))).scalar_one()
    assert n == 1  # the refusals wrote nothing
    # bad inputs: a duplicate phone, a bad phone, another station's operator
    assert (await volunteer(api, "13600000003"))[0] == 409
    assert (await volunteer(api, "12345"))[0] == 422
    status, _ = await api.call(
        "POST",
        f"/api/v1/elders/{eid}/chain-volunteers",
        "operator2",
        json={"volunteer_id": signed["id"]},
    )
    assert status == 404
    # a help call: the chain knows the volunteer as one of the neighbours
    await api.press(expect=201)
    await api.pump()
    async with api.platform.store.read() as conn:
        chain = (await conn.execute(select(escalation_chains))).one()
    key = f"volunteer:{signed['id']}"
    assert key in chain.context["neighbours"]
    assert chain.context["people"][key]["phone"] == "13600000003"


async def test_hours_are_earned_once_and_the_time_bank_balances(api: Api) -> None:
    long_tokens(api)
    eid, other = api.ids["elder"], api.ids["elder_other"]
    _, v = await volunteer(api, "13600000004")
    vid = v["id"]
    task = await api.call(
        "POST",
        "/api/v1/volunteer-tasks",
        "operator",
        json={"volunteer_id": vid, "elder_id": eid, "kind": "chat", "day": "2026-11-25"},
        expect=201,
    )
    status, problem = await api.call(
        "POST", f"/api/v1/volunteer-tasks/{task['id']}/confirm", "elder"
    )
    assert (status, problem["code"]) == (409, "volunteer_task_state_conflict")  # not done yet
    await api.call(
        "POST",
        f"/api/v1/volunteer-tasks/{task['id']}/done",
        "operator",
        json={"minutes": 90},
        expect=200,
    )
    first = await api.call(
        "POST", f"/api/v1/volunteer-tasks/{task['id']}/confirm", "elder", expect=200
    )
    again = await api.call(
        "POST", f"/api/v1/volunteer-tasks/{task['id']}/confirm", "operator", expect=200
    )
    assert (first["status"], first["already_confirmed"]) == ("confirmed", False)
    assert (again["status"], again["already_confirmed"]) == ("confirmed", True)
    status, _ = await api.call("POST", f"/api/v1/volunteer-tasks/{task['id']}/confirm", "family2")
    assert status == 404  # not their elder
    st = await api.call("GET", f"/api/v1/volunteers/{vid}/timebank", "operator", expect=200)
    assert (st["earned_min"], st["balance_min"]) == (90, 90)  # confirmed twice, earned once
    # spend 30, try to overdraw, give 45 to the mother (an elder on the registry)
    await api.call(
        "POST",
        f"/api/v1/volunteers/{vid}/timebank/spend",
        "operator",
        json={"minutes": 30, "memo": "代购"},
        expect=200,
    )
    status, problem = await api.call(
        "POST",
        f"/api/v1/volunteers/{vid}/timebank/transfer",
        "operator",
        json={"minutes": 61, "to_elder_id": other, "relation": "母亲"},
    )
    assert (status, problem["code"], problem["balance_min"]) == (409, "timebank.insufficient", 60)
    st = await api.call(
        "POST",
        f"/api/v1/volunteers/{vid}/timebank/transfer",
        "operator",
        json={"minutes": 45, "to_elder_id": other, "relation": "母亲"},
        expect=200,
    )
    assert (st["earned_min"], st["spent_min"], st["transferred_out_min"], st["balance_min"]) == (
        90,
        30,
        45,
        15,
    )
    mum = await api.call("GET", f"/api/v1/elders/{other}/timebank", "operator", expect=200)
    assert (mum["received_min"], mum["balance_min"]) == (45, 45)
    async with api.platform.store.read() as conn:
        total = (await conn.execute(select(func.sum(timebank_entries.c.minutes)))).scalar_one()
    assert total == 60  # 90 earned - 30 spent; a transfer moves minutes, it makes none


async def test_two_confirmations_at_once_earn_the_hours_once(api: Api) -> None:
    long_tokens(api)
    _, v = await volunteer(api, "13600000005")
    task = await api.call(
        "POST",
        "/api/v1/volunteer-tasks",
        "operator",
        json={
            "volunteer_id": v["id"],
            "elder_id": api.ids["elder"],
            "kind": "door_knock",
            "day": "2026-11-24",
        },
        expect=201,
    )
    url = f"/api/v1/volunteer-tasks/{task['id']}"
    await api.call("POST", f"{url}/done", "operator", json={"minutes": 20}, expect=200)
    both = await asyncio.gather(
        api.call("POST", f"{url}/confirm", "elder", expect=200),
        api.call("POST", f"{url}/confirm", "operator", expect=200),
    )
    assert sorted(b["already_confirmed"] for b in both) == [False, True]
    st = await api.call("GET", f"/api/v1/volunteers/{v['id']}/timebank", "operator", expect=200)
    assert (st["earned_min"], len(st["entries"])) == (20, 1)
