"""The welfare API through the real app: eligibility, the ledger on completion, concurrent
completions that must not overdraw a quota, applications with working-day deadlines,
reversals, period close and statements."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from server.tasks.tables import tasks
from tests.conftest import BACKENDS
from tests.support.api import Api, near
from tests.welfare.support import long_tokens

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

DISTRICT = "朝阳区"  # the seeded stations' district

# A small district rule set: 80+ automatically 200 yuan a month; 低保 300 yuan on application.
RULESET: dict[str, Any] = {
    "district": DISTRICT,
    "version": 1,
    "effective_from": "2026-01-01",
    "classes": {"A": "subsidised", "B": "subsidised", "P": "paid"},
    "default_class": "P",
    "settlement": "monthly",
    "quarter_close": "clear",
    "rules": [
        {
            "id": "age-80",
            "class": "B",
            "monthly_quota_fen": 20000,
            "automatic": True,
            "when": {"min_age": 80},
        },
        {
            "id": "dibao",
            "class": "A",
            "monthly_quota_fen": 30000,
            "when": {"any_category": ["低保"]},
        },
    ],
}
HOME = near(100, 100)  # the seeded elder's home


async def setup(api: Api) -> None:
    long_tokens(api)
    await api.call("POST", "/api/v1/welfare/rulesets", "admin", json=RULESET, expect=201)
    await api.call(
        "POST", f"/api/v1/stations/{api.ids['station']}/service-items/seed", "operator", expect=200
    )


async def book(api: Api, start: str, end: str, item: str = "bath-help") -> dict[str, Any]:
    b: dict[str, Any] = await api.call(
        "POST",
        f"/api/v1/elders/{api.ids['elder']}/bookings",
        "family",
        json={"item_code": item, "start": start, "end": end},
        expect=201,
    )
    return b


async def assign(api: Api, booking: dict[str, Any], caregiver: str = "cg_b") -> None:
    """What the dispatcher's day plan does: the task goes to a caregiver."""
    async with api.platform.store.begin() as conn:
        await conn.execute(
            update(tasks)
            .where(tasks.c.id == booking["task_id"])
            .values(caregiver_id=api.ids[caregiver], status="planned")
        )


def done(start: str, end: str, at_home: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"started_at": start, "ended_at": end}
    if at_home:
        body["arrival"] = {
            "lat": HOME[0],
            "lng": HOME[1],
            "coord_system": "gcj02",
            "accuracy_m": 15,
        }
    return body


async def eligibility(api: Api, who: str = "elder") -> dict[str, Any]:
    e: dict[str, Any] = await api.call(
        "GET", f"/api/v1/elders/{api.ids['elder']}/eligibility", who, expect=200
    )
    return e


async def test_eligibility_by_age_without_application(api: Api) -> None:
    await setup(api)
    e = await eligibility(api, "family")
    assert (e["funding_class"], e["monthly_quota_fen"], e["quota_left_fen"]) == ("B", 20000, 20000)
    assert e["period"] == "2026-11"
    status, _ = await api.call("GET", f"/api/v1/elders/{api.ids['elder']}/eligibility", "family2")
    assert status == 404


async def test_menu_shows_subsidy_cover(api: Api) -> None:
    await setup(api)
    menu = await api.call("GET", f"/api/v1/elders/{api.ids['elder']}/menu", "elder", expect=200)
    lines = {m["code"]: m for m in menu}
    assert (lines["bath-help"]["subsidy_fen"], lines["bath-help"]["self_pay_fen"]) == (6000, 0)
    assert (lines["medicine"]["subsidy_fen"], lines["medicine"]["price_fen"]) == (0, 0)
    assert lines["meal-dine-in"]["self_pay_fen"] == 500  # goods: never the subsidy


