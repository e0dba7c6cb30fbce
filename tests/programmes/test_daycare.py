"""Day care at the station: capacity with a waiting list, the day's list whose lunches reach
the kitchen's meal orders, an absence with word (lunch cancelled) and one without (a welfare
check task), check-in and check-out; a day-care booking is refused (not a home visit)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from server.daycare.tables import daycare_enrolments
from server.services.tables import meal_orders
from server.tasks.tables import tasks
from tests.conftest import BACKENDS
from tests.support.api import Api
from tests.welfare.support import long_tokens

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

# the fake clock starts on Monday 2026-11-23 at 10:00 in Shanghai
TUE = "2026-11-24"
MENU = {"dishes": [{"code": "rice-set", "name_zh": "红烧肉套餐", "price_fen": 1000, "tags": []}]}


async def programme(api: Api, capacity: int) -> Any:
    s = api.ids["station"]
    return await api.call(
        "PUT",
        f"/api/v1/stations/{s}/daycare/programme",
        "operator",
        json={"capacity": capacity},
        expect=200,
    )


async def enrol(api: Api, elder: str, days: list[int], **kw: Any) -> tuple[int, Any]:
    body = {"weekdays": days, "starts_on": TUE, **kw}
    status, out = await api.call(
        "POST", f"/api/v1/elders/{api.ids[elder]}/daycare/enrolments", "operator", json=body
    )
    return int(status), out


async def enrolments_written(api: Api) -> int:
    async with api.platform.store.read() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(daycare_enrolments))).scalar_one()
        )


async def test_capacity_is_enforced_with_a_waiting_list(api: Api) -> None:
    long_tokens(api)
    prog = await programme(api, 1)
    assert (prog["days"], prog["opens"], prog["closes"]) == ([0, 1, 2, 3, 4], "09:00", "17:00")
    status, first = await enrol(api, "elder", [0, 2])
    assert status == 201 and first["status"] == "enrolled", first
    status, second = await enrol(api, "elder_other", [2, 4])
    assert status == 201 and second["status"] == "waiting", second
    assert (second["full_days"], second["waiting_position"]) == ([2], 1)
    # bad inputs: a closed day, a second enrolment, a bad weekday, a float capacity
    status, problem = await enrol(api, "elder", [5])
    assert (status, problem["code"], problem["days"]) == (422, "daycare.day_closed", [5])
    status, problem = await enrol(api, "elder", [1])
    assert (status, problem["code"]) == (409, "daycare.already_enrolled")
    status, problem = await enrol(api, "elder_other", [9])
    assert (status, problem["code"]) == (422, "validation_error")
    s = api.ids["station"]
    status, problem = await api.call(
        "PUT", f"/api/v1/stations/{s}/daycare/programme", "operator", json={"capacity": 1.5}
    )
    assert status == 422
    assert await enrolments_written(api) == 2  # nothing half-written by the refusals
    # another station's operator sees nothing
    status, _ = await api.call("GET", f"/api/v1/stations/{s}/daycare/enrolments", "operator2")
    assert status == 404
    # the first leaves: the waiting elder gets the place
    await api.call("POST", f"/api/v1/daycare/enrolments/{first['id']}/end", "operator", expect=200)
    listed = await api.call(
        "GET", f"/api/v1/stations/{s}/daycare/enrolments", "operator", expect=200
    )
    assert [(e["elder_id"], e["status"]) for e in listed] == [
        (api.ids["elder"], "ended"),
        (api.ids["elder_other"], "enrolled"),
    ]


async def test_day_care_is_not_a_home_visit(api: Api) -> None:
    long_tokens(api)
    s = api.ids["station"]
    await api.call("POST", f"/api/v1/stations/{s}/service-items/seed", "operator", expect=200)
    body = {
        "item_code": "day-care",
        "start": "2026-11-24T09:00:00+08:00",
        "end": "2026-11-24T17:00:00+08:00",
    }
    status, problem = await api.call(
        "POST", f"/api/v1/elders/{api.ids['elder']}/bookings", "elder", json=body
    )
    assert (status, problem["code"]) == (409, "booking.day_care_is_an_enrolment")
    async with api.platform.store.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(tasks))).scalar_one() == 0


async def test_attendance_lunches_reach_the_kitchen_and_a_silent_absence_is_checked(
    api: Api,
) -> None:
    long_tokens(api)
    s, elder, other = api.ids["station"], api.ids["elder"], api.ids["elder_other"]
    await api.call(
        "PUT", f"/api/v1/stations/{s}/meal-menus/{TUE}", "operator", json=MENU, expect=200
    )
    await programme(api, 5)
    assert (await enrol(api, "elder", [1]))[0] == 201
    assert (await enrol(api, "elder_other", [1, 3]))[0] == 201
    day = await api.call(
        "POST", f"/api/v1/stations/{s}/daycare/days/{TUE}/open", "operator", expect=200
    )
    assert sorted(a["lunch"] for a in day["attendance"]) == ["ordered", "ordered"]
    again = await api.call(
        "POST", f"/api/v1/stations/{s}/daycare/days/{TUE}/open", "operator", expect=200
    )
    assert len(again["attendance"]) == 2  # opened twice: one row and one lunch each
    async with api.platform.store.read() as conn:
        orders = (
            await conn.execute(select(meal_orders).where(meal_orders.c.day.is_not(None)))
        ).all()
    assert sorted((o.elder_id, o.mode, o.dishes, o.status) for o in orders) == sorted(
        [(elder, "dine_in", ["rice-set"], "ordered"), (other, "dine_in", ["rice-set"], "ordered")]
    )
    # the elder sends word before the kitchen's cut-off: excused, lunch cancelled
    gone = await api.call(
        "POST",
        f"/api/v1/elders/{elder}/daycare/absences/{TUE}",
        "elder",
        json={"reason": "看病"},
        expect=200,
    )
    assert (gone["status"], gone["lunch"]) == ("excused", "cancelled")
    status, problem = await api.call(
        "POST", f"/api/v1/elders/{elder}/daycare/absences/2026-11-25", "elder", json={}
    )
    assert (status, problem["code"]) == (409, "daycare.not_expected")  # not a day-care day
    async with api.platform.store.read() as conn:
        live = (
            await conn.execute(
                select(meal_orders.c.elder_id).where(meal_orders.c.status == "ordered")
            )
        ).all()
    assert [r.elder_id for r in live] == [other]  # the kitchen cooks for one
    # Tuesday 10:05: the roll call has run; the other elder neither came nor sent word
    await api.advance(24 * 3600 + 5 * 60)
    day = await api.call("GET", f"/api/v1/stations/{s}/daycare/days/{TUE}", "operator", expect=200)
    by_elder = {a["elder_id"]: a for a in day["attendance"]}
    assert by_elder[elder]["status"] == "excused" and by_elder[elder]["task_id"] is None
    assert by_elder[other]["status"] == "absent"
    async with api.platform.store.read() as conn:
        task = (
            await conn.execute(select(tasks).where(tasks.c.id == by_elder[other]["task_id"]))
        ).one()
    assert (task.kind, task.elder_id, task.status) == ("check", other, "open")
    # she arrives late after all: checked in, then out; a second check-out is refused
    aid = by_elder[other]["id"]
    came = await api.call("POST", f"/api/v1/daycare/attendance/{aid}/check-in", "cg_a", expect=200)
    assert came["status"] == "present" and came["checked_in_at"] is not None
    await api.call("POST", f"/api/v1/daycare/attendance/{aid}/check-out", "operator", expect=200)
    status, problem = await api.call(
        "POST", f"/api/v1/daycare/attendance/{aid}/check-out", "operator"
    )
    assert (status, problem["code"]) == (409, "attendance_state_conflict")
    status, _ = await api.call("POST", f"/api/v1/daycare/attendance/{aid}/check-in", "operator2")
    assert status == 404


async def test_two_enrolments_racing_for_the_last_place_do_not_both_get_it(api: Api) -> None:
    long_tokens(api)
    await programme(api, 1)
    results = await asyncio.gather(enrol(api, "elder", [0]), enrol(api, "elder_other", [0]))
    assert sorted(r[1]["status"] for r in results) == ["enrolled", "waiting"]
