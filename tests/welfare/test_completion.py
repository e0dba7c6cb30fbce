"""Completing bookings: the booking row lock (a completion racing a cancellation or a second
completion), the times a record may carry, and the corrected visit after a reversal."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import BACKENDS
from tests.support.api import Api
from tests.welfare.test_api_welfare import assign, book, done, setup

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def status_of(api: Api, booking_id: int) -> str:
    rows = await api.call("GET", f"/api/v1/elders/{api.ids['elder']}/bookings", "elder", expect=200)
    return str(next(b["status"] for b in rows if b["id"] == booking_id))


async def records(api: Api) -> list[dict[str, object]]:
    out: list[dict[str, object]] = await api.call(
        "GET", f"/api/v1/elders/{api.ids['elder']}/service-records", "operator", expect=200
    )
    return out


async def test_complete_and_cancel_at_once_only_one_wins(api: Api) -> None:
    await setup(api)
    outcomes = []
    for day in (24, 25, 26):
        start, end = f"2026-11-{day}T09:00:00+08:00", f"2026-11-{day}T10:30:00+08:00"
        b = await book(api, start, end)
        await assign(api, b)
        api.clock.set(api.clock.now().replace(day=day, hour=3))  # 11:00 Shanghai that day
        res = await asyncio.gather(
            api.call("POST", f"/api/v1/bookings/{b['id']}/complete", "cg_b", json=done(start, end)),
            api.call("POST", f"/api/v1/bookings/{b['id']}/cancel", "operator"),
        )
        statuses = sorted(s for s, _ in res)
        assert statuses == [200, 409] or statuses == [201, 409], res
        final = await status_of(api, b["id"])
        completed = any(s == 201 for s, _ in res)
        assert final == ("completed" if completed else "cancelled")
        outcomes.append(completed)
    assert len(await records(api)) == sum(outcomes)  # a record exactly for each completion


async def test_two_completions_at_once_give_one_record_and_409s(api: Api) -> None:
    await setup(api)
    start, end = "2026-11-24T09:00:00+08:00", "2026-11-24T10:30:00+08:00"
    b = await book(api, start, end)
    await assign(api, b)
    api.clock.advance(hours=30)
    res = await asyncio.gather(
        *[
            api.call("POST", f"/api/v1/bookings/{b['id']}/complete", who, json=done(start, end))
            for who in ("cg_b", "operator", "cg_b")
        ]
    )
    assert sorted(s for s, _ in res) == [201, 409, 409], res
    assert {r["code"] for s, r in res if s == 409} == {"booking.not_open"}
    assert len(await records(api)) == 1


async def test_a_record_must_match_the_booking(api: Api) -> None:
    await setup(api)
    b = await book(api, "2026-12-01T09:00:00+08:00", "2026-12-01T10:30:00+08:00")
    await assign(api, b)
    url = f"/api/v1/bookings/{b['id']}/complete"
    # 22 November: before the booking existed (it was made on the 23rd)
    status, problem = await api.call(
        "POST", url, "cg_b", json=done("2026-11-22T09:00:00+08:00", "2026-11-22T10:30:00+08:00")
    )
    assert (status, problem["code"]) == (422, "record.before_booking")
    api.clock.set(api.clock.now().replace(month=12, day=1, hour=6))  # 1 Dec 14:00 Shanghai
    # that morning, but far from the booked 09:00-10:30
    status, problem = await api.call(
        "POST", url, "cg_b", json=done("2026-11-30T09:00:00+08:00", "2026-11-30T10:30:00+08:00")
    )
    assert (status, problem["code"]) == (422, "record.outside_window")
    # a little late is fine (inside the tolerance)
    await api.call(
        "POST",
        url,
        "cg_b",
        json=done("2026-12-01T10:00:00+08:00", "2026-12-01T11:30:00+08:00"),
        expect=201,
    )


async def test_reversed_record_lets_the_corrected_visit_be_recorded(api: Api) -> None:
    await setup(api)
    start, end = "2026-11-24T09:00:00+08:00", "2026-11-24T10:30:00+08:00"
    b = await book(api, start, end)
    await assign(api, b)
    api.clock.advance(hours=30)
    url = f"/api/v1/bookings/{b['id']}/complete"
    first = await api.call(
        "POST", url, "cg_b", json=done(start, "2026-11-24T09:10:00+08:00"), expect=201
    )
    await api.call(
        "POST",
        f"/api/v1/service-records/{first['id']}/reverse",
        "operator",
        json={"reason": "结束时间录错 / wrong end time"},
        expect=200,
    )
    second = await api.call("POST", url, "operator", json=done(start, end), expect=201)
    assert second["id"] != first["id"] and second["subsidy_fen"] == 6000
    status, problem = await api.call("POST", url, "cg_b", json=done(start, end))
    assert (status, problem["code"]) == (409, "booking.not_open")  # one live record per booking
    led = await api.call("GET", f"/api/v1/elders/{api.ids['elder']}/ledger", "elder", expect=200)
    assert led["quota_left_fen"] == 20000 - 6000  # the reversed charge came back, the new one holds


async def test_operator_cancels_a_started_visit_elder_cannot(api: Api) -> None:
    await setup(api)
    b = await book(api, "2026-11-23T14:00:00+08:00", "2026-11-23T15:30:00+08:00")
    api.clock.advance(hours=4, minutes=30)  # 14:30: the visit is under way
    status, problem = await api.call("POST", f"/api/v1/bookings/{b['id']}/cancel", "family")
    assert (status, problem["code"]) == (409, "booking.cancel_too_late")
    c = await api.call("POST", f"/api/v1/bookings/{b['id']}/cancel", "operator", expect=200)
    assert c["status"] == "cancelled"
