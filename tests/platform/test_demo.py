"""The demo station seeds on both engines (PostgreSQL enforces column lengths SQLite does not)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from server.demo import seed_demo
from server.registry.tables import caregivers, elders
from server.settings import Settings
from server.store.engine import Store
from server.store.migrate import upgrade
from tests.conftest import BACKENDS

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def empty_schema() -> bool:
    return True


async def test_demo_seeds_a_station_like_the_domain_brief(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url)
    first = await seed_demo(Settings(database_url=database_url))
    again = await seed_demo(Settings(database_url=database_url))
    assert "seeded" in first and "already seeded" in again
    store = Store(database_url)
    async with store.read() as conn:
        n_elders = (await conn.execute(select(func.count()).select_from(elders))).scalar_one()
        n_cg = (await conn.execute(select(func.count()).select_from(caregivers))).scalar_one()
    await store.dispose()
    assert n_elders == 320 and n_cg >= 3
