"""Welfare steps that must leave an audit row: a hospital stay recorded, a step gone overdue."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.store.tables import audit_log
from tests.conftest import BACKENDS
from tests.support.api import Api
from tests.welfare.test_api_welfare import setup

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def audit_rows(api: Api, action: str) -> list[tuple[str, str]]:
    async with api.platform.store.read() as conn:
        rows = (await conn.execute(select(audit_log).where(audit_log.c.action == action))).all()
    return [(r.object_type, r.object_id) for r in rows]


async def test_recording_a_hospital_stay_is_audited(api: Api) -> None:
    await setup(api)
    eid = api.ids["elder"]
    body = {"admitted_at": "2026-11-20T08:00:00+08:00", "hospital": "朝阳医院"}
    await api.call(
        "POST", f"/api/v1/elders/{eid}/hospital-stays", "operator", json=body, expect=201
    )
    assert await audit_rows(api, "record_hospital_stay") == [("elder", str(eid))]


async def test_an_overdue_step_is_audited(api: Api) -> None:
    await setup(api)
    a = await api.call(
        "POST",
        f"/api/v1/elders/{api.ids['elder']}/applications",
        "family",
        json={"rule_id": "dibao"},
        expect=201,
    )
    await api.advance(15 * 24 * 3600)  # community step due 7 Dec; overdue from the 8th
    assert await audit_rows(api, "application_overdue") == [("application", str(a["id"]))]


async def test_door_card_rotates_and_operators_read_codes_only_for_elders_without_phones(
    api: Api,
) -> None:
    from sqlalchemy import update

    from server.registry.tables import elders
    from tests.welfare.test_api_welfare import assign, book, done

    await setup(api)
    eid = api.ids["elder"]
    status, problem = await api.call("GET", f"/api/v1/elders/{eid}/visit-code", "operator")
    assert (status, problem["code"]) == (403, "visit_code.elder_has_phone")
    async with api.platform.store.begin() as conn:
        await conn.execute(update(elders).where(elders.c.id == eid).values(phone=None))
    code = await api.call("GET", f"/api/v1/elders/{eid}/visit-code", "operator", expect=200)
    assert len(code["code"]) == 6
    assert await audit_rows(api, "read_visit_code") == [("elder", str(eid))]
    old = await api.call("GET", f"/api/v1/elders/{eid}/door-card", "operator", expect=200)
    new = await api.call("POST", f"/api/v1/elders/{eid}/door-card/rotate", "operator", expect=200)
    assert new["version"] == old["version"] + 1 and new["code"] != old["code"]
    assert await audit_rows(api, "rotate_door_card") == [("elder", str(eid))]
    status, _ = await api.call("GET", f"/api/v1/elders/{eid}/door-card", "operator2")
    assert status == 404
    proofs = []
    for hour, card in ((9, old["code"]), (13, new["code"])):
        s, e = f"2026-11-24T{hour:02d}:00:00+08:00", f"2026-11-24T{hour + 1:02d}:30:00+08:00"
        b = await book(api, s, e)
        await assign(api, b)
        proofs.append((b, s, e, card))
    api.clock.advance(hours=30)
    got = []
    for b, s, e, card in proofs:
        r = await api.call(
            "POST",
            f"/api/v1/bookings/{b['id']}/complete",
            "cg_b",
            json={**done(s, e, at_home=False), "door_code": card},
            expect=201,
        )
        got.append(r["proofs"])
    assert got == [[], ["door_code"]]  # the rotated-out card proves nothing
