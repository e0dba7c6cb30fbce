"""The caregiver task API through the real app: today's tasks in plan order, start, arrive with
the geofence check, and complete for a booking (record + ledger), a meal delivery and a
hotline task; other caregivers get 404, operators complete on behalf only with a reason."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert, select, update

from server.planning.tables import day_plans
from server.services.tables import meal_orders
from server.store.tables import audit_log
from server.tasks.tables import tasks
from tests.conftest import BACKENDS
from tests.support.api import Api, near
from tests.welfare.test_api_welfare import HOME, assign, book, setup

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

AT_HOME = {"lat": HOME[0], "lng": HOME[1], "coord_system": "gcj02", "accuracy_m": 10}


async def hotline_task(api: Api, kind: str = "return_call") -> int:
    """A task the hotline would have written, already given to caregiver B."""
    async with api.platform.store.begin() as conn:
        return int(
            (
                await conn.execute(
                    insert(tasks)
                    .values(
                        station_id=api.ids["station"],
                        elder_id=api.ids["elder"],
                        caregiver_id=api.ids["cg_b"],
                        kind=kind,
                        title="未接来电回拨",
                        status="planned",
                        required_skills=[],
                        window_start=api.clock.now(),
                        window_end=api.clock.now(),
                        source="hotline",
                        created_at=api.clock.now(),
                    )
                    .returning(tasks.c.id)
                )
            ).scalar_one()
        )


async def test_booking_task_start_arrive_complete(api: Api) -> None:
    await setup(api)
    b = await book(api, "2026-11-24T09:00:00+08:00", "2026-11-24T10:30:00+08:00")
    await assign(api, b)
    api.clock.advance(hours=22, minutes=45)  # Tuesday 08:45
    mine = await api.call("GET", "/api/v1/me/tasks", "cg_b", expect=200)
    assert mine["day"] == "2026-11-24"
    assert [(t["id"], t["booking_id"], t["status"]) for t in mine["tasks"]] == [
        (b["task_id"], b["id"], "planned")
    ]
    assert (await api.call("GET", "/api/v1/me/tasks", "cg_a", expect=200))["tasks"] == []
    tid = b["task_id"]
    status, _ = await api.call("POST", f"/api/v1/tasks/{tid}/start", "cg_a")
    assert status == 404  # not theirs, not revealed
    t = await api.call("POST", f"/api/v1/tasks/{tid}/start", "cg_b", expect=200)
    assert t["status"] == "en_route" and t["started_at"]
    again = await api.call("POST", f"/api/v1/tasks/{tid}/start", "cg_b", expect=200)
    assert again["started_at"] == t["started_at"]  # a retry changes nothing
    api.clock.advance(minutes=20)  # 09:05 at the door
    t = await api.call(
        "POST", f"/api/v1/tasks/{tid}/arrive", "cg_b", json={"location": AT_HOME}, expect=200
    )
    assert (t["status"], t["within_geofence"]) == ("in_progress", True)
    assert t["arrival_distance_m"] < 5
    api.clock.advance(minutes=85)  # 10:30
    t = await api.call(
        "POST", f"/api/v1/tasks/{tid}/complete", "cg_b", json={"notes": "洗浴顺利"}, expect=200
    )
    assert t["status"] == "done" and t["record_id"] and t["outcome"] == "洗浴顺利"
    records = await api.call(
        "GET", f"/api/v1/elders/{api.ids['elder']}/service-records", "operator", expect=200
    )
    assert [(r["id"], r["proofs"], r["subsidy_fen"]) for r in records] == [
        (t["record_id"], ["geofence"], 6000)
    ]
    assert records[0]["started_at"].startswith("2026-11-24T01:05")  # from the arrival
    status, problem = await api.call(
        "POST", f"/api/v1/tasks/{tid}/complete", "cg_b", json={"notes": "again"}
    )
    assert (status, problem["code"]) == (409, "task.closed")
    bookings = await api.call(
        "GET", f"/api/v1/elders/{api.ids['elder']}/bookings", "elder", expect=200
    )
    assert bookings[0]["status"] == "completed"


async def test_a_late_visit_done_at_the_door_is_recorded_but_typed_times_must_fit(
    api: Api,
) -> None:
    """The caregiver arrives four hours after the booked window (the morning went wrong): the
    server saw her at the door and saw her finish, so the visit is recorded as it happened.
    Times typed in by hand that far from the window are still refused."""
    await setup(api)
    b = await book(api, "2026-11-24T09:00:00+08:00", "2026-11-24T10:30:00+08:00")
    await assign(api, b)
    api.clock.advance(hours=28)  # Tuesday 14:00, the window ended at 10:30
    tid = b["task_id"]
    await api.call(
        "POST", f"/api/v1/tasks/{tid}/arrive", "cg_b", json={"location": AT_HOME}, expect=200
    )
    api.clock.advance(minutes=80)
    # Now 15:20. Typed-in times: still checked, the window included.
    for start, end, code in (
        ("13:00", "14:00", "record.outside_window"),  # ends 3.5 h after the window
        ("18:00", "19:00", "record.in_future"),
    ):
        body = {
            "notes": "补记",
            "started_at": f"2026-11-24T{start}:00+08:00",
            "ended_at": f"2026-11-24T{end}:00+08:00",
        }
        status, problem = await api.call("POST", f"/api/v1/tasks/{tid}/complete", "cg_b", json=body)
        assert (status, problem["code"]) == (422, code), (start, problem)
    t = await api.call(
        "POST", f"/api/v1/tasks/{tid}/complete", "cg_b", json={"notes": "迟到，已完成"}, expect=200
    )
    assert t["status"] == "done" and t["record_id"]
    records = await api.call(
        "GET", f"/api/v1/elders/{api.ids['elder']}/service-records", "operator", expect=200
    )
    assert [r["id"] for r in records] == [t["record_id"]]
    assert records[0]["started_at"].startswith("2026-11-24T06:00")  # the arrival, in UTC


async def test_a_visit_done_hours_before_its_window_is_not_that_bookings_visit(
    api: Api,
) -> None:
    """Lateness is forgiven to a visit the server witnessed, earliness is not: done at 06:00
    for a 09:00-10:30 booking, it is some other visit, and the booking stays open."""
    await setup(api)
    b = await book(api, "2026-11-24T09:00:00+08:00", "2026-11-24T10:30:00+08:00")
    await assign(api, b)
    api.clock.advance(hours=20)  # Tuesday 06:00
    tid = b["task_id"]
    await api.call(
        "POST", f"/api/v1/tasks/{tid}/arrive", "cg_b", json={"location": AT_HOME}, expect=200
    )
    api.clock.advance(minutes=40)
    status, problem = await api.call(
        "POST", f"/api/v1/tasks/{tid}/complete", "cg_b", json={"notes": "提前"}
    )
    assert (status, problem["code"]) == (422, "record.outside_window")
    records = await api.call(
        "GET", f"/api/v1/elders/{api.ids['elder']}/service-records", "operator", expect=200
    )
    assert records == []


async def test_arrival_outside_the_fence_proves_nothing_but_the_door_card_does(api: Api) -> None:
    await setup(api)
    b = await book(api, "2026-11-24T09:00:00+08:00", "2026-11-24T10:30:00+08:00")
    await assign(api, b)
    api.clock.advance(hours=23, minutes=5)
    far = {**AT_HOME, "lat": near(3000)[0]}
    t = await api.call(
        "POST", f"/api/v1/tasks/{b['task_id']}/arrive", "cg_b", json={"location": far}, expect=200
    )
    assert t["within_geofence"] is False and t["arrival_distance_m"] > 2000
    card = await api.call(
        "GET", f"/api/v1/elders/{api.ids['elder']}/door-card", "operator", expect=200
    )
    api.clock.advance(minutes=85)
    t = await api.call(
        "POST",
        f"/api/v1/tasks/{b['task_id']}/complete",
        "cg_b",
        json={"door_code": card["code"]},
        expect=200,
    )
    records = await api.call(
        "GET", f"/api/v1/elders/{api.ids['elder']}/service-records", "operator", expect=200
    )
    assert records[0]["proofs"] == ["door_code"]


async def test_meal_delivery_task_records_time_and_heat(api: Api) -> None:
    await setup(api)
    s, eid = api.ids["station"], api.ids["elder"]
    menu = {"dishes": [{"code": "rice", "name_zh": "米饭套餐", "price_fen": 800}]}
    await api.call(
        "PUT", f"/api/v1/stations/{s}/meal-menus/2026-11-24", "operator", json=menu, expect=200
    )
    order = {"day": "2026-11-24", "mode": "delivery", "dishes": ["rice"]}
    await api.call("POST", f"/api/v1/elders/{eid}/meal-orders", "family", json=order, expect=201)
    await api.advance(23 * 3600 + 30 * 60)  # Tuesday 09:30: cut-off, the delivery task exists
    async with api.platform.store.begin() as conn:
        tid = (
            await conn.execute(select(tasks.c.id).where(tasks.c.kind == "meal_delivery"))
        ).scalar_one()
        await conn.execute(
            update(tasks)
            .where(tasks.c.id == tid)
            .values(caregiver_id=api.ids["cg_b"], status="planned")
        )
    api.clock.advance(hours=2)  # 11:30, inside the lunch window
    await api.call(
        "POST", f"/api/v1/tasks/{tid}/arrive", "cg_b", json={"location": AT_HOME}, expect=200
    )
    t = await api.call(
        "POST", f"/api/v1/tasks/{tid}/complete", "cg_b", json={"hot": True}, expect=200
    )
    assert (t["status"], t["on_time"], t["food_hot"]) == ("done", True, True)
    async with api.platform.store.read() as conn:
        st = (await conn.execute(select(meal_orders.c.status))).scalar_one()
    assert st == "delivered"


async def test_hotline_task_needs_an_outcome_and_operators_need_a_reason(api: Api) -> None:
    await setup(api)
    tid = await hotline_task(api)
    status, problem = await api.call("POST", f"/api/v1/tasks/{tid}/complete", "cg_b", json={})
    assert (status, problem["code"]) == (422, "task.outcome_required")
    status, problem = await api.call(
        "POST", f"/api/v1/tasks/{tid}/complete", "operator", json={"notes": "已回电"}
    )
    assert (status, problem["code"]) == (422, "task.reason_required")
    body = {"notes": "已回电，老人安好", "reason": "护理员手机没电，电话报告"}
    status, _ = await api.call("POST", f"/api/v1/tasks/{tid}/complete", "operator2", json=body)
    assert status == 404  # another station's operator
    status, _ = await api.call("POST", f"/api/v1/tasks/{tid}/start", "operator", json={})
    assert status in (403, 404)  # starting is the caregiver's own step
    t = await api.call("POST", f"/api/v1/tasks/{tid}/complete", "operator", json=body, expect=200)
    assert (t["status"], t["outcome"]) == ("done", "已回电，老人安好")
    async with api.platform.store.read() as conn:
        rows = (
            await conn.execute(select(audit_log).where(audit_log.c.object_type == "task"))
        ).all()
    assert [(r.action, r.detail.get("reason")) for r in rows] == [
        ("task_complete_on_behalf", "护理员手机没电，电话报告")
    ]


async def test_tasks_come_in_plan_order(api: Api) -> None:
    await setup(api)
    first = await hotline_task(api)
    second = await hotline_task(api, "check")
    day = "2026-11-23"
    summary: dict[str, Any] = {
        "routes": [
            {
                "caregiver_id": api.ids["cg_b"],
                "start_s": 0,
                "end_s": 0,
                "travel_s": 0,
                "visits": [{"task_id": str(second)}, {"task_id": str(first)}],
            }
        ]
    }
    async with api.platform.store.begin() as conn:
        pid = (
            await conn.execute(
                insert(day_plans)
                .values(
                    station_id=api.ids["station"],
                    day=day,
                    trigger="operator",
                    created_at=api.clock.now(),
                    travel_s=0,
                    summary=summary,
                )
                .returning(day_plans.c.id)
            )
        ).scalar_one()
    mine = await api.call("GET", "/api/v1/me/tasks", "cg_b", expect=200)
    assert mine["plan_id"] == pid
    assert [(t["id"], t["plan_position"]) for t in mine["tasks"]] == [(second, 0), (first, 1)]