async def test_completion_writes_record_and_ledger(api: Api) -> None:
    await setup(api)
    b1 = await book(api, "2026-11-24T09:00:00+08:00", "2026-11-24T11:00:00+08:00", "hospice")
    b2 = await book(api, "2026-11-24T13:00:00+08:00", "2026-11-24T15:00:00+08:00", "hospice")
    assert (b1["subsidy_fen"], b1["self_pay_fen"]) == (12000, 0)
    for b in (b1, b2):
        await assign(api, b)
    api.clock.advance(hours=30)
    r1 = await api.call(
        "POST",
        f"/api/v1/bookings/{b1['id']}/complete",
        "cg_b",
        json=done("2026-11-24T09:00:00+08:00", "2026-11-24T11:00:00+08:00"),
        expect=201,
    )
    r2 = await api.call(
        "POST",
        f"/api/v1/bookings/{b2['id']}/complete",
        "cg_b",
        json=done("2026-11-24T13:00:00+08:00", "2026-11-24T15:00:00+08:00"),
        expect=201,
    )
    assert (r1["subsidy_fen"], r1["self_pay_fen"]) == (12000, 0)
    assert (r2["subsidy_fen"], r2["self_pay_fen"]) == (8000, 4000)  # overflow is self-paid
    assert r1["proofs"] == ["geofence"] and r1["reason"] == "proof.review_pending"
    led = await api.call("GET", f"/api/v1/elders/{api.ids['elder']}/ledger", "family", expect=200)
    assert led["quota_left_fen"] == 0
    assert sum(e["amount_fen"] for e in led["entries"] if e["account"].startswith("quota:")) == 0
    assert led["balances"][f"selfpay:elder:{api.ids['elder']}"] == 4000
    reviewed = await api.call(
        "POST",
        f"/api/v1/service-records/{r1['id']}/review",
        "operator",
        json={"decision": "passed"},
        expect=200,
    )
    assert reviewed["payable"] is True
    # a correction: reversing entries restore the quota, the record stays and is marked
    rev = await api.call(
        "POST",
        f"/api/v1/service-records/{r2['id']}/reverse",
        "operator",
        json={"reason": "录错项目 / wrong item"},
        expect=200,
    )
    assert rev["reversed"] is True and rev["payable"] is False
    assert (await eligibility(api))["quota_left_fen"] == 8000
    led = await api.call("GET", f"/api/v1/elders/{api.ids['elder']}/ledger", "elder", expect=200)
    kinds = [e["kind"] for e in led["entries"]]
    assert kinds.count("reversal") == 2
    assert led["balances"][f"selfpay:elder:{api.ids['elder']}"] == 0
    status, problem = await api.call(
        "POST", f"/api/v1/service-records/{r2['id']}/reverse", "operator", json={"reason": "again"}
    )
    assert (status, problem["code"]) == (409, "record_reversed")


async def test_door_code_and_elder_confirmation_prove_a_visit(api: Api) -> None:
    await setup(api)
    b1 = await book(api, "2026-11-24T09:00:00+08:00", "2026-11-24T10:00:00+08:00", "chat")
    b2 = await book(api, "2026-11-24T13:00:00+08:00", "2026-11-24T14:00:00+08:00", "chat")
    for b in (b1, b2):
        await assign(api, b)
    api.clock.advance(hours=24)  # Tuesday 10:00, the visit just ended
    code = (
        await api.call("GET", f"/api/v1/elders/{api.ids['elder']}/visit-code", "elder", expect=200)
    )["code"]
    body = done("2026-11-24T09:00:00+08:00", "2026-11-24T10:00:00+08:00", at_home=False)
    r1 = await api.call(
        "POST",
        f"/api/v1/bookings/{b1['id']}/complete",
        "cg_b",
        json={**body, "door_code": code},
        expect=201,
    )
    assert r1["proofs"] == ["door_code"]
    api.clock.advance(hours=5)
    body = done("2026-11-24T13:00:00+08:00", "2026-11-24T14:00:00+08:00", at_home=False)
    r2 = await api.call(
        "POST",
        f"/api/v1/bookings/{b2['id']}/complete",
        "cg_b",
        json={**body, "door_code": "000000" if code != "000000" else "111111"},
        expect=201,
    )
    assert (r2["proofs"], r2["reason"]) == ([], "proof.unproven")
    status, problem = await api.call(
        "POST",
        f"/api/v1/service-records/{r2['id']}/review",
        "operator",
        json={"decision": "passed"},
    )
    assert (status, problem["code"]) == (409, "record.unproven")  # no proof, no pass
    r2 = await api.call("POST", f"/api/v1/service-records/{r2['id']}/confirm", "elder", expect=200)
    r2 = await api.call(
        "POST",
        f"/api/v1/service-records/{r2['id']}/review",
        "operator",
        json={"decision": "passed"},
        expect=200,
    )
    assert (r2["proofs"], r2["payable"]) == (["elder_confirmed"], True)
    signals = await api.call(
        "GET", f"/api/v1/stations/{api.ids['station']}/fraud-signals", "operator", expect=200
    )
    assert {s["signal"] for s in signals["signals"]} == {"fraud.no_arrival_check"}


