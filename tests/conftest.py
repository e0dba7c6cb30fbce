"""Shared fixtures: the real app on SQLite or PostgreSQL, a movable clock, seeded people."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.app import create_app
from server.clock import FakeClock
from server.settings import Settings
from tests.support.api import Api, Client
from tests.support.backends import fresh_pg_database, missing, postgres_url

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_schema() -> bool:
    """Tests of migrations override this to start from an empty database."""
    return False


@pytest.fixture
async def database_url(backend: str, tmp_path: Any, empty_schema: bool) -> AsyncIterator[str]:
    if backend == "postgres":
        url = postgres_url()
        if url is None:
            missing("PostgreSQL")
        async with fresh_pg_database(url, with_schema=not empty_schema) as db_url:
            yield db_url
    else:
        yield f"sqlite+aiosqlite:///{tmp_path}/anxin.db"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        jwt_secret="test-secret-0123456789abcdef0123456789",
        access_token_ttl_s=6 * 3600,
        redis_url=None,
        wechat_base_url="http://127.0.0.1:9",
        timer_poll_s=0.05,
        outbox_poll_s=0.05,
    )


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings, clock: FakeClock) -> Client:
    app = create_app(settings, clock=clock, run_background=False, create_schema=True)
    made: Client = await aiohttp_client(app)
    return made


@pytest.fixture
async def api(client: Client) -> AsyncIterator[Api]:
    a = Api(client)
    await a.seed()
    yield a
