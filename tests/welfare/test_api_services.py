"""The services API through the real app: menu, bookings, cancel, complete, recurring, meals."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select, update

from server.tasks.tables import tasks
from tests.conftest import BACKENDS
from tests.support.api import Api
from tests.welfare.support import long_tokens

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

# the fake clock starts on Monday 2026-11-23 at 10:00 in Shanghai
TUE_9 = "2026-11-24T09:00:00+08:00"
TUE_11 = "2026-11-24T11:00:00+08:00"


async def seeded(api: Api) -> None:
    long_tokens(api)
    s = api.ids["station"]
    body = await api.call(
        "POST", f"/api/v1/stations/{s}/service-items/seed", "operator", expect=200
    )
    assert body["added"] > 20


async def book(api: Api, who: str = "elder", **kw: Any) -> Any:
    body = {"item_code": "bath-help", "start": TUE_9, "end": TUE_11, **kw}
    return await api.call("POST", f"/api/v1/elders/{api.ids['elder']}/bookings", who, json=body)


async def test_operator_manages_the_menu(api: Api) -> None:
    s = api.ids["station"]
    await seeded(api)
    again = await api.call(
        "POST", f"/api/v1/stations/{s}/service-items/seed", "operator", expect=200
    )
    assert again["added"] == 0
    item = {
        "code": "foot-care",
        "name_zh": "修脚",
        "name_en": "Foot care",
        "category": "生活照料",
        "price_fen": 2500,
        "duration_min": 30,
    }
    await api.call("POST", f"/api/v1/stations/{s}/service-items", "operator", json=item, expect=201)
    await api.call("POST", f"/api/v1/stations/{s}/service-items", "operator", json=item, expect=409)
    patched = await api.call(
        "PATCH",
        f"/api/v1/stations/{s}/service-items/foot-care",
        "operator",
        json={"price_fen": 3000},
        expect=200,
    )
    assert patched["price_fen"] == 3000
    status, body = await api.call(
        "PATCH",
        f"/api/v1/stations/{s}/service-items/foot-care",
        "operator",
        json={"price_fen": 30.5},
    )
    assert status == 422  # money is never a float
    # a skill no caregiver can be registered with: nobody could ever be planned for it
    for method, path, body in (
        ("POST", "service-items", {**item, "code": "foot-care-2", "skill": "pedicure"}),
        ("PATCH", "service-items/foot-care", {"skill": "pedicure"}),
    ):
        status, problem = await api.call(
            method, f"/api/v1/stations/{s}/{path}", "operator", json=body
        )
        assert (status, problem["errors"][0]["loc"]) == (422, ["skill"]), problem
    # another station's operator cannot touch it; elders cannot manage menus
    await api.call("GET", f"/api/v1/stations/{s}/service-items", "operator2", expect=404)
    await api.call("POST", f"/api/v1/stations/{s}/service-items", "elder", json=item, expect=403)


async def test_elder_books_sees_price_and_cancels(api: Api) -> None:
    await seeded(api)
    status, b = await book(api)
    assert status == 201, b
    assert (b["price_fen"], b["subsidy_fen"] + b["self_pay_fen"]) == (6000, 6000)
    async with api.platform.store.read() as conn:
        task = (await conn.execute(select(tasks).where(tasks.c.id == b["task_id"]))).one()
    assert (task.kind, task.status, task.required_skills) == ("service", "open", ["bathing"])
    assert task.source_ref == f"booking:{b['id']}"
    listed = await api.call(
        "GET", f"/api/v1/elders/{api.ids['elder']}/bookings", "family", expect=200
    )
    assert [x["id"] for x in listed] == [b["id"]]
    cancelled = await api.call("POST", f"/api/v1/bookings/{b['id']}/cancel", "family", expect=200)
    assert cancelled["status"] == "cancelled"
    async with api.platform.store.read() as conn:
        assert (
            await conn.execute(select(tasks.c.status).where(tasks.c.id == b["task_id"]))
        ).scalar() == "cancelled"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {"start": "2026-11-22T09:00:00+08:00", "end": "2026-11-22T11:00:00+08:00"},
            422,
            "booking.in_the_past",
        ),
        (
            {"start": "2026-11-24T20:00:00+08:00", "end": "2026-11-24T22:00:00+08:00"},
            422,
            "booking.outside_hours",
        ),
        ({"start": TUE_9, "end": "2026-11-24T09:30:00+08:00"}, 422, "booking.window_too_short"),
        ({"item_code": "no-such-thing"}, 404, "service_item_not_found"),
        ({"start": "2026-11-24T09:00:00", "end": "2026-11-24T11:00:00"}, 422, "validation_error"),
        ({"asap": True}, 422, "validation_error"),  # asap together with a window
    ],
)
async def test_bad_bookings(api: Api, body: dict[str, Any], status: int, code: str) -> None:
    await seeded(api)
    got, problem = await book(api, **body)
    assert (got, problem["code"]) == (status, code)


async def test_double_booking_and_other_tenants(api: Api) -> None:
    await seeded(api)
    assert (await book(api))[0] == 201
    status, problem = await book(
        api,
        who="family",
        item_code="chat",
        start="2026-11-24T10:00:00+08:00",
        end="2026-11-24T11:00:00+08:00",
    )
    assert (status, problem["code"]) == (409, "booking.double_booked")
    status, _ = await book(api, who="family2")
    assert status == 404  # not their elder: do not reveal it exists
    status, _ = await book(api, who="operator2")
    assert status == 404


async def test_inactive_elder_cannot_book(api: Api) -> None:
    await seeded(api)
    await api.call("POST", f"/api/v1/elders/{api.ids['elder']}/deactivate", "operator", expect=200)
    status, problem = await book(api, who="operator")
    assert (status, problem["code"]) == (409, "booking.elder_inactive")


async def test_asap_booking(api: Api) -> None:
    await seeded(api)
    status, b = await api.call(
        "POST",
        f"/api/v1/elders/{api.ids['elder']}/bookings",
        "elder",
        json={"item_code": "chat", "asap": True, "notes": "想聊聊天"},
    )
    assert status == 201, b
    assert b["asap"] and b["start"].startswith("2026-11-23T02:00")


async def test_cancel_cutoff_for_elders_not_operators(api: Api) -> None:
    await seeded(api)
    _, b = await book(api)
    api.clock.advance(hours=20, minutes=30)  # Tuesday 06:30: 2.5 h before
    api.clock.advance(hours=1)  # 07:30: inside the 2-hour cut-off
    status, problem = await api.call("POST", f"/api/v1/bookings/{b['id']}/cancel", "elder")
    assert (status, problem["code"]) == (409, "booking.cancel_too_late")
    await api.call("POST", f"/api/v1/bookings/{b['id']}/cancel", "operator", expect=200)
    status, problem = await api.call("POST", f"/api/v1/bookings/{b['id']}/cancel", "operator")
    assert (status, problem["code"]) == (409, "booking.not_cancellable")


async def test_recurring_rule_materialises_once(api: Api) -> None:
    await seeded(api)
    eid, s = api.ids["elder"], api.ids["station"]
    rule = {
        "item_code": "bath-help",
        "weekdays": [1],
        "start": "09:00",
        "end": "11:00",
        "starts_on": "2026-11-01",
    }
    await api.call(
        "POST", f"/api/v1/elders/{eid}/recurring-bookings", "operator", json=rule, expect=201
    )
    first = await api.call(
        "POST",
        f"/api/v1/stations/{s}/recurring-bookings/materialise",
        "operator",
        json={"days": 14},
        expect=200,
    )
    assert len(first["created"]) == 2  # Tuesdays 24 Nov and 1 Dec
    again = await api.call(
        "POST",
        f"/api/v1/stations/{s}/recurring-bookings/materialise",
        "operator",
        json={"days": 14},
        expect=200,
    )
    assert again["created"] == []


async def test_complete_needs_the_assigned_caregiver(api: Api) -> None:
    await seeded(api)
    _, b = await book(api)
    done = {"started_at": "2026-11-24T09:05:00+08:00", "ended_at": "2026-11-24T10:35:00+08:00"}
    api.clock.advance(hours=25)  # Tuesday 11:00, after the visit
    status, _ = await api.call("POST", f"/api/v1/bookings/{b['id']}/complete", "cg_b", json=done)
    assert status == 404  # not their task
    async with api.platform.store.begin() as conn:
        await conn.execute(
            update(tasks)
            .where(tasks.c.id == b["task_id"])
            .values(caregiver_id=api.ids["cg_b"], status="planned")
        )
    rec = await api.call(
        "POST", f"/api/v1/bookings/{b['id']}/complete", "cg_b", json=done, expect=201
    )
    assert rec["price_fen"] == 6000 and rec["payable"] is False
    assert rec["reason"] == "proof.unproven"
    status, problem = await api.call(
        "POST", f"/api/v1/bookings/{b['id']}/complete", "cg_b", json=done
    )
    assert status in (404, 409)


async def test_meals_order_until_cutoff_then_delivery_tasks(api: Api) -> None:
    long_tokens(api)
    s, eid = api.ids["station"], api.ids["elder"]
    menu = {
        "dishes": [
            {"code": "fish", "name_zh": "清蒸鱼套餐", "price_fen": 500, "tags": ["鱼"]},
            {"code": "congee", "name_zh": "南瓜粥", "price_fen": 200, "tags": ["含糖", "软食"]},
        ]
    }
    await api.call(
        "PUT", f"/api/v1/stations/{s}/meal-menus/2026-11-24", "operator", json=menu, expect=200
    )
    got = await api.call("GET", f"/api/v1/stations/{s}/meal-menus/2026-11-24", "elder", expect=200)
    assert got["cutoff"] == "09:30"
    order = {"day": "2026-11-24", "mode": "delivery", "dishes": ["fish", "congee"]}
    o = await api.call(
        "POST", f"/api/v1/elders/{eid}/meal-orders", "family", json=order, expect=201
    )
    assert o["total_fen"] == 700
    status, problem = await api.call(
        "POST", f"/api/v1/elders/{eid}/meal-orders", "elder", json=order
    )
    assert (status, problem["code"]) == (409, "meal.already_ordered")
    await api.advance(23 * 3600 + 30 * 60)  # Tuesday 09:30 Shanghai: cut-off fires
    async with api.platform.store.read() as conn:
        rows = (await conn.execute(select(tasks).where(tasks.c.kind == "meal_delivery"))).all()
    assert [(r.elder_id, r.source_ref) for r in rows] == [(eid, "meal:2026-11-24:" + str(eid))]
    assert rows[0].window_start.isoformat() == "2026-11-24T03:00:00+00:00"
    status, problem = await api.call(
        "POST", f"/api/v1/elders/{api.ids['elder_other']}/meal-orders", "operator", json=order
    )
    assert (status, problem["code"]) == (409, "meal.order_closed")


async def test_concurrent_bookings_of_one_slot_make_one_booking(api: Api) -> None:
    await seeded(api)
    results = await asyncio.gather(*[book(api, who=w) for w in ("elder", "family", "operator") * 2])
    statuses = sorted(s for s, _ in results)
    assert statuses == [201, 409, 409, 409, 409, 409]
    assert {b["code"] for s, b in results if s == 409} == {"booking.double_booked"}


async def test_weekly_door_knock_for_elders_living_alone(api: Api) -> None:
    await seeded(api)
    s = api.ids["station"]
    body = {"weekday": 3, "start": "10:00", "end": "10:30", "starts_on": "2026-11-23"}
    first = await api.call(
        "POST",
        f"/api/v1/stations/{s}/recurring-bookings/door-knock",
        "operator",
        json=body,
        expect=200,
    )
    assert sorted(first["elders"]) == sorted([api.ids["elder"], api.ids["elder_other"]])
    again = await api.call(
        "POST",
        f"/api/v1/stations/{s}/recurring-bookings/door-knock",
        "operator",
        json=body,
        expect=200,
    )
    assert again["added"] == 0
    made = await api.call(
        "POST",
        f"/api/v1/stations/{s}/recurring-bookings/materialise",
        "operator",
        json={"days": 7},
        expect=200,
    )
    assert len(made["created"]) == 2  # Thursday 26 November, one visit each
    await api.call(
        "POST",
        f"/api/v1/stations/{s}/recurring-bookings/door-knock",
        "operator2",
        json=body,
        expect=404,
    )
