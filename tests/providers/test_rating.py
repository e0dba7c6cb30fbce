"""The annual rating through the real app, from a seeded year of evidence: computed under the
versioned weights, refused for a year not over, signed by the officer (a changed grade needs a
reason), and 不合格 ends the provider's contracts at their period's end and stops new ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from server.hotline.tables import complaints, satisfaction
from server.providers.tables import provider_contracts, provider_ratings
from server.welfare.tables import service_records
from tests.conftest import BACKENDS
from tests.providers.support import DISTRICT, contract_body, employ, provider
from tests.support.api import Api
from tests.welfare.support import long_tokens

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
