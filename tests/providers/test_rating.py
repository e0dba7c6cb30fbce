"""The annual rating through the real app, from a seeded year of evidence: computed under the
versioned weights, refused for a year not over, signed by the officer (a changed grade needs a
reason), and 不合格 ends the provider's contracts at their period's end and stops new ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from server.hotline.tables import complaints, satisfaction
from server.providers.tables import provider_contracts, provider_ratings
from server.registry.tables import caregivers
from server.tasks.tables import tasks
from server.welfare.tables import service_records
from tests.conftest import BACKENDS
from tests.providers.support import DISTRICT, contract_body, employ, provider
from tests.support.api import Api
from tests.welfare.support import long_tokens
from tests.welfare.test_api_welfare import book, setup

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def seed_2025(api: Api, pid: int) -> None:
    """Twenty proven visits by the provider's caregiver in 2025, nineteen satisfied answers of
    twenty (95 %), one complaint."""
    cg, elder, station = api.ids["cg_b"], api.ids["elder"], api.ids["station"]
    first = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
    async with api.platform.store.begin() as conn:
        for n in range(20):
            at = first + timedelta(days=n)
            await conn.execute(
                insert(service_records).values(
                    station_id=station,
                    district=DISTRICT,
                    elder_id=elder,
                    caregiver_id=cg,
                    provider_id=pid,
                    item_code="bath-help",
                    item_name="助浴",
                    started_at=at,
                    ended_at=at + timedelta(minutes=90),
                    price_fen=6000,
                    subsidy_fen=6000,
                    self_pay_fen=0,
                    proofs=["geofence"],
                    review="passed",
                    created_at=at,
                )
            )
            await conn.execute(
                insert(satisfaction).values(
                    station_id=station,
                    elder_id=elder,
                    provider_id=cg,
                    answer="dissatisfied" if n == 0 else "satisfied",
                    channel="phone",
                    at=at + timedelta(days=1),
                )
            )
        await conn.execute(
            insert(complaints).values(
                station_id=station,
                elder_id=elder,
                provider_id=cg,
                text="迟到",
                status="closed",
                deadline=first + timedelta(days=3),
                opened_at=first,
                updated_at=first,
            )
        )
        # a visit of 2026 is not the 2025 rating's evidence
        at = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
        await conn.execute(
            insert(service_records).values(
                station_id=station,
                district=DISTRICT,
                elder_id=elder,
                caregiver_id=cg,
                provider_id=pid,
                item_code="bath-help",
                item_name="助浴",
                started_at=at,
                ended_at=at + timedelta(minutes=90),
                price_fen=6000,
                subsidy_fen=6000,
                self_pay_fen=0,
                proofs=[],
                created_at=at,
            )
        )


async def test_the_rating_from_a_seeded_year(api: Api) -> None:
    long_tokens(api)
    pid = await provider(api, 1)
    await employ(api, "cg_b", pid)
    contract = await api.call(
        "POST", "/api/v1/provider-contracts", "admin", json=contract_body(pid), expect=201
    )
    await seed_2025(api, pid)
    got, problem = await api.call(
        "POST", "/api/v1/provider-ratings", "admin", json={"provider_id": pid, "year": 2026}
    )
    assert (got, problem["code"]) == (422, "rating.year_not_finished")
    rated = await api.call(
        "POST",
        "/api/v1/provider-ratings",
        "admin",
        json={"provider_id": pid, "year": 2025},
        expect=201,
    )
    ev = rated["evidence"]
    assert (ev["visits"], ev["proven"], ev["satisfied"], ev["answers"]) == (20, 20, 19, 20)
    assert (ev["complaints_upheld"], ev["fraud_upheld"], ev["late"], ev["missed"]) == (1, 0, 0, 0)
    # 30 satisfaction (95 % met) + 12 complaints (one upheld) + 20 + 15 + 10 + 0 return visits
    assert (rated["score"], rated["computed_grade"], rated["weights_version"]) == (
        87.0,
        "qualified",
        1,
    )
    again, problem = await api.call(
        "POST", "/api/v1/provider-ratings", "admin", json={"provider_id": pid, "year": 2025}
    )
    assert (again, problem["code"]) == (409, "rating.exists")
    sign = f"/api/v1/provider-ratings/{rated['id']}/sign"
    got, problem = await api.call("POST", sign, "admin", json={"grade": "unqualified"})
    assert (got, problem["code"]) == (422, "rating.adjust_needs_reason")
    async with api.platform.store.read() as conn:
        status = (await conn.execute(select(provider_ratings.c.status))).scalar()
    assert status == "draft"
    signed = await api.call(
        "POST",
        sign,
        "admin",
        json={"grade": "unqualified", "reason": "复查发现多起虚假记录"},
        expect=200,
    )
    assert (signed["status"], signed["grade"], signed["contracts_ending"]) == (
        "signed",
        "unqualified",
        [contract["id"]],
    )
    async with api.platform.store.read() as conn:
        row = (await conn.execute(select(provider_contracts))).one()
    assert (row.status, row.ends_on.isoformat()) == ("ending", "2026-12-31")
    got, problem = await api.call(
        "POST",
        "/api/v1/provider-contracts",
        "admin",
        json=contract_body(pid, "2027-01-01", "2027-12-31"),
    )
    assert (got, problem["code"]) == (409, "provider.unqualified")
    got, problem = await api.call("POST", sign, "admin", json={})
    assert (got, problem["code"]) == (409, "rating_state_conflict")
    # the period runs out: the contract has ended by itself
    api.clock.advance(days=39)  # 2027-01-01 10:00 in Shanghai
    await api.pump()
    async with api.platform.store.read() as conn:
        assert (await conn.execute(select(provider_contracts.c.status))).scalar() == "ended"
    got, _ = await api.call(
        "POST", "/api/v1/provider-ratings", "operator", json={"provider_id": pid, "year": 2025}
    )
    assert got == 403


async def test_an_unqualified_provider_gets_no_new_bookings(api: Api) -> None:
    """A visit booked before the 不合格 is signed is still the provider's to do; one booked after
    goes to nobody of that provider."""
    await setup(api)
    pid = await provider(api, 1)
    await employ(api, "cg_b", pid)
    async with api.platform.store.begin() as conn:
        await conn.execute(
            update(caregivers)
            .where(caregivers.c.id == api.ids["cg_b"])
            .values(shifts=[{"weekday": 1, "start": "08:00", "end": "17:00"}])
        )
    before = await book(api, "2026-11-24T09:00:00+08:00", "2026-11-24T10:30:00+08:00")
    rated = await api.call(
        "POST",
        "/api/v1/provider-ratings",
        "admin",
        json={"provider_id": pid, "year": 2025},
        expect=201,
    )
    await api.call(
        "POST",
        f"/api/v1/provider-ratings/{rated['id']}/sign",
        "admin",
        json={"grade": "unqualified", "reason": "无服务记录，未履约"},
        expect=200,
    )
    api.clock.advance(minutes=5)
    after = await book(api, "2026-11-24T13:00:00+08:00", "2026-11-24T14:30:00+08:00")
    await api.call(
        "POST",
        f"/api/v1/stations/{api.ids['station']}/plans",
        "operator",
        json={"day": "2026-11-24", "time_limit_s": 1},
        expect=201,
    )
    async with api.platform.store.read() as conn:
        got = dict(
            (
                await conn.execute(
                    select(tasks.c.id, tasks.c.caregiver_id).where(
                        tasks.c.id.in_([before["task_id"], after["task_id"]])
                    )
                )
            ).all()
        )
    assert got == {before["task_id"]: api.ids["cg_b"], after["task_id"]: None}