async def test_concurrent_completions_never_overdraw(api: Api) -> None:
    """Six bath visits of 60 yuan against a 200 yuan quota, completed all at once."""
    await setup(api)
    slots = [("2026-11-24", h) for h in (8, 10, 12, 14)] + [("2026-11-25", h) for h in (8, 10)]
    bookings = [
        await book(api, f"{d}T{h:02d}:00:00+08:00", f"{d}T{h + 1:02d}:30:00+08:00")
        for d, h in slots
    ]
    for b in bookings:
        await assign(api, b)
    api.clock.advance(hours=72)
    results = await asyncio.gather(
        *[
            api.call(
                "POST",
                f"/api/v1/bookings/{b['id']}/complete",
                "cg_b",
                json=done(f"{d}T{h:02d}:00:00+08:00", f"{d}T{h + 1:02d}:30:00+08:00"),
            )
            for b, (d, h) in zip(bookings, slots, strict=True)
        ]
    )
    assert [s for s, _ in results] == [201] * 6, results
    subsidies = sorted(r["subsidy_fen"] for _, r in results)
    assert sum(subsidies) == 20000  # exactly the quota, never more
    assert subsidies == [0, 0, 2000, 6000, 6000, 6000]
    assert sum(r["subsidy_fen"] + r["self_pay_fen"] for _, r in results) == 6 * 6000
    led = await api.call("GET", f"/api/v1/elders/{api.ids['elder']}/ledger", "elder", expect=200)
    assert led["quota_left_fen"] == 0
    quota = [e for e in led["entries"] if e["account"].startswith("quota:")]
    assert sum(e["amount_fen"] for e in quota) == 0


