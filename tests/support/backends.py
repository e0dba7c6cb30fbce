"""Find PostgreSQL and Redis on localhost; CI sets ANXIN_REQUIRE_BACKENDS=1 so a missing
one fails the run instead of quietly skipping."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NoReturn

import pytest

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
REDIS_DEFAULT = "redis://127.0.0.1:6379/15"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def postgres_url() -> str | None:
    url = os.environ.get("ANXIN_TEST_POSTGRES_URL", PG_DEFAULT)
    return url if _port_open("127.0.0.1", 5432) else None


def redis_url() -> str | None:
    url = os.environ.get("ANXIN_TEST_REDIS_URL", REDIS_DEFAULT)
    return url if _port_open("127.0.0.1", 6379) else None


def missing(what: str) -> NoReturn:
    if os.environ.get("ANXIN_REQUIRE_BACKENDS") == "1":
        pytest.fail(f"{what} is required (ANXIN_REQUIRE_BACKENDS=1) but not reachable on localhost")
    pytest.skip(f"{what} is not reachable on localhost; run `make test` to provision it")


_TEMPLATE: dict[str, str] = {}


async def _template(admin_url: str) -> str:
    """One database per test session with the schema built, cloned for every test (far
    cheaper than building the schema each time)."""
    if admin_url in _TEMPLATE:
        return _TEMPLATE[admin_url]
    import asyncpg

    import server.domains  # noqa: F401  (every domain's tables on the metadata)
    from server.store.engine import Store

    name = f"anxin_tpl_{uuid.uuid4().hex[:8]}"
    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    store = Store(f"{admin_url.rsplit('/', 1)[0]}/{name}")
    await store.create_all()
    await store.dispose()
    _TEMPLATE[admin_url] = name
    return name


@asynccontextmanager
async def fresh_pg_database(admin_url: str, *, with_schema: bool = True) -> AsyncIterator[str]:
    """A throw-away database per test (a clone of the schema template), dropped afterwards."""
    import asyncpg

    name = f"anxin_t_{uuid.uuid4().hex[:12]}"
    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    template = f' TEMPLATE "{await _template(admin_url)}"' if with_schema else ""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"{template}')
    finally:
        await conn.close()
    base = admin_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
