"""End to end in headless Chromium: the elder's button, the console, the caregiver's phone."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from server.clock import SHANGHAI
from server.geo import gcj02_to_wgs84
from tests.browser.conftest import CONSOLE_VIEW, PHONE_VIEW, Api, FreezableProxy, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def phone(browser: Any, geo: tuple[float, float] | None = None) -> Any:
    opts: dict[str, Any] = {
        "viewport": PHONE_VIEW,
        "device_scale_factor": 1,
        "is_mobile": True,
        "has_touch": True,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        "bypass_csp": True,
    }  # wait_for_function evaluates strings
    if geo is not None:
        opts.update(
            geolocation={"latitude": geo[0], "longitude": geo[1], "accuracy": 10},
            permissions=["geolocation"],
        )
    return browser.new_context(**opts)


def console(browser: Any) -> Any:
    return browser.new_context(
        viewport=CONSOLE_VIEW, locale="zh-CN", timezone_id="Asia/Shanghai", bypass_csp=True
    )


def hold(page: Any, selector: str, ms: int) -> None:
    box = page.locator(selector).bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.wait_for_timeout(ms)
    page.mouse.up()


def at_door(page: Any, wgs: tuple[float, float]) -> None:
    """Wait until the caregiver's page has the position the test moved the phone to."""
    page.wait_for_function(
        "([lat, lng]) => { const p = window.__anxin.state.position;"
        " return p && Math.abs(p.latitude - lat) < 1e-6 && Math.abs(p.longitude - lng) < 1e-6; }",
        arg=list(wgs),
        timeout=5000,
    )


def open_alarms(api: Api) -> list[Any]:
    return list(api.call("GET", "/api/v1/alarms", "operator"))