async def test_application_steps_with_working_day_deadlines(api: Api) -> None:
    await setup(api)
    eid = api.ids["elder"]
    status, problem = await api.call(
        "POST", f"/api/v1/elders/{eid}/applications", "family", json={"rule_id": "age-80"}
    )
    assert (status, problem["code"]) == (409, "application.not_needed")
    a = await api.call(
        "POST",
        f"/api/v1/elders/{eid}/applications",
        "family",
        json={"rule_id": "dibao", "note": "低保证明已复印"},
        expect=201,
    )
    # Monday 23 Nov: 10 working days → Monday 7 Dec
    assert (a["status"], a["step_received_on"], a["step_due_on"]) == (
        "community",
        "2026-11-23",
        "2026-12-07",
    )
    pdf = b"%PDF-1.4\n% test document\n"
    r = await api.client.post(
        f"/api/v1/applications/{a['id']}/documents?kind=dibao_cert&filename=../../低保证.pdf",
        data=pdf,
        headers={**api.h("family"), "Content-Type": "application/pdf"},
    )
    assert r.status == 201, await r.text()
    doc = await r.json()
    assert doc["filename"] == ".._.._低保证.pdf" and doc["size"] == len(pdf)
    r = await api.client.get(
        f"/api/v1/applications/{a['id']}/documents/{doc['id']}", headers=api.h("operator")
    )
    assert r.status == 200 and await r.read() == pdf
    r = await api.client.get(
        f"/api/v1/applications/{a['id']}/documents/{doc['id']}", headers=api.h("family")
    )
    assert r.status == 403
    r = await api.client.post(
        f"/api/v1/applications/{a['id']}/documents?kind=id_card",
        data=b"MZ\x90\x00",
        headers={**api.h("family"), "Content-Type": "image/png"},
    )
    assert r.status == 415
    status, problem = await api.call(
        "POST", f"/api/v1/applications/{a['id']}/decision", "operator", json={"decision": "refuse"}
    )
    assert status == 422  # a refusal needs a written reason
    a = await api.call(
        "POST",
        f"/api/v1/applications/{a['id']}/decision",
        "operator",
        json={"decision": "pass"},
        expect=200,
    )
    assert (a["status"], a["step_due_on"]) == ("street", "2026-11-30")
    status, problem = await api.call(
        "POST", f"/api/v1/applications/{a['id']}/decision", "operator", json={"decision": "pass"}
    )
    assert (status, problem["code"]) == (403, "application.wrong_level")
    # nobody at the street office acts: the step goes overdue on 1 December
    await api.advance(8 * 24 * 3600)
    overdue = await api.call(
        "GET",
        f"/api/v1/stations/{api.ids['station']}/applications?overdue=1",
        "operator",
        expect=200,
    )
    assert [x["id"] for x in overdue] == [a["id"]]
    assert "overdue" in [e["action"] for e in overdue[0]["events"]]
    a = await api.call(
        "POST",
        f"/api/v1/applications/{a['id']}/decision",
        "admin",
        json={"decision": "pass"},
        expect=200,
    )
    assert a["status"] == "district"
    a = await api.call(
        "POST",
        f"/api/v1/applications/{a['id']}/decision",
        "admin",
        json={"decision": "pass"},
        expect=200,
    )
    assert a["status"] == "approved"
    assert [e["action"] for e in a["events"]] == [
        "received",
        "document",
        "passed",
        "received",
        "overdue",
        "passed",
        "received",
        "passed",
    ]
    # 就高不就低: the approved 300 yuan rule now wins over the automatic 200, never the sum
    await api.call(
        "PUT",
        f"/api/v1/elders/{eid}/welfare-profile",
        "operator",
        json={"extra_categories": ["低保"]},
        expect=200,
    )
    e = await eligibility(api, "family")
    assert (e["funding_class"], e["monthly_quota_fen"]) == ("A", 30000)
    assert set(e["matched_rules"]) == {"age-80", "dibao"}


async def test_refusal_is_final_and_reasoned(api: Api) -> None:
    await setup(api)
    a = await api.call(
        "POST",
        f"/api/v1/elders/{api.ids['elder']}/applications",
        "elder",
        json={"rule_id": "dibao"},
        expect=201,
    )
    a = await api.call(
        "POST",
        f"/api/v1/applications/{a['id']}/decision",
        "operator",
        json={"decision": "refuse", "reason": "未提供低保证明"},
        expect=200,
    )
    assert (a["status"], a["refusal_reason"]) == ("refused", "未提供低保证明")
    status, _ = await api.call("GET", f"/api/v1/applications/{a['id']}", "operator2")
    assert status == 404


