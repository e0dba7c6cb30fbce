"""The report and audit pages of issue 15 in headless Chromium: the month's figures as the API
gives them, the charts drawn by hand (SVG), the XLSX download, and the audit log's rows."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.browser.conftest import Api, shot
from tests.browser.test_programmes import staff_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_report_page_shows_the_months_figures_charts_and_the_xlsx(
    server: str, demo_api: Api, browser: Any
) -> None:
    demo_api.help_call("elder")  # at least one call this month
    ctx, page, errors = staff_page(browser, server, "/console/reports")
    page.select_option("#period", "2026-11")
    page.click("#btn-show")
    page.wait_for_selector("#page[data-period='2026-11']")
    report = demo_api.call("GET", "/api/v1/reports?period=2026-11", "operator")
    total = report["total"]
    assert total["calls"] >= 1
    assert page.locator("[data-kpi=calls] .kv").inner_text() == str(total["calls"])
    assert page.locator("#range").inner_text() == "2026-11-01 至 2026-11-30"
    row = page.locator("#report tr[data-level=station]")
    assert row.count() == 1  # the operator's own station
    assert row.locator("[data-col=calls]").inner_text() == str(total["calls"])
    assert row.locator("[data-col=visits]").inner_text() == str(total["visits"])
    assert page.locator("#report th").nth(2).inner_text() == "呼叫"
    # The chart: one bar per station, its label the calls and the median arrival.
    bars = page.locator("#chart-calls g[data-station]")
    assert bars.count() == 1
    assert bars.first.locator(".bar-label").text_content().startswith(f"{total['calls']} 次")
    shot(page, "reports.png")

    # A quarter: three months side by side.
    page.select_option("#period", "2026Q4")
    page.click("#btn-show")
    page.wait_for_selector("#page[data-period='2026Q4']")
    months = page.locator("#chart-months g[data-month]")
    assert [months.nth(i).get_attribute("data-month") for i in range(3)] == [
        "2026-10",
        "2026-11",
        "2026-12",
    ]
    with page.expect_download() as got:
        page.click("#btn-xlsx")
    path = got.value.path()
    assert got.value.suggested_filename == "report-2026Q4.xlsx"
    with open(path, "rb") as f:
        ws = load_workbook(io.BytesIO(f.read())).worksheets[0]
    table = [list(r) for r in ws.iter_rows(values_only=True)]
    assert table[1][3] == "呼叫数" and table[-1][0] == "合计"
    quarter = demo_api.call("GET", "/api/v1/reports?period=2026Q4", "operator")
    assert table[-1][3] == quarter["total"]["calls"]
    assert not errors, errors
    ctx.close()


def test_the_audit_page_lists_the_stations_actions_newest_first(
    server: str, demo_api: Api, browser: Any
) -> None:
    # Another session of the operator's signs out: an audited action of the station's staff.
    other = Api(server, demo_api.started)
    other.call("POST", "/api/v1/auth/logout", "operator", json={})
    ctx, page, errors = staff_page(browser, server, "/console/audit")
    page.wait_for_selector("#audit tbody tr")
    rows = demo_api.call("GET", "/api/v1/audit-log?limit=50", "operator")
    shown = page.locator("#audit tbody tr")
    assert shown.count() == len(rows) and len(rows) >= 1
    assert [int(shown.nth(i).get_attribute("data-id")) for i in range(shown.count())] == [
        r["id"] for r in rows
    ]
    # A filter by action: only those rows, with the action in Chinese.
    page.select_option("#action", "sign_out")
    page.click("#filters button[type=submit]")
    page.wait_for_function(
        "() => !document.querySelector('#audit tbody tr:not([data-action=sign_out])')"
    )
    signed_out = demo_api.call("GET", "/api/v1/audit-log?action=sign_out", "operator")
    assert page.locator("#audit tbody tr").count() == len(signed_out) >= 1
    assert page.locator("#audit tbody tr .action").first.inner_text() == "退出登录"
    assert page.locator("#audit tbody tr td").nth(1).inner_text() != "系统/命令行"
    shot(page, "audit.png")
    assert not errors, errors
    ctx.close()
