"""Providers in the day's work, through the real app: 持证上岗 at completion and in the plan, a
black-listed caregiver taken off today's plan and out of the offers, and a fraud case upheld
and recovered to the fen."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from server.incidents.flows.snapshot import caregiver_states
from server.incidents.tables import alarms, offers
from server.platform import Tx
from server.providers.tables import fraud_holds
from server.registry.tables import caregivers
from server.tasks.tables import tasks
from server.welfare.tables import ledger_entries, service_records
from tests.conftest import BACKENDS
from tests.providers.support import employ, listing, provider
from tests.support.api import Api
from tests.welfare.test_api_welfare import assign, book, done, setup

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

TUE = "2026-11-24T{}:00+08:00"


async def set_caregiver(api: Api, key: str, **values: Any) -> None:
    async with api.platform.store.begin() as conn:
        await conn.execute(
            update(caregivers).where(caregivers.c.id == api.ids[key]).values(**values)
        )


async def task_of(api: Api, booking: dict[str, Any]) -> Any:
    async with api.platform.store.read() as conn:
        return (await conn.execute(select(tasks).where(tasks.c.id == booking["task_id"]))).one()


async def plan_tuesday(api: Api) -> None:
    await api.call(
        "POST",
        f"/api/v1/stations/{api.ids['station']}/plans",
        "operator",
        json={"day": "2026-11-24", "time_limit_s": 1},
        expect=201,
    )


async def live_records(api: Api) -> list[Any]:
    async with api.platform.store.read() as conn:
        return list((await conn.execute(select(service_records))).all())


async def test_no_valid_certificate_no_visit(api: Api) -> None:
    await setup(api)
    expired = [{"name": "养老护理员", "number": "x", "expires": "2026-11-01"}]
    shift = [{"weekday": 1, "start": "08:00", "end": "17:00"}]
    await set_caregiver(api, "cg_b", certificates=expired, shifts=shift)
    b = await book(api, TUE.format("09:00"), TUE.format("10:30"))
    # the plan will not give a bath to a caregiver whose certificate has lapsed
    await plan_tuesday(api)
    assert (await task_of(api, b)).caregiver_id is None
    # nor can it be recorded for her: refused, nothing written
    await assign(api, b)
    api.clock.advance(hours=30)
    got, problem = await api.call(
        "POST",
        f"/api/v1/bookings/{b['id']}/complete",
        "cg_b",
        json=done(TUE.format("09:00"), TUE.format("10:30")),
    )
    assert (got, problem["code"], problem["certificate"]) == (
        409,
        "caregiver.no_certificate",
        "养老护理员",
    )
    assert await live_records(api) == []
    # renewed: she may do it
    renewed = [{"name": "养老护理员", "number": "x", "expires": "2029-11-01"}]
    await set_caregiver(api, "cg_b", certificates=renewed)
    await api.call(
        "POST",
        f"/api/v1/bookings/{b['id']}/complete",
        "cg_b",
        json=done(TUE.format("09:00"), TUE.format("10:30")),
        expect=201,
    )


async def test_black_listed_caregiver_leaves_the_plan_and_the_offers(api: Api) -> None:
    await setup(api)
    shift = [{"weekday": 1, "start": "08:00", "end": "17:00"}]
    await set_caregiver(api, "cg_b", shifts=shift)
    b = await book(api, TUE.format("09:00"), TUE.format("10:30"))
    await plan_tuesday(api)
    assert (await task_of(api, b)).caregiver_id == api.ids["cg_b"]
    api.clock.advance(hours=21)  # Tuesday 07:00: the plan is today's
    listed = await api.call(
        "POST",
        "/api/v1/provider-listings",
        "admin",
        json=listing("caregiver", api.ids["cg_b"], "black", "2026-11-24"),
        expect=201,
    )
    assert listed["replanned_tasks"] == [b["task_id"]]
    t = await task_of(api, b)
    assert (t.status, t.caregiver_id) == ("open", None)
    async with api.platform.store.read() as conn:
        kinds = (
            await conn.execute(
                select(alarms.c.kind, alarms.c.params).where(
                    alarms.c.station_id == api.ids["station"]
                )
            )
        ).all()
        states = await caregiver_states(
            Tx(conn=conn, now=api.clock.now()), api.ids["station"], api.clock.now()
        )
    assert [(k, p["count"]) for k, p in kinds] == [(f"caregiver_black_listed:{api.ids['cg_b']}", 1)]
    # she is never offered an emergency, nor can the operator give her one; cg_a still is
    assert {s.caregiver_id for s in states} == {api.ids["cg_a"]}
    inc = await api.press(expect=201)
    await api.pump()
    async with api.platform.store.read() as conn:
        offered = set((await conn.execute(select(offers.c.caregiver_id))).scalars())
    assert offered == {api.ids["cg_a"]}
    got, problem = await api.call(
        "POST",
        f"/api/v1/incidents/{inc['id']}/assign",
        "operator",
        json={"caregiver_id": api.ids["cg_b"], "reason": "熟悉老人"},
    )
    assert (got, problem["code"]) == (409, "caregiver.black_listed")
    # the station's day is planned again without her (nobody else bathes: the visit waits)
    await api.pump()
    latest = await api.call(
        "GET", f"/api/v1/stations/{api.ids['station']}/plans/latest", "operator", expect=200
    )
    assert latest["trigger"] == "black_list"
    t = await task_of(api, b)
    assert t.caregiver_id is None
    # and nothing new is recorded for her
    await assign(api, b)
    api.clock.advance(hours=4)
    got, problem = await api.call(
        "POST",
        f"/api/v1/bookings/{b['id']}/complete",
        "cg_b",
        json=done(TUE.format("09:00"), TUE.format("10:30")),
    )
    assert (got, problem["code"]) == (409, "caregiver.black_listed")
    assert await live_records(api) == []


async def quota_left(api: Api) -> int:
    led = await api.call("GET", f"/api/v1/elders/{api.ids['elder']}/ledger", "elder", expect=200)
    return int(led["quota_left_fen"])


async def settlement(api: Api, pid: int) -> dict[str, Any]:
    got: dict[str, Any] = await api.call(
        "GET", f"/api/v1/providers/{pid}/settlements/2026Q4", "admin", expect=200
    )
    return got


async def test_a_fraud_case_is_recovered_to_the_fen(api: Api) -> None:
    await setup(api)
    p1, p2 = await provider(api, 1), await provider(api, 2)
    await employ(api, "cg_b", p1)
    start = await quota_left(api)
    a = await book(api, TUE.format("09:00"), TUE.format("10:30"))
    b = await book(api, TUE.format("13:00"), TUE.format("14:30"))
    await assign(api, a)
    await assign(api, b)
    api.clock.advance(hours=30)
    complete = "/api/v1/bookings/{}/complete"
    rec_a = await api.call(
        "POST",
        complete.format(a["id"]),
        "cg_b",
        json=done(TUE.format("09:05"), TUE.format("10:30")),
        expect=201,
    )
    # a 10-second record of a 90-minute bath: recorded, but held
    rec_b = await api.call(
        "POST",
        complete.format(b["id"]),
        "cg_b",
        json=done("2026-11-24T13:00:00+08:00", "2026-11-24T13:00:10+08:00"),
        expect=201,
    )
    review = "/api/v1/service-records/{}/review"
    await api.call(
        "POST", review.format(rec_a["id"]), "operator", json={"decision": "passed"}, expect=200
    )
    got, problem = await api.call(
        "POST", review.format(rec_b["id"]), "operator", json={"decision": "passed"}
    )
    assert (got, problem["code"]) == (409, "record.on_hold")
    holds = await api.call("GET", "/api/v1/districts/朝阳区/fraud-holds", "admin", expect=200)
    assert [(h["record_id"], h["signal"], h["status"]) for h in holds] == [
        (rec_b["id"], "fraud.short_visit", "held")
    ]
    s = await settlement(api, p1)
    assert (s["gross_fen"], s["held"], s["net_fen"]) == (6000, 1, 6000)
    # the officer looks again at the passed (and paid) visit: held, then upheld
    hold_a = await api.call(
        "POST",
        "/api/v1/fraud-holds",
        "admin",
        json={"record_id": rec_a["id"], "signal": "fraud.while_in_hospital", "detail": "住院"},
        expect=201,
    )
    decision = "/api/v1/fraud-holds/{}/decision"
    async with api.platform.store.read() as conn:
        entries_before = len((await conn.execute(select(ledger_entries))).all())
    got, problem = await api.call(
        "POST",
        decision.format(hold_a["id"]),
        "admin",
        json={"decision": "upheld", "note": "核实未服务", "recover_fen": 6001},
    )
    assert (got, problem["code"], problem["paid_fen"]) == (
        422,
        "fraud.recover_more_than_paid",
        6000,
    )
    async with api.platform.store.read() as conn:
        assert len((await conn.execute(select(ledger_entries))).all()) == entries_before
        assert (
            await conn.execute(select(fraud_holds.c.status).where(fraud_holds.c.id == hold_a["id"]))
        ).scalar() == "held"
    assert await quota_left(api) == start - 6000 - 6000  # both charges still reserved
    upheld = await api.call(
        "POST",
        decision.format(hold_a["id"]),
        "admin",
        json={"decision": "upheld", "note": "核实未服务"},
        expect=200,
    )
    assert (upheld["status"], upheld["paid_fen"], upheld["recovered_fen"]) == ("upheld", 6000, 6000)
    again, problem = await api.call(
        "POST", decision.format(hold_a["id"]), "admin", json={"decision": "dismissed", "note": "x"}
    )
    assert (again, problem["code"]) == (409, "fraud_hold_state_conflict")
    # the short one is dismissed after a call to the elder: released, then passed
    hold_b = holds[0]["id"]
    await api.call(
        "POST",
        decision.format(hold_b),
        "admin",
        json={"decision": "dismissed", "note": "老人确认已服务"},
        expect=200,
    )
    await api.call(
        "POST", review.format(rec_b["id"]), "operator", json={"decision": "passed"}, expect=200
    )
    # to the fen: the elder's quota has exactly the kept visit charged; the provider was paid
    # for both and gives one back
    assert await quota_left(api) == start - 6000
    s = await settlement(api, p1)
    assert (s["gross_fen"], s["recovered_fen"], s["net_fen"], s["held"]) == (12000, 6000, 6000, 0)
    # the caregiver moves to another provider: later visits are its, earlier ones stay
    await employ(api, "cg_b", p2)
    c = await book(
        api, TUE.replace("24", "25").format("13:00"), TUE.replace("24", "25").format("14:30")
    )
    await assign(api, c)
    api.clock.advance(hours=30)
    rec_c = await api.call(
        "POST",
        complete.format(c["id"]),
        "cg_b",
        json=done(TUE.replace("24", "25").format("13:00"), TUE.replace("24", "25").format("14:30")),
        expect=201,
    )
    await api.call(
        "POST", review.format(rec_c["id"]), "operator", json={"decision": "passed"}, expect=200
    )
    assert (await settlement(api, p1))["net_fen"] == 6000
    assert (await settlement(api, p2))["net_fen"] == 6000
    # the district pays what the ledger says was used, to the fen: three spends, one reversed
    summary = await api.call(
        "GET", "/api/v1/districts/朝阳区/provider-settlements/2026Q4", "admin", expect=200
    )
    led = await api.call("GET", f"/api/v1/elders/{api.ids['elder']}/ledger", "elder", expect=200)
    spends = {e["entry_id"]: e["amount_fen"] for e in led["entries"] if e["kind"] == "spend"}
    restored = sum(
        e["amount_fen"]
        for e in led["entries"]
        if e["kind"] == "reversal" and e["reverses"] in spends
    )
    used = -sum(spends.values()) - restored
    assert (summary["gross_fen"], summary["recovered_fen"]) == (18000, 6000)
    assert summary["net_fen"] == used == 12000 == start - await quota_left(api)
    assert [x["provider_id"] for x in summary["providers"]] == [p1, p2]
    r = await api.client.get(
        f"/api/v1/providers/{p1}/settlements/2026Q4.csv", headers=api.h("admin")
    )
    text = (await r.read()).decode("utf-8-sig")
    assert "已追回" in text and "合计" in text
    r = await api.client.get(
        f"/api/v1/providers/{p1}/settlements/2026Q4.xlsx", headers=api.h("admin")
    )
    rows = list(load_workbook(io.BytesIO(await r.read())).worksheets[0].iter_rows(values_only=True))
    assert rows[-2][4:6] == (12000, 6000)  # the 合计 row: paid for, recovered


async def test_a_visit_while_the_elder_is_in_hospital_is_held(api: Api) -> None:
    await setup(api)
    b = await book(api, TUE.format("09:00"), TUE.format("10:30"))
    await assign(api, b)
    await api.call(
        "POST",
        f"/api/v1/elders/{api.ids['elder']}/hospital-stays",
        "operator",
        json={
            "admitted_at": "2026-11-23T20:00:00+08:00",
            "discharged_at": "2026-11-26T10:00:00+08:00",
            "hospital": "朝阳医院",
        },
        expect=201,
    )
    api.clock.advance(hours=30)
    rec = await api.call(
        "POST",
        f"/api/v1/bookings/{b['id']}/complete",
        "cg_b",
        json=done(TUE.format("09:00"), TUE.format("10:30")),
        expect=201,
    )
    holds = await api.call("GET", "/api/v1/districts/朝阳区/fraud-holds", "admin", expect=200)
    assert [(h["record_id"], h["signal"], h["status"]) for h in holds] == [
        (rec["id"], "fraud.while_in_hospital", "held")
    ]
    assert holds[0]["detail"].startswith("stay_id=")
    got, problem = await api.call(
        "POST",
        f"/api/v1/service-records/{rec['id']}/review",
        "operator",
        json={"decision": "passed"},
    )
    assert (got, problem["code"]) == (409, "record.on_hold")


async def test_a_black_listed_providers_caregivers_are_not_offered_an_emergency(api: Api) -> None:
    """Both black lists in one read: a provider's (every caregiver it employs) and a
    caregiver's own; a red listing blocks nobody."""
    await setup(api)
    bad, good = await provider(api, 1), await provider(api, 2)
    await employ(api, "cg_b", bad)
    await employ(api, "cg_a", good)
    for body in (listing("provider", bad, "black"), listing("provider", good, "red")):
        await api.call("POST", "/api/v1/provider-listings", "admin", json=body, expect=201)
    api.clock.advance(hours=21)
    async with api.platform.store.read() as conn:
        states = await caregiver_states(
            Tx(conn=conn, now=api.clock.now()), api.ids["station"], api.clock.now()
        )
    assert {s.caregiver_id for s in states} == {api.ids["cg_a"]}
    await api.press(expect=201)
    await api.pump()
    async with api.platform.store.read() as conn:
        offered = set((await conn.execute(select(offers.c.caregiver_id))).scalars())
    assert offered == {api.ids["cg_a"]}