async def test_statements_and_close(api: Api) -> None:
    await setup(api)
    b1 = await book(api, "2026-11-24T09:00:00+08:00", "2026-11-24T11:00:00+08:00")
    b2 = await book(api, "2026-11-24T13:00:00+08:00", "2026-11-24T14:00:00+08:00", "chat")
    for b in (b1, b2):
        await assign(api, b)
    api.clock.advance(hours=30)
    r1 = await api.call(
        "POST",
        f"/api/v1/bookings/{b1['id']}/complete",
        "cg_b",
        json=done("2026-11-24T09:00:00+08:00", "2026-11-24T10:30:00+08:00"),
        expect=201,
    )
    await api.call(
        "POST",
        f"/api/v1/bookings/{b2['id']}/complete",
        "cg_b",
        json=done("2026-11-24T13:00:00+08:00", "2026-11-24T14:00:00+08:00", False),
        expect=201,
    )
    await api.call(
        "POST",
        f"/api/v1/service-records/{r1['id']}/review",
        "operator",
        json={"decision": "passed"},
        expect=200,
    )
    eid = api.ids["elder"]
    r = await api.client.get(
        f"/api/v1/elders/{eid}/statements/2026-11.csv", headers=api.h("family")
    )
    assert r.status == 200 and r.content_type == "text/csv"
    lines = (await r.read()).decode("utf-8-sig").splitlines()
    assert lines[-2].split(",")[5:9] == ["150", "8000", "8000", "0"]
    assert lines[-1].split(",")[6:9] == ["80.00", "80.00", "0.00"]
    s = api.ids["station"]
    r = await api.client.get(
        f"/api/v1/stations/{s}/settlements/2026Q4.xlsx", headers=api.h("operator")
    )
    assert r.status == 200
    wb = load_workbook(io.BytesIO(await r.read()))
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    assert rows[-2][2:5] == (1, 90, 6000)  # only the proven, reviewed visit is paid
    unproven = list(wb.worksheets[1].iter_rows(values_only=True))
    assert unproven[-2][6] == 2000
    r = await api.client.get(
        f"/api/v1/stations/{s}/settlements/2026Q4.xlsx", headers=api.h("operator2")
    )
    assert r.status == 404
    # month end: November closes, unused 120 yuan expires (monthly settlement, no carry-over);
    # every eligible elder of the district is closed, served or not
    status, problem = await api.call(
        "POST", f"/api/v1/districts/{DISTRICT}/close", "admin", json={"period": "2026-11"}
    )
    assert (status, problem["code"]) == (422, "close.period_not_over")
    api.clock.set(api.clock.now().replace(month=12, day=1, hour=1))  # 1 Dec 09:00 Shanghai
    closes = await api.call(
        "POST",
        f"/api/v1/districts/{DISTRICT}/close",
        "admin",
        json={"period": "2026-11"},
        expect=200,
    )
    by_account = {c["account"]: (c["granted_fen"], c["used_fen"], c["expired_fen"]) for c in closes}
    assert by_account == {
        f"quota:elder:{eid}": (20000, 8000, 12000),
        f"quota:elder:{api.ids['elder_other']}": (20000, 0, 20000),
        f"quota:elder:{api.ids['elder_s2']}": (20000, 0, 20000),  # another station, same district
    }
    again = await api.call(
        "POST",
        f"/api/v1/districts/{DISTRICT}/close",
        "admin",
        json={"period": "2026-11"},
        expect=200,
    )
    assert [c["expired_fen"] for c in again] == [0, 0, 0]  # idempotent
    r = await api.client.get(
        f"/api/v1/districts/{DISTRICT}/summaries/2026Q4.csv", headers=api.h("admin")
    )
    assert r.status == 200
    text = (await r.read()).decode("utf-8-sig")
    assert "额度结算" in text and "20000,8000,12000" in text
    r = await api.client.get(
        f"/api/v1/districts/{DISTRICT}/summaries/2026Q4.csv", headers=api.h("operator")
    )
    assert r.status == 403


async def test_period_closes_by_itself_after_month_end(api: Api) -> None:
    await setup(api)
    b = await book(api, "2026-11-24T09:00:00+08:00", "2026-11-24T11:00:00+08:00")
    await assign(api, b)
    api.clock.advance(hours=30)
    await api.call(
        "POST",
        f"/api/v1/bookings/{b['id']}/complete",
        "cg_b",
        json=done("2026-11-24T09:00:00+08:00", "2026-11-24T10:30:00+08:00"),
        expect=201,
    )
    # 1 December 00:30 in Shanghai is 30 Nov 16:30 UTC: the close timer fires
    await api.advance(
        (api.clock.now().replace(day=30, hour=16, minute=31) - api.clock.now()).total_seconds()
    )
    led = await api.call("GET", f"/api/v1/elders/{api.ids['elder']}/ledger", "elder", expect=200)
    nov = [
        e for e in led["entries"] if e["period"] == "2026-11" and e["account"].startswith("quota:")
    ]
    assert [e["kind"] for e in nov] == ["grant", "spend", "expiry"]
    assert sum(e["amount_fen"] for e in nov) == 0
    assert led["quota_left_fen"] == 20000  # December's own grant, nothing carried over


