"""A medical emergency the call's own station cannot reach in time goes to a neighbouring
station's caregiver (same street centre), through the usual offer flow; she sees and works
that one incident and nothing else of the station that borrowed her.

Station 1 (仓红) and station 2 (官长) are seeded in the same district, no street recorded:
neighbours. The elder 王秀英 lives at near(100, 100); 李桂兰 at near(-200)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select, update

from server.registry.tables import caregivers, elders
from server.settings import Settings
from server.store.tables import push_messages
from tests.conftest import BACKENDS
from tests.platform.test_help_call import offers_for
from tests.support.api import Api, near, utc

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def policy() -> str:
    return "anxin"


@pytest.fixture
def settings(settings: Settings, policy: str) -> Settings:
    return replace(settings, dispatch_policy=policy)


async def lender(
    api: Api, key: str, name: str, at: tuple[float, float], shifts: list[Any] | None = None
) -> None:
    """A caregiver of station 2, on duty with first aid, at ``at``."""
    async with api.platform.store.begin() as conn:
        station = api.ids["station2"]
        await api.add_caregiver(conn, key, station, name, at, ["first_aid"], shifts=shifts)
    await api.login(key)


async def phoned_in(api: Api, operator: str, elder: str) -> Any:
    """An emergency the operator opens for the elder (a phone call)."""
    body = {"elder_id": api.ids[elder], "call_type": "emergency"}
    return await api.call("POST", "/api/v1/incidents", operator, json=body, expect=201)


async def own_only_caregiver_at_another_emergency(api: Api) -> None:
    """B is off duty; A takes 李桂兰's emergency and is on scene there."""
    await api.set_duty("cg_b", False)
    first = await phoned_in(api, "operator", "elder_other")
    await api.pump()
    [offer] = await offers_for(api, "cg_a")
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200)
    lat, lng = near(-200)
    where = {"location": {"lat": lat, "lng": lng, "coord_system": "gcj02"}}
    await api.call("POST", f"/api/v1/incidents/{first['id']}/arrive", "cg_a", json=where)
    api.ids["first_incident"] = int(first["id"])


async def lent_call(api: Api, shifts: list[Any] | None = None) -> int:
    """陈静 of station 2 has accepted 王秀英's call, which station 1 could not reach in time."""
    await lender(api, "cg_t", "陈静", near(1100, 100), shifts)
    await own_only_caregiver_at_another_emergency(api)
    iid: int = (await api.press(expect=201))["id"]
    await api.pump()
    [offer] = await offers_for(api, "cg_t")
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_t", expect=200)
    return iid


async def call_first_in_day(api: Api, station: tuple[str, str], cg: str, iid: int) -> Any:
    """The plan in force of ``station`` (its id's key, its operator), checked to put call
    ``iid`` first in the caregiver's day."""
    path = f"/api/v1/stations/{api.ids[station[0]]}/plans/latest"
    latest = await api.call("GET", path, station[1], expect=200)
    assert latest["trigger"] == f"emergency:{iid}"
    [route] = [r for r in latest["routes"] if r["caregiver_id"] == api.ids[cg]]
    assert route["visits"][0]["task_id"] == f"incident:{iid}"
    return latest


async def test_neighbour_takes_the_call_the_own_station_cannot_reach(api: Api) -> None:
    """陈静 of station 2, idle 1 km from 王秀英, is offered the call, accepts, arrives and
    resolves it; 孙丽, station 2's other caregiver 7 km away, is not offered it."""
    await lender(api, "cg_t", "陈静", near(1100, 100))
    await lender(api, "cg_u", "孙丽", near(5000, 5000))
    await own_only_caregiver_at_another_emergency(api)
    inc = await api.press(expect=201)
    iid = inc["id"]
    await api.pump()
    assert await offers_for(api, "cg_a") == []
    assert await offers_for(api, "cg_u") == []
    [offer] = await offers_for(api, "cg_t")
    assert offer["incident_id"] == iid
    seen = await api.call("GET", f"/api/v1/incidents/{iid}", "operator", expect=200)
    assert seen["status"] == "offered"
    assert [(c["name"], c["lent"]) for c in seen["candidates"]] == [("陈静", True)]
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_t", expect=200)
    mine = await api.call("GET", f"/api/v1/incidents/{iid}", "cg_t", expect=200)
    assert mine["elder_contact"]["phone"]  # she may call the elder on the way
    await api.call("POST", f"/api/v1/incidents/{iid}/en-route", "cg_t", json={}, expect=200)
    lat, lng = near(110, 100)
    where = {"location": {"lat": lat, "lng": lng, "coord_system": "gcj02"}}
    arrived = await api.call(
        "POST", f"/api/v1/incidents/{iid}/arrive", "cg_t", json=where, expect=200
    )
    assert arrived["flagged"] is False
    await api.call(
        "POST", f"/api/v1/incidents/{iid}/resolve", "cg_t", json={"notes": "已处理"}, expect=200
    )
    full = await api.call("GET", f"/api/v1/incidents/{iid}", "operator", expect=200)
    assert full["status"] == "resolved" and full["caregiver_name"] == "陈静"
    kinds = [e["kind"] for e in full["timeline"]]
    assert kinds == ["opened", "offered", "accepted", "en_route", "arrived", "resolved"]