def test_help_call_from_button_to_arrival(server: str, demo_api: Api, browser: Any) -> None:
    # Only 王芳 (caregiver1) is on duty, so the dispatcher's choice is known.
    demo_api.duty("caregiver1", True)
    demo_api.duty("caregiver2", False)
    demo_api.duty("caregiver3", False)
    me = demo_api.call("GET", "/api/v1/me/elders", "elder")[0]
    cg = demo_api.call("GET", "/api/v1/caregivers/1", "caregiver1")
    cg_wgs = gcj02_to_wgs84(cg["location"]["lat"], cg["location"]["lng"])
    elder_wgs = gcj02_to_wgs84(me["location"]["lat"], me["location"]["lng"])

    op_ctx, el_ctx, cg_ctx = console(browser), phone(browser), phone(browser, cg_wgs)
    op, el, cgp = op_ctx.new_page(), el_ctx.new_page(), cg_ctx.new_page()
    sign_in(op, server, "/console", "operator")
    sign_in(el, server, "/m/elder", "elder")
    sign_in(cgp, server, "/m/caregiver", "caregiver1")
    cgp.wait_for_selector("#duty[aria-checked=true]")

    # A short press is not a call: nothing is sent (a call goes out the instant the hold
    # completes, so after letting go there is nothing left to wait for).
    sent: list[str] = []
    el.on("request", lambda r: sent.append(r.url) if "/help-calls" in r.url else None)
    hold(el, "#help", 300)
    assert sent == []
    assert op.locator(".qi").count() == 0
    assert demo_api.call("GET", "/api/v1/incidents", "operator")["items"] == []

    # Hold ~1 s: the call goes out at once and is on the console within a second.
    with el.expect_response(
        lambda r: "/api/v1/help-calls" in r.url and r.request.method == "POST"
    ) as resp:
        hold(el, "#help", 1150)
    assert resp.value.status == 201
    t0 = time.monotonic()
    incident_id = resp.value.json()["id"]
    op.wait_for_selector(f"[data-testid=incident-{incident_id}]", timeout=1000)
    assert time.monotonic() - t0 < 1.0
    item = op.locator(f"[data-testid=incident-{incident_id}]")
    assert "王秀英" in item.inner_text()

    # The caregiver's phone rings with the offer and a countdown; accept it.
    cgp.wait_for_selector("[data-offer]", timeout=3000)
    assert "王秀英" in cgp.locator("[data-offer]").inner_text()
    shot(cgp, "caregiver-offer.png")
    cgp.locator("[data-offer] .btn.ok").click()
    cgp.wait_for_selector("#btn-arrive", timeout=3000)

    # The console shows the acceptance and the countdown to the 20-minute deadline.
    op.wait_for_selector(
        f"[data-testid=incident-{incident_id}] [data-status=accepted]", timeout=3000
    )
    cd = op.locator(f"[data-countdown='{incident_id}']").first
    text = cd.inner_text()
    assert ":" in text and text.startswith(("19:", "20:")), text
    assert "green" in (cd.get_attribute("class") or "")
    assert "王芳" in item.inner_text()
    # The elder sees who is coming and roughly when, in large type.
    el.wait_for_function(
        "document.querySelector('#status').textContent.includes('王芳正在赶来')", timeout=3000
    )
    assert "分钟" in el.locator("#status").inner_text()
    shot(el, "elder.png")

    # Open the incident: timeline, the dispatcher's candidates and reasons.
    op.keyboard.press("Enter")
    op.wait_for_selector("#detail:not([hidden]) #timeline li[data-kind=accepted]", timeout=3000)
    assert op.locator(".cands tr").count() >= 1
    shot(op, "console-incident.png")
    op.keyboard.press("Escape")
    shot(op, "console.png")
    # A tablet in landscape: every Today figure and the caregivers stay on the screen.
    op.set_viewport_size({"width": 1024, "height": 768})
    for tile in op.locator("#today .tile").all():
        assert tile.is_visible()
    box = op.locator(".panel.cgs").bounding_box()
    assert box is not None and box["y"] + 100 < 768 and box["x"] + box["width"] <= 1024
    shot(op, "console-tablet.png")
    op.set_viewport_size(CONSOLE_VIEW)

    # The family sees the open call live.
    fam_ctx = phone(browser)
    fam = fam_ctx.new_page()
    sign_in(fam, server, "/m/family", "family")
    fam.wait_for_selector(f"[data-incident='{incident_id}']")

    # En route, then arrival at the elder's door (the phone's GPS, WGS-84).
    cgp.click("#btn-en-route")
    op.wait_for_selector(
        f"[data-testid=incident-{incident_id}] [data-status=en_route]", timeout=3000
    )
    cg_ctx.set_geolocation({"latitude": elder_wgs[0], "longitude": elder_wgs[1], "accuracy": 10})
    at_door(cgp, elder_wgs)  # the phone's position watch has reported the move
    cgp.click("#btn-arrive")
    op.wait_for_selector(
        f"[data-testid=incident-{incident_id}] [data-status=arrived]", timeout=3000
    )
    assert "ok" in (
        op.locator(f"[data-countdown='{incident_id}']").first.get_attribute("class") or ""
    )
    inc = demo_api.call("GET", f"/api/v1/incidents/{incident_id}", "operator")
    assert inc["status"] == "arrived" and not inc["arrival_flagged"]
    el.wait_for_function(
        "document.querySelector('#status').textContent.includes('到达')", timeout=3000
    )
    fam.wait_for_function(
        f"document.querySelector(\"[data-incident='{incident_id}'] .status-text\")?.textContent.includes('到达')",
        timeout=3000,
    )
    shot(fam, "family.png")
    # On scene, the caregiver's 20-minute clock stops and says how long it took.
    cgp.wait_for_function(
        "document.querySelector('#cg-deadline')?.textContent.includes('已到场')", timeout=3000
    )
    assert cgp.locator("#cg-deadline").get_attribute("data-until") is None
    shot(cgp, "caregiver.png")

    # Resolve with notes: the call leaves the queue.
    cgp.fill("#resolve-notes", "老人跌倒，无外伤，已扶起并通知家属")
    cgp.click("#btn-resolve")
    op.wait_for_selector(f"[data-testid=incident-{incident_id}]", state="detached", timeout=3000)
    assert (
        demo_api.call("GET", f"/api/v1/incidents/{incident_id}", "operator")["status"] == "resolved"
    )

    # The phone rings (CTI webhook): the console pops up who is calling; one click opens the call.
    caller = demo_api.call("GET", "/api/v1/elders?page_size=3", "operator")["items"][2]
    phone_no = demo_api.call("GET", f"/api/v1/elders/{caller['id']}?reveal=1", "operator")["phone"]
    call_id = demo_api.cti_ringing(phone_no)
    card = op.locator(f"[data-call='{call_id}']")
    card.wait_for(timeout=3000)
    assert caller["name"] in card.inner_text()
    card.locator(".btn.danger").first.click()
    card.wait_for(state="detached", timeout=3000)
    op.wait_for_selector("#detail:not([hidden]) #timeline li[data-kind=offered]", timeout=3000)
    popped = [
        i
        for i in demo_api.call("GET", "/api/v1/incidents", "operator")["items"]
        if i["elder_id"] == caller["id"]
    ]
    assert len(popped) == 1 and popped[0]["source"] == "phone"
    demo_api.call(
        "POST",
        f"/api/v1/incidents/{popped[0]['id']}/close",
        "operator",
        json={"resolution": "false_alarm", "notes": ""},
    )
    for ctx in (op_ctx, el_ctx, cg_ctx, fam_ctx):
        ctx.close()


