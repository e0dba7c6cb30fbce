"""Repeated and concurrent presses never make a second incident."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from server.incidents.tables import incidents
from tests.conftest import BACKENDS
from tests.support.api import Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def count_incidents(api: Api) -> int:
    async with api.platform.store.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(incidents))).scalar_one())


async def test_concurrent_retries_with_one_key_make_one_incident(api: Api) -> None:
    answers = await asyncio.gather(*(api.press(key="same-key-123") for _ in range(10)))
    assert {s for s, _ in answers} <= {201, 409}
    ids = {b["id"] for s, b in answers if s == 201}
    assert len(ids) == 1 and await count_incidents(api) == 1


async def test_concurrent_presses_with_new_keys_join_one_incident(api: Api) -> None:
    answers = await asyncio.gather(*(api.press() for _ in range(8)))
    assert all(s in (200, 201) for s, _ in answers)
    assert len({b["id"] for _, b in answers}) == 1
    assert await count_incidents(api) == 1
    assert max(b["press_count"] for _, b in answers) == 8


async def _offers(api: Api, who: str) -> list[dict[str, object]]:
    status, body = await api.call("GET", "/api/v1/offers", who)
    assert status < 500, body
    return list(body) if status == 200 else []


async def _accept_any(api: Api, who: str) -> list[int]:
    statuses = []
    for offer in await _offers(api, who):
        status, _ = await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", who)
        statuses.append(status)
    return statuses


async def _assign(api: Api, incident_id: int, caregiver: str) -> list[int]:
    status, _ = await api.call(
        "POST",
        f"/api/v1/incidents/{incident_id}/assign",
        "operator",
        json={"caregiver_id": api.ids[caregiver], "reason": "离得近"},
    )
    return [status]


async def _relay(api: Api) -> list[int]:
    await api.pump()
    return []


async def test_presses_accepts_and_dispatches_racing_on_one_elder_never_answer_5xx(
    api: Api,
) -> None:
    """Presses from the elder and the family, two dispatch passes, both caregivers
    accepting and the operator reassigning, all at once, five times over: every answer is
    a success or a clear 409, never a 5xx, and every acknowledged press is on one call."""
    first = await api.press(expect=201)
    for _ in range(5):
        results = await asyncio.gather(
            *(api.press() for _ in range(4)),
            api.press("family", elder_id=api.ids["elder"]),
            _relay(api),
            _relay(api),
            _accept_any(api, "cg_a"),
            _accept_any(api, "cg_b"),
            _assign(api, first["id"], "cg_b"),
        )
        presses = [r for r in results[:5]]
        assert all(s in (200, 201) for s, _ in presses), presses
        assert {b["id"] for _, b in presses} == {first["id"]}
        others = [s for r in results[5:] for s in r]
        assert all(s < 500 for s in others), others
    assert await count_incidents(api) == 1