async def test_lent_caregiver_sees_that_call_and_nothing_else_of_the_station(api: Api) -> None:
    await lender(api, "cg_t", "陈静", near(1100, 100))
    await lender(api, "cg_u", "孙丽", near(5000, 5000))
    await own_only_caregiver_at_another_emergency(api)
    iid = (await api.press(expect=201))["id"]
    await api.pump()
    # a caregiver of station 2 who was not offered the call cannot read it
    status, _ = await api.call("GET", f"/api/v1/incidents/{iid}", "cg_u")
    assert status == 404
    [offer] = await offers_for(api, "cg_t")
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_t", expect=200)
    # the lent caregiver: not station 1's other call, nor its other elder, nor its board
    first = api.ids["first_incident"]
    assert (await api.call("GET", f"/api/v1/incidents/{first}", "cg_t"))[0] == 404
    assert (await api.call("GET", f"/api/v1/elders/{api.ids['elder_other']}", "cg_t"))[0] == 404
    listed = await api.call("GET", "/api/v1/incidents", "cg_t", expect=200)
    assert [i["id"] for i in listed["items"]] == [iid]
    # station 2's operator cannot open the call, station 1's keeps it on the list
    assert (await api.call("GET", f"/api/v1/incidents/{iid}", "operator2"))[0] == 404
    theirs = await api.call("GET", "/api/v1/incidents", "operator2", expect=200)
    assert iid not in [i["id"] for i in theirs["items"]]
    ours = await api.call("GET", "/api/v1/incidents", "operator", expect=200)
    assert iid in [i["id"] for i in ours["items"]]


async def test_station_2_board_shows_its_caregiver_lent_without_the_elder(api: Api) -> None:
    await lender(api, "cg_t", "陈静", near(1100, 100))
    await own_only_caregiver_at_another_emergency(api)
    iid = (await api.press(expect=201))["id"]
    await api.pump()
    board: list[dict[str, Any]] = await api.call(
        "GET", "/api/v1/console/caregivers", "operator2", expect=200
    )
    [card] = [c for c in board if c["id"] == api.ids["cg_t"]]
    assert card["status"] == "offered"
    assert card["current"]["lent_to"]["station_id"] == api.ids["station"]
    [offer] = await offers_for(api, "cg_t")
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_t", expect=200)
    board = await api.call("GET", "/api/v1/console/caregivers", "operator2", expect=200)
    [card] = [c for c in board if c["id"] == api.ids["cg_t"]]
    assert card["status"] == "travelling" and card["current"]["id"] == iid
    assert card["current"]["lent_to"] == {
        "station_id": api.ids["station"],
        "name": "仓红社区养老服务站",
    }
    assert "王秀英" not in str(card)  # station 1's elder is not station 2's to see
    # station 1's board does not list her (she is not theirs); its call list names her
    ours = await api.call("GET", "/api/v1/console/caregivers", "operator", expect=200)
    assert api.ids["cg_t"] not in [c["id"] for c in ours]


async def test_own_station_goes_first_when_it_can_make_the_promise(api: Api) -> None:
    """A of station 1 is about 500 m from the elder; 陈静 of station 2 is 100 m away: A is
    offered the call and station 2 is not asked."""
    await lender(api, "cg_t", "陈静", near(200, 100))
    iid = (await api.press(expect=201))["id"]
    await api.pump()
    assert len(await offers_for(api, "cg_a")) == 1
    assert await offers_for(api, "cg_t") == []
    seen = await api.call("GET", f"/api/v1/incidents/{iid}", "operator", expect=200)
    assert [(c["name"], c["lent"]) for c in seen["candidates"]] == [
        ("王芳", False),
        ("刘洋", False),
    ]