def test_phone_call_alarm_and_manual_reassignment(server: str, demo_api: Api, browser: Any) -> None:
    # Nobody on duty: the dispatcher cannot offer and raises an operator alarm.
    for n in (1, 2, 3, 4):
        demo_api.duty(f"caregiver{n}", False)
    target = demo_api.call("GET", "/api/v1/elders?page=1&page_size=2", "operator")["items"][1]

    op_ctx = console(browser)
    op = op_ctx.new_page()
    sign_in(op, server, "/console", "operator")

    # An incident from a phone call, with the elder found by search.
    op.keyboard.press("n")
    op.fill("#elder-q", target["name"])
    op.wait_for_selector(f"#elder-results li[data-elder='{target['id']}']")
    op.click(f"#elder-results li[data-elder='{target['id']}']")
    op.select_option("#call-type", "emergency")
    op.fill("#call-note", "老人来电称胸闷")
    op.click("#call-create")
    op.wait_for_selector("#detail:not([hidden])")
    incident_id = int(op.locator("#detail h2").inner_text().split()[0].lstrip("#"))

    # The alarm: a banner and a sound until acknowledged (the 'a' key).
    op.wait_for_selector(".alarm-banner:not([hidden]) .alarm", timeout=3000)
    op.wait_for_function("(window.__anxinBeeps || 0) > 0", timeout=5000)
    first = [
        a
        for a in demo_api.call("GET", "/api/v1/alarms", "operator")
        if a["incident_id"] == incident_id
    ]
    assert [a["kind"] for a in first] == ["no_caregiver"]
    shot(op, "console-alarm.png")
    op.locator("#detail").press("Escape")
    op.keyboard.press("a")
    op.wait_for_selector(f"[data-testid=alarm-{first[0]['id']}]", state="detached", timeout=3000)
    acked = {a["id"]: a for a in demo_api.call("GET", "/api/v1/alarms?open=0", "operator")}
    assert acked[first[0]["id"]]["acknowledged_at"] is not None
    # Any alarm raised meanwhile (the dispatcher keeps looking) shows and is acknowledged too;
    # once none is open the banner goes and the sound stops.
    for _ in range(5):
        pending = open_alarms(demo_api)
        if not pending:
            break
        op.wait_for_selector(f"[data-testid=alarm-{pending[0]['id']}]", timeout=3000)
        op.keyboard.press("a")
        op.wait_for_selector(
            f"[data-testid=alarm-{pending[0]['id']}]", state="detached", timeout=3000
        )
    op.wait_for_selector(".alarm-banner", state="hidden", timeout=3000)
    beeps = op.evaluate("window.__anxinBeeps")
    op.wait_for_timeout(2100)
    if not demo_api.call("GET", "/api/v1/alarms", "operator"):
        assert op.evaluate("window.__anxinBeeps") == beeps  # silent once acknowledged

    # Assign by hand to 刘洋, then reassign to 王芳, each with a reason.
    op.click(f"[data-testid=incident-{incident_id}]")
    op.select_option("#assign-cg", "2")  # 刘洋
    op.fill("#assign-reason", "刘洋离得近")
    op.click("#assign-submit")
    op.wait_for_function(
        "document.querySelector('#detail-caregiver').textContent.includes('刘洋')", timeout=3000
    )
    op.select_option("#assign-cg", "1")  # 王芳
    op.fill("#assign-reason", "刘洋电话未接，改派王芳")
    op.click("#assign-submit")
    op.wait_for_function(
        "document.querySelector('#detail-caregiver').textContent.includes('王芳')", timeout=3000
    )
    op.wait_for_selector("#timeline li[data-kind=offered] >> nth=1")
    inc = demo_api.call("GET", f"/api/v1/incidents/{incident_id}", "operator")
    offered = [e for e in inc["timeline"] if e["kind"] == "offered"]
    assert [e["data"]["manual"] for e in offered] == [True, True]
    assert "改派王芳" in offered[-1]["data"]["reason"]
    assert demo_api.call("GET", "/api/v1/offers", "caregiver2") == []
    assert len(demo_api.call("GET", "/api/v1/offers", "caregiver1")) == 1

    # After a call-back it was a false alarm: close it from the console.
    op.fill("#close-notes", "回访确认误按")
    op.click("#close-submit")
    op.wait_for_selector(f"[data-testid=incident-{incident_id}]", state="detached", timeout=3000)
    assert (
        demo_api.call("GET", f"/api/v1/incidents/{incident_id}", "operator")["resolution"]
        == "false_alarm"
    )

    # The network goes: the browser says so and the console shows it at once (an open socket
    # would otherwise look live until its close handshake, which stalls offline). A call comes
    # in meanwhile; back online, the console reconnects at once, resumes after the last
    # sequence number and reloads its snapshot.
    op_ctx.set_offline(True)
    op.wait_for_selector("#conn.offline", timeout=3000)
    missed = demo_api.help_call("elder")["id"]
    assert op.locator(f"[data-testid=incident-{missed}]").count() == 0
    op_ctx.set_offline(False)
    op.wait_for_selector(f"[data-testid=incident-{missed}]", timeout=8000)
    op.wait_for_selector("#conn.live")
    demo_api.call(
        "POST",
        f"/api/v1/incidents/{missed}/close",
        "operator",
        json={"resolution": "test_press", "notes": ""},
    )
    op.wait_for_selector(f"[data-testid=incident-{missed}]", state="detached", timeout=3000)
    op_ctx.close()


