"""A check-in far from the elder, in headless Chromium: the caregiver is told it does not
count, the console flags it with the distance and a confirm button, the operator confirms,
and everyone then sees the caregiver on scene."""

from __future__ import annotations

from typing import Any

import pytest

from server.geo import gcj02_to_wgs84
from tests.browser.conftest import CONSOLE_VIEW, PHONE_VIEW, Api, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# About 1 km north of the elder's door: well outside the 200 m tolerance.
FAR_NORTH_DEG = 0.0095


def _phone(browser: Any, geo: tuple[float, float]) -> Any:
    return browser.new_context(
        viewport=PHONE_VIEW,
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        bypass_csp=True,
        geolocation={"latitude": geo[0], "longitude": geo[1], "accuracy": 10},
        permissions=["geolocation"],
    )


def _console(browser: Any) -> Any:
    return browser.new_context(
        viewport=CONSOLE_VIEW, locale="zh-CN", timezone_id="Asia/Shanghai", bypass_csp=True
    )


def _at(page: Any, wgs: tuple[float, float]) -> None:
    """Wait until the caregiver's page has the position the test gave the phone."""
    page.wait_for_function(
        "([lat, lng]) => { const p = window.__anxin.state.position;"
        " return p && Math.abs(p.latitude - lat) < 1e-6 && Math.abs(p.longitude - lng) < 1e-6; }",
        arg=list(wgs),
        timeout=5000,
    )


def test_far_check_in_is_flagged_and_confirmed_on_the_console(
    server: str, demo_api: Api, browser: Any
) -> None:
    # Only 王芳 (caregiver1) is on duty, so the offer goes to her.
    demo_api.duty("caregiver1", True)
    for n in (2, 3, 4):
        demo_api.duty(f"caregiver{n}", False)
    me = demo_api.call("GET", "/api/v1/me/elders", "elder")[0]
    elder_wgs = gcj02_to_wgs84(me["location"]["lat"], me["location"]["lng"])
    far_wgs = (elder_wgs[0] + FAR_NORTH_DEG, elder_wgs[1])

    op_ctx, cg_ctx = _console(browser), _phone(browser, far_wgs)
    op, cgp = op_ctx.new_page(), cg_ctx.new_page()
    sign_in(op, server, "/console", "operator")
    sign_in(cgp, server, "/m/caregiver", "caregiver1")
    cgp.wait_for_selector("#duty[aria-checked=true]")

    iid = demo_api.help_call()["id"]
    cgp.wait_for_selector("[data-offer]", timeout=5000)
    cgp.locator("[data-offer] .btn.ok").click()
    cgp.wait_for_selector("#btn-arrive", timeout=3000)

    # She reports arrival about 1 km away: her phone says it does not count and why.
    _at(cgp, far_wgs)
    with cgp.expect_response(lambda r: f"/incidents/{iid}/arrive" in r.url) as resp:
        cgp.click("#btn-arrive")
    answer = resp.value.json()
    assert answer["flagged"] is True and answer["status"] in ("accepted", "en_route")
    shown = f"{round(answer['distance_m']):,}"
    assert 900 < answer["distance_m"] < 1200
    toast = cgp.locator(".toast.err", has_text="请到门口再签到")
    toast.wait_for(timeout=3000)
    assert f"{shown} 米" in toast.inner_text()
    cgp.wait_for_selector("#cg-too-far", timeout=3000)
    warning = cgp.locator("#cg-too-far").inner_text()
    assert "较远" in warning and "请到门口" in warning and "签到" in warning
    assert cgp.locator("#cg-status").inner_text() != "已到达"
    assert cgp.locator("#btn-resolve").count() == 0  # not on scene: nothing to resolve yet
    shot(cgp, "caregiver-too-far.png")

    # The console: the queue item carries the flag with the distance ...
    flag = op.locator(f"[data-testid=incident-{iid}] [data-flag=arrival]")
    flag.wait_for(timeout=3000)
    assert shown in flag.inner_text()
    assert op.locator(f"[data-testid=incident-{iid}] [data-status]").get_attribute(
        "data-status"
    ) in ("accepted", "en_route")
    # ... and the detail panel says how far, with a visible confirm button.
    op.locator(f"[data-testid=incident-{iid}]").click()
    box = op.locator("#detail:not([hidden]) #arrival-flag")
    box.wait_for(timeout=3000)
    assert f"签到位置距老人 {shown} 米" in box.inner_text()
    assert "超出 200 米" in box.inner_text()
    button = op.locator("#confirm-arrival")
    assert button.is_visible() and button.inner_text() == "确认到达"
    button.scroll_into_view_if_needed()
    assert button.is_visible()
    shot(op, "console-flagged-arrival.png")
    # The same in English.
    op.click("#btn-lang")
    op.locator("#confirm-arrival").wait_for(timeout=3000)
    assert op.locator("#confirm-arrival").inner_text() == "Confirm arrival"
    assert f"Checked in {shown} m from the elder" in op.locator("#arrival-flag").inner_text()
    op.click("#btn-lang")
    op.locator("#confirm-arrival").wait_for(timeout=3000)

    # The operator has called her, and confirms with a note.
    op.fill("#confirm-note", "电话确认已在楼下")
    with op.expect_response(lambda r: f"/incidents/{iid}/confirm-arrival" in r.url) as confirmed:
        op.click("#confirm-arrival")
    assert confirmed.value.status == 200
    op.wait_for_selector("#detail-status.st-arrived", timeout=3000)
    op.wait_for_selector("#timeline li[data-kind=arrival_confirmed]", timeout=3000)
    assert op.locator("#arrival-flag").count() == 0
    assert "调度员已确认到场" in op.locator("#detail-flag").inner_text()
    op.wait_for_selector(f"[data-testid=incident-{iid}] [data-status=arrived]", timeout=3000)
    assert op.locator(f"[data-testid=incident-{iid}] [data-flag=arrival]").count() == 0
    inc = demo_api.call("GET", f"/api/v1/incidents/{iid}", "operator")
    assert inc["status"] == "arrived" and inc["arrived_at"] is not None
    assert not [
        a
        for a in demo_api.call("GET", "/api/v1/alarms", "operator")
        if a["incident_id"] == iid and a["kind"] == "arrival_outside_geofence"
    ]

    # Her phone follows without a reload: on scene, with the resolve step.
    cgp.wait_for_selector("#btn-resolve", timeout=3000)
    assert cgp.locator("#cg-too-far").count() == 0
    assert cgp.locator("#cg-status").inner_text() == "已到达"
    cgp.fill("#resolve-notes", "老人跌倒，已扶起")
    cgp.click("#btn-resolve")
    op.wait_for_selector(f"[data-testid=incident-{iid}]", state="detached", timeout=3000)
    for ctx in (op_ctx, cg_ctx):
        ctx.close()
