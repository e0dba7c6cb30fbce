"""The demo station seeds on both engines (PostgreSQL enforces column lengths SQLite does not)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from server.app import create_app
from server.clock import SHANGHAI, FakeClock
from server.demo import DEMO_PASSWORD, seed_demo
from server.jobs import fire_due_timers, relay_once
from server.keys import PLATFORM
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


@pytest.mark.parametrize("hour", [4, 15])
async def test_the_readme_caregiver_gets_the_demo_elders_offer(
    database_url: str, aiohttp_client: Any, hour: int
) -> None:
    """The README: sign in as caregiver1 (王芳); when the demo elder presses help, the offer
    is hers, whatever the hour the demo was started at."""
    await asyncio.to_thread(upgrade, database_url)
    start = datetime(2026, 11, 23, hour, 0, tzinfo=SHANGHAI)
    clock = FakeClock(start.astimezone(UTC))
    settings = Settings(database_url=database_url)
    await seed_demo(settings, clock=clock)
    client = await aiohttp_client(create_app(settings, clock=clock, run_background=False))
    platform = client.app[PLATFORM]

    async def token(login: str) -> str:
        r = await client.post(
            "/api/v1/auth/login", json={"login": login, "password": DEMO_PASSWORD}
        )
        assert r.status == 200
        return str((await r.json())["access_token"])

    r = await client.post(
        "/api/v1/help-calls",
        json={"call_type": "emergency"},
        headers={
            "Authorization": f"Bearer {await token('elder')}",
            "Idempotency-Key": "demo-press-1",
        },
    )
    assert r.status == 201
    for _ in range(20):
        if not await relay_once(platform) + await fire_due_timers(platform):
            break
    r = await client.get(
        "/api/v1/offers", headers={"Authorization": f"Bearer {await token('caregiver1')}"}
    )
    offers = await r.json()
    assert [o["status"] for o in offers] == ["offered"], offers
