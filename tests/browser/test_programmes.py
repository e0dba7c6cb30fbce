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


def staff_page(browser: Any, server: str, href: str) -> tuple[Any, Any, list[str]]:
    """The operator signs in on the console and follows its link to a staff page."""
    ctx = tablet(browser)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, server, "/console", "operator")
    page.click(f"nav a[href='{href}']")
    page.wait_for_selector("main[data-ready='1']")
    return ctx, page, errors


def scale(api: Api) -> dict[str, Any]:
    scales = api.call("GET", "/api/v1/assessment-scales", "operator")
    return next(s for s in scales if s["id"] == "GB/T 42195-2022")


def test_assessment_with_a_missing_item_stays_a_draft_then_is_scored(
    server: str, demo_api: Api, browser: Any
) -> None:
    elder = demo_api.call("GET", "/api/v1/me/elders", "elder")[0]
    items = scale(demo_api)["items"]
    ctx, page, errors = staff_page(browser, server, "/console/assess")
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


def test_a_check_in_on_the_day_care_page_shows_on_the_list(
    server: str, demo_api: Api, browser: Any
) -> None:
    # The suite's clock: Monday 10:00 in Shanghai, day care open (Monday to Friday, 9-17).
    me = demo_api.call("GET", "/api/v1/auth/me", "operator")
    sid = me["station_id"]
    today = demo_api.call("GET", "/api/v1/console/today", "operator")["date"]
    demo_api.call(
        "PUT",
        f"/api/v1/stations/{sid}/daycare/programme",
        "operator",
        json={"capacity": 1, "roll_call_min": 180},
    )  # the roll call at 12:00, after the test
    first, second = demo_api.call("GET", "/api/v1/elders?page_size=2", "operator")["items"]
    body = {"weekdays": [0, 2], "starts_on": today}
    came = demo_api.call(
        "POST", f"/api/v1/elders/{first['id']}/daycare/enrolments", "operator", json=body
    )
    waits = demo_api.call(
        "POST", f"/api/v1/elders/{second['id']}/daycare/enrolments", "operator", json=body
    )
    assert came["status"] == "enrolled" and waits["status"] == "waiting"

    ctx, page, errors = staff_page(browser, server, "/console/daycare")
    # The capacity and the waiting list: Monday full (1 / 1), the second elder waiting first.
    assert page.locator("#capacity").inner_text() == "名额 1 人"
    assert page.locator("#places [data-weekday='0']").inner_text().split()[1:3] == ["1", "/"]
    waiting = page.locator(f"#waiting-list [data-enrolment='{waits['id']}']")
    assert second["name"] in waiting.inner_text() and waiting.inner_text().startswith("1")

    # Today's list is made (the 07:00 timer's work, by hand here), then the check-in.
    page.click("#btn-open")
    row = page.locator(f"#attendance [data-elder='{first['id']}']")
    row.wait_for()
    assert row.get_attribute("data-status") == "expected"
    assert "待到" in row.inner_text()
    assert page.locator("#absence-list").count() == 0
    # The family phoned: not coming today. The row is excused and listed under absences.
    row.locator(".excuse").click()
    page.wait_for_selector(f"#attendance [data-elder='{first['id']}'][data-status=excused]")
    assert page.locator("#absence-list").inner_text() == f"{first['name']} · 请假"
    # She came after all: checked in from the excused row.
    row = page.locator(f"#attendance [data-elder='{first['id']}']")
    row.locator(".check-in").click()
    page.wait_for_selector(f"#attendance [data-elder='{first['id']}'][data-status=present]")
    row = page.locator(f"#attendance [data-elder='{first['id']}']")
    assert "在站" in row.inner_text()
    assert page.locator("#absence-list").count() == 0
    assert row.locator(".in").inner_text() != "—"
    assert "已签到" in page.locator("#msg").inner_text()
    assert page.locator("#present-count").inner_text() == "在站 1 / 应到 1"
    day = demo_api.call("GET", f"/api/v1/stations/{sid}/daycare/days/{today}", "operator")
    assert [(a["elder_id"], a["status"]) for a in day["attendance"]] == [(first["id"], "present")]
    shot(page, "daycare.png")

    # Another tablet checks the elder out first: this page's button is stale, the refusal is
    # in Chinese, and the list is redrawn as it now is.
    aid = day["attendance"][0]["id"]
    demo_api.call("POST", f"/api/v1/daycare/attendance/{aid}/check-out", "operator")
    row.locator(".check-out").click()
    page.wait_for_selector(f"#attendance [data-elder='{first['id']}'][data-status=left]")
    assert page.locator("#msg.err").inner_text() == "状态已变，不能这样操作，请刷新"
    assert not errors, errors
    ctx.close()