async def test_everyone_late_the_neighbour_much_sooner_is_offered_and_the_alarm_runs(
    api: Api,
) -> None:
    """B is off duty and A is out 9 km north (about 45 minutes to 王秀英); 陈静 of station 2
    is 5 km away (about 27): nobody makes the promise, but 陈静 is there far sooner, so she
    is offered the call (lent) and A is not asked beside her; the operator still gets the
    no_caregiver_in_time alarm."""
    await api.set_duty("cg_b", False)
    lat, lng = near(9100, 100)
    async with api.platform.store.begin() as conn:
        await conn.execute(
            update(caregivers).where(caregivers.c.id == api.ids["cg_a"]).values(lat=lat, lng=lng)
        )
    await lender(api, "cg_t", "陈静", near(5100, 100))
    iid = (await api.press(expect=201))["id"]
    await api.pump()
    assert len(await offers_for(api, "cg_t")) == 1
    assert await offers_for(api, "cg_a") == []
    seen = await api.call("GET", f"/api/v1/incidents/{iid}", "operator", expect=200)
    assert [(c["name"], c["lent"]) for c in seen["candidates"]] == [
        ("陈静", True),
        ("王芳", False),
    ]
    alarms = await api.call("GET", "/api/v1/alarms", "operator", expect=200)
    assert any(a["kind"] == "no_caregiver_in_time" and a["incident_id"] == iid for a in alarms)


@pytest.mark.parametrize("policy", ["greedy"])
async def test_the_phone_baseline_calls_round_its_own_station_only(api: Api) -> None:
    """Under the greedy policy (today's phone practice) the neighbour is never asked."""
    await lender(api, "cg_t", "陈静", near(1100, 100))
    await own_only_caregiver_at_another_emergency(api)
    await api.press(expect=201)
    await api.pump()
    assert await offers_for(api, "cg_t") == []


async def test_the_lent_caregivers_own_station_day_is_repaired(api: Api) -> None:
    """After 陈静 takes station 1's call, station 2's plan puts the call first in her day
    (station 1's plan is not hers to change)."""
    api.clock.set(utc(2026, 11, 23, 1, 0))  # a Monday, 09:00 in Shanghai
    shifts = [{"weekday": d, "start": "08:00", "end": "17:00"} for d in range(7)]
    await lender(api, "cg_t", "陈静", near(1100, 100), shifts)
    await api.call(
        "POST",
        f"/api/v1/stations/{api.ids['station2']}/plans",
        "operator2",
        json={"time_limit_s": 1},
        expect=201,
    )
    await own_only_caregiver_at_another_emergency(api)
    iid = (await api.press(expect=201))["id"]
    await api.pump()
    [offer] = await offers_for(api, "cg_t")
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_t", expect=200)
    await api.pump()
    await call_first_in_day(api, ("station2", "operator2"), "cg_t", iid)


async def test_lent_caregiver_reads_the_call_only_while_it_is_hers(api: Api) -> None:
    """While the call is offered to her she reads it without its timeline (station 1's own
    offers and what its caregivers typed there, naming its other elders, are not hers to
    read); once she declined it she cannot read it at all."""
    await lender(api, "cg_t", "陈静", near(1100, 100))
    await api.set_duty("cg_b", False)
    iid = (await api.press(expect=201))["id"]
    await api.pump()
    [first] = await offers_for(api, "cg_a")
    busy = {"reason": "正在给李桂兰洗澡"}  # 李桂兰: station 1's other elder
    await api.call("POST", f"/api/v1/offers/{first['id']}/decline", "cg_a", json=busy, expect=200)
    await api.pump()
    [offer] = await offers_for(api, "cg_t")
    seen = await api.call("GET", f"/api/v1/incidents/{iid}", "cg_t", expect=200)
    assert seen["elder_name"] == "王秀英"  # the call she is asked to take
    assert "李桂兰" not in str(seen) and "王芳" not in str(seen)  # station 1's elder, caregiver
    await api.call("POST", f"/api/v1/offers/{offer['id']}/decline", "cg_t", json={}, expect=200)
    assert (await api.call("GET", f"/api/v1/incidents/{iid}", "cg_t"))[0] == 404


async def test_lent_caregivers_access_ends_with_the_call(api: Api) -> None:
    """After she resolved station 1's call she can neither open nor list it (the notes other
    people add to it later are station 1's)."""
    iid = await lent_call(api)
    lat, lng = near(110, 100)
    where = {"location": {"lat": lat, "lng": lng, "coord_system": "gcj02"}}
    await api.call("POST", f"/api/v1/incidents/{iid}/arrive", "cg_t", json=where, expect=200)
    await api.call("POST", f"/api/v1/incidents/{iid}/resolve", "cg_t", json={"notes": "好"})
    assert (await api.call("GET", f"/api/v1/incidents/{iid}", "cg_t"))[0] == 404
    listed = await api.call("GET", "/api/v1/incidents?status=all", "cg_t", expect=200)
    assert iid not in [i["id"] for i in listed["items"]]
    # her own station's calls she worked stay on her list
    assert await api.call("GET", f"/api/v1/incidents/{iid}", "operator", expect=200)