# ----- a half-open connection --------------------------------------------------------------


def test_a_silent_connection_goes_offline_and_recovers_what_it_missed(
    server: str, demo_api: Api, browser: Any, proxy: FreezableProxy
) -> None:
    """The route to the server goes dead without a close or an ``offline`` event (the browser
    thinks it is online): the heartbeat notices, the console says so, and once the route is
    back it reconnects, replays what it missed after its last sequence number and reloads."""
    for n in (1, 2, 3, 4):
        demo_api.duty(f"caregiver{n}", False)
    ctx = console(browser)
    ctx.add_init_script("window.ANXIN_HEARTBEAT_MS = 400")  # 15 s in production
    op = ctx.new_page()
    sign_in(op, f"http://127.0.0.1:{proxy.port}", "/console", "operator")
    seq = op.evaluate("window.__anxin.live.lastSeq")

    proxy.freeze()
    op.wait_for_selector("#conn.offline", timeout=5000)
    assert op.evaluate("navigator.onLine")  # nothing but the heartbeat could tell
    missed = demo_api.help_call("elder")["id"]
    assert op.locator(f"[data-testid=incident-{missed}]").count() == 0

    proxy.thaw()
    op.wait_for_selector(f"[data-testid=incident-{missed}]", timeout=15_000)
    op.wait_for_selector("#conn.live")
    # The pushes sent while it was cut off were replayed, not only redrawn from the snapshot.
    op.wait_for_function(
        f"window.__anxin.state.log.some((e) => e.type === 'incident.opened' && e.incident_id === {missed})",
        timeout=5000,
    )
    assert op.evaluate("window.__anxin.live.lastSeq") > seq
    demo_api.call(
        "POST",
        f"/api/v1/incidents/{missed}/close",
        "operator",
        json={"resolution": "test_press", "notes": ""},
    )
    for a in open_alarms(demo_api):
        demo_api.call("POST", f"/api/v1/alarms/{a['id']}/ack", "operator")
    ctx.close()


# ----- English ----------------------------------------------------------------------------

CJK = re.compile(r"[\u4e00-\u9fff]")


def without(text: str, *names: str) -> str:
    for n in names:
        text = text.replace(n, "")
    return text


