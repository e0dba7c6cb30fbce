"""A planning lock holds across server processes: on PostgreSQL it is an advisory lock in the
database, so a second process (here a second engine on the same database) waits for it."""

from __future__ import annotations

import asyncio

import pytest

from server.planning.flows import station_lock
from server.store.engine import Store
from tests.conftest import BACKENDS
from tests.support.api import Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def test_a_second_process_waits_for_a_stations_planning_lock(api: Api) -> None:
    other = Store(api.platform.store.url) if api.platform.store.is_postgres else api.platform.store
    got: list[str] = []

    async def second() -> None:
        async with other.lock("planning", api.ids["station"]):
            got.append("second")

    try:
        async with station_lock(api.platform, api.ids["station"]):
            job = asyncio.create_task(second())
            await asyncio.sleep(0.3)
            assert got == []  # still waiting while the first holds it
            got.append("first done")
        await asyncio.wait_for(job, 10)
        assert got == ["first done", "second"]
    finally:
        if other is not api.platform.store:
            await other.dispose()


async def test_locks_of_different_stations_do_not_wait_for_each_other(api: Api) -> None:
    async with station_lock(api.platform, 1), api.platform.store.lock("planning", 2):
        pass  # taken at once
