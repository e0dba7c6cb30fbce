"""The phones never lie: a press that has not reached the station says so, survives a reload
and a closed tab, and is delivered exactly once when the network returns (headless Chromium)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.browser.conftest import Api, sign_in
from tests.browser.test_console import console, hold, phone

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def elder_id(api: Api) -> int:
    return int(api.call("GET", "/api/v1/me/elders", "elder")[0]["id"])


def open_calls(api: Api) -> list[Any]:
    page = api.call("GET", f"/api/v1/incidents?status=active&elder_id={elder_id(api)}", "operator")
    return list(page["items"])


def close_all(api: Api) -> None:
    for inc in open_calls(api):
        api.call(
            "POST",
            f"/api/v1/incidents/{inc['id']}/close",
            "operator",
            json={"resolution": "test_press", "notes": "browser test"},
        )


def calls_since(api: Api, after_id: int) -> list[Any]:
    page = api.call(
        "GET", f"/api/v1/incidents?status=all&elder_id={elder_id(api)}&page_size=20", "operator"
    )
    return [i for i in page["items"] if i["id"] > after_id]


def last_id(api: Api) -> int:
    page = api.call(
        "GET", f"/api/v1/incidents?status=all&elder_id={elder_id(api)}&page_size=1", "operator"
    )
    return max([int(i["id"]) for i in page["items"]] or [0])


def elder_phone(server: str, api: Api, browser: Any) -> tuple[int, Any, Any]:
    """No call open, the last incident's id, and the elder signed in on a phone."""
    close_all(api)
    before = last_id(api)
    ctx = phone(browser)
    el = ctx.new_page()
    sign_in(el, server, "/m/elder", "elder")
    return before, ctx, el


def test_offline_press_says_not_sent_and_is_delivered_once_when_the_network_returns(
    server: str, demo_api: Api, browser: Any
) -> None:
    before, ctx, el = elder_phone(server, demo_api, browser)
    el.wait_for_selector("#conn.live")
    assert "已连接" in el.locator("#conn").inner_text()  # the connection in words

    ctx.set_offline(True)
    hold(el, "#help", 1300)
    box = el.locator("#pending[data-state=failed]")
    box.wait_for(timeout=8000)
    assert "呼叫还没发出" in box.inner_text()
    assert el.locator("#help.sent").count() == 0
    assert "已呼叫" not in el.locator("#help").inner_text()
    # Big buttons to phone the station, the first family contact and 120, from the elder's file.
    tels = {
        a.get_attribute("data-tel"): a.get_attribute("href")
        for a in el.locator("#pending a[href^='tel:']").all()
    }
    assert tels["120"] == "tel:120"
    assert tels["family"].startswith("tel:1")
    assert "station" in tels
    el.wait_for_function("document.querySelector('#conn').textContent.includes('网络断开')")
    assert calls_since(demo_api, before) == []  # nothing reached the station

    ctx.set_offline(False)
    el.wait_for_selector("#help.sent", timeout=20_000)
    assert "已呼叫" in el.locator("#help").inner_text()
    assert el.locator("#pending").is_hidden()
    made = calls_since(demo_api, before)
    assert len(made) == 1 and made[0]["press_count"] == 1, made
    assert el.evaluate("window.__anxin.outbox.items().length") == 0
    ctx.close()
    close_all(demo_api)


def test_a_call_pending_across_a_reload_and_a_closed_tab_is_sent_once(
    server: str, demo_api: Api, browser: Any
) -> None:
    before, ctx, el = elder_phone(server, demo_api, browser)
    # The first try reaches the server but its answer is lost; later tries do not get through.
    seen: list[str] = []

    def lose_answer(route: Any) -> None:
        seen.append(route.request.headers.get("idempotency-key", ""))
        if len(seen) == 1:
            route.fetch()  # the station has it ...
        route.abort()  # ... but the phone never hears back

    el.route("**/api/v1/help-calls", lose_answer)
    hold(el, "#help", 1300)
    el.wait_for_selector("#pending[data-state=failed]", timeout=8000)
    assert len(calls_since(demo_api, before)) == 1  # it did reach the station

    el.reload()
    el.wait_for_selector("#pending[data-state=failed]", timeout=8000)
    assert el.locator("#help.sent").count() == 0
    assert "呼叫还没发出" in el.locator("#pending").inner_text()
    el.close()  # the tab is closed with the call still pending

    again = ctx.new_page()
    again.goto(server + "/m/elder")
    again.wait_for_selector("#help.sent", timeout=15_000)
    assert again.locator("#pending").is_hidden()
    made = calls_since(demo_api, before)
    # One incident, one press: every retry carried the first press's Idempotency-Key.
    assert len(made) == 1 and made[0]["press_count"] == 1, made
    assert len(set(seen)) == 1, seen
    ctx.close()
    close_all(demo_api)


