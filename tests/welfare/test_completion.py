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


async def test_rejected_visits_give_the_quota_back_and_paid_equals_used(api: Api) -> None:
    """Money follows the audit gate: a rejection reverses the charge, so the provider's paid
    total and the ledger's used subsidy agree once every record is reviewed."""
    import io

    from openpyxl import load_workbook

    await setup(api)
    slots = [("08:00", "09:30", True), ("10:00", "11:30", False), ("13:00", "14:30", True)]
    recs = []
    for start, end, at_home in slots:
        s, e = f"2026-11-24T{start}:00+08:00", f"2026-11-24T{end}:00+08:00"
        b = await book(api, s, e)
        await assign(api, b)
        recs.append((b, s, e, at_home))
    api.clock.advance(hours=30)
    made = []
    for b, s, e, at_home in recs:
        made.append(
            await api.call(
                "POST",
                f"/api/v1/bookings/{b['id']}/complete",
                "cg_b",
                json=done(s, e, at_home=at_home),
                expect=201,
            )
        )
    assert [r["subsidy_fen"] for r in made] == [6000, 6000, 6000]
    review = "/api/v1/service-records/{}/review"
    await api.call(
        "POST", review.format(made[0]["id"]), "operator", json={"decision": "passed"}, expect=200
    )
    for r in made[1:]:
        out = await api.call(
            "POST",
            review.format(r["id"]),
            "operator",
            json={"decision": "rejected", "note": "无到访记录"},
            expect=200,
        )
        assert (out["payable"], out["reason"], out["reversed"]) == (False, "proof.rejected", True)
    led = await api.call("GET", f"/api/v1/elders/{api.ids['elder']}/ledger", "elder", expect=200)
    assert led["quota_left_fen"] == 20000 - 6000
    assert led["balances"].get(f"selfpay:elder:{api.ids['elder']}", 0) == 0
    spent = [e for e in led["entries"] if e["kind"] == "spend"]
    restored = [
        e for e in led["entries"] if e["kind"] == "reversal" and e["reverses"].startswith("spend:")
    ]
    used = -sum(e["amount_fen"] for e in spent) - sum(e["amount_fen"] for e in restored)
    r = await api.client.get(
        f"/api/v1/stations/{api.ids['station']}/settlements/2026Q4.xlsx", headers=api.h("operator")
    )
    paid = list(load_workbook(io.BytesIO(await r.read())).worksheets[0].iter_rows(values_only=True))
    assert paid[-2][4] == used == 6000
    # the rejected visit's booking takes the visit that really happened
    b, s, e, _ = recs[1]
    again = await api.call(
        "POST", f"/api/v1/bookings/{b['id']}/complete", "operator", json=done(s, e), expect=201
    )
    assert again["subsidy_fen"] == 6000


async def test_a_day_plan_makes_the_booking_planned(api: Api) -> None:
    from sqlalchemy import update as sa_update

    from server.registry.tables import caregivers

    await setup(api)
    async with api.platform.store.begin() as conn:
        await conn.execute(
            sa_update(caregivers)
            .where(caregivers.c.id == api.ids["cg_b"])
            .values(shifts=[{"weekday": 1, "start": "08:00", "end": "17:00"}])
        )
    b = await book(api, "2026-11-24T09:00:00+08:00", "2026-11-24T10:30:00+08:00")
    assert b["status"] == "requested"
    await api.call(
        "POST",
        f"/api/v1/stations/{api.ids['station']}/plans",
        "operator",
        json={"day": "2026-11-24", "time_limit_s": 1},
        expect=201,
    )
    assert await status_of(api, b["id"]) == "planned"