def test_english_switch_shows_server_texts_in_english(
    server: str, demo_api: Api, browser: Any
) -> None:
    """Status texts, the dispatcher's reasons, caregivers' current work and alarms come from
    the server; in English they read in English (names and addresses stay as they are)."""
    demo_api.duty("caregiver1", False)
    demo_api.duty("caregiver2", True)
    demo_api.duty("caregiver3", False)
    op_ctx, el_ctx, fam_ctx = console(browser), phone(browser), phone(browser)
    op, el, fam = op_ctx.new_page(), el_ctx.new_page(), fam_ctx.new_page()
    for page in (op, el, fam):
        page.add_init_script("localStorage.setItem('anxin.lang', 'en')")
    sign_in(op, server, "/console", "operator")
    sign_in(el, server, "/m/elder", "elder")
    sign_in(fam, server, "/m/family", "family")
    inc = demo_api.help_call("elder")
    iid = inc["id"]
    op.wait_for_selector(f"[data-testid=incident-{iid}] [data-status=offered]", timeout=5000)
    op.click(f"[data-testid=incident-{iid}]")
    op.wait_for_function(
        "document.querySelector('#detail-status-text')?.textContent.includes('Offered to')",
        timeout=3000,
    )
    # The operator's own wording, in English: never the elder's "we are finding one for you".
    assert (
        op.locator("#detail-status-text").inner_text() == "Offered to 刘洋, waiting for acceptance"
    )
    why = op.locator(".cands .why").first.inner_text()
    assert why.startswith("idle, ") and "by e-bike" in why and not CJK.search(why)
    offered = op.locator("#timeline li[data-kind=offered] span").first.inner_text()
    assert "idle, " in offered and not CJK.search(without(offered, "刘洋"))
    # 刘洋 has an offer waiting: "Offered", not "Idle" (the list follows the offer live).
    op.wait_for_function(
        "document.querySelector('[data-testid=cg-2]')?.textContent.includes('Offered')",
        timeout=3000,
    )
    assert "Emergency call: 王秀英" in op.locator("[data-testid=cg-2]").inner_text()
    opened = op.locator("#detail .d-facts").inner_text()
    assert "elder app" in opened and " app ·" not in opened
    shot(op, "console-en.png")

    # The elder and the family read their own wording, in English.
    el.wait_for_function(
        "document.querySelector('#status').textContent.includes('Contacting a caregiver')",
        timeout=5000,
    )
    fam.wait_for_function(
        f"document.querySelector(\"[data-incident='{iid}'] .status-text\")?.textContent === 'Contacting a caregiver'",
        timeout=5000,
    )
    assert not CJK.search(without(fam.locator(".elder-card h2").inner_text(), "王秀英"))

    # Accepted: the name and the minutes, in English, live.
    offer = demo_api.call("GET", "/api/v1/offers", "caregiver2")[0]
    demo_api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "caregiver2")
    el.wait_for_function(
        "/刘洋 is on the way, about \\d+ min/.test(document.querySelector('#status').textContent)",
        timeout=5000,
    )
    op.wait_for_function(
        "document.querySelector('#detail-status-text')?.textContent.startsWith('刘洋 accepted, ETA')",
        timeout=5000,
    )
    # The family's own wording: "accepted, there in about N min" (not the elder's "on the way").
    fam.wait_for_function(
        "/刘洋 accepted, there in about \\d+ min/.test(document.querySelector('#notes').textContent)",
        timeout=5000,
    )
    assert "incident." not in fam.locator("#notes").inner_text()  # never the raw message type

    demo_api.call(
        "POST",
        f"/api/v1/incidents/{iid}/close",
        "operator",
        json={"resolution": "test_press", "notes": ""},
    )
    op.wait_for_function(
        "document.querySelector('#detail-status-text')?.textContent === 'Closed: test press'",
        timeout=5000,
    )
    for ctx in (op_ctx, el_ctx, fam_ctx):
        ctx.close()


# ----- the day's route and bookings -----------------------------------------------------


def test_caregiver_completes_a_route_task_from_the_page(
    server: str, demo_api: Api, browser: Any
) -> None:
    """The demo's day plan gave 王芳 a route; she sets off, arrives at the door and finishes
    the first visit from her phone. At any hour: a visit hours before its window is warned
    about, and when she goes on anyway its completion is refused and the task stays open."""
    mine = demo_api.raw("GET", "/api/v1/me/tasks", "caregiver1")
    assert mine[0] == 200, mine
    todo = [
        t for t in mine[1]["tasks"] if t["status"] in ("open", "planned") and t["lat"] is not None
    ]
    assert todo, "the demo seeds a route for 王芳"
    now = demo_api.now()  # the server's clock (it starts at CLOCK_START), not the wall clock

    def hours_early(t: Any) -> float:
        start = t["window_start"] and datetime.fromisoformat(t["window_start"])
        return (start - now).total_seconds() / 3600 if start else 0.0

    # A visit she can do now if there is one; else (at night) the nearest, which the server
    # refuses as that booking's visit (more than 2 hours before its window).
    task = min(todo, key=lambda t: (hours_early(t) > 2, abs(hours_early(t))))
    early = hours_early(task) > 2 and task["booking_id"] is not None
    door = gcj02_to_wgs84(task["lat"], task["lng"])
    demo_api.duty("caregiver1", True)
    ctx = phone(browser, door)
    cgp = ctx.new_page()
    asked: list[str] = []

    def go_on(d: Any) -> None:  # she goes on anyway
        asked.append(d.message)
        d.accept()

    cgp.on("dialog", go_on)
    sign_in(cgp, server, "/m/caregiver", "caregiver1")
    item = cgp.locator(f"[data-task='{task['id']}']")
    item.wait_for(timeout=5000)
    item.locator(".task-title").click()  # the visit she is about to do shows its steps
    item.locator(".nav-amap").wait_for(timeout=3000)
    assert (
        item.locator(".nav-amap")
        .get_attribute("data-app")
        .startswith("amapuri://route/plan/?sourceApplication=anxin")
    )
    assert "dev=0" in item.locator(".nav-amap").get_attribute("data-app")
    assert item.locator(".nav-qq").get_attribute("data-app").startswith("qqmap://map/routeplan?")
    assert (
        item.locator(".nav-qq")
        .get_attribute("href")
        .startswith("https://apis.map.qq.com/uri/v1/routeplan?")
    )
    shot(cgp, "caregiver-route.png")

    cgp.click(f"[data-start='{task['id']}']")
    cgp.wait_for_selector(f"[data-task='{task['id']}'] [data-task-status=en_route]", timeout=5000)
    at_door(cgp, door)
    cgp.click(f"[data-arrive='{task['id']}']")
    form = cgp.locator(f"[data-complete='{task['id']}']")
    form.wait_for(timeout=5000)
    form.locator("textarea").fill("已按时完成，老人状态良好")
    form.locator("button[type=submit]").click()
    if early:
        # Warned before setting off and before finishing; the server refuses it as that
        # booking's visit, and the task stays in progress (as the console shows it).
        assert "确定现在出发" in asked[0] and "会被拒绝" in asked[-1], asked
        cgp.wait_for_selector("#toasts .toast.err", timeout=5000)
        assert "不算这次预约" in cgp.locator("#toasts").inner_text()
        cgp.wait_for_selector(f"[data-task='{task['id']}'] [data-task-status=in_progress]")
        after = next(
            t
            for t in demo_api.call("GET", "/api/v1/me/tasks", "caregiver1")["tasks"]
            if t["id"] == task["id"]
        )
        assert after["status"] == "in_progress" and after["completed_at"] is None
        ctx.close()
        return
    cgp.wait_for_selector(f"[data-task='{task['id']}'] [data-task-status=done]", timeout=5000)
    after = next(
        t
        for t in demo_api.call("GET", "/api/v1/me/tasks", "caregiver1")["tasks"]
        if t["id"] == task["id"]
    )
    assert after["status"] == "done" and after["within_geofence"] is True
    ctx.close()


