"""The staff pages' forms of issue 15 in headless Chromium: day-care enrolment (a full day
puts the elder on the waiting list, and ending an enrolment lets the first waiting elder
in) and volunteer registration (a refusal names the field, in Chinese)."""

from __future__ import annotations

from typing import Any

import pytest

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
