"""`anxin migrate` builds exactly the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import server.domains  # noqa: F401  (every domain's tables on the metadata)
from server.store.engine import Store
from server.store.meta import metadata
from server.store.migrate import upgrade
from tests.conftest import BACKENDS

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def empty_schema() -> bool:
    return True


def _diff(conn: Any) -> list[Any]:
    ctx = MigrationContext.configure(conn, opts={"compare_type": False})
    return list(compare_metadata(ctx, metadata))


async def test_migrations_match_the_tables(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url)

    store = Store(database_url)
    async with store.engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    await store.dispose()
    assert diff == [], (
        'run: python -c "from server.store.migrate import autogenerate; ..." to add a revision'
    )