def test_family_cancels_a_booking_before_its_cut_off(
    server: str, demo_api: Api, browser: Any
) -> None:
    me = demo_api.call("GET", "/api/v1/me/elders", "family")[0]
    menu = [
        m
        for m in demo_api.call("GET", f"/api/v1/elders/{me['id']}/menu", "family")
        if m["bookable"]
    ]
    item = (
        next(m for m in menu if m["code"] == "chat")
        if any(m["code"] == "chat" for m in menu)
        else menu[0]
    )
    tomorrow = (demo_api.now().astimezone(SHANGHAI) + timedelta(days=2)).date()
    start = datetime.combine(tomorrow, datetime.min.time(), SHANGHAI).replace(hour=10)
    booking = demo_api.call(
        "POST",
        f"/api/v1/elders/{me['id']}/bookings",
        "family",
        json={
            "item_code": item["code"],
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=item["duration_min"] + 30)).isoformat(),
            "notes": "",
        },
    )
    ctx = phone(browser)
    fam = ctx.new_page()
    sign_in(fam, server, "/m/family", "family")
    row = fam.locator(f"[data-booking-id='{booking['id']}']")
    row.wait_for(timeout=5000)
    # Written the Chinese way in Chinese: "12月4日 周五 10:00".
    assert re.search(r"\d+月\d+日 周. 10:00", row.inner_text()), row.inner_text()
    shot(fam, "family-bookings.png")
    fam.once("dialog", lambda d: d.accept())
    row.locator("[data-cancel]").click()
    row.wait_for(state="detached", timeout=5000)
    books = demo_api.call("GET", f"/api/v1/elders/{me['id']}/bookings", "family")
    assert next(b for b in books if b["id"] == booking["id"])["status"] == "cancelled"
    ctx.close()


# A browser that blocks sound until the page is clicked (the autoplay policy): the AudioContext
# stays suspended, and resuming works only from a real click.
SOUND_STATE = """() => ({
  contexts: (window.__anxinAudio || []).map((c) => c.state),
  buttons: document.querySelectorAll("#sound").length,
  hidden: document.querySelector("#sound")?.hidden, banner_hidden: document.querySelector("#alarms")?.hidden,
  alarms: document.querySelectorAll("#alarms .alarm").length, beeps: window.__anxinBeeps || 0})"""


def server_view(api: Api, call: dict[str, Any]) -> dict[str, Any]:
    """What the server holds for a help call, for a failure message."""
    inc = api.call("GET", f"/api/v1/incidents/{call['id']}", "operator")
    alarms = api.call("GET", "/api/v1/alarms?open=0", "operator")
    return {
        "status": inc.get("status"),
        "timeline": [e.get("type") for e in inc.get("timeline", [])],
        "alarms": [
            (a["id"], a["kind"], a["incident_id"], a.get("acknowledged_at"))
            for a in alarms
            if a["incident_id"] == call["id"]
        ],
    }


