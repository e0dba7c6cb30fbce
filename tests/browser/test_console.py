"""End to end in headless Chromium: the elder's button, the console, the caregiver's phone."""

from __future__ import annotations

import time
from typing import Any

import pytest

from server.geo import gcj02_to_wgs84
from tests.browser.conftest import CONSOLE_VIEW, PHONE_VIEW, Api, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def phone(browser: Any, geo: tuple[float, float] | None = None) -> Any:
    opts: dict[str, Any] = {"viewport": PHONE_VIEW, "device_scale_factor": 1, "is_mobile": True,
                            "has_touch": True, "locale": "zh-CN", "timezone_id": "Asia/Shanghai",
                            "bypass_csp": True}  # wait_for_function evaluates strings
    if geo is not None:
        opts.update(geolocation={"latitude": geo[0], "longitude": geo[1], "accuracy": 10},
                    permissions=["geolocation"])
    return browser.new_context(**opts)


def console(browser: Any) -> Any:
    return browser.new_context(viewport=CONSOLE_VIEW, locale="zh-CN", timezone_id="Asia/Shanghai",
                               bypass_csp=True)


def hold(page: Any, selector: str, ms: int) -> None:
    box = page.locator(selector).bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.wait_for_timeout(ms)
    page.mouse.up()


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

    # A short press is not a call.
    hold(el, "#help", 300)
    el.wait_for_timeout(300)
    assert op.locator(".qi").count() == 0
    assert demo_api.call("GET", "/api/v1/incidents", "operator")["items"] == []

    # Hold ~1 s: the call goes out at once and is on the console within a second.
    with el.expect_response(lambda r: "/api/v1/help-calls" in r.url and r.request.method == "POST") as resp:
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
    op.wait_for_selector(f"[data-testid=incident-{incident_id}] [data-status=accepted]", timeout=3000)
    cd = op.locator(f"[data-countdown='{incident_id}']").first
    text = cd.inner_text()
    assert ":" in text and text.startswith(("19:", "20:")), text
    assert "green" in (cd.get_attribute("class") or "")
    assert "王芳" in item.inner_text()
    # The elder sees who is coming and roughly when, in large type.
    el.wait_for_function("document.querySelector('#status').textContent.includes('王芳正在赶来')", timeout=3000)
    assert "分钟" in el.locator("#status").inner_text()
    shot(el, "elder.png")

    # Open the incident: timeline, the dispatcher's candidates and reasons.
    op.keyboard.press("Enter")
    op.wait_for_selector("#detail:not([hidden]) #timeline li[data-kind=accepted]", timeout=3000)
    assert op.locator(".cands tr").count() >= 1
    shot(op, "console-incident.png")
    op.keyboard.press("Escape")
    shot(op, "console.png")

    # The family sees the open call live.
    fam_ctx = phone(browser)
    fam = fam_ctx.new_page()
    sign_in(fam, server, "/m/family", "family")
    fam.wait_for_selector(f"[data-incident='{incident_id}']")

    # En route, then arrival at the elder's door (the phone's GPS, WGS-84).
    cgp.click("#btn-en-route")
    op.wait_for_selector(f"[data-testid=incident-{incident_id}] [data-status=en_route]", timeout=3000)
    cg_ctx.set_geolocation({"latitude": elder_wgs[0], "longitude": elder_wgs[1], "accuracy": 10})
    cgp.wait_for_timeout(300)  # the phone's position watch reports the move
    cgp.click("#btn-arrive")
    op.wait_for_selector(f"[data-testid=incident-{incident_id}] [data-status=arrived]", timeout=3000)
    assert "ok" in (op.locator(f"[data-countdown='{incident_id}']").first.get_attribute("class") or "")
    inc = demo_api.call("GET", f"/api/v1/incidents/{incident_id}", "operator")
    assert inc["status"] == "arrived" and not inc["arrival_flagged"]
    el.wait_for_function("document.querySelector('#status').textContent.includes('到达')", timeout=3000)
    fam.wait_for_function(
        f"document.querySelector(\"[data-incident='{incident_id}'] .status-text\")?.textContent.includes('到达')",
        timeout=3000)
    shot(fam, "family.png")
    shot(cgp, "caregiver.png")

    # Resolve with notes: the call leaves the queue.
    cgp.fill("#resolve-notes", "老人跌倒，无外伤，已扶起并通知家属")
    cgp.click("#btn-resolve")
    op.wait_for_selector(f"[data-testid=incident-{incident_id}]", state="detached", timeout=3000)
    assert demo_api.call("GET", f"/api/v1/incidents/{incident_id}", "operator")["status"] == "resolved"

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
    popped = [i for i in demo_api.call("GET", "/api/v1/incidents", "operator")["items"] if i["elder_id"] == caller["id"]]
    assert len(popped) == 1 and popped[0]["source"] == "phone"
    demo_api.call("POST", f"/api/v1/incidents/{popped[0]['id']}/close", "operator",
                  json={"resolution": "false_alarm", "notes": ""})
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
    first = [a for a in demo_api.call("GET", "/api/v1/alarms", "operator") if a["incident_id"] == incident_id]
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
        if not demo_api.call("GET", "/api/v1/alarms", "operator"):
            break
        op.wait_for_selector(".alarm-banner:not([hidden]) .alarm", timeout=3000)
        op.keyboard.press("a")
        op.wait_for_timeout(300)
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
    op.wait_for_function("document.querySelector('#detail-caregiver').textContent.includes('刘洋')", timeout=3000)
    op.select_option("#assign-cg", "1")  # 王芳
    op.fill("#assign-reason", "刘洋电话未接，改派王芳")
    op.click("#assign-submit")
    op.wait_for_function("document.querySelector('#detail-caregiver').textContent.includes('王芳')", timeout=3000)
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
    assert demo_api.call("GET", f"/api/v1/incidents/{incident_id}", "operator")["resolution"] == "false_alarm"

    # A flaky network: the socket drops, a call comes in meanwhile; on reconnect the console
    # resumes after the last sequence number and reloads its snapshot.
    op_ctx.set_offline(True)
    op.evaluate("window.__anxin.live.ws.close()")
    op.wait_for_selector("#conn.offline", timeout=20000)  # the close handshake can stall offline
    missed = demo_api.help_call("elder")["id"]
    op.wait_for_timeout(700)
    assert op.locator(f"[data-testid=incident-{missed}]").count() == 0
    op_ctx.set_offline(False)
    op.wait_for_selector(f"[data-testid=incident-{missed}]", timeout=12_000)
    op.wait_for_selector("#conn.live")
    demo_api.call("POST", f"/api/v1/incidents/{missed}/close", "operator",
             json={"resolution": "test_press", "notes": ""})
    op.wait_for_selector(f"[data-testid=incident-{missed}]", state="detached", timeout=3000)
    op_ctx.close()