def test_signing_out_asks_first(server: str, demo_api: Api, browser: Any) -> None:
    ctx = phone(browser)
    el = ctx.new_page()
    sign_in(el, server, "/m/elder", "elder")
    asked: list[str] = []

    def answer(d: Any) -> None:
        asked.append(d.message)
        d.dismiss()

    el.on("dialog", answer)
    el.click("#sign-out")
    assert asked and "退出" in asked[0]
    assert el.locator("#help").count() == 1  # still signed in
    el.remove_listener("dialog", answer)
    el.on("dialog", lambda d: d.accept())
    el.click("#sign-out")
    el.wait_for_selector("#login-form", timeout=5000)
    ctx.close()


def offered_call(api: Api) -> tuple[int, int]:
    """A help call offered to 王芳 (caregiver1, the only one on duty): (incident, offer)."""
    api.duty("caregiver1", True)
    api.duty("caregiver2", False)
    api.duty("caregiver3", False)
    close_all(api)
    iid = int(api.help_call()["id"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        offers = [
            o for o in api.call("GET", "/api/v1/offers", "caregiver1") if o["incident_id"] == iid
        ]
        if offers:
            return iid, int(offers[0]["id"])
        time.sleep(0.2)
    raise AssertionError("the call was not offered to caregiver1")


def test_caregivers_offline_on_my_way_waits_on_the_phone_and_arrives_with_its_device_time(
    server: str, demo_api: Api, browser: Any
) -> None:
    iid, oid = offered_call(demo_api)
    demo_api.call("POST", f"/api/v1/offers/{oid}/accept", "caregiver1", json={})
    returned = time.monotonic()
    seen = demo_api.call("GET", f"/api/v1/incidents/{iid}", "operator")
    timeline = seen["timeline"]
    home = {"landline": "010-6555 0001"}  # her home's fixed line (座机), on the call card too
    demo_api.call("PATCH", f"/api/v1/elders/{seen['elder_id']}", "operator", json=home)
    accepted = datetime.fromisoformat([e for e in timeline if e["kind"] == "accepted"][0]["at"])
    ctx = phone(browser)
    # The phone's clock tells the server's time (the suite's server runs from a fixed hour),
    # read off the acceptance the server just recorded; half a second behind, as phones are
    # (a device time ahead of the server is not believed).
    server_now = accepted + timedelta(seconds=time.monotonic() - returned)
    ctx.clock.install(time=server_now - timedelta(seconds=0.5))
    cg = ctx.new_page()
    sign_in(cg, server, "/m/caregiver", "caregiver1")
    cg.wait_for_selector("#btn-en-route", timeout=8000)
    # The call card: tap to phone the elder and the first contact, and the care notes.
    card = cg.locator("#call-card")
    card.wait_for(timeout=5000)
    contact = demo_api.call("GET", f"/api/v1/incidents/{iid}", "caregiver1")["elder_contact"]
    assert card.locator("a[data-tel=elder]").get_attribute("href") == f"tel:{contact['phone']}"
    first = contact["contacts"][0]["phone"]
    assert card.locator("a[data-tel=contact]").get_attribute("href") == f"tel:{first}"
    assert card.locator("a[data-tel=home]").get_attribute("href") == "tel:01065550001"
    assert contact["care_level"] in card.inner_text()

    ctx.set_offline(True)
    cg.click("#btn-en-route")
    cg.wait_for_selector("[data-queued=en_route]", timeout=5000)
    pending = cg.locator("#outbox [data-pending-step=en_route]")
    assert "待发送" in pending.inner_text()
    cg.wait_for_timeout(2500)
    assert demo_api.call("GET", f"/api/v1/incidents/{iid}", "operator")["status"] == "accepted"
    back = demo_api.now()
    ctx.set_offline(False)
    cg.wait_for_selector("#outbox", state="detached", timeout=20_000)
    cg.wait_for_function(
        "document.querySelector('#cg-status') && document.querySelector('#cg-status').textContent === '在途'",
        timeout=10_000,
    )
    full = demo_api.call("GET", f"/api/v1/incidents/{iid}", "operator")
    [went] = [e for e in full["timeline"] if e["kind"] == "en_route"]  # applied once
    at = datetime.fromisoformat(went["at"])
    assert at == datetime.fromisoformat(went["data"]["device_time"])  # when she tapped it
    assert at < back - timedelta(seconds=2)  # not when the network came back
    assert went["data"]["device_time_flagged"] is None
    ctx.close()
    close_all(demo_api)


def test_call_my_family_says_the_family_was_told_and_keeps_the_help_button_ready(
    server: str, demo_api: Api, browser: Any
) -> None:
    before, ctx, el = elder_phone(server, demo_api, browser)
    el.on("dialog", lambda d: d.accept())
    el.click("#family-btn")
    el.wait_for_function(
        "document.querySelector('#status').textContent.includes('已通知家人')", timeout=10_000
    )
    assert el.locator("#help.sent").count() == 0  # not an emergency: the button stays ready
    assert "已呼叫" not in el.locator("#help").inner_text()
    [made] = calls_since(demo_api, before)
    assert made["kind"] == "family"
    ctx.close()
    close_all(demo_api)


def test_console_says_loudly_when_the_board_or_the_live_connection_fails(
    server: str, demo_api: Api, browser: Any
) -> None:
    ctx = console(browser)
    op = ctx.new_page()
    failing = {"on": True}

    def board(route: Any) -> None:
        if failing["on"]:
            route.fulfill(status=500, content_type="application/problem+json", body="{}")
        else:
            route.continue_()

    op.route("**/api/v1/console/board*", board)
    sign_in(op, server, "/console", "operator")
    banner = op.locator("#board-banner[data-state=board]")
    banner.wait_for(timeout=8000)
    assert "看板加载失败" in banner.inner_text()
    assert "加载失败" in op.locator("#queue").inner_text()  # not an empty, quiet queue
    assert op.locator("main.board.stale").count() == 1

    failing["on"] = False  # the board answers again: the retry clears the banner
    op.wait_for_selector("#board-banner", state="hidden", timeout=15_000)
    assert op.locator("main.board.stale").count() == 0

    ctx.set_offline(True)  # the live connection goes
    live = op.locator("#board-banner[data-state=live]")
    live.wait_for(timeout=10_000)
    assert "实时连接中断" in live.inner_text()
    ctx.set_offline(False)
    op.wait_for_selector("#board-banner", state="hidden", timeout=20_000)
    ctx.close()


def test_console_shows_a_step_whose_phone_time_was_not_believed(
    server: str, demo_api: Api, browser: Any
) -> None:
    iid, oid = offered_call(demo_api)
    ahead = (datetime.now(UTC) + timedelta(hours=1)).isoformat()  # a phone clock an hour fast
    took = demo_api.call(
        "POST",
        f"/api/v1/offers/{oid}/accept",
        "caregiver1",
        json={"device_time": ahead},
        headers={"Idempotency-Key": f"accept-{oid}-fast-clock"},
    )
    assert took["device_time_flagged"] == "future"
    ctx = console(browser)
    op = ctx.new_page()
    sign_in(op, server, "/console", "operator")
    op.click(f"[data-testid=incident-{iid}]")
    mark = op.locator("#timeline li[data-kind=accepted] [data-device=flagged]")
    mark.wait_for(timeout=5000)
    assert "不可信" in mark.inner_text()
    ctx.close()
    close_all(demo_api)
