"""The console's pages and JSON views through the real app (no browser): scope and figures."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import BACKENDS
from tests.support.api import Api, near

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def test_pages_and_assets_are_served(client: Any) -> None:
    for path in ("/m/elder", "/m/family", "/m/caregiver"):
        r = await client.get(path)
        assert r.status == 200, path
        assert r.content_type == "text/html"
        assert '<script type="module"' in await r.text()
    # This database holds no station: the console says what to run (with a station it is the
    # console itself, tests/platform/test_first_start_page.py).
    r = await client.get("/console")
    assert r.status == 200 and "还没有服务站" in await r.text()
    r = await client.get("/console/assets/common.js")
    assert r.status == 200 and r.content_type == "text/javascript"
    for bad in (
        "/console/assets/../console.html",
        "/console/assets/..%2f..%2fpyproject.toml",
        "/console/assets/nope.js",
    ):
        assert (await client.get(bad)).status == 404, bad


async def _accepted_and_arrived(api: Api) -> int:
    iid = (await api.press(expect=201))["id"]
    await api.pump()
    offer = (await api.call("GET", "/api/v1/offers", "cg_a", expect=200))[0]
    await api.advance(30)
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200)
    await api.advance(300)
    lat, lng = near(100, 100)
    await api.call(
        "POST",
        f"/api/v1/incidents/{iid}/arrive",
        "cg_a",
        expect=200,
        json={"location": {"lat": lat, "lng": lng, "coord_system": "gcj02"}},
    )
    return int(iid)


async def test_board_is_scoped_to_the_operators_station(api: Api) -> None:
    iid = (await api.press(expect=201))["id"]
    await api.pump()
    board = await api.call("GET", "/api/v1/console/board", "operator", expect=200)
    assert board["station"]["id"] == api.ids["station"]
    assert {e["name"] for e in board["elders"]} == {"王秀英", "李桂兰"}
    assert [i["id"] for i in board["incidents"]] == [iid]
    assert board["incidents"][0]["offer"]["caregiver_name"] == "王芳"
    # A caregiver with an offer waiting for an answer is "offered", not idle.
    assert {c["name"]: c["status"] for c in board["caregivers"]} == {
        "王芳": "offered",
        "刘洋": "idle",
    }
    wang = next(c for c in board["caregivers"] if c["name"] == "王芳")
    assert wang["current"]["type"] == "offer" and wang["current"]["id"] == iid
    assert wang["current"]["title_i18n"]["en"] == "Emergency call: 王秀英"
    # The operator reads operator wording, in both languages; never the elder's "为您".
    inc = board["incidents"][0]
    assert inc["status_text_i18n"] == {
        **inc["status_text_i18n"],
        "zh": "已派给王芳，等待接单",
        "en": "Offered to 王芳, waiting for acceptance",
    }
    assert "为您" not in inc["status_text"]
    other = await api.call("GET", "/api/v1/console/board", "operator2", expect=200)
    assert other["station"]["id"] == api.ids["station2"]
    assert other["incidents"] == [] and [e["name"] for e in other["elders"]] == ["张玉兰"]
    await api.call("GET", f"/api/v1/console/incidents/{iid}", "operator2", expect=404)
    view = await api.call("GET", f"/api/v1/console/incidents/{iid}", "operator", expect=200)
    assert view["timeline"] and view["candidates"] and view["offer"]["caregiver_name"] == "王芳"
    # The dispatcher's reason, stored in Chinese, reads in English too.
    best = view["candidates"][0]
    assert best["reason"].startswith("空闲，") and best["reason_i18n"]["en"].startswith("idle, ")
    offered = next(e for e in view["timeline"] if e["kind"] == "offered")
    assert offered["data"]["reason_i18n"]["en"] == best["reason_i18n"]["en"]
    for who in ("elder", "family", "cg_a"):
        await api.call("GET", "/api/v1/console/board", who, expect=403)
    await api.call("GET", "/api/v1/console/board", None, expect=401)


async def test_today_figures_and_caregiver_status(api: Api) -> None:
    iid = await _accepted_and_arrived(api)
    today = await api.call("GET", "/api/v1/console/today", "operator", expect=200)
    assert today["calls"] == 1 and today["emergencies"] == 1
    assert today["accept_median_s"] == 30 and today["arrive_median_s"] == 330
    assert today["on_scene_share"] == 1.0 and today["on_scene_in_time"] == 1
    assert sum(h["calls"] for h in today["hours"]) == 1 and len(today["hours"]) == 24
    cgs = {
        c["name"]: c
        for c in await api.call("GET", "/api/v1/console/caregivers", "operator", expect=200)
    }
    assert cgs["王芳"]["status"] == "serving" and cgs["王芳"]["current"]["id"] == iid
    empty = await api.call("GET", "/api/v1/console/today", "operator2", expect=200)
    assert empty["calls"] == 0


async def test_caregiver_day_and_elder_day_are_guarded(api: Api) -> None:
    iid = (await api.press(expect=201))["id"]
    await api.pump()
    mine = await api.call("GET", "/api/v1/console/my-day", "cg_a", expect=200)
    assert [o["elder_name"] for o in mine["offers"]] == ["王秀英"]
    assert mine["offers"][0]["address"]
    assert (await api.call("GET", "/api/v1/console/my-day", "cg_b", expect=200))["offers"] == []
    await api.call("GET", "/api/v1/console/my-day", "operator", expect=403)

    eid = api.ids["elder"]
    for who in ("elder", "family", "operator"):
        day = await api.call("GET", f"/api/v1/console/elders/{eid}/day", who, expect=200)
        assert [i["id"] for i in day["open_incidents"]] == [iid]
    for who in ("family2", "operator2", "cg_a"):
        await api.call("GET", f"/api/v1/console/elders/{eid}/day", who, expect=404)
    await api.call(
        "GET", f"/api/v1/console/elders/{api.ids['elder_other']}/day", "elder", expect=404
    )


async def test_elder_day_gives_the_numbers_to_phone_when_a_call_cannot_get_out(api: Api) -> None:
    """The elder's page keeps these to show big call buttons while a press is not sent yet."""
    day = await api.call(
        "GET", f"/api/v1/console/elders/{api.ids['elder']}/day", "elder", expect=200
    )
    phones = day["phones"]
    assert phones["family"] == {"name": "王小红", "phone": "13911112222"}
    assert phones["emergency"] == "120"
    assert "station" in phones


