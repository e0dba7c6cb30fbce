"""Day plans through the app: assignments written back, reasons for what is left out,
pushes to caregivers, and an accepted help call inserted into the day."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from server.clock import SHANGHAI
from server.incidents.tables import alarms
from server.registry.tables import caregivers, elders, stations
from server.store.tables import push_messages
from server.tasks.tables import tasks
from tests.conftest import BACKENDS
from tests.support.api import Api, near, utc

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

SHIFTS = [{"weekday": d, "start": "08:00", "end": "17:00"} for d in range(7)]


async def setup_day(api: Api) -> dict[str, int]:
    # 2026-11-23 09:00 in Shanghai.
    api.clock.set(utc(2026, 11, 23, 1, 0))
    now = api.clock.now()
    ids = {}
    async with api.platform.store.begin() as conn:
        await conn.execute(update(caregivers).values(shifts=SHIFTS))
        for key, skills, at, hours in (
            ("bath", ["bathing"], near(400), (10, 12)),
            ("nurse", ["nursing"], near(-300, 200), (9, 11)),
            ("rocket", ["rocket_science"], near(100), (10, 12)),
        ):
            lo = now.astimezone(SHANGHAI).replace(hour=hours[0], minute=0)
            ids[key] = int(
                (
                    await conn.execute(
                        insert(tasks)
                        .values(
                            station_id=api.ids["station"],
                            elder_id=api.ids["elder"],
                            kind="service",
                            title=key,
                            status="open",
                            priority=2,
                            interruptible=True,
                            required_skills=skills,
                            window_start=lo,
                            window_end=lo + timedelta(hours=hours[1] - hours[0]),
                            duration_s=1800,
                            lat=at[0],
                            lng=at[1],
                            created_at=now,
                        )
                        .returning(tasks.c.id)
                    )
                ).scalar_one()
            )
    return ids


async def plan_now(api: Api) -> Any:
    """The operator plans the station's day (one second of solver)."""
    return await api.call(
        "POST",
        f"/api/v1/stations/{api.ids['station']}/plans",
        "operator",
        json={"time_limit_s": 1},
        expect=201,
    )


async def snapshot_now(api: Api) -> Any:
    """The station's day as the planner sees it now."""
    from server.planning.flows import build_snapshot
    from server.platform import Tx

    now = api.clock.now()
    async with api.platform.store.read() as conn:
        return await build_snapshot(
            Tx(conn=conn, now=now), api.ids["station"], now.astimezone(SHANGHAI).date(), now
        )


async def test_plan_assigns_qualified_caregivers_and_reports_the_rest(api: Api) -> None:
    ids = await setup_day(api)
    plan = await plan_now(api)
    assert [u["task_id"] for u in plan["unassigned"]] == [str(ids["rocket"])]
    assert plan["unassigned"][0]["why"] == "no_qualified_caregiver"
    async with api.platform.store.read() as conn:
        rows = {r.id: r for r in (await conn.execute(select(tasks))).all()}
    assert rows[ids["bath"]].caregiver_id == api.ids["cg_b"]  # only B bathes
    assert rows[ids["nurse"]].caregiver_id == api.ids["cg_a"]  # only A nurses
    assert rows[ids["rocket"]].status == "open"  # reported, never lost
    route = await api.call("GET", "/api/v1/me/route", "cg_b", expect=200)
    assert [r["task_id"] for r in route] == [ids["bath"]]


async def test_other_station_cannot_plan(api: Api) -> None:
    status, _ = await api.call(
        "POST", f"/api/v1/stations/{api.ids['station']}/plans", "operator2", json={}
    )
    assert status == 404


async def test_accepted_help_call_is_inserted_into_the_day(api: Api) -> None:
    await setup_day(api)
    await plan_now(api)
    inc = await api.press(expect=201)
    await api.pump()
    [offer] = await api.call("GET", "/api/v1/offers", "cg_a", expect=200)
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200)
    await api.pump()
    latest: Any = await api.call(
        "GET", f"/api/v1/stations/{api.ids['station']}/plans/latest", "operator", expect=200
    )
    assert latest["trigger"] == f"emergency:{inc['id']}"
    route_a = next(r for r in latest["routes"] if r["caregiver_id"] == api.ids["cg_a"])
    assert route_a["visits"][0]["task_id"] == f"incident:{inc['id']}"


def hang_job(*args: object) -> object:
    """A solver that never answers (as OR-Tools once did, spinning inside ruin and recreate)."""
    import time as _time

    _time.sleep(3600)
    return None


