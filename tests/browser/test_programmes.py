"""The staff pages of issue 15 in headless Chromium: the assessor's tablet page, the station's
day-care list and the volunteer registry, each reached from the console's navigation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Api, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TABLET_VIEW = {"width": 1024, "height": 768}


def tablet(browser: Any) -> Any:
    return browser.new_context(
        viewport=TABLET_VIEW,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        has_touch=True,
        bypass_csp=True,  # wait_for_function evaluates strings
    )


def scale(api: Api) -> dict[str, Any]:
    scales = api.call("GET", "/api/v1/assessment-scales", "operator")
    return next(s for s in scales if s["id"] == "GB/T 42195-2022")


def test_assessment_with_a_missing_item_stays_a_draft_then_is_scored(
    server: str, demo_api: Api, browser: Any
) -> None:
    elder = demo_api.call("GET", "/api/v1/me/elders", "elder")[0]
    items = scale(demo_api)["items"]
    ctx = tablet(browser)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, server, "/console", "operator")
    # The console links the page.
    page.click("nav a[href='/console/assess']")
    page.wait_for_selector("main[data-ready='1']")
    page.fill("#elder-q", elder["name"])
    page.click("form.row button[type=submit]")
    page.click(f"#elder-list [data-elder='{elder['id']}']")
    page.wait_for_selector("[data-item=eating] .opt")
    # The items come from the scale file, grouped by section, with the Chinese descriptions.
    assert page.locator("[data-section=self_care] h3").inner_text() == "自理能力"
    assert page.locator("[data-item]").count() == len(items)
    assert "完全依赖他人" in page.locator("[data-item=eating]").inner_text()
    box = page.locator("[data-item=eating] .opt").first.bounding_box()
    assert box is not None and box["height"] >= 48  # a finger, not a mouse pointer

    # Everything but "memory" (an able elder, full marks): submitting keeps it a draft.
    for it in items:
        if it["code"] != "memory":
            page.click(f"[data-item={it['code']}] .opt[data-score='{it['max']}']")
    page.click("#btn-submit")
    page.wait_for_selector("#msg[data-status=draft]")
    text = page.locator("#msg").inner_text()
    assert "草稿" in text and "记忆" in text, text
    assert page.locator(".item.missing").count() == 1
    assert page.locator(".item.missing").get_attribute("data-item") == "memory"
    shot(page, "assessment-draft.png")
    draft_id = int(text.split("#")[1].split("）")[0])
    draft = demo_api.call("GET", f"/api/v1/assessments/{draft_id}", "operator")
    assert draft["status"] == "draft" and draft["missing"] == ["memory"]
    assert draft["level"] is None

    # The missing item, then submit: scored, level 0 (能力完好, 自理).
    page.click("[data-item=memory] .opt[data-score='4']")
    page.click("#btn-submit")
    page.wait_for_selector("#scored")
    assert "能力完好" in page.locator("#level").inner_text()
    assert page.locator("#care-level").inner_text() == "自理"
    scored = demo_api.call("GET", f"/api/v1/assessments/{draft_id}", "operator")
    assert scored["status"] == "scored" and scored["level"] == 0
    assert (
        demo_api.call("GET", f"/api/v1/elders/{elder['id']}/capability", "operator")["level"] == 0
    )
    assert not errors, errors
    ctx.close()
