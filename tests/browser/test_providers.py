"""The service organisations' page (issue 14) in headless Chromium, as the district officer
uses it: providers with their licences and caregivers' certificates, a street contracting
(red-listed first, a black-listed one and a fourth provider refused with the rule named), the
lists and their export, the fraud review of a 10-second bath, and the quarter's settlement."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest

from server.identity import make_credit_code
from tests.browser.conftest import Api, shot
from tests.providers.support import listing

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DISTRICT, STREET = "朝阳区", "六里屯街道"
QD = quote(DISTRICT)  # in a path
OFFICER, OFFICER_PASSWORD = "mz.chaoyang", "Chaoyang-civil-2026"


def provider(api: Api, n: int, expires: str = "2028-12-31") -> dict[str, Any]:
    body = {
        "name": f"安康养老服务中心{n}",
        "credit_code": make_credit_code(f"52110105MJ{n:07d}"),
        "district": DISTRICT,
        "licence": {"kind": "营业执照", "number": f"L{n}", "expires": expires},
        "documents": [{"kind": "养老服务资质", "number": f"Q{n}", "expires": "2027-06-30"}],
        "contacts": [{"name": "周经理", "phone": "13800138000", "role": "负责人"}],
    }
    got: dict[str, Any] = api.call("POST", "/api/v1/providers", "admin", json=body)
    return got


def officer_page(browser: Any, server: str, tab: str) -> tuple[Any, Any, list[str]]:
    ctx = browser.new_context(
        viewport={"width": 1366, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}/console/providers#{tab}")
    page.fill("input[name=login]", OFFICER)
    page.fill("input[name=password]", OFFICER_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("main[data-ready='1']")
    return ctx, page, errors


def open_tab(page: Any, tab: str) -> None:
    page.click(f"#tabs [data-tab='{tab}']")
    page.wait_for_selector(f"#tab[data-tab='{tab}']")
    page.wait_for_selector("main[data-ready='1']")


@pytest.fixture(scope="module")
def arranged(demo_api: Api) -> dict[str, Any]:
    """The district officer's account; five providers, two contracted, one red, one black."""
    demo_api.call(
        "POST",
        "/api/v1/welfare/officers",
        "admin",
        json={
            "username": OFFICER,
            "display_name": "朝阳区民政",
            "password": OFFICER_PASSWORD,
            "role": "district_officer",
            "district": DISTRICT,
        },
    )
    ps = [provider(demo_api, n) for n in range(1, 6)]
    for p in ps[:2]:
        body = {
            "provider_id": p["id"],
            "district": DISTRICT,
            "street": STREET,
            "starts_on": "2026-11-01",
            "ends_on": "2027-10-31",
            "items": [{"item_code": "bath-help", "price_fen": 6000}],
        }
        demo_api.call("POST", "/api/v1/provider-contracts", "admin", json=body)
    demo_api.call(
        "POST", "/api/v1/provider-listings", "admin", json=listing("provider", ps[2]["id"], "red")
    )
    demo_api.call(
        "POST", "/api/v1/provider-listings", "admin", json=listing("provider", ps[3]["id"], "black")
    )
    cg = demo_api.call("GET", "/api/v1/auth/me", "caregiver1")["caregiver_id"]
    demo_api.call(
        "PUT", f"/api/v1/caregivers/{cg}/provider", "admin", json={"provider_id": ps[0]["id"]}
    )
    return {"providers": ps, "caregiver": cg}


