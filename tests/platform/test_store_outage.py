"""While PostgreSQL is away the help button is told to come back (503 with Retry-After),
never a 500; once it is back, the phone's retry of the same press opens one incident."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from server.app import create_app
from server.clock import FakeClock
from server.incidents.tables import incidents
from server.settings import Settings
from tests.support.api import Api
from tests.support.backends import fresh_pg_database, missing, postgres_url
from tests.support.netfault import CutProxy

pytestmark = pytest.mark.postgres


@pytest.fixture
async def cut_api(aiohttp_client: Any, settings: Settings) -> AsyncIterator[tuple[Api, CutProxy]]:
    admin = postgres_url()
    if admin is None:
        missing("PostgreSQL")
    assert admin is not None
    async with fresh_pg_database(admin) as url:
        proxy = CutProxy("127.0.0.1", 5432)
        await proxy.start()
        through = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        cfg = dataclasses.replace(settings, database_url=through)
        app = create_app(cfg, clock=FakeClock(), run_background=False)
        api = Api(await aiohttp_client(app))
        await api.seed()
        yield api, proxy
        await proxy.cut()


async def _press(api: Api, key: str) -> tuple[int, Any, str | None]:
    resp = await api.client.post(
        "/api/v1/help-calls",
        json={"call_type": "emergency"},
        headers={"Authorization": f"Bearer {api.tokens['elder']}", "Idempotency-Key": key},
    )
    return resp.status, await resp.json(), resp.headers.get("Retry-After")


async def test_the_button_is_told_to_come_back_while_the_store_is_down(
    cut_api: tuple[Api, CutProxy],
) -> None:
    api, proxy = cut_api
    key = str(uuid.uuid4())
    await proxy.cut()
    status, body, retry_after = await _press(api, key)
    assert status == 503 and body["code"] == "store_unavailable"
    assert retry_after is not None and int(retry_after) > 0
    await proxy.restore()
    for _ in range(5):  # the phone retries the same press until it is answered
        status, body, _ = await _press(api, key)
        if status != 503:
            break
    assert status == 201
    async with api.platform.store.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(incidents))).scalar() == 1