async def pushes_to(api: Api, user_key: str, type_: str) -> list[dict[str, Any]]:
    async with api.platform.store.read() as conn:
        rows = (
            await conn.execute(
                select(push_messages)
                .where(
                    push_messages.c.recipient == f"user:{api.ids[user_key]}",
                    push_messages.c.type == type_,
                )
                .order_by(push_messages.c.seq)
            )
        ).all()
    return [r.payload for r in rows]


async def test_a_retime_only_replan_is_pushed_to_that_caregiver(api: Api) -> None:
    """An emergency re-plan that only moves B's bath 40 minutes later (same caregiver, new
    time) must reach B's phone; A, whose day did not change, gets nothing new."""
    from dispatch.dayplan import diff_plans
    from server.planning.flows import store_plan
    from server.planning.flows.snapshot import previous_plan

    ids = await setup_day(api)
    await plan_now(api)
    day = api.clock.now().astimezone(SHANGHAI).date()
    async with api.platform.store.read() as conn:
        from server.platform import Tx

        old = await previous_plan(Tx(conn=conn, now=api.clock.now()), api.ids["station"], day)
    assert old is not None
    b_before = len(await pushes_to(api, "cg_b_user", "plan.changed"))
    a_before = len(await pushes_to(api, "cg_a_user", "plan.changed"))
    shifted = tuple(
        replace(
            r,
            visits=tuple(
                replace(v, start_s=v.start_s + 2400, end_s=v.end_s + 2400) for v in r.visits
            ),
        )
        if r.caregiver_id == api.ids["cg_b"]
        else r
        for r in old.routes
    )
    new = replace(old, routes=shifted)
    new = replace(new, diff=diff_plans(old, new))
    assert new.diff.retimed and not (new.diff.moved or new.diff.added or new.diff.removed)
    await store_plan(api.platform, api.ids["station"], day, new, "emergency:99")
    b_pushes = await pushes_to(api, "cg_b_user", "plan.changed")
    assert len(b_pushes) == b_before + 1
    [bath] = b_pushes[-1]["visits"]
    assert bath["task_id"] == str(ids["bath"])
    assert len(await pushes_to(api, "cg_a_user", "plan.changed")) == a_before


async def test_a_solver_that_never_answers_cannot_take_the_server_down(
    api: Api, monkeypatch: Any
) -> None:
    """The solver hangs: the watchdog kills it, a solver-free plan from the plan in force is
    stored and pushed, the operators get an alarm, and the station can be planned again."""
    import server.planning.flows.solve as planning

    ids = await setup_day(api)
    await plan_now(api)
    monkeypatch.setattr(planning, "DAY_JOB", hang_job)
    monkeypatch.setattr(planning, "WATCHDOG_FACTOR", 0.0)
    monkeypatch.setattr(planning, "WATCHDOG_GRACE_S", 2.0)
    plan = await plan_now(api)
    got = {v["task_id"]: r["caregiver_id"] for r in plan["routes"] for v in r["visits"]}
    assert got == {str(ids["bath"]): api.ids["cg_b"], str(ids["nurse"]): api.ids["cg_a"]}
    latest: Any = await api.call(
        "GET", f"/api/v1/stations/{api.ids['station']}/plans/latest", "operator", expect=200
    )
    assert latest["trigger"] == "operator:fallback"
    async with api.platform.store.read() as conn:
        kinds = [r.kind for r in (await conn.execute(select(alarms))).all()]
    assert "planning_stalled" in kinds
    monkeypatch.setattr(planning, "DAY_JOB", planning.day_job)
    monkeypatch.setattr(planning, "WATCHDOG_FACTOR", 6.0)
    again: Any = await plan_now(api)
    assert again["plan_id"] > latest["plan_id"]


async def test_each_plan_carries_its_emergency_cover(api: Api) -> None:
    """A flagged high-risk elder: the stored plan says how many minutes of the day they had
    nobody within 20 minutes, and the console reads it with the plan."""
    await setup_day(api)
    async with api.platform.store.begin() as conn:
        await conn.execute(
            update(elders).where(elders.c.id == api.ids["elder"]).values(high_risk=True)
        )
    plan = await plan_now(api)
    assert plan["cover"]["elders"] >= 1
    assert plan["cover"]["uncovered_minutes"] == 0  # two caregivers a few hundred metres away
    latest: Any = await api.call(
        "GET", f"/api/v1/stations/{api.ids['station']}/plans/latest", "operator", expect=200
    )
    assert latest["cover"] == plan["cover"]


async def test_max_work_comes_from_the_roster(api: Api) -> None:
    """A split shift 08:00-12:00 and 14:00-18:00 is 8 working hours, not the 10-hour span."""
    await setup_day(api)
    split = [
        {"weekday": d, "start": a, "end": b}
        for d in range(7)
        for a, b in (("08:00", "12:00"), ("14:00", "18:00"))
    ]
    async with api.platform.store.begin() as conn:
        await conn.execute(
            update(caregivers).where(caregivers.c.id == api.ids["cg_a"]).values(shifts=split)
        )
    snap = await snapshot_now(api)
    a = next(c for c in snap.caregivers if c.caregiver_id == api.ids["cg_a"])
    assert (a.shift_start_s, a.shift_end_s, a.max_work_s) == (8 * 3600, 18 * 3600, 8 * 3600)