async def test_item_the_class_cannot_use(api: Api) -> None:
    await setup(api)
    await api.call(
        "PATCH",
        f"/api/v1/stations/{api.ids['station']}/service-items/family-bed",
        "operator",
        json={"allowed_classes": ["A"]},
        expect=200,
    )
    status, problem = await api.call(
        "POST",
        f"/api/v1/elders/{api.ids['elder']}/bookings",
        "family",
        json={
            "item_code": "family-bed",
            "start": "2026-11-24T09:00:00+08:00",
            "end": "2026-11-24T10:00:00+08:00",
        },
    )
    assert (status, problem["code"]) == (403, "booking.class_not_allowed")


async def test_rural_household_shares_one_quarterly_quota(api: Api) -> None:
    """Two rural elders of 76 in one household: 100 yuan a month for both, by quarter."""
    long_tokens(api)
    rural = {
        **RULESET,
        "settlement": "quarterly",
        "classes": {"R": "subsidised", "P": "paid"},
        "requires_residence": False,
        "rules": [
            {
                "id": "rural-75-79",
                "class": "R",
                "monthly_quota_fen": 10000,
                "basis": "household",
                "automatic": True,
                "when": {"min_age": 75, "max_age": 79, "hukou": "rural"},
            }
        ],
    }
    await api.call("POST", "/api/v1/welfare/rulesets", "admin", json=rural, expect=201)
    await api.call(
        "POST", f"/api/v1/stations/{api.ids['station']}/service-items/seed", "operator", expect=200
    )
    from server.registry.tables import elders

    async with api.platform.store.begin() as conn:
        await conn.execute(
            update(elders)
            .where(elders.c.id.in_([api.ids["elder"], api.ids["elder_other"]]))
            .values(birth_date="1950-05-01", household_id="h-7")
        )
    for key in ("elder", "elder_other"):
        await api.call(
            "PUT",
            f"/api/v1/elders/{api.ids[key]}/welfare-profile",
            "operator",
            json={"hukou": "rural"},
            expect=200,
        )
    e = await eligibility(api)
    assert (e["quota_account"], e["period"], e["quota_left_fen"]) == (
        "quota:household:h-7",
        "2026Q4",
        20000,
    )
    b = await book(api, "2026-11-24T09:00:00+08:00", "2026-11-24T11:00:00+08:00")
    await assign(api, b)
    api.clock.advance(hours=30)
    await api.call(
        "POST",
        f"/api/v1/bookings/{b['id']}/complete",
        "cg_b",
        json=done("2026-11-24T09:00:00+08:00", "2026-11-24T10:30:00+08:00"),
        expect=201,
    )
    other = await api.call(
        "GET", f"/api/v1/elders/{api.ids['elder_other']}/eligibility", "operator", expect=200
    )
    assert (other["quota_account"], other["quota_left_fen"]) == ("quota:household:h-7", 14000)


async def test_openapi_lists_the_welfare_routes(api: Api) -> None:
    spec = await api.call("GET", "/api/openapi.json", None, expect=200)
    assert "/api/v1/elders/{elder_id}/bookings" in spec["paths"]
    assert "EligibilityOut" in spec["components"]["schemas"]
    assert "BookingIn" in spec["components"]["schemas"]


async def test_demo_seed_gives_a_menu_and_rules(api: Api) -> None:
    from server.welfare.demo import seed_welfare_demo

    async with api.platform.store.begin() as conn:
        first = await seed_welfare_demo(conn, station_id=api.ids["station"], now=api.clock.now())
        again = await seed_welfare_demo(conn, station_id=api.ids["station"], now=api.clock.now())
    assert first["menu_items_added"] > 20 and first["ruleset_published"]
    assert again == {**first, "menu_items_added": 0, "ruleset_published": False}
    e = await eligibility(api)
    assert e["ruleset_version"] == 1 and e["district"] == DISTRICT
