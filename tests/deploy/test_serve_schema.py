"""`anxin serve` on a database that is not migrated says so in one line and stops (exit 78),
except the embedded default, which it migrates itself. The real command, in a subprocess."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

import server.domains  # noqa: F401  (every domain's tables on the metadata)
from server.store.engine import Store
from server.store.migrate import code_head, upgrade
from tests.deploy.support import SECRET, Server, anxin, ok
from tests.support.backends import fresh_pg_database, missing, postgres_url

EX_CONFIG = 78


def serve(url: str | None, tmp: Path) -> subprocess.CompletedProcess[str]:
    """`anxin serve` that is expected to stop by itself (the timeout is only a backstop)."""
    env = {"ANXIN_DATABASE_URL": url or "", "ANXIN_LOG_LEVEL": "INFO"}  # INFO: no log line
    return anxin(["serve", "--port", "9"], env, cwd=tmp, timeout=120)


def refused(done: subprocess.CompletedProcess[str]) -> str:
    """The one line a refusal prints; no traceback, no log noise."""
    assert done.returncode == EX_CONFIG, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_empty_sqlite_file_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "anxin.db"
    sqlite3.connect(db).close()  # an empty file
    line = refused(serve(f"sqlite+aiosqlite:///{db}", tmp_path))
    assert "not migrated" in line and "anxin migrate" in line and str(db) in line


def test_missing_sqlite_file_is_refused_and_not_created(tmp_path: Path) -> None:
    db = tmp_path / "none.db"
    line = refused(serve(f"sqlite+aiosqlite:///{db}", tmp_path))
    assert "not migrated" in line
    assert not db.exists()


def test_database_behind_the_code_is_refused(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/anxin.db"
    ok(anxin(["migrate"], {"ANXIN_DATABASE_URL": url}))
    from alembic import command

    from server.store.migrate import alembic_config

    command.downgrade(alembic_config(url), "base")  # stamped, but at no revision
    line = refused(serve(url, tmp_path))
    assert "not migrated" in line and code_head(url) in line


def test_revision_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/anxin.db"
    ok(anxin(["migrate"], {"ANXIN_DATABASE_URL": url}))
    with sqlite3.connect(tmp_path / "anxin.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'f00dfacefeed'")
    line = refused(serve(url, tmp_path))
    assert "f00dfacefeed" in line and "does not know" in line


def test_tables_built_outside_migrations_are_refused(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/anxin.db"

    async def build() -> None:
        store = Store(url)
        await store.create_all()
        await store.dispose()

    asyncio.run(build())
    line = refused(serve(url, tmp_path))
    assert "no migration revision" in line


def test_unreachable_database_is_one_line_and_may_be_retried(tmp_path: Path) -> None:
    done = serve("postgresql+asyncpg://anxin:secret-pw@127.0.0.1:9/anxin", tmp_path)
    assert done.returncode == 1  # not 78: systemd should retry, the database may come up
    line = done.stderr.strip()
    assert "cannot reach the database" in line and "\n" not in line
    assert "secret-pw" not in line  # the password is never printed


def test_migrate_that_cannot_open_the_database_is_one_line(tmp_path: Path) -> None:
    done = anxin(["migrate"], {"ANXIN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/no/a.db"})
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith(f"anxin: migrating {tmp_path}/no/a.db failed:")
    assert len(done.stderr.strip().splitlines()) == 1


async def test_embedded_default_is_migrated_and_served(tmp_path: Path) -> None:
    """No ANXIN_DATABASE_URL: var/anxin.db is created, migrated, said so, and served."""
    env = {"ANXIN_DATABASE_URL": "", "ANXIN_JWT_SECRET": SECRET}
    srv = Server(env, tmp_path / "server.log", cwd=tmp_path)
    try:
        srv.start()
        await srv.wait_ready(timeout=120)
        log = srv.log_path.read_text()
        assert "migrated the embedded database var/anxin.db" in log
        assert (tmp_path / "var" / "anxin.db").exists()
    finally:
        srv.kill()


async def test_embedded_default_at_head_is_served_quietly(tmp_path: Path) -> None:
    ok(anxin(["migrate"], {"ANXIN_DATABASE_URL": ""}, cwd=tmp_path))
    env = {"ANXIN_DATABASE_URL": "", "ANXIN_JWT_SECRET": SECRET}
    srv = Server(env, tmp_path / "server.log", cwd=tmp_path)
    try:
        srv.start()
        await srv.wait_ready(timeout=120)
        assert "migrated" not in srv.log_path.read_text()
    finally:
        srv.kill()


# ----- PostgreSQL ----------------------------------------------------------------------------


@pytest.fixture
async def pg_admin() -> str:
    url = postgres_url()
    if url is None:
        missing("PostgreSQL")
    return url


@pytest.fixture
async def empty_pg(pg_admin: str) -> AsyncIterator[str]:
    async with fresh_pg_database(pg_admin, with_schema=False) as url:
        yield url


@pytest.mark.postgres
def test_empty_postgres_database_is_refused(empty_pg: str, tmp_path: Path) -> None:
    line = refused(serve(empty_pg, tmp_path))
    assert "not migrated" in line and empty_pg.rsplit("/", 1)[1] in line


@pytest.mark.postgres
async def test_postgres_without_synchronous_commit_is_refused(
    empty_pg: str, tmp_path: Path
) -> None:
    """A store that could lose an acknowledged commit: one line, not a traceback."""
    await asyncio.to_thread(upgrade, empty_pg)
    name = empty_pg.rsplit("/", 1)[1]
    conn = await asyncpg.connect(empty_pg.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    finally:
        await conn.close()
    line = refused(await asyncio.to_thread(serve, empty_pg, tmp_path))
    assert "synchronous_commit" in line and line.startswith("anxin: refusing to start")