def test_providers_and_a_street_contracting(
    server: str, demo_api: Api, browser: Any, arranged: dict[str, Any]
) -> None:
    p1, p2, red, black, fifth = arranged["providers"]
    ctx, page, errors = officer_page(browser, server, "providers")
    # Chinese first; the red-listed provider heads the list, the black-listed one is marked
    assert page.locator("#tabs [data-tab='providers']").inner_text() == "服务组织"
    rows = page.locator("#provider-list tbody tr")
    assert rows.first.get_attribute("data-provider") == str(red["id"])
    assert "红名单" in rows.first.inner_text()
    assert "黑名单" in page.locator(f"#provider-list [data-provider='{black['id']}']").inner_text()
    # one provider's file: its code, licence and documents with expiry, contract, caregivers
    page.click(f"#provider-list [data-provider='{p1['id']}'] .show")
    page.wait_for_selector("#caregivers")
    assert page.locator("#detail-code").inner_text() == p1["credit_code"]
    assert "2028-12-31 · 有效" in page.locator("#documents").inner_text()
    contract = page.locator("#contracts tbody tr").first
    assert contract.inner_text().split("\t")[:2] == [STREET, "2026-11-01 – 2027-10-31"]
    assert "bath-help ¥60.00" in contract.inner_text()
    carer = page.locator(f"#caregivers [data-caregiver='{arranged['caregiver']}']")
    assert "养老护理员" in carer.inner_text() and "2028-12-31" in carer.inner_text()
    assert carer.locator(".cert[data-valid='0']").count() == 0
    shot(page, "providers.png")

    # the street's choice: red-listed first; the black-listed one refused with the rule named
    open_tab(page, "contract")
    page.wait_for_selector("#street-list")
    assert page.locator("#street-list tbody tr").first.get_attribute("data-provider") == str(
        red["id"]
    )

    def contract_with(pid: int) -> str:
        page.check(f"#street-list [data-provider='{pid}'] input[type=radio]")
        page.fill("#contract-form input[name=ends_on]", "2027-11-22")
        page.fill("#contract-form .item-code", "bath-help")
        page.fill("#contract-form .item-price", "58.5")
        page.click("#btn-contract")
        page.wait_for_selector("#msg:not([hidden])")
        text: str = page.locator("#msg").inner_text()
        page.evaluate("document.querySelector('#msg').hidden = true")
        return text

    assert contract_with(black["id"]) == "该服务组织已列入黑名单，不能签约、派单或结算新的服务"
    assert contract_with(red["id"]).startswith(f"已签约：{red['name']}")
    page.wait_for_selector(f"#street-list [data-provider='{fifth['id']}']")
    assert contract_with(fifth["id"]) == "一个街道同时签约的服务组织不超过三家"
    got = demo_api.call("GET", f"/api/v1/providers/{red['id']}/contracts", "admin")
    assert [(c["street"], c["items"]) for c in got] == [
        (STREET, [{"item_code": "bath-help", "price_fen": 5850}])
    ]
    assert demo_api.call("GET", f"/api/v1/providers/{fifth['id']}/contracts", "admin") == []

    # English is there too
    page.click("#btn-lang")
    page.wait_for_selector("main[data-ready='1']")
    assert page.locator("#tabs [data-tab='contract']").inner_text() == "Street contracts"
    page.click("#btn-lang")
    assert not errors, errors
    ctx.close()


def test_lists_fraud_review_and_the_settlement(
    server: str, demo_api: Api, browser: Any, arranged: dict[str, Any]
) -> None:
    # a 10-second record of a 90-minute bath, by the operator for an elder: held at once
    elder = demo_api.call("GET", "/api/v1/elders?page_size=3", "operator")["items"][2]
    now = demo_api.now()
    window = {
        "start": (now + timedelta(minutes=1)).isoformat(),
        "end": (now + timedelta(minutes=91)).isoformat(),
    }
    b = demo_api.call(
        "POST",
        f"/api/v1/elders/{elder['id']}/bookings",
        "operator",
        json={"item_code": "bath-help", **window},
    )
    start = demo_api.now() + timedelta(seconds=2)
    rec = demo_api.call(
        "POST",
        f"/api/v1/bookings/{b['id']}/complete",
        "operator",
        json={
            "started_at": start.isoformat(),
            "ended_at": (start + timedelta(seconds=10)).isoformat(),
        },
    )
    ctx, page, errors = officer_page(browser, server, "fraud")
    card = page.locator(".hold[data-status=held]").first
    assert "服务时长远低于项目时长" in card.locator(".signal").inner_text()
    assert "记录时长 10 秒" in card.locator(".evidence").inner_text()
    assert f"#{rec['id']}" in card.inner_text()
    assert "2026-11-23 10:" in card.locator(".visit").inner_text()  # Shanghai time, not UTC
    assert f"老人 {elder['name']}（#{elder['id']}）" in card.locator(".visit").inner_text()
    # a decision needs a note: refused in Chinese, nothing decided
    card.locator(".uphold").click()
    page.wait_for_selector("#msg.err")
    assert page.locator(".hold[data-status=held]").count() == 1
    # the elder's subsidy stopped on this case (then lifted: the demo's elder lives on)
    card = page.locator(".hold[data-status=held]").first
    card.locator(".note").fill("家属代签服务记录")
    card.locator(".stop-subsidy").click()
    page.wait_for_selector("#stops [data-status=active]")
    assert page.locator("#msg").inner_text().startswith(f"已停发老人 #{elder['id']} 的补贴")
    assert "家属代签服务记录" in page.locator("#stops [data-status=active]").inner_text()
    page.click("#stops .lift-stop")
    page.wait_for_selector("#stops [data-status=lifted]")
    card = page.locator(".hold[data-status=held]").first
    card.locator(".note").fill("电话回访老人，未洗澡")
    card.locator(".uphold").click()
    page.wait_for_selector(".hold[data-status=upheld]")
    assert page.locator("#msg").inner_text() == "已处理：已认定"
    # the signals that wait for the officer (no arrival proof, a door card used for many
    # visits) are listed under the holds: the held record is not among them
    assert page.locator("#tab h2").nth(1).inner_text() == "2026Q4 尚未复核的信号"
    assert page.locator(f"#signals [data-record='{rec['id']}']").count() == 0
    shot(page, "fraud-review.png")

    # the lists: published, with the export; a caregiver black-listed from the page
    open_tab(page, "lists")
    page.wait_for_selector("#listings")
    kinds = [
        page.locator("#listings tbody tr").nth(i).get_attribute("data-kind")
        for i in range(page.locator("#listings tbody tr").count())
    ]
    assert kinds == ["red", "black"]
    assert page.locator("#export-csv").get_attribute("href").endswith("/provider-lists.csv")
    page.select_option("#list-form select[name=subject]", "caregiver")
    page.fill("#list-form input[name=caregiver_id]", str(arranged["caregiver"]))
    page.fill("#list-form input[name=reason]", "虚假服务记录")
    page.fill("#list-form textarea[name=evidence]", f"服务记录 #{rec['id']}\n电话回访记录")
    page.click("#list-form button[type=submit]")
    page.wait_for_selector("#listings tbody tr:nth-child(3)")
    assert page.locator("#msg").inner_text().startswith("已列入黑名单：")
    published = demo_api.call("GET", f"/api/v1/districts/{QD}/provider-lists")
    listed = [x for x in published if x["subject"] == "caregiver"]
    assert [(x["subject_id"], x["evidence"]) for x in listed] == [
        (arranged["caregiver"], [f"服务记录 #{rec['id']}", "电话回访记录"])
    ]
    # lifted again (the other test's caregiver works on)
    page.locator(f"#listings [data-listing='{listed[0]['id']}'] .lift").click()
    page.wait_for_selector(f"#listings [data-listing='{listed[0]['id']}']", state="detached")
    assert page.locator("#msg").inner_text() == "已解除"

    # the quarter: every provider's figures and the district's totals
    open_tab(page, "settlements")
    page.wait_for_selector("#settlement h3")
    summary = demo_api.call("GET", f"/api/v1/districts/{QD}/provider-settlements/2026Q4", "admin")
    if summary["providers"]:
        assert page.locator("#totals").count() == 1
    else:
        assert page.locator("#settlement").inner_text().endswith("本季度没有服务记录。")
    assert not errors, errors
    ctx.close()