async def test_the_neighbours_are_read_only_when_the_own_station_cannot_make_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dispatching a call its own station can reach in time reads none of the neighbours'
    caregivers (a district's busy hour is mostly such calls)."""
    from server.incidents.flows.snapshot import lender_states as real

    reads: list[int] = []

    async def counted(*args: Any) -> Any:
        reads.append(1)
        return await real(*args)

    monkeypatch.setattr("server.incidents.flows.dispatch.lender_states", counted)
    await lender(api, "cg_t", "陈静", near(1100, 100))
    await api.press(expect=201)
    await api.pump()
    assert len(await offers_for(api, "cg_a")) == 1
    assert reads == []


async def test_the_borrowing_station_reads_who_opened_its_elders_phones(api: Api) -> None:
    """The lent caregiver's read of 王秀英's phones on the way is audited, and station 1 (whose
    elder she is) reads that row in its audit log, as it does its own caregivers'."""
    iid = await lent_call(api)
    mine = await api.call("GET", f"/api/v1/incidents/{iid}", "cg_t", expect=200)
    assert mine["elder_contact"]["phone"]
    ours = await api.call("GET", "/api/v1/audit-log?action=reveal", "operator", expect=200)
    assert [(e["actor_user_id"], e["object_id"]) for e in ours] == [
        (api.ids["cg_t_user"], str(api.ids["elder"]))
    ]


async def test_a_lent_caregiver_on_the_call_is_busy_for_her_own_station(api: Api) -> None:
    """While 陈静 is on station 1's call, station 2's own emergency is not offered to her."""
    await lent_call(api)
    await phoned_in(api, "operator2", "elder_s2")
    await api.pump()
    assert await offers_for(api, "cg_t") == []


async def test_a_call_taken_back_from_the_neighbour_goes_into_the_own_caregivers_day(
    api: Api,
) -> None:
    """陈静 took station 1's call; 王芳 is free again and the operator hands the call to her:
    station 1's plan puts it first in 王芳's day (station 2's plan of the call for 陈静 does
    not count as the call inserted)."""
    api.clock.set(utc(2026, 11, 23, 1, 0))  # a Monday, 09:00 in Shanghai
    shifts = [{"weekday": d, "start": "08:00", "end": "17:00"} for d in range(7)]
    async with api.platform.store.begin() as conn:
        by_id = caregivers.c.id == api.ids["cg_a"]
        await conn.execute(update(caregivers).where(by_id).values(shifts=shifts))
    iid = await lent_call(api, shifts)
    await api.pump()
    first = api.ids["first_incident"]
    await api.call("POST", f"/api/v1/incidents/{first}/resolve", "cg_a", json={"notes": "好"})
    handover = {"caregiver_id": api.ids["cg_a"], "reason": "王芳已空闲"}
    await api.call("POST", f"/api/v1/incidents/{iid}/assign", "operator", json=handover)
    [mine] = await offers_for(api, "cg_a")
    await api.call("POST", f"/api/v1/offers/{mine['id']}/accept", "cg_a", expect=200)
    await api.pump()
    latest = await call_first_in_day(api, ("station", "operator"), "cg_a", iid)
    # the outbox may deliver the acceptance twice: inserted once
    from server.planning.flows import on_accepted

    await on_accepted(api.platform, {"incident_id": iid, "caregiver_id": api.ids["cg_a"]})
    again: Any = await api.call(
        "GET", f"/api/v1/stations/{api.ids['station']}/plans/latest", "operator", expect=200
    )
    assert again["plan_id"] == latest["plan_id"]


async def test_the_neighbours_offer_push_keeps_the_way_in_until_she_has_the_call(
    api: Api,
) -> None:
    """How to get into 王秀英's home is not in the offer pushed to 陈静 (her pushes are replayed
    on every reconnect, also after she declined): she reads it once she accepted."""
    async with api.platform.store.begin() as conn:
        by_id = elders.c.id == api.ids["elder"]
        await conn.execute(update(elders).where(by_id).values(access_notes="钥匙在302邻居家"))
    iid = await lent_call(api)
    async with api.platform.store.read() as conn:
        mine = select(push_messages.c.payload).where(
            push_messages.c.recipient == f"user:{api.ids['cg_t_user']}"
        )
        pushed = [r.payload for r in await conn.execute(mine)]
    assert any(p.get("incident_id") == iid for p in pushed)
    assert "302" not in str(pushed)
    seen = await api.call("GET", f"/api/v1/incidents/{iid}", "cg_t", expect=200)
    assert seen["elder_contact"]["access_notes"] == "钥匙在302邻居家"
