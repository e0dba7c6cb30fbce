"""Day plans through the app: assignments written back, reasons for what is left out,
pushes to caregivers, and an accepted help call inserted into the day."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update

from server.clock import SHANGHAI
from server.store.tables import caregivers, tasks
from tests.support.api import Api, near, utc

SHIFTS = [{"weekday": d, "start": "08:00", "end": "17:00"} for d in range(7)]


async def setup_day(api: Api) -> dict[str, int]:
    # 2026-11-23 09:00 in Shanghai.
    api.clock.set(utc(2026, 11, 23, 1, 0))
    now = api.clock.now()
    ids = {}
    async with api.platform.store.begin() as conn:
        await conn.execute(update(caregivers).values(shifts=SHIFTS))
        for key, skills, at, hours in (("bath", ["bathing"], near(400), (10, 12)),
                                       ("nurse", ["nursing"], near(-300, 200), (9, 11)),
                                       ("rocket", ["rocket_science"], near(100), (10, 12))):
            lo = now.astimezone(SHANGHAI).replace(hour=hours[0], minute=0)
            ids[key] = int((await conn.execute(insert(tasks).values(
                station_id=api.ids["station"], elder_id=api.ids["elder"], kind="service", title=key,
                status="open", priority=2, interruptible=True, required_skills=skills,
                window_start=lo, window_end=lo + timedelta(hours=hours[1] - hours[0]), duration_s=1800,
                lat=at[0], lng=at[1], created_at=now).returning(tasks.c.id))).scalar_one())
    return ids


async def test_plan_assigns_qualified_caregivers_and_reports_the_rest(api: Api) -> None:
    ids = await setup_day(api)
    plan = await api.call("POST", f"/api/v1/stations/{api.ids['station']}/plans", "operator",
                          json={"time_limit_s": 1}, expect=201)
    assert [u["task_id"] for u in plan["unassigned"]] == [str(ids["rocket"])]
    assert plan["unassigned"][0]["why"] == "no_qualified_caregiver"
    async with api.platform.store.read() as conn:
        rows = {r.id: r for r in (await conn.execute(select(tasks))).all()}
    assert rows[ids["bath"]].caregiver_id == api.ids["cg_b"]      # only B bathes
    assert rows[ids["nurse"]].caregiver_id == api.ids["cg_a"]     # only A nurses
    assert rows[ids["rocket"]].status == "open"                   # reported, never lost
    route = await api.call("GET", "/api/v1/me/route", "cg_b", expect=200)
    assert [r["task_id"] for r in route] == [ids["bath"]]


async def test_other_station_cannot_plan(api: Api) -> None:
    status, _ = await api.call("POST", f"/api/v1/stations/{api.ids['station']}/plans", "operator2", json={})
    assert status == 404


async def test_accepted_help_call_is_inserted_into_the_day(api: Api) -> None:
    await setup_day(api)
    await api.call("POST", f"/api/v1/stations/{api.ids['station']}/plans", "operator",
                   json={"time_limit_s": 1}, expect=201)
    inc = await api.press(expect=201)
    await api.pump()
    [offer] = await api.call("GET", "/api/v1/offers", "cg_a", expect=200)
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200)
    await api.pump()
    latest: Any = await api.call("GET", f"/api/v1/stations/{api.ids['station']}/plans/latest", "operator",
                                 expect=200)
    assert latest["trigger"] == f"emergency:{inc['id']}"
    route_a = next(r for r in latest["routes"] if r["caregiver_id"] == api.ids["cg_a"])
    assert route_a["visits"][0]["task_id"] == f"incident:{inc['id']}"
