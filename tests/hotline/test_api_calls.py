"""The phone line through the real app: signed CTI webhook, screen pop, call → incident, search."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from server.hotline.tables import hotline_calls
from server.incidents.tables import incidents
from server.tasks.tables import tasks
from tests.conftest import BACKENDS
from tests.hotline.support import (
    cti,
    post_signed,
    pushes,
    send_cti,
    set_station_phone,
    signed_headers,
)
from tests.support.api import Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
async def line(api: Api) -> Api:
    await set_station_phone(api)
    return api


async def test_ringing_pops_the_elder_on_the_operators_screen(line: Api) -> None:
    status, body = await send_cti(line, cti("e1", "ringing", "c-1"))
    assert status == 200 and body["status"] == "ringing"
    [pop] = await pushes(line, "operator", "call.ringing")
    assert pop["known"] is True
    assert [(m["name"], m["relation"]) for m in pop["matches"]] == [("王秀英", "本人")]
    assert await pushes(line, "operator2", "call.ringing") == []


async def test_family_contact_and_neighbour_numbers_are_recognised(line: Api) -> None:
    await send_cti(line, cti("e1", "ringing", "c-1", caller="13911112222"))
    await send_cti(line, cti("e2", "ringing", "c-2", caller="+86 137-2222-3333"))
    pops = await pushes(line, "operator", "call.ringing")
    relations = [(m["name"], m["relation"], m["caller_name"]) for p in pops for m in p["matches"]]
    assert ("王秀英", "女儿", "王小红") in relations
    assert ("王秀英", "邻居", "赵大姐") in relations


async def test_unknown_number_still_pops(line: Api) -> None:
    await send_cti(line, cti("e1", "ringing", "c-9", caller="18600009999"))
    [pop] = await pushes(line, "operator", "call.ringing")
    assert pop["known"] is False and pop["matches"] == []


async def test_screen_pop_shows_open_incidents_and_recent_calls(line: Api) -> None:
    inc = await line.press(expect=201)
    await send_cti(line, cti("e1", "ringing", "c-1"))
    await send_cti(line, cti("e2", "ended", "c-1"))
    line.clock.advance(60)
    await send_cti(line, cti("e3", "ringing", "c-2", at="2026-11-23T02:01:00Z"))
    last = (await pushes(line, "operator", "call.ringing"))[-1]
    assert [i["incident_id"] for i in last["open_incidents"]] == [inc["id"]]
    assert [(c["call_id"], c["missed"]) for c in last["recent_calls"]] == [("c-1", True)]


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        ("secret", "cti_bad_signature"),
        ("stale", "cti_stale"),
        ("body", "cti_bad_signature"),
        ("unsigned", "cti_unsigned"),
    ],
)
async def test_bad_webhooks_are_refused(line: Api, tamper: str, code: str) -> None:
    body = json.dumps(cti("e1", "ringing", "c-1")).encode()
    headers = signed_headers(line, body)
    if tamper == "secret":
        headers = signed_headers(line, body, secret="guessed")
    elif tamper == "stale":
        headers = signed_headers(line, body, skew=-301)
    elif tamper == "body":
        body = body.replace(b"13500000001", b"13500000002")
    elif tamper == "unsigned":
        headers = {"Content-Type": "application/json"}
    r = await line.client.post("/api/v1/hotline/cti/events", data=body, headers=headers)
    assert r.status == 401 and (await r.json(content_type=None))["code"] == code
    assert await pushes(line, "operator", "call.ringing") == []


async def test_retried_event_is_answered_200_and_ignored(line: Api) -> None:
    """A PBX retries on anything but 2xx: a repeated event id is acknowledged, not applied."""
    assert (await send_cti(line, cti("e1", "ringing", "c-1")))[0] == 200
    status, body = await send_cti(line, cti("e1", "ringing", "c-1"))
    assert status == 200 and body["duplicate"] is True
    assert len(await pushes(line, "operator", "call.ringing")) == 1


async def test_ringing_again_with_a_new_event_id_pops_once(line: Api) -> None:
    await send_cti(line, cti("e1", "ringing", "c-1"))
    status, _ = await send_cti(line, cti("e1-bis", "ringing", "c-1"))
    assert status == 200
    assert len(await pushes(line, "operator", "call.ringing")) == 1


async def missed_call_tasks(line: Api) -> list[tuple[str, int | None]]:
    async with line.platform.store.read() as conn:
        rows = (
            await conn.execute(
                select(tasks.c.status, tasks.c.elder_id).where(
                    tasks.c.source_ref == "missed_call:c-1"
                )
            )
        ).all()
    return [(r.status, r.elder_id) for r in rows]


async def test_answered_after_ended_cancels_the_call_back_and_corrects_the_console(
    line: Api,
) -> None:
    """Ended arrives before answered: first a missed call (a call-back task for the elder
    whose number called, never silence), then the late answer corrects both."""
    await send_cti(line, cti("e1", "ringing", "c-1"))
    await send_cti(line, cti("e3", "ended", "c-1", at="2026-11-23T02:02:00Z"))
    assert await missed_call_tasks(line) == [("open", line.ids["elder"])]
    await send_cti(line, cti("e2", "answered", "c-1", at="2026-11-23T02:00:10Z", agent="op1"))
    assert await missed_call_tasks(line) == [("cancelled", line.ids["elder"])]
    ended = await pushes(line, "operator", "call.ended")
    assert [(p["missed"], p.get("corrected", False)) for p in ended] == [
        (True, False),
        (False, True),
    ]
    assert ended[-1]["talk_seconds"] == 110
    [call] = await line.call("GET", "/api/v1/hotline/calls", "operator", expect=200)
    assert call["missed"] is False


async def test_a_really_missed_call_keeps_its_call_back(line: Api) -> None:
    await send_cti(line, cti("e1", "ringing", "c-1"))
    await send_cti(line, cti("e2", "ended", "c-1", at="2026-11-23T02:00:30Z"))
    await send_cti(line, cti("e2", "ended", "c-1", at="2026-11-23T02:00:30Z"))  # a retry
    assert await missed_call_tasks(line) == [("open", line.ids["elder"])]


async def test_malformed_event_is_422(line: Api) -> None:
    status, body = await send_cti(
        line, {"event_id": "x", "type": "hold", "call_id": "c", "at": "2026-11-23T02:00:00Z"}
    )
    assert status == 422 and body["code"] == "cti_bad_event"


async def test_events_out_of_order_make_one_answered_call(line: Api) -> None:
    await send_cti(
        line,
        cti(
            "e3",
            "ended",
            "c-1",
            at="2026-11-23T02:02:00Z",
            recording_url="https://pbx.example/rec/c-1.mp3",
        ),
    )
    await send_cti(line, cti("e2", "answered", "c-1", at="2026-11-23T02:00:10Z", agent="op1"))
    await send_cti(line, cti("e1", "ringing", "c-1"))
    [call] = await line.call("GET", "/api/v1/hotline/calls", "operator", expect=200)
    assert call["status"] == "ended" and call["missed"] is False
    assert call["recording_url"] == "https://pbx.example/rec/c-1.mp3"
    assert await pushes(line, "operator", "call.ringing") == []  # no pop for a call already over


async def test_missed_call_becomes_a_call_back_task(line: Api) -> None:
    await send_cti(line, cti("e1", "ringing", "c-1"))
    await send_cti(line, cti("e2", "ended", "c-1", at="2026-11-23T02:00:30Z"))
    async with line.platform.store.read() as conn:
        task = (
            await conn.execute(select(tasks).where(tasks.c.source_ref == "missed_call:c-1"))
        ).one()
    assert task.kind == "return_call" and task.elder_id == line.ids["elder"]


async def test_operator_turns_a_call_into_an_incident(line: Api) -> None:
    await send_cti(line, cti("e1", "ringing", "c-1"))
    made = await line.call(
        "POST",
        "/api/v1/hotline/calls/c-1/incident",
        "operator",
        json={"elder_id": line.ids["elder"], "call_type": "emergency", "note": "老人说胸口疼"},
        expect=201,
    )
    async with line.platform.store.read() as conn:
        inc = (
            await conn.execute(select(incidents).where(incidents.c.id == made["incident_id"]))
        ).one()
        call = (
            await conn.execute(select(hotline_calls).where(hotline_calls.c.call_id == "c-1"))
        ).one()
    assert (inc.source, inc.call_id, inc.kind) == ("phone", "c-1", "emergency")
    assert call.incident_id == inc.id
    full = await line.call("GET", f"/api/v1/incidents/{inc.id}", "operator", expect=200)
    assert [e["kind"] for e in full["timeline"]][:2] == ["opened", "call_linked"]


async def test_call_while_incident_open_joins_it(line: Api) -> None:
    inc = await line.press(expect=201)
    await send_cti(line, cti("e1", "ringing", "c-1"))
    joined = await line.call(
        "POST",
        "/api/v1/hotline/calls/c-1/incident",
        "operator",
        json={"elder_id": line.ids["elder"], "call_type": "emergency"},
        expect=200,
    )
    assert joined == {"incident_id": inc["id"], "joined": True}


async def test_other_station_cannot_use_the_call_or_the_elder(line: Api) -> None:
    await send_cti(line, cti("e1", "ringing", "c-1"))
    await line.call(
        "POST",
        "/api/v1/hotline/calls/c-1/incident",
        "operator2",
        json={"elder_id": line.ids["elder_s2"], "call_type": "service"},
        expect=404,
    )
    await line.call(
        "POST",
        "/api/v1/hotline/calls/c-1/incident",
        "operator",
        json={"elder_id": line.ids["elder_s2"], "call_type": "service"},
        expect=404,
    )


async def test_families_cannot_touch_calls(line: Api) -> None:
    await line.call("GET", "/api/v1/hotline/calls", "family", expect=403)


@pytest.mark.parametrize("q", ["王秀英", "wangxiuying", "wxy", "王秀瑛", "wangxiuyin"])
async def test_name_search(line: Api, q: str) -> None:
    found = await line.call("GET", f"/api/v1/hotline/elders/search?q={q}", "operator", expect=200)
    assert found[0]["name"] == "王秀英" and found[0]["reason"]


async def test_name_search_stays_in_the_station(line: Api) -> None:
    assert (
        await line.call("GET", "/api/v1/hotline/elders/search?q=王秀英", "operator2", expect=200)
        == []
    )
    found = await line.call("GET", "/api/v1/hotline/elders/search?q=zyl", "operator2", expect=200)
    assert [f["name"] for f in found] == ["张玉兰"]


async def test_name_search_validates(line: Api) -> None:
    status, body = await line.call("GET", "/api/v1/hotline/elders/search?q=", "operator")
    assert status == 422
    status, _ = await line.call(
        "GET", "/api/v1/hotline/elders/search?q=wxy&min_age=90&max_age=80", "operator"
    )
    assert status == 422


async def test_signed_receipt_endpoint_refuses_forgeries(line: Api) -> None:
    status, body = await post_signed(
        line, "/api/v1/hotline/receipts", {"send_id": "x", "status": "delivered"}, secret="nope"
    )
    assert status == 401
    status, body = await post_signed(
        line, "/api/v1/hotline/receipts", {"send_id": "x", "status": "delivered"}
    )
    assert status == 200 and body == {"send_id": "x", "known": False}


async def test_admin_narrows_the_search_to_a_station(line: Api) -> None:
    everywhere = await line.call(
        "GET", "/api/v1/hotline/elders/search?q=wangxiuying", "admin", expect=200
    )
    assert "王秀英" in [f["name"] for f in everywhere]
    station2 = line.ids["station2"]
    narrowed = await line.call(
        "GET", f"/api/v1/hotline/elders/search?q=zyl&station_id={station2}", "admin", expect=200
    )
    assert [f["name"] for f in narrowed] == ["张玉兰"]
    none = await line.call(
        "GET", f"/api/v1/hotline/elders/search?q=wxy&station_id={station2}", "admin", expect=200
    )
    assert none == []
    await line.call(
        "GET", f"/api/v1/hotline/elders/search?q=zyl&station_id={station2}", "operator", expect=404
    )


@pytest.mark.parametrize("q", ["Wáng Xiùyīng", "王xiuying"])
async def test_name_search_with_tones_or_mixed(line: Api, q: str) -> None:
    found = await line.call("GET", f"/api/v1/hotline/elders/search?q={q}", "operator", expect=200)
    assert found[0]["name"] == "王秀英"
