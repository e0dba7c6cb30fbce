"""The staff pages' forms of issue 15 in headless Chromium: day-care enrolment (a full day
puts the elder on the waiting list, and ending an enrolment lets the first waiting elder
in) and volunteer registration (a refusal names the field, in Chinese)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.browser.conftest import Api, shot
from tests.browser.test_programmes import staff_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def pick(page: Any, name: str, elder_id: int) -> None:
    page.fill("#enrol-q", name)
    page.click("#enrol-find button[type=submit]")
    page.click(f"#enrol-elders [data-elder='{elder_id}']")


def test_enrolment_on_the_day_care_page_with_the_waiting_list(
    server: str, demo_api: Api, browser: Any
) -> None:
    sid = demo_api.call("GET", "/api/v1/auth/me", "operator")["station_id"]
    demo_api.call(
        "PUT",
        f"/api/v1/stations/{sid}/daycare/programme",
        "operator",
        json={"capacity": 1, "roll_call_min": 180},
    )
    first, second = demo_api.call("GET", "/api/v1/elders?page_size=2", "operator")["items"]
    ctx, page, errors = staff_page(browser, server, "/console/daycare")
    pick(page, first["name"], first["id"])
    page.check("input[name=enrol-day][value='0']")
    page.check("input[name=enrol-day][value='2']")
    page.click("#btn-enrol")
    page.wait_for_selector(f"#enrolled [data-elder='{first['id']}']")
    assert page.locator("#msg").inner_text() == f"{first['name']} 已报名（一、三）"
    # The form keeps its days; the second elder finds Monday and Wednesday full.
    pick(page, second["name"], second["id"])
    page.click("#btn-enrol")
    page.wait_for_selector("#waiting-list tr")
    assert (
        page.locator("#msg").inner_text()
        == f"{second['name']} 所选日子已满（一、三），排在候补第 1 位"
    )
    shot(page, "daycare-enrol.png")
    # The first elder leaves: the second is let in from the waiting list.
    page.locator(f"#enrolled [data-elder='{first['id']}'] .end").click()
    page.wait_for_selector(f"#enrolled [data-elder='{second['id']}']")
    assert page.locator("#msg").inner_text() == f"{first['name']} 已退出日间托老"
    assert page.locator("#waiting-list").count() == 0
    mine = demo_api.call("GET", f"/api/v1/stations/{sid}/daycare/enrolments", "operator")
    assert {(e["elder_id"], e["status"]) for e in mine} == {
        (first["id"], "ended"),
        (second["id"], "enrolled"),
    }
    assert not errors, errors
    ctx.close()


def test_volunteer_registration_names_the_refused_field(
    server: str, demo_api: Api, browser: Any
) -> None:
    ctx, page, errors = staff_page(browser, server, "/console/volunteers")
    page.fill("#v-name", "周热心")
    page.fill("#v-phone", "12345")  # not a mobile number
    page.fill("#v-skills", "聊天、购物")
    page.click("#btn-register")
    page.wait_for_selector("#register-form .field.bad")
    assert page.locator("#register-form .field.bad").get_attribute("data-field") == "phone"
    assert "手机号" in page.locator("#msg").inner_text()
    page.fill("#v-phone", "13912345678")
    page.fill("#v-agreement_no", "XY-099")
    page.fill("#v-agreement_expires", "2027-12-31")
    page.select_option("#v-weekday", "2")
    page.click("#btn-register")
    page.wait_for_selector("#msg.ok")
    assert page.locator("#msg").inner_text() == "周热心 已登记"
    row = page.locator("#volunteers tr", has_text="周热心")
    assert row.get_attribute("data-agreement") == "valid"
    assert "聊天、购物" in row.inner_text() and "三 14:00–17:00" in row.inner_text()
    shot(page, "volunteer-register.png")
    assert not errors, errors
    ctx.close()


def test_the_review_chain_on_the_applications_page_and_the_printed_decision(
    server: str, demo_api: Api, browser: Any
) -> None:
    elder = demo_api.call("GET", "/api/v1/me/elders", "elder")[0]
    body = {"rule_id": "abc-a-sanwu"}
    a = demo_api.call("POST", f"/api/v1/elders/{elder['id']}/applications", "elder", json=body)
    b = demo_api.call("POST", f"/api/v1/elders/{elder['id']}/applications", "elder", json=body)
    ctx, page, errors = staff_page(browser, server, "/console/applications")
    row = page.locator(f"#app-list [data-app='{a['id']}']")
    assert "社区初审" in row.inner_text() and elder["name"] in row.inner_text()
    # The community step passes it: on to the street.
    row.locator(".open").click()
    page.click("#btn-pass")
    page.wait_for_selector(f"#app-list [data-app='{a['id']}'][data-status=street]")
    assert page.locator("#msg").inner_text() == f"#{a['id']} 已通过，现处于：街道复审"
    # A refusal needs its reason: refused without one, in Chinese; then with one.
    page.locator(f"#app-list [data-app='{b['id']}'] .open").click()
    page.click("#btn-refuse")
    page.wait_for_selector("#msg.err")
    assert page.locator("#msg").inner_text() == "填写的内容有误，请检查"
    page.fill("#reason", "不符合三无条件：有法定赡养人")
    page.click("#btn-refuse")
    page.wait_for_selector(f"#app-list [data-app='{b['id']}'][data-status=refused]")
    assert [page.locator("#events tr").nth(i).get_attribute("data-action") for i in range(2)] == [
        "received",
        "refused",
    ]
    # The refusal's written decision, opened for printing.
    with page.expect_popup() as popup:
        page.click("#btn-print")
    notice = popup.value
    notice.wait_for_load_state()
    assert notice.title() == "在册救济的三无孤老审批决定书"
    assert "不予批准。理由：不符合三无条件：有法定赡养人" in notice.inner_text("#outcome")
    assert "经社区初审，现决定如下" in notice.inner_text("body")  # refused at the first step
    shot(notice, "decision-notice.png")
    shot(page, "applications.png")
    assert not errors, errors
    ctx.close()


def test_the_meals_page_sets_tomorrows_menu_and_counts_the_orders(
    server: str, demo_api: Api, browser: Any
) -> None:
    sid = demo_api.call("GET", "/api/v1/auth/me", "operator")["station_id"]
    elder = demo_api.call("GET", "/api/v1/me/elders", "elder")[0]
    tomorrow = "2026-11-24"  # the suite's clock: Monday 23 November
    ctx, page, errors = staff_page(browser, server, "/console/meals")
    page.fill("#meal-day", tomorrow)
    page.click("#btn-day")
    page.wait_for_selector(f"#page[data-day='{tomorrow}']")
    page.click("#btn-add-dish")
    row = page.locator("#dishes tr.dish").last
    row.locator("[name=code]").fill("tomato-noodle")
    row.locator("[name=name_zh]").fill("番茄鸡蛋面")
    row.locator("[name=price]").fill("12")
    page.click("#btn-save-menu")
    page.wait_for_selector("#msg.ok")
    assert page.locator("#msg").inner_text() == "菜单已保存"
    assert page.locator("#menu-state").inner_text() == "09:30 前可订可退"
    menu = demo_api.call("GET", f"/api/v1/stations/{sid}/meal-menus/{tomorrow}", "operator")
    noodle = next(d for d in menu["dishes"] if d["code"] == "tomato-noodle")
    assert (noodle["name_zh"], noodle["price_fen"]) == ("番茄鸡蛋面", 1200)
    # The elder orders the noodles for delivery: the kitchen's count and the list show it.
    demo_api.call(
        "POST",
        f"/api/v1/elders/{elder['id']}/meal-orders",
        "elder",
        json={"day": tomorrow, "mode": "delivery", "dishes": ["tomato-noodle"]},
    )
    page.click("#btn-day")
    page.wait_for_selector("#kitchen [data-dish='tomato-noodle']")
    assert page.locator("#kitchen [data-dish='tomato-noodle']").inner_text() == "番茄鸡蛋面 × 1"
    orders = demo_api.call("GET", f"/api/v1/stations/{sid}/meal-orders?day={tomorrow}", "operator")
    assert page.locator("#order-list tbody tr").count() == len(orders)
    mine = page.locator("#order-list tr", has_text=elder["name"])
    assert "送餐" in mine.inner_text() and "已订" in mine.inner_text()
    shot(page, "meals.png")
    assert not errors, errors
    ctx.close()


def test_the_subsidy_page_shows_eligibility_records_ledger_and_the_statement(
    server: str, demo_api: Api, browser: Any
) -> None:
    elder = demo_api.call("GET", "/api/v1/me/elders", "elder")[0]
    ctx, page, errors = staff_page(browser, server, "/console/welfare")
    page.fill("#w-q", elder["name"])
    page.click("#w-find button[type=submit]")
    page.click(f"#w-elders [data-elder='{elder['id']}']")
    page.wait_for_selector("#w-class")
    el = demo_api.call("GET", f"/api/v1/elders/{elder['id']}/eligibility", "operator")
    assert page.locator("#w-class").inner_text() == f"类别 {el['funding_class']}（{el['funding']}）"
    assert page.locator("#w-left").inner_text() == f"本期剩余 {el['quota_left_fen'] / 100:.2f} 元"
    assert page.locator("#w-reasons li").count() == len(el["reasons"])
    recs = demo_api.call("GET", f"/api/v1/elders/{elder['id']}/service-records", "operator")
    assert page.locator("#w-record-list tbody tr").count() == len(recs)
    ledger = demo_api.call("GET", f"/api/v1/elders/{elder['id']}/ledger", "operator")
    assert page.locator("#w-entries tbody tr").count() == len(ledger["entries"])
    with page.expect_download() as got:
        page.click("[data-book=xlsx]")
    assert got.value.suggested_filename == f"service-record-book-{elder['id']}-2026-11.xlsx"
    with open(got.value.path(), "rb") as f:
        ws = load_workbook(io.BytesIO(f.read())).worksheets[0]
    assert "2026-11" in str(ws.cell(row=1, column=1).value)
    with page.expect_download() as got:
        page.click("#w-statements [data-fmt=xlsx]")
    assert got.value.suggested_filename == "settlement-2026Q4.xlsx"
    shot(page, "welfare.png")
    assert not errors, errors
    ctx.close()
