"""The fraud signals that wait for the officer: no arrival proof, and one door card proving
many visits with no location fix. Each is listed with its evidence beside the holds; the
officer holds the record from there and it leaves the list."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import select

from server.providers.rules import CardUse, card_reuse
from server.welfare.tables import service_records
from tests.conftest import BACKENDS
from tests.providers.support import DISTRICT, employ, provider, seed_records
from tests.support.api import Api
from tests.welfare.support import long_tokens
from tests.welfare.test_api_welfare import assign, book, done, setup

SIGNALS = f"/api/v1/districts/{quote(DISTRICT)}/fraud-signals/2026Q4"
TUE = "2026-11-24T{}:00+08:00"


def use(rid: int, day: int, version: int = 1, elder: int = 1) -> CardUse:
    return CardUse(rid, elder, version, date(2026, 11, day))


def test_a_card_used_for_many_visits_in_a_week() -> None:
    six_in_a_week = [use(n, 10 + n) for n in range(6)]  # the 10th to the 15th
    assert card_reuse(six_in_a_week) == {n: 6 for n in range(6)}
    # spread over two weeks: never six within seven days
    assert card_reuse([use(n, 1 + 3 * n) for n in range(6)]) == {}
    # a rotated card is another card; another elder's card is another card
    mixed = [use(n, 10 + n, version=1 + n % 2) for n in range(6)]
    assert card_reuse(mixed) == {}
    assert card_reuse([use(n, 10, elder=n) for n in range(6)]) == {}
    # daily for ten days: every visit is in some week of seven
    assert set(card_reuse([use(n, 1 + n) for n in range(10)])) == set(range(10))


async def seed_card_visits(api: Api, pid: int, version: int, n: int) -> list[int]:
    first = datetime(2026, 11, 18, 1, 0, tzinfo=UTC)  # the 18th to the 22nd
    return await seed_records(
        api,
        [first + timedelta(days=k) for k in range(n)],
        caregiver_id=api.ids["cg_b"],
        provider_id=pid,
        proofs=["door_code"],
        door_code_ok=True,
        door_card_version=version,
    )


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_unproven_visits_and_a_reused_card_wait_for_the_officer(api: Api) -> None:
    long_tokens(api)
    await setup(api)
    pid = await provider(api, 1)
    await employ(api, "cg_b", pid)
    card = await api.call(
        "GET", f"/api/v1/elders/{api.ids['elder']}/door-card", "operator", expect=200
    )
    bare = await book(api, TUE.format("09:00"), TUE.format("10:00"), "chat")
    carded = await book(api, TUE.format("13:00"), TUE.format("14:00"), "chat")
    for b in (bare, carded):
        await assign(api, b)
    api.clock.advance(hours=30)
    complete = "/api/v1/bookings/{}/complete"
    body = done(TUE.format("09:00"), TUE.format("10:00"), at_home=False)
    no_proof = await api.call("POST", complete.format(bare["id"]), "cg_b", json=body, expect=201)
    body = {
        **done(TUE.format("13:00"), TUE.format("14:00"), at_home=False),
        "door_code": card["code"],
    }
    by_card = await api.call("POST", complete.format(carded["id"]), "cg_b", json=body, expect=201)
    async with api.platform.store.read() as conn:
        version = (
            await conn.execute(
                select(service_records.c.door_card_version).where(
                    service_records.c.id == by_card["id"]
                )
            )
        ).scalar()
    assert version == card["version"]  # the card (not the phone's code) proved it
    # one card visit is no signal; the visit with no proof is
    got = await api.call("GET", SIGNALS, "admin", expect=200)
    assert [(s["record_id"], s["signal"], s["detail"]) for s in got] == [
        (no_proof["id"], "fraud.no_arrival_check", "proofs=none")
    ]
    assert got[0]["provider_id"] == pid and got[0]["record"]["proofs"] == []
    assert got[0]["record"]["elder_name"] and got[0]["record"]["caregiver_name"]
    # five more visits by that card in the week before: six within seven days
    earlier = await seed_card_visits(api, pid, version, 5)
    got = await api.call("GET", SIGNALS, "admin", expect=200)
    reuse = {s["record_id"]: s["detail"] for s in got if s["signal"] == "fraud.door_code_reuse"}
    assert set(reuse) == {*earlier, by_card["id"]}
    assert reuse[by_card["id"]] == f"visits=6 days=7 card=v{version}"
    # the officer holds one from its evidence: it leaves the signals, joins the holds
    signal = next(s for s in got if s["record_id"] == by_card["id"])
    hold = {
        "record_id": signal["record_id"],
        "signal": signal["signal"],
        "detail": signal["detail"],
    }
    await api.call("POST", "/api/v1/fraud-holds", "admin", json=hold, expect=201)
    after = await api.call("GET", SIGNALS, "admin", expect=200)
    assert by_card["id"] not in {s["record_id"] for s in after} and len(after) == len(got) - 1
    holds = await api.call(
        "GET", f"/api/v1/districts/{quote(DISTRICT)}/fraud-holds", "admin", expect=200
    )
    assert [(h["record_id"], h["signal"], h["record"]["proofs"]) for h in holds] == [
        (by_card["id"], "fraud.door_code_reuse", ["door_code"])
    ]
    # another district's officer sees nothing of it
    status, _ = await api.call("GET", SIGNALS, "operator")
    assert status == 403