BLOCKED_AUDIO = """
(() => {
  let lastClick = -1e9;
  // (The sign-in click does not count: the test wants the console's own button.)
  document.addEventListener("click", (e) => {
    if (e.isTrusted && !e.target.closest("#login-form")) lastClick = performance.now();
  }, true);
  const Real = window.AudioContext;
  window.AudioContext = class extends Real {
    constructor(...a) { super(...a); this.blocked = true; (window.__anxinAudio ||= []).push(this); }
    get state() { return this.blocked ? "suspended" : super.state; }
    resume() {
      if (performance.now() - lastClick < 200) { this.blocked = false; return super.resume(); }
      return Promise.resolve();
    }
  };
})();
"""


def test_blocked_sound_is_shown_and_a_click_enables_it(
    server: str, demo_api: Api, browser: Any
) -> None:
    for n in (1, 2, 3, 4):
        demo_api.duty(f"caregiver{n}", False)
    for a in open_alarms(demo_api):  # a clean banner: only this test's alarm
        demo_api.call("POST", f"/api/v1/alarms/{a['id']}/ack", "operator")
    ctx = console(browser)
    ctx.add_init_script(BLOCKED_AUDIO)
    op = ctx.new_page()
    sign_in(op, server, "/console", "operator")
    call = demo_api.help_call("elder")
    iid = call["id"]
    try:
        op.wait_for_selector(".alarm-banner:not([hidden]) .alarm", timeout=5000)
    except Exception as exc:
        raise AssertionError(f"no alarm banner: {server_view(demo_api, call)}") from exc
    # No sound can play: the console says so, and does not count beeps nobody heard.
    # Within two beeps (one every 2 s): the button is drawn by the beep that finds no sound.
    try:
        op.wait_for_selector("#sound:not([hidden])", timeout=6000)
    except Exception as exc:
        state = op.evaluate(SOUND_STATE)
        raise AssertionError(
            f"no 'enable sound' button: {state}; {server_view(demo_api, call)}"
        ) from exc
    assert (op.evaluate("window.__anxinBeeps") or 0) == 0
    op.click("#sound")
    op.wait_for_selector("#sound", state="hidden", timeout=3000)
    op.wait_for_function("(window.__anxinBeeps || 0) > 0", timeout=5000)
    demo_api.call(
        "POST",
        f"/api/v1/incidents/{iid}/close",
        "operator",
        json={"resolution": "test_press", "notes": ""},
    )
    for a in open_alarms(demo_api):
        demo_api.call("POST", f"/api/v1/alarms/{a['id']}/ack", "operator")
    ctx.close()


def test_an_alarm_raised_while_the_board_loads_is_not_lost(
    server: str, demo_api: Api, browser: Any
) -> None:
    """The console's snapshot (the board) is read just before a help call's alarm, and the
    alarm's push arrives while the board is still on its way: the banner shows it all the same
    (it used to vanish until the next reconnect)."""
    for n in (1, 2, 3, 4):
        demo_api.duty(f"caregiver{n}", False)
    for a in open_alarms(demo_api):
        demo_api.call("POST", f"/api/v1/alarms/{a['id']}/ack", "operator")
    ctx = console(browser)
    op = ctx.new_page()
    held: dict[str, Any] = {}

    def slow_board(route: Any) -> None:
        if held:
            route.continue_()
            return
        held["board"] = route.fetch()  # the board as it is now, without the alarm
        held["call"] = demo_api.help_call("elder")
        time.sleep(1.0)  # the alarm's push reaches the page meanwhile
        route.fulfill(response=held["board"])
        held["done"] = True

    op.route("**/api/v1/console/board*", slow_board)
    sign_in(op, server, "/console", "operator")
    for _ in range(100):  # the handler runs while Playwright waits
        if "done" in held:
            break
        op.wait_for_timeout(50)
    iid = held["call"]["id"]
    alarm = next(a for a in open_alarms(demo_api) if a["incident_id"] == iid)
    op.wait_for_selector(
        f".alarm-banner:not([hidden]) [data-testid=alarm-{alarm['id']}]", timeout=5000
    )
    demo_api.call(
        "POST",
        f"/api/v1/incidents/{iid}/close",
        "operator",
        json={"resolution": "test_press", "notes": ""},
    )
    for a in open_alarms(demo_api):
        demo_api.call("POST", f"/api/v1/alarms/{a['id']}/ack", "operator")
    ctx.close()