async def test_each_reader_gets_their_own_wording_in_both_languages(api: Api) -> None:
    iid = (await api.press(expect=201))["id"]
    await api.pump()
    eid = api.ids["elder"]
    elder = (await api.call("GET", f"/api/v1/console/elders/{eid}/day", "elder", expect=200))[
        "open_incidents"
    ][0]
    family = (await api.call("GET", f"/api/v1/console/elders/{eid}/day", "family", expect=200))[
        "open_incidents"
    ][0]
    op = await api.call("GET", f"/api/v1/console/incidents/{iid}", "operator", expect=200)
    assert elder["status_text_i18n"]["zh"] == "正在为您联系护理员"
    assert elder["status_text_i18n"]["en"] == "Contacting a caregiver for you"
    assert family["status_text_i18n"]["zh"] == "正在联系护理员"  # about the elder, not to them
    assert op["status_text"] == "已派给王芳，等待接单"
    await api.advance(20)
    offer = (await api.call("GET", "/api/v1/offers", "cg_a", expect=200))[0]
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200)
    await api.call(
        "POST",
        f"/api/v1/incidents/{iid}/close",
        "operator",
        expect=200,
        json={"resolution": "false_alarm", "notes": ""},
    )
    op = await api.call("GET", f"/api/v1/console/incidents/{iid}", "operator", expect=200)
    assert op["status_text_i18n"]["en"] == "Closed: false alarm"


async def test_notification_history_is_the_users_own_push_record(api: Api) -> None:
    iid = (await api.press(expect=201))["id"]
    await api.pump()
    await api.advance(20)
    offer = (await api.call("GET", "/api/v1/offers", "cg_a", expect=200))[0]
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200)
    fam = (await api.call("GET", "/api/v1/me/notifications", "family", expect=200))["items"]
    # Newest first, each with its text in both languages and never a bare type name.
    assert [n["status"] for n in fam][:2] == ["accepted", "offered"]
    assert fam[0]["incident_id"] == iid and fam[0]["text_i18n"]["en"].startswith("王芳 accepted")
    assert all(n["text"] and n["text_i18n"]["zh"] and n["text_i18n"]["en"] for n in fam)
    own = (await api.call("GET", "/api/v1/me/notifications?limit=1", "elder", expect=200))["items"]
    assert len(own) == 1 and own[0]["text"].startswith("王芳正在赶来")
    # Someone else's history is not reachable: it is always the caller's own.
    assert (await api.call("GET", "/api/v1/me/notifications", "family2", expect=200))["items"] == []
    await api.call("GET", "/api/v1/me/notifications?limit=x", "family", expect=422)
    await api.call("GET", "/api/v1/me/notifications", None, expect=401)