def test_an_operator_is_told_whose_page_it_is(
    server: str, demo_api: Api, browser: Any, arranged: dict[str, Any]
) -> None:
    ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    page = ctx.new_page()
    page.goto(f"{server}/console/assess")
    page.fill("input[name=login]", "operator")
    page.fill("input[name=password]", "anxin1234")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("main[data-ready='1']")
    # the station's pages do not link the officer's page for an operator
    assert page.locator("nav a[href^='/console/providers']").count() == 0
    page.goto(f"{server}/console/providers")
    page.wait_for_selector("#not-your-page")
    assert "区民政干部" in page.locator("#not-your-page").inner_text()
    # and the operator is still signed in on the station's pages
    page.goto(f"{server}/console/assess")
    page.wait_for_selector("main[data-ready='1']")
    ctx.close()


def test_the_rating_is_adjusted_only_with_a_reason_then_signed(
    server: str, demo_api: Api, browser: Any, arranged: dict[str, Any]
) -> None:
    p2 = arranged["providers"][1]
    ctx, page, errors = officer_page(browser, server, "ratings")
    page.select_option("#rating-form select[name=provider_id]", str(p2["id"]))
    assert page.locator("#rating-form input[name=year]").input_value() == "2025"
    page.click("#rating-form button[type=submit]")
    card = page.locator(".rating[data-status=draft]").first
    card.wait_for()
    rid = card.get_attribute("data-rating")
    computed = demo_api.call("GET", f"/api/v1/districts/{QD}/provider-ratings", "admin")
    draft = next(r for r in computed if str(r["id"]) == rid)
    # the evidence: six parts with their weights (a year with no visits: no satisfaction)
    parts = card.locator("table tbody tr")
    assert parts.count() == 6
    assert card.locator("[data-part=satisfaction]").inner_text().split("\t")[1:] == ["0.0%", "30"]
    assert f"得分 {draft['score']:g}" in card.locator(".score").inner_text()
    assert draft["computed_grade"] != "unqualified"
    other = "unqualified"  # the officer marks it down: its contract ends at the period's end
    # another grade without a reason: refused in Chinese, still a draft
    card.locator("select.grade").select_option(other)
    card.locator(".sign").click()
    page.wait_for_selector("#msg.err:not([hidden])")
    assert page.locator("#msg").inner_text() == "调整评定等级须写明理由"
    assert page.locator(f".rating[data-rating='{rid}']").get_attribute("data-status") == "draft"
    card = page.locator(f".rating[data-rating='{rid}']")
    card.locator("select.grade").select_option(other)
    card.locator(".reason").fill("全年未提供服务，满意率无从计算")
    card.locator(".sign").click()
    page.wait_for_selector(f".rating[data-rating='{rid}'][data-status=signed]")
    card = page.locator(f".rating[data-rating='{rid}']")
    assert card.get_attribute("data-grade") == other
    assert "全年未提供服务" in card.locator(".adjusted").inner_text()
    ending = demo_api.call("GET", f"/api/v1/providers/{p2['id']}/contracts", "admin")
    assert [c["status"] for c in ending] == ["ending"]
    assert page.locator("#msg").inner_text() == (
        f"已签署：不合格；以下合同将在期满时终止：{ending[0]['id']}"
    )
    shot(page, "provider-rating.png")
    assert not errors, errors
    ctx.close()
