"""Meal orders after ordering: cancelled before the cut-off (and ordered again), refused after;
the food is self-paid and lands in the ledger and the monthly service record book once."""

from __future__ import annotations

import pytest

from tests.conftest import BACKENDS
from tests.support.api import Api
from tests.welfare.test_api_welfare import setup

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

MENU = {"dishes": [{"code": "fish", "name_zh": "清蒸鱼套餐", "price_fen": 1200, "tags": ["鱼"]}]}


async def order(api: Api, who: str = "family", mode: str = "delivery") -> tuple[int, object]:
    body = {"day": "2026-11-24", "mode": mode, "dishes": ["fish"]}
    status, out = await api.call(
        "POST", f"/api/v1/elders/{api.ids['elder']}/meal-orders", who, json=body
    )
    return status, out


async def test_cancel_before_cutoff_and_order_again(api: Api) -> None:
    await setup(api)
    s = api.ids["station"]
    await api.call(
        "PUT", f"/api/v1/stations/{s}/meal-menus/2026-11-24", "operator", json=MENU, expect=200
    )
    status, o = await order(api)
    assert status == 201 and isinstance(o, dict)
    status, _ = await api.call("POST", f"/api/v1/meal-orders/{o['id']}/cancel", "family2")
    assert status == 404  # not their elder
    c = await api.call("POST", f"/api/v1/meal-orders/{o['id']}/cancel", "elder", expect=200)
    assert c["status"] == "cancelled"
    status, problem = await api.call("POST", f"/api/v1/meal-orders/{o['id']}/cancel", "operator")
    assert (status, problem["code"]) == (409, "meal.not_cancellable")
    status, again = await order(api, "elder", "dine_in")  # the day is free again
    assert status == 201 and isinstance(again, dict)
    await api.advance(23 * 3600 + 30 * 60)  # Tuesday 09:30: cut-off
    status, problem = await api.call(
        "POST", f"/api/v1/meal-orders/{again['id']}/cancel", "operator"
    )
    assert (status, problem["code"]) == (409, "meal.order_closed")
    listed = await api.call(
        "GET", f"/api/v1/elders/{api.ids['elder']}/meal-orders", "family", expect=200
    )
    assert [(x["mode"], x["status"]) for x in listed] == [
        ("delivery", "cancelled"),
        ("dine_in", "ordered"),
    ]


async def test_food_is_self_paid_in_the_ledger_and_the_book(api: Api) -> None:
    await setup(api)
    s, eid = api.ids["station"], api.ids["elder"]
    await api.call(
        "PUT", f"/api/v1/stations/{s}/meal-menus/2026-11-24", "operator", json=MENU, expect=200
    )
    await order(api)
    led = await api.call("GET", f"/api/v1/elders/{eid}/ledger", "elder", expect=200)
    assert not [e for e in led["entries"] if e["entry_id"].startswith("meal:")]  # not final yet
    await api.advance(23 * 3600 + 30 * 60)  # cut-off: the order is final
    for _ in range(2):  # read twice: written once
        led = await api.call("GET", f"/api/v1/elders/{eid}/ledger", "elder", expect=200)
    meals = [e for e in led["entries"] if e["entry_id"].startswith("meal:")]
    assert [(e["kind"], e["amount_fen"], e["account"]) for e in meals] == [
        ("self_pay", 1200, f"selfpay:elder:{eid}")
    ]
    assert led["quota_left_fen"] == 20000  # the subsidy never pays for food
    r = await api.client.get(
        f"/api/v1/elders/{eid}/statements/2026-11.csv", headers=api.h("family")
    )
    lines = (await r.read()).decode("utf-8-sig").splitlines()
    meal = next(line for line in lines if "助餐" in line).split(",")
    assert meal[0] == "2026-11-24" and "清蒸鱼套餐（送餐）" in meal[3]
    assert meal[6:10] == ["1200", "0", "1200", "自费"]
    assert lines[-2].split(",")[6:9] == ["1200", "0", "1200"]