def test_the_volunteer_list_shows_the_watch_agreement_and_the_time_bank(
    server: str, demo_api: Api, browser: Any
) -> None:
    sid = demo_api.call("GET", "/api/v1/auth/me", "operator")["station_id"]
    elder = demo_api.call("GET", "/api/v1/me/elders", "elder")[0]
    today = demo_api.call("GET", "/api/v1/console/today", "operator")["date"]  # 2026-11-23

    def register(name: str, phone: str, **kw: Any) -> Any:
        body = {"name": name, "phone": phone, "skills": ["聊天"], **kw}
        return demo_api.call("POST", f"/api/v1/stations/{sid}/volunteers", "operator", json=body)

    signed = register(
        "赵志愿", "13900000001", agreement_no="XY-001", agreement_expires="2027-06-30"
    )
    without = register("钱邻居", "13900000002")
    lapsed = register(
        "孙阿姨", "13900000003", agreement_no="XY-002", agreement_expires="2026-10-31"
    )
    # 赵志愿 chats with the elder for 90 minutes; the station confirms: 1 h 30 earned.
    task = demo_api.call(
        "POST",
        "/api/v1/volunteer-tasks",
        "operator",
        json={"volunteer_id": signed["id"], "elder_id": elder["id"], "kind": "chat", "day": today},
    )
    demo_api.call(
        "POST", f"/api/v1/volunteer-tasks/{task['id']}/done", "operator", json={"minutes": 90}
    )
    demo_api.call("POST", f"/api/v1/volunteer-tasks/{task['id']}/confirm", "operator", json={})

    ctx, page, errors = staff_page(browser, server, "/console/volunteers")
    row = {
        v["id"]: page.locator(f"#volunteers [data-volunteer='{v['id']}']")
        for v in (signed, without, lapsed)
    }
    assert row[signed["id"]].get_attribute("data-agreement") == "valid"
    assert "有效，至 2027-06-30" in row[signed["id"]].locator(".agreement").inner_text()
    assert row[without["id"]].get_attribute("data-agreement") == "none"
    assert row[without["id"]].locator(".agreement").inner_text() == "无看护协议"
    assert row[lapsed["id"]].get_attribute("data-agreement") == "expired"
    assert "已过期" in row[lapsed["id"]].locator(".agreement").inner_text()

    # The statement: 90 minutes earned, the balance, one entry.
    row[signed["id"]].locator(".show").click()
    page.wait_for_selector(f"#statement[data-volunteer='{signed['id']}'] #tb-balance")
    assert page.locator("#tb-earned").inner_text() == "1 小时 30 分"
    assert page.locator("#tb-balance").inner_text() == "1 小时 30 分"
    entries = page.locator("#entries tbody tr")
    assert entries.count() == 1 and entries.first.get_attribute("data-kind") == "earned"
    assert "服务获得" in entries.first.inner_text()
    shot(page, "volunteers.png")
    assert not errors, errors
    ctx.close()


def score_all(page: Any, items: list[dict[str, Any]], value: int) -> None:
    for it in items:
        page.click(f"[data-item={it['code']}] .opt[data-score='{min(value, it['max'])}']")


def test_the_suggested_plan_is_edited_and_accepted_and_a_refusal_is_in_chinese(
    server: str, demo_api: Api, browser: Any
) -> None:
    elder = demo_api.call("GET", "/api/v1/elders?page_size=5", "operator")["items"][4]
    items = scale(demo_api)["items"]
    before = demo_api.call("GET", f"/api/v1/elders/{elder['id']}/recurring-bookings", "operator")
    ctx, page, errors = staff_page(browser, server, "/console/assess")
    page.fill("#elder-q", elder["name"])
    page.click("form.row button[type=submit]")
    page.click(f"#elder-list [data-elder='{elder['id']}']")
    page.wait_for_selector("[data-item=eating] .opt")

    # 2 on every item: 50 points, moderately impaired (level 2, 半失能), and its plan.
    score_all(page, items, 2)
    page.click("#btn-submit")
    page.wait_for_selector("#plan [data-line]")
    assert page.locator("#level").inner_text().startswith("2 ")
    assert page.locator("#care-level").inner_text() == "半失能"
    lines = page.locator("#plan [data-line]")
    assert [lines.nth(i).locator("td").first.inner_text().split("\n")[0] for i in range(3)] == [
        "家庭保洁",
        "助浴",
        "爱心敲门",
    ]
    # The operator drops the door knocks and moves the cleaning from Monday to Thursday.
    lines.nth(2).locator("button").click()
    cleaning = page.locator("#plan [data-line='0'] input[type=checkbox]")
    cleaning.nth(0).uncheck()
    cleaning.nth(3).check()
    page.click("#btn-accept")
    page.wait_for_selector("#plan-done")
    assert page.locator("#plan-done").inner_text() == "计划已接受：生成了 2 条周期预约。"
    assert (
        page.locator("#current-level").inner_text()
        == "当前能力等级：2 能力中度受损（中度失能）（半失能）"
    )
    after = demo_api.call("GET", f"/api/v1/elders/{elder['id']}/recurring-bookings", "operator")
    made = sorted((r["item_code"], r["weekdays"]) for r in after[len(before) :])
    assert made == [("bath-help", [0]), ("cleaning", [3])], made
    shot(page, "assessment-plan.png")

    # Assessed again; another operator accepts that plan first: this page's accept is refused
    # with the reason in Chinese, and no second set of rules is written.
    page.click("text=重新评估")
    page.wait_for_selector("[data-item=eating] .opt")
    score_all(page, items, 2)
    page.click("#btn-submit")
    page.wait_for_selector("#btn-accept")
    second = int(page.locator("#scored").get_attribute("data-assessment"))
    rule = {"item_code": "bath-help", "weekdays": [1], "start": "09:00", "end": "10:30"}
    demo_api.call(
        "POST",
        f"/api/v1/assessments/{second}/plan/accept",
        "operator",
        json={"rules": [{**rule, "starts_on": "2026-11-24"}]},
    )
    page.click("#btn-accept")
    page.wait_for_selector("#plan-msg.err")
    assert page.locator("#plan-msg").inner_text() == "这份服务计划已经采纳过了"
    final = demo_api.call("GET", f"/api/v1/elders/{elder['id']}/recurring-bookings", "operator")
    assert len(final) == len(after) + 1
    assert not errors, errors
    ctx.close()