async def test_operator_pushes_name_their_station(api: Api) -> None:
    """An admin's stream carries every station's messages; each names its station, so a
    console watching one station keeps the others out of its queue."""
    from sqlalchemy import select

    from server.store.tables import push_messages

    await api.press(expect=201)
    await api.pump()
    async with api.platform.store.read() as conn:
        rows = (
            await conn.execute(
                select(push_messages.c.type, push_messages.c.payload).where(
                    push_messages.c.recipient == f"user:{api.ids['admin']}"
                )
            )
        ).all()
    assert rows and {r.payload.get("station_id") for r in rows} == {api.ids["station"]}
    assert "incident.opened" in {r.type for r in rows}


async def test_dispatcher_reasons_are_stored_as_data_and_read_in_both_languages(api: Api) -> None:
    """Each candidate's reason is stored as a code and params only; the console renders zh and
    en from the data, and data that does not read shows as "reason unknown"."""
    from datetime import timedelta

    from sqlalchemy import insert, select, update

    from server.incidents.tables import incidents
    from server.tasks.tables import tasks

    # 刘洋 is in the middle of a bath that cannot be broken off.
    now = api.clock.now()
    async with api.platform.store.begin() as conn:
        await conn.execute(
            insert(tasks).values(
                station_id=api.ids["station"],
                elder_id=api.ids["elder"],
                caregiver_id=api.ids["cg_b"],
                kind="service",
                title="助浴",
                status="in_progress",
                priority=2,
                interruptible=False,
                required_skills=["bathing"],
                window_start=now - timedelta(minutes=10),
                window_end=now + timedelta(hours=1),
                duration_s=1800,
                started_at=now,
                lat=near(-1500, 800)[0],
                lng=near(-1500, 800)[1],
                created_at=now,
            )
        )
    iid = (await api.press(expect=201))["id"]
    await api.pump()
    async with api.platform.store.read() as conn:
        stored = (
            await conn.execute(select(incidents.c.last_ranking).where(incidents.c.id == iid))
        ).scalar_one()
    idle, busy = stored["candidates"]
    assert idle["reason_code"] == "idle" and idle["reason_params"]["first_aid"] is True
    assert busy["reason_code"] == "busy_must_finish"
    assert busy["reason_params"] == {
        **busy["reason_params"],
        "busy_with": "助浴",
        "finish_min": 30,
        "mode": "ebike",
    }

    view = await api.call("GET", f"/api/v1/console/incidents/{iid}", "operator", expect=200)
    a, b = view["candidates"]
    assert (a["reason_code"], b["reason_code"]) == ("idle", "busy_must_finish")
    m_a, m_b = idle["reason_params"]["travel_min"], busy["reason_params"]["travel_min"]
    assert a["reason_i18n"]["key"] == "reason.idle"
    assert a["reason_i18n"]["zh"] == a["reason"] == f"空闲，骑行约{m_a}分钟，持急救证"
    assert a["reason_i18n"]["en"] == f"idle, {m_a} min by e-bike; first-aid certified"
    assert (
        b["reason_i18n"]["zh"]
        == b["reason"]
        == f"正在助浴（不可中断），还需30分钟，再骑行约{m_b}分钟"
    )
    assert (
        b["reason_i18n"]["en"]
        == f"busy with bathing help (cannot break off) for 30 more min, then {m_b} min by e-bike"
    )
    # The offer and its timeline event carry the same data.
    offered = next(e for e in view["timeline"] if e["kind"] == "offered")
    assert (
        offered["data"]["reason_code"] == "idle"
        and offered["data"]["reason_i18n"] == a["reason_i18n"]
    )
    assert view["offer"]["reason_i18n"] == a["reason_i18n"]
    board = await api.call("GET", "/api/v1/console/board", "operator", expect=200)
    assert board["incidents"][0]["offer"]["reason_i18n"]["en"] == a["reason_i18n"]["en"]

    # The data is what is rendered: a text that no longer reads still shows both languages.
    async with api.platform.store.begin() as conn:
        edited = {**stored, "candidates": [{**idle, "reason": "（旧文字）"}, busy]}
        await conn.execute(
            update(incidents).where(incidents.c.id == iid).values(last_ranking=edited)
        )
    view = await api.call("GET", f"/api/v1/console/incidents/{iid}", "operator", expect=200)
    assert view["candidates"][0]["reason_i18n"]["en"] == a["reason_i18n"]["en"]
    assert view["candidates"][0]["reason_i18n"]["zh"] == a["reason_i18n"]["zh"]

    # Data that does not read (edited by hand) is never guessed from a sentence: it shows as
    # "reason unknown" in both languages, and nothing breaks.
    old = {
        **stored,
        "candidates": [
            {k: v for k, v in idle.items() if k not in ("reason_code", "reason_params")},
            {**busy, "reason_params": {"mode": "rocket"}},
        ],
    }
    async with api.platform.store.begin() as conn:
        await conn.execute(update(incidents).where(incidents.c.id == iid).values(last_ranking=old))
    view = await api.call("GET", f"/api/v1/console/incidents/{iid}", "operator", expect=200)
    a, b = view["candidates"]
    assert a["reason_code"] is None and b["reason_code"] is None and b["reason_params"] is None
    for c in (a, b):
        assert c["reason"] == "" and c["reason_i18n"]["key"] == "reason.unknown"
        assert c["reason_i18n"]["en"] == "reason unknown"