async def test_malformed_shifts_are_skipped_and_the_rest_of_the_team_planned(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """Shifts are validated by the API, but a row written by an old version or by hand can
    hold anything. Each shift that does not read is skipped with a warning; the day plan (and
    the console's Today) goes on with what can be read."""
    ids = await setup_day(api)
    today = api.clock.now().astimezone(SHANGHAI).weekday()
    good = {"weekday": today, "start": "08:00", "end": "17:00"}
    bad: list[Any] = [
        None,
        "08:00-17:00",
        ["mon"],
        8,
        {**good, "weekday": "周一"},
        {**good, "weekday": True},
        {**good, "weekday": 9},
        {"weekday": today},
        {**good, "start": "8am"},
        {**good, "end": "25:00"},
        {**good, "start": "08:61"},
        {**good, "start": 800},
        {**good, "start": ["08:00"]},
        {**good, "start": "17:00", "end": "08:00"},
    ]
    async with api.platform.store.begin() as conn:
        # A: one readable shift among the odd ones (and skills and travel mode stored oddly too).
        await conn.execute(
            update(caregivers)
            .where(caregivers.c.id == api.ids["cg_a"])
            .values(shifts=[*bad, good], skills="nursing", travel_mode="scooter")
        )
        # B: nothing that reads as a shift.
        await conn.execute(
            update(caregivers).where(caregivers.c.id == api.ids["cg_b"]).values(shifts=bad)
        )
    caplog.set_level("WARNING", logger="anxin.planning")
    plan = await plan_now(api)
    routes = {r["caregiver_id"]: [v["task_id"] for v in r["visits"]] for r in plan["routes"]}
    assert routes.get(api.ids["cg_a"]) == [str(ids["nurse"])]
    assert not routes.get(api.ids["cg_b"])
    assert {u["task_id"] for u in plan["unassigned"]} == {str(ids["bath"]), str(ids["rocket"])}
    skipped = [r for r in caplog.records if r.getMessage() == "malformed caregiver shift skipped"]
    assert sorted({(r.caregiver_id, r.shift_index) for r in skipped}) == sorted(  # type: ignore[attr-defined]
        (cg, i) for cg in (api.ids["cg_a"], api.ids["cg_b"]) for i in range(len(bad))
    )

    # Shifts that are not even a list: B is simply off the roster.
    async with api.platform.store.begin() as conn:
        await conn.execute(
            update(caregivers).where(caregivers.c.id == api.ids["cg_b"]).values(shifts=good)
        )
    caplog.clear()
    plan = await plan_now(api)
    assert [r["caregiver_id"] for r in plan["routes"] if r["visits"]] == [api.ids["cg_a"]]
    assert any(
        r.getMessage() == "caregiver shifts are not a list; no shifts read" for r in caplog.records
    )
    # The console's Today counts the staff it can read.
    today_view = await api.call("GET", "/api/v1/console/today", "operator", expect=200)
    assert [h["staff"] for h in today_view["hours"]][7:18] == [0] + [1] * 9 + [0]


async def test_an_emergency_insertion_waits_for_a_replan_in_progress(api: Api) -> None:
    """Inserting a help call takes the station's planning lock, so it cannot store over a
    re-plan running at the same time (it used to plan without it)."""
    import asyncio

    from server.planning.flows import on_accepted, station_lock

    await setup_day(api)
    await plan_now(api)
    inc = await api.press(expect=201)
    async with station_lock(api.platform, api.ids["station"]):
        job = asyncio.create_task(
            on_accepted(api.platform, {"incident_id": inc["id"], "caregiver_id": api.ids["cg_a"]})
        )
        await asyncio.sleep(0.5)
        assert not job.done()
    await job
    latest: Any = await api.call(
        "GET", f"/api/v1/stations/{api.ids['station']}/plans/latest", "operator", expect=200
    )
    assert latest["trigger"] == f"emergency:{inc['id']}"


async def test_lunch_is_routed_with_pickups_capacity_and_hot_food(api: Api) -> None:
    """At the cut-off the day's delivery orders become lunch routes: each order is picked
    up at the kitchen and delivered by the same courier inside the lunch window, within
    30 minutes of loading; the courier's phone gets the route, the day plan leaves the
    deliveries alone."""
    from tests.welfare.support import long_tokens

    long_tokens(api)  # the clock moves a day
    s = api.ids["station"]
    api.clock.set(utc(2026, 11, 23, 1, 0))
    async with api.platform.store.begin() as conn:
        await conn.execute(update(caregivers).values(shifts=SHIFTS))
        await conn.execute(
            update(stations)
            .where(stations.c.id == s)
            .values(
                kitchen={
                    "name": "中央厨房",
                    "lat": near(300)[0],
                    "lng": near(300)[1],
                    "box_capacity": 6,
                }
            )
        )
    menu = {"dishes": [{"code": "fish", "name_zh": "清蒸鱼套餐", "price_fen": 500, "tags": []}]}
    await api.call(
        "PUT", f"/api/v1/stations/{s}/meal-menus/2026-11-24", "operator", json=menu, expect=200
    )
    for key in ("elder", "elder_other"):
        await api.call(
            "POST",
            f"/api/v1/elders/{api.ids[key]}/meal-orders",
            "operator",
            json={"day": "2026-11-24", "mode": "delivery", "dishes": ["fish"]},
            expect=201,
        )
    await api.advance(24 * 3600 + 30 * 60)  # Tuesday 09:30 Shanghai: the cut-off fires
    await api.pump()
    mp: Any = await api.call(
        "GET", f"/api/v1/stations/{s}/meal-plans/latest", "operator", expect=200
    )
    assert mp["unassigned"] == []
    assert 0 < mp["max_kitchen_to_door_s"] <= 30 * 60
    stops = [(r["courier_id"], st) for r in mp["routes"] for st in r["stops"]]
    for kind in ("pickup", "deliver"):
        assert sum(st["kind"] == kind for _, st in stops) == 2
    for cid, st in stops:
        if st["kind"] == "deliver":
            assert 11 * 3600 <= st["at_s"] <= 12 * 3600 + 1800
            pick = next(
                p for c, p in stops if p["kind"] == "pickup" and p["task_id"] == st["task_id"]
            )
            assert next(c for c, p in stops if p is pick) == cid and pick["at_s"] <= st["at_s"]
    async with api.platform.store.read() as conn:
        rows = (await conn.execute(select(tasks).where(tasks.c.kind == "meal_delivery"))).all()
    assert all(r.status == "planned" and r.caregiver_id is not None for r in rows)
    courier = rows[0].caregiver_id
    key = "cg_a_user" if courier == api.ids["cg_a"] else "cg_b_user"
    assert await pushes_to(api, key, "meal_route.changed")
    plan = await api.call(
        "POST", f"/api/v1/stations/{s}/plans", "operator", json={"time_limit_s": 1}, expect=201
    )
    planned = {v["task_id"] for r in plan["routes"] for v in r["visits"]}
    assert not planned & {str(r.id) for r in rows}


async def test_a_booked_visit_is_planned_to_end_inside_its_window(api: Api) -> None:
    """One rule for a booking's window, in the booking service and the planner: the window
    holds the whole visit. A 60-minute chat booked 10:00-11:00 (the shortest window the service
    accepts) is planned to start at 10:00, not later; a second booking of the elder from 10:30
    overlaps it and is refused as a double booking."""
    api.clock.set(utc(2026, 11, 23, 1, 0))  # 09:00 in Shanghai
    async with api.platform.store.begin() as conn:
        await conn.execute(update(caregivers).values(shifts=SHIFTS))
    await api.call(
        "POST", f"/api/v1/stations/{api.ids['station']}/service-items/seed", "operator", expect=200
    )
    elder_bookings = f"/api/v1/elders/{api.ids['elder']}/bookings"
    body = {"item_code": "chat", "start": "2026-11-23T10:00:00+08:00"}
    booked = await api.call(
        "POST", elder_bookings, "operator", json={**body, "end": "2026-11-23T11:00:00+08:00"},
        expect=201,
    )  # fmt: skip
    status, problem = await api.call(
        "POST",
        elder_bookings,
        "operator",
        json={**body, "start": "2026-11-23T10:30:00+08:00", "end": "2026-11-23T12:00:00+08:00"},
    )
    assert (status, problem["code"]) == (409, "booking.double_booked")
    snap = await snapshot_now(api)
    [task] = [t for t in snap.tasks if t.task_id == str(booked["task_id"])]
    assert (task.earliest_s, task.latest_s, task.duration_s) == (36000, 36000, 3600)
    plan = await plan_now(api)
    assert plan["unassigned"] == []
    async with api.platform.store.read() as conn:
        planned = (
            await conn.execute(select(tasks.c.planned_start).where(tasks.c.id == booked["task_id"]))
        ).scalar_one()
    assert planned is not None and planned.astimezone(SHANGHAI).hour == 10
    assert planned.astimezone(SHANGHAI).minute == 0
