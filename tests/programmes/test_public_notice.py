"""The public notice (公示) where the rule set asks for one: after the street passes an
application it is posted for the rule set's days, then goes on to the district by itself; an
objection holds it for the street officer, who refuses it with the reason or passes it on; the
公示 and the written decision (审批决定书) are printable Chinese HTML."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import BACKENDS
from tests.support.api import Api
from tests.welfare.support import long_tokens
from tests.welfare.test_api_welfare import RULESET
from tests.welfare.test_officers import officers

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

NOTICED = {**RULESET, "public_notice_days": 7}
DAY = 24 * 3600


async def apply(api: Api) -> dict[str, Any]:
    """The family applies for 低保 for 王秀英."""
    body = {"rule_id": "dibao"}
    url = f"/api/v1/elders/{api.ids['elder']}/applications"
    a: dict[str, Any] = await api.call("POST", url, "family", json=body, expect=201)
    return a


async def street_passed(api: Api) -> dict[str, Any]:
    a = await apply(api)
    url = f"/api/v1/applications/{a['id']}/decision"
    await api.call("POST", url, "operator", json={"decision": "pass"}, expect=200)
    passed: dict[str, Any] = await api.call(
        "POST", url, "street_hj", json={"decision": "pass"}, expect=200
    )
    return passed


async def notice(api: Api, app_id: int, who: str = "operator") -> tuple[int, str, Any]:
    r = await api.client.get(f"/api/v1/applications/{app_id}/notice", headers=api.h(who))
    return r.status, await r.text(), r.headers


async def test_the_notice_runs_its_days_then_the_district_decides(api: Api) -> None:
    long_tokens(api)
    status, problem = await api.call(
        "POST", "/api/v1/welfare/rulesets", "admin", json={**RULESET, "public_notice_days": 31}
    )
    assert (status, problem["code"]) == (422, "ruleset.invalid")
    assert "public_notice_days" in problem["title"]
    await api.call("POST", "/api/v1/welfare/rulesets", "admin", json=NOTICED, expect=201)
    await officers(api)
    # Monday 23 November: the street passes; posted from the 24th to the 30th (7 days).
    a = await street_passed(api)
    assert (a["status"], a["step_received_on"], a["step_due_on"]) == (
        "public_notice",
        "2026-11-24",
        "2026-11-30",
    )
    url = f"/api/v1/applications/{a['id']}/decision"
    status, problem = await api.call("POST", url, "district_cy", json={"decision": "pass"})
    assert (status, problem["code"]) == (403, "application.wrong_level")
    status, problem = await api.call("POST", url, "street_hj", json={"decision": "pass"})
    assert (status, problem["code"]) == (409, "application.in_public_notice")

    status, page, headers = await notice(api, a["id"])
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "script-src" not in headers["Content-Security-Policy"]
    assert "dibao申请公示" in page  # this rule set has no label: its id stands in
    assert "王*英" in page and "王秀英" not in page  # a posted notice masks the name
    assert "公示期自2026年11月24日至2026年11月30日，共7天" in page
    assert "呼家楼街道办事处" in page and "@media print" in page

    # The 30th passes without an objection: on to the district, 10 working days from 1 Dec.
    await api.advance(8 * DAY)
    a = await api.call("GET", f"/api/v1/applications/{a['id']}", "operator", expect=200)
    assert a["status"] == "district" and a["step_received_on"] == "2026-12-01"
    assert [e["action"] for e in a["events"]][-2:] == ["notice_ended", "received"]
    assert a["events"][-2]["note"] == "公示期满无异议 / public notice ended without objection"
    status, _, _ = await notice(api, a["id"])
    assert status == 409  # under review again: no notice to print
    a = await api.call("POST", url, "district_cy", json={"decision": "pass"}, expect=200)
    assert a["status"] == "approved"

    status, page, _ = await notice(api, a["id"], who="family")
    assert status == 200
    assert "dibao审批决定书" in page and "王秀英：" in page
    assert "编号：朝阳区民养〔2026〕" in page
    assert "经社区初审、街道复审、公示7天、区民政部门审核，现决定如下" in page
    assert "朝阳区民政局" in page
    assert "予以批准，自2026年12月1日起享受。" in page
    assert "六十日内依法申请行政复议" in page and "朝阳区民政局" in page


async def test_an_objection_holds_the_application_for_the_street(api: Api) -> None:
    long_tokens(api)
    await api.call("POST", "/api/v1/welfare/rulesets", "admin", json=NOTICED, expect=201)
    await officers(api)
    a = await apply(api)
    objections = f"/api/v1/applications/{a['id']}/objections"
    status, problem = await api.call("POST", objections, "operator", json={"note": "x"})
    assert (status, problem["code"]) == (409, "application.not_in_public_notice")
    status, problem = await api.call("GET", f"/api/v1/applications/{a['id']}/notice", "operator")
    assert (status, problem["code"]) == (409, "application.no_notice")
    url = f"/api/v1/applications/{a['id']}/decision"
    await api.call("POST", url, "operator", json={"decision": "pass"}, expect=200)
    await api.call("POST", url, "street_hj", json={"decision": "pass"}, expect=200)
    status, problem = await api.call("POST", objections, "operator", json={"note": ""})
    assert status == 422 and problem["errors"][0]["loc"][-1] == "note"
    status, _ = await api.call("POST", objections, "family", json={"note": "有意见"})
    assert status == 403
    said = "邻居反映申请人子女有固定收入"
    a = await api.call("POST", objections, "operator", json={"note": said}, expect=200)
    assert (a["events"][-1]["action"], a["events"][-1]["note"]) == ("objection", said)
    # The notice ends, but the objection holds it until the street officer hears it.
    await api.advance(8 * DAY)
    a = await api.call("GET", f"/api/v1/applications/{a['id']}", "operator", expect=200)
    assert a["status"] == "public_notice"
    queue = await api.call("GET", "/api/v1/welfare/review-queue", "street_hj", expect=200)
    assert [x["id"] for x in queue] == [a["id"]]  # the street hears the objection
    reason = "经入户核实，子女有赡养能力"
    a = await api.call(
        "POST", url, "street_hj", json={"decision": "refuse", "reason": reason}, expect=200
    )
    assert (a["status"], a["refusal_reason"]) == ("refused", reason)
    status, page, _ = await notice(api, a["id"], who="street_hj")
    assert status == 200 and f"不予批准。理由：{reason}" in page
    assert "经社区初审、街道复审、公示7天，现决定如下" in page  # no district step reached
    assert "呼家楼街道办事处" in page  # signed by the street, which refused it
    status, _, _ = await notice(api, a["id"], who="district_hd")
    assert status == 404  # another district's officer sees nothing


async def test_a_notice_after_the_community_step_as_the_seeds_word_it(api: Api) -> None:
    """社区…初审（含公示时间）: posted after the community's pass, heard by the station, then on
    to the street."""
    long_tokens(api)
    bad = {**NOTICED, "public_notice_after": "district"}
    status, problem = await api.call("POST", "/api/v1/welfare/rulesets", "admin", json=bad)
    assert (status, problem["code"]) == (422, "ruleset.invalid")
    seeds = {**NOTICED, "public_notice_after": "community"}
    await api.call("POST", "/api/v1/welfare/rulesets", "admin", json=seeds, expect=201)
    await officers(api)
    a = await apply(api)
    url = f"/api/v1/applications/{a['id']}/decision"
    a = await api.call("POST", url, "operator", json={"decision": "pass"}, expect=200)
    assert (a["status"], a["step_due_on"]) == ("public_notice", "2026-11-30")
    status, page, _ = await notice(api, a["id"])
    assert "经社区初审，下列申请人拟享受dibao，现予以公示" in page
    assert "仓红社区养老服务站</div>" in page  # signed by the station that posted it
    status, problem = await api.call("POST", url, "street_hj", json={"decision": "pass"})
    assert (status, problem["code"]) == (403, "application.wrong_level")
    await api.advance(8 * DAY)
    a = await api.call("GET", f"/api/v1/applications/{a['id']}", "operator", expect=200)
    assert (a["status"], a["step_received_on"]) == ("street", "2026-12-01")