async def test_a_family_call_is_never_worded_as_if_a_caregiver_were_coming(api: Api) -> None:
    """联系我的家人: the elder reads that the family was told, the family gets the elder's
    number to call back, and the console does not say the dispatcher is looking."""
    inc = await api.press(call_type="family", expect=201)
    await api.pump()
    assert inc["status_text"] == "已通知家人，请稍候"
    eid = api.ids["elder"]
    elder = await api.call("GET", f"/api/v1/console/elders/{eid}/day", "elder", expect=200)
    [mine] = elder["open_incidents"]
    assert mine["status_text_i18n"]["en"] == "Your family has been told; please wait"
    assert "elder" not in elder["phones"]  # only the family is given the elder's number
    family = await api.call("GET", f"/api/v1/console/elders/{eid}/day", "family", expect=200)
    assert family["phones"]["elder"] == "13500000001"
    assert family["open_incidents"][0]["status_text"] == "老人希望您回电"
    board = await api.call("GET", "/api/v1/console/board", "operator", expect=200)
    [row] = [i for i in board["incidents"] if i["id"] == inc["id"]]
    assert "不派护理员" in row["status_text"] and "寻找" not in row["status_text"]
    assert await api.call("GET", "/api/v1/offers", "cg_a", expect=200) == []
    notes = await api.call("GET", "/api/v1/me/notifications", "family", expect=200)
    assert [n["type"] for n in notes["items"]].count("family.call_requested") == 1


async def test_the_family_sees_who_came_when_and_the_notes_and_each_status_once(
    api: Api,
) -> None:
    inc = await api.press(expect=201)
    await api.press(expect=200)  # a second press joins: its status is not news
    await api.pump()
    [offer] = await api.call("GET", "/api/v1/offers", "cg_a", expect=200)
    decline = {"reason": "在另一位老人家"}
    await api.call("POST", f"/api/v1/offers/{offer['id']}/decline", "cg_b", json=decline)
    await api.call(
        "POST", f"/api/v1/offers/{offer['id']}/decline", "cg_a", json=decline, expect=200
    )
    await api.pump()  # offered again, to 刘洋: the family was told "contacting" already
    [offer] = await api.call("GET", "/api/v1/offers", "cg_b", expect=200)
    await api.call(
        "POST", f"/api/v1/offers/{offer['id']}/decline", "cg_b", json=decline, expect=200
    )
    await api.pump()
    await api.call(
        "POST",
        f"/api/v1/incidents/{inc['id']}/assign",
        "operator",
        json={"caregiver_id": api.ids["cg_a"], "reason": "就近"},
        expect=201,
    )
    [offer] = await api.call("GET", "/api/v1/offers", "cg_a", expect=200)
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200)
    lat, lng = near(110, 100)
    where = {"location": {"lat": lat, "lng": lng, "coord_system": "gcj02"}}
    iid = inc["id"]
    await api.call("POST", f"/api/v1/incidents/{iid}/arrive", "cg_a", json=where, expect=200)
    notes = {"notes": "老人头晕，已测血压，正常"}
    await api.call("POST", f"/api/v1/incidents/{iid}/resolve", "cg_a", json=notes, expect=200)
    await api.pump()
    day = await api.call(
        "GET", f"/api/v1/console/elders/{api.ids['elder']}/day", "family", expect=200
    )
    [done] = [i for i in day["recent_incidents"] if i["id"] == iid]
    assert done["caregiver_name"] == "王芳" and done["arrived_at"] is not None
    assert done["summary"] == "老人头晕，已测血压，正常"
    history = await api.call("GET", "/api/v1/me/notifications", "family", expect=200)
    said = [(n["incident_id"], n["type"], n["status"]) for n in history["items"]]
    assert len(said) == len(set(said)), said  # each status of the call once
    assert (iid, "incident.status", "resolved") in said
