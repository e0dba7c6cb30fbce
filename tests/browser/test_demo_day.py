"""The demo seeds a working day: bookings, lunch deliveries and routes, once per day."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

import server.domains  # noqa: F401
from server.demo import DAY_BOOKINGS, seed_day, seed_demo
from server.registry.tables import stations
from server.services.tables import bookings, meal_orders
from server.settings import Settings
from server.store.engine import Store
from server.store.meta import metadata
from server.tasks.tables import tasks
from tests.conftest import BACKENDS

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

# 15:00 in Shanghai: most of the day's windows have passed, and the routes must still be there.
AFTERNOON = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
NEXT_DAY = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


async def _schema(url: str) -> None:
    """The schema as the tables define it (the migrations have their own test)."""

    store = Store(url)
    async with store.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await store.dispose()


async def _counts(store: Store) -> tuple[int, int, int, int]:
    async with store.read() as conn:
        n_book = (await conn.execute(select(func.count()).select_from(bookings))).scalar_one()
        n_meal = (await conn.execute(select(func.count()).select_from(meal_orders))).scalar_one()
        n_task = (await conn.execute(select(func.count()).select_from(tasks))).scalar_one()
        n_planned = (
            await conn.execute(
                select(func.count())
                .select_from(tasks)
                .where(tasks.c.caregiver_id.is_not(None), tasks.c.planned_start.is_not(None))
            )
        ).scalar_one()
    return int(n_book), int(n_meal), int(n_task), int(n_planned)


async def test_the_demo_day_has_routes_visits_and_meals_and_is_seeded_once(
    database_url: str,
) -> None:
    await _schema(database_url)
    settings = Settings(database_url=database_url)
    await seed_demo(settings, today=False)
    store = Store(database_url)
    try:
        async with store.read() as conn:
            sid = int((await conn.execute(select(stations.c.id))).scalar_one())
        first = await seed_day(settings, store, sid, now=AFTERNOON)
        n_book, n_meal, n_task, n_planned = await _counts(store)
        # Every menu booking went through the booking service; every lunch order became a
        # delivery task; the day plan put them on the caregivers' routes.
        assert n_book == len(DAY_BOOKINGS) and n_meal == 8
        assert n_task == n_book + n_meal
        assert n_planned >= n_task - 2, first
        async with store.read() as conn:
            kinds = {r.kind for r in (await conn.execute(select(tasks.c.kind))).all()}
            routes = (
                await conn.execute(
                    select(tasks.c.caregiver_id, func.count())
                    .where(tasks.c.caregiver_id.is_not(None))
                    .group_by(tasks.c.caregiver_id)
                )
            ).all()
        assert kinds == {"service", "meal_delivery"} and len(routes) >= 3

        # The same day again: nothing new. The next day: its own bookings.
        assert "already seeded" in await seed_day(settings, store, sid, now=AFTERNOON)
        assert await _counts(store) == (n_book, n_meal, n_task, n_planned)
        await seed_day(settings, store, sid, now=NEXT_DAY)
        assert (await _counts(store))[0] == 2 * n_book
    finally:
        await store.dispose()
