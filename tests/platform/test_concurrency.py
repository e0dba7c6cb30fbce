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
