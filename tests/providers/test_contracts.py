"""Providers and contracts through the real app: registration with a verified code and a licence
in force, the street's limit of three providers, and the lists' effect on contracting."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import pytest
from sqlalchemy import Table, func, select

from server.providers.tables import provider_contracts, providers
from tests.conftest import BACKENDS
from tests.providers.support import (
    DISTRICT,
    STREET,
    contract_body,
    listing,
    provider,
    provider_body,
)
from tests.support.api import Api
from tests.welfare.support import long_tokens

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def count(api: Api, table: Table) -> int:
    async with api.platform.store.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar() or 0)


async def test_bad_registrations_are_refused_whole(api: Api) -> None:
    long_tokens(api)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"credit_code": "91350100M000100Y44"}, 422, "provider.credit_code_invalid"),
        ({"credit_code": "NOT-A-CODE"}, 422, "provider.credit_code_invalid"),
        (
            {"licence": {"kind": "营业执照", "number": "L", "expires": "2026-11-22"}},
            422,
            "provider.licence_expired",
        ),
        (
            {"documents": [{"kind": "资质", "number": "Q", "expires": "2025-01-01"}]},
            422,
            "provider.licence_expired",
        ),
    ]
    for change, status, code in cases:
        got, problem = await api.call(
            "POST", "/api/v1/providers", "admin", json=provider_body(1, **change)
        )
        assert (got, problem["code"]) == (status, code), problem
        assert "/" in problem["title"]  # Chinese / English
    assert await count(api, providers) == 0
    got, _ = await api.call("POST", "/api/v1/providers", "operator", json=provider_body(1))
    assert got == 403
    pid = await provider(api, 1)
    again, problem = await api.call("POST", "/api/v1/providers", "admin", json=provider_body(1))
    assert (again, problem["code"]) == (409, "provider.credit_code_taken")
    seen = await api.call("GET", f"/api/v1/providers/{pid}", "admin", expect=200)
    assert seen["licence"]["expires"] == "2028-12-31" and not seen["black_listed"]


async def test_a_street_contracts_one_to_three_providers(api: Api) -> None:
    long_tokens(api)
    ids = [await provider(api, n) for n in range(1, 6)]
    for pid in ids[:3]:
        await api.call(
            "POST", "/api/v1/provider-contracts", "admin", json=contract_body(pid), expect=201
        )
    got, problem = await api.call(
        "POST", "/api/v1/provider-contracts", "admin", json=contract_body(ids[3])
    )
    assert (got, problem["code"], problem["rule"], problem["limit"]) == (
        409,
        "contract.street_full",
        "street_max_providers",
        3,
    )
    assert "不超过3家" in problem["title"]
    assert sorted(problem["contracted"]) == sorted(ids[:3])
    # an overlapping second contract of a contracted provider is refused too
    got, problem = await api.call(
        "POST", "/api/v1/provider-contracts", "admin", json=contract_body(ids[0], "2026-06-01")
    )
    assert (got, problem["code"]) == (409, "contract.already_contracted")
    assert await count(api, provider_contracts) == 3
    # the next period is free: a fourth provider may be contracted from 2027
    await api.call(
        "POST",
        "/api/v1/provider-contracts",
        "admin",
        json=contract_body(ids[3], "2027-01-01", "2027-12-31"),
        expect=201,
    )
    bad, problem = await api.call(
        "POST",
        "/api/v1/provider-contracts",
        "admin",
        json=contract_body(ids[4], "2027-12-31", "2027-01-01"),
    )
    assert (bad, problem["code"]) == (422, "contract.dates_invalid")


async def test_lists_shape_who_a_street_may_contract(api: Api) -> None:
    long_tokens(api)
    a, b, c = [await provider(api, n) for n in (1, 2, 3)]
    await api.call(
        "POST", "/api/v1/provider-listings", "admin", json=listing("provider", c, "red"), expect=201
    )
    black = await api.call(
        "POST",
        "/api/v1/provider-listings",
        "admin",
        json=listing("provider", b, "black"),
        expect=201,
    )
    shown = await api.call(
        "GET", f"/api/v1/districts/{DISTRICT}/streets/{STREET}/providers", "admin", expect=200
    )
    assert [s["provider_id"] for s in shown][0] == c  # red-listed first
    assert [s["black_listed"] for s in shown if s["provider_id"] == b] == [True]
    got, problem = await api.call(
        "POST", "/api/v1/provider-contracts", "admin", json=contract_body(b)
    )
    assert (got, problem["code"]) == (409, "provider.black_listed")
    await api.call("POST", "/api/v1/provider-contracts", "admin", json=contract_body(a), expect=201)
    # published per district, as a page and an export, without signing in
    page = await api.call("GET", f"/api/v1/districts/{DISTRICT}/provider-lists", expect=200)
    assert [(x["kind"], x["subject_id"]) for x in page] == [("red", c), ("black", b)]
    r = await api.client.get(f"/api/v1/districts/{DISTRICT}/provider-lists.csv")
    assert r.status == 200
    rows = list(csv.reader(io.StringIO((await r.read()).decode("utf-8-sig"))))
    assert rows[1][:3] == ["名单", "对象类型", "名称"]
    assert rows[2][0] == "红名单" and rows[3][0] == "黑名单"
    # lifted: gone from the page, and the provider may be contracted again
    await api.call("POST", f"/api/v1/provider-listings/{black['id']}/lift", "admin", expect=200)
    page = await api.call("GET", f"/api/v1/districts/{DISTRICT}/provider-lists", expect=200)
    assert [x["subject_id"] for x in page] == [c]
    await api.call("POST", "/api/v1/provider-contracts", "admin", json=contract_body(b), expect=201)


async def test_two_officers_signing_the_third_and_fourth_at_once(api: Api) -> None:
    """The street's contracts are decided one at a time: of two racing for the last place,
    one is signed and the other told the street is full."""
    long_tokens(api)
    ids = [await provider(api, n) for n in range(1, 5)]
    for pid in ids[:2]:
        await api.call(
            "POST", "/api/v1/provider-contracts", "admin", json=contract_body(pid), expect=201
        )
    results = await asyncio.gather(
        *(
            api.call("POST", "/api/v1/provider-contracts", "admin", json=contract_body(pid))
            for pid in ids[2:]
        )
    )
    got = sorted((status, body.get("code")) for status, body in results)
    assert got == [(201, None), (409, "contract.street_full")]
    assert await count(api, provider_contracts) == 3


async def test_lists_stay_in_their_district(api: Api) -> None:
    long_tokens(api)
    pid = await provider(api, 1)
    for subject, sid in (("provider", pid), ("caregiver", api.ids["cg_b"])):
        body = {**listing(subject, sid, "black"), "district": "海淀区"}
        got, problem = await api.call("POST", "/api/v1/provider-listings", "admin", json=body)
        assert (got, problem["code"]) == (404, f"{subject}_not_found")
    got, _ = await api.call(
        "POST", "/api/v1/provider-listings", "operator", json=listing("provider", pid, "black")
    )
    assert got == 403
    page = await api.call("GET", "/api/v1/districts/海淀区/provider-lists", expect=200)
    assert page == []
    # nor does a provider of another district employ this district's caregiver
    other = await api.call(
        "POST", "/api/v1/providers", "admin", json=provider_body(9, district="海淀区"), expect=201
    )
    got, problem = await api.call(
        "PUT",
        f"/api/v1/caregivers/{api.ids['cg_b']}/provider",
        "admin",
        json={"provider_id": other["id"]},
    )
    assert (got, problem["code"]) == (404, "caregiver_not_found")

    bad = {**listing("provider", pid, "black"), "ends_on": "2026-11-01"}
    got, problem = await api.call("POST", "/api/v1/provider-listings", "admin", json=bad)
    assert (got, problem["code"]) == (422, "listing.dates_invalid")
    assert await api.call("GET", f"/api/v1/districts/{DISTRICT}/provider-lists", expect=200) == []