def test_a_buffered_device_press_is_shown_late_on_the_console(
    server: str, demo_api: Api, browser: Any
) -> None:
    """A pendant without network kept a press for 40 minutes; the gateway sends it with the
    device's time: the call is taken, and the operator sees that it came 40 minutes late."""
    target = demo_api.call("GET", "/api/v1/elders?page=1&page_size=5", "operator")["items"][4]
    demo_api.call(
        "POST",
        "/api/v1/hotline/devices",
        "operator",
        json={"device_id": "BTN-LATE-1", "elder_id": target["id"]},
    )
    pressed = demo_api.now() - timedelta(minutes=40)
    answer = demo_api.signed(
        "/api/v1/hotline/devices/BTN-LATE-1/press",
        {"device_id": "BTN-LATE-1", "event_id": "gw-late-1", "pressed_at": pressed.isoformat()},
    )
    # (the test knows the server's time to a few seconds)
    assert 39 * 60 < answer["late_s"] <= 41 * 60
    ctx = console(browser)
    op = ctx.new_page()
    sign_in(op, server, "/console", "operator")
    item = op.locator(f"[data-testid=incident-{answer['incident_id']}]")
    item.wait_for(timeout=5000)
    assert "迟到 40 分钟" in item.locator("[data-late]").inner_text()
    item.click()
    op.wait_for_selector("#detail-late", timeout=3000)
    assert "迟到 40 分钟送达" in op.locator("#detail-late").inner_text()
    ctx.close()
    demo_api.call(
        "POST",
        f"/api/v1/incidents/{answer['incident_id']}/close",
        "operator",
        json={"resolution": "handled_by_phone"},
    )


def test_family_signs_in_inside_wechat_through_the_official_account(
    server: str, browser: Any, wechat: Any
) -> None:
    """In WeChat's browser the family page offers 微信登录: WeChat's authorisation page (the
    fake) sends the page back with ?code&state, and the page is signed in without a password."""
    wechat.fake.web_openid = "o-browser-family"
    ctx = browser.new_context(
        viewport=PHONE_VIEW,
        is_mobile=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        user_agent=(
            "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64"
        ),
    )
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/m/family")
    page.locator("#wechat-sign-in").click()
    page.wait_for_url(lambda url: "/m/family" in url and "code=" not in url, timeout=10_000)
    page.wait_for_selector("#login-form", state="detached", timeout=10_000)
    session = page.evaluate("() => JSON.parse(localStorage.getItem('anxin.session.family'))")
    assert session["role"] == "family" and session["access_token"]
    assert "code=" not in page.url and "state=" not in page.url
    (asked,) = [q for q in wechat.fake.authorize_queries if q["redirect_uri"].endswith("/m/family")]
    assert asked["scope"] == "snsapi_base" and asked["appid"] == wechat.fake.mp_appid
    assert not errors, errors
    ctx.close()


def test_an_emergency_for_another_stations_elder_is_handed_to_their_station(
    server: str, demo_api: Api, browser: Any
) -> None:
    # An elder of a neighbouring station rings 仓红's number.
    here = {"lat": 39.9300, "lng": 116.4500, "coord_system": "gcj02"}
    other = demo_api.call(
        "POST", "/api/v1/stations", "admin",
        json={"name": "官长社区养老服务站", "location": here, "phone": "01065550000"},
    )  # fmt: skip
    elder = demo_api.call(
        "POST", "/api/v1/elders", "admin",
        json={
            "station_id": other["id"], "name": "张玉兰", "id_number": "110105194403080043",
            "phone": "13700001234", "address": "官长胡同3号", "living": "alone",
            "location": here, "care_level": "半失能",
        },
    )  # fmt: skip
    op_ctx = console(browser)
    op = op_ctx.new_page()
    sign_in(op, server, "/console", "operator")
    op.wait_for_selector("#queue")
    call_id = demo_api.cti_ringing("13700001234")
    card = op.locator(f"[data-call='{call_id}']")
    card.wait_for(timeout=3000)
    # Nothing about her on this station's screen, but one click hands the emergency over.
    assert "张玉兰" not in card.inner_text() and "在其他站登记的老人" in card.inner_text()
    card.locator("[data-elsewhere='0'] .btn.danger").click()
    done = card.locator(".forwarded")
    done.wait_for(timeout=3000)
    assert "官长社区养老服务站" in done.inner_text() and "01065550000" in done.inner_text()
    assert "张玉兰" not in done.inner_text()  # her station does not share by default
    theirs = demo_api.call("GET", f"/api/v1/incidents?elder_id={elder['id']}", "admin")
    [incident] = [i for i in theirs["items"] if i["elder_id"] == elder["id"]]
    assert incident["kind"] == "emergency" and incident["station_id"] == other["id"]
    op_ctx.close()
