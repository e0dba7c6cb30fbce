"""`anxin backup` and `anxin restore` through the real command: what they say, what they
refuse, and that bad input is one clear line, never a traceback."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from server.store.migrate import code_head
from tests.deploy.support import anxin, ok
from tests.support.backends import fresh_pg_database, missing, postgres_url


def failed(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    env = {"ANXIN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/anxin.db"}
    ok(anxin(["migrate"], env))
    return env


def test_sqlite_backup_and_restore_say_what_they_did(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    url = sqlite_env["ANXIN_DATABASE_URL"]
    said = ok(anxin(["backup", str(tmp_path / "b.db")], sqlite_env)).strip()
    assert said.startswith(f"backed up {tmp_path}/anxin.db (revision {code_head(url)}) to ")
    assert (tmp_path / "b.db").stat().st_mode & 0o777 == 0o600  # personal data: owner only
    with sqlite3.connect(tmp_path / "b.db") as conn:  # a self-contained file, checked
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    other = {"ANXIN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/new.db"}
    said = ok(anxin(["restore", str(tmp_path / "b.db")], other)).strip()
    assert said == f"restored {tmp_path}/b.db into {tmp_path}/new.db (revision {code_head(url)})"
    ok(anxin(["backup", str(tmp_path / "again.db")], other))


def test_backup_into_a_directory_names_the_file(sqlite_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "nightly").mkdir()
    ok(anxin(["backup", str(tmp_path / "nightly")], sqlite_env))
    made = list((tmp_path / "nightly").iterdir())
    assert len(made) == 1 and made[0].name.startswith("anxin-") and made[0].suffix == ".db"


def test_backup_refuses_bad_destinations(sqlite_env: dict[str, str], tmp_path: Path) -> None:
    line = failed(anxin(["backup", str(tmp_path / "no" / "such" / "b.db")], sqlite_env))
    assert "does not exist" in line and str(tmp_path / "no" / "such") in line
    (tmp_path / "taken.db").write_text("keep me")
    line = failed(anxin(["backup", str(tmp_path / "taken.db")], sqlite_env))
    assert "already exists" in line
    assert (tmp_path / "taken.db").read_text() == "keep me"
    assert not list(tmp_path.glob(".*.partial"))


def test_backup_of_a_missing_database(tmp_path: Path) -> None:
    env = {"ANXIN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/none.db"}
    line = failed(anxin(["backup", str(tmp_path / "b.db")], env))
    assert "no database at" in line and not (tmp_path / "none.db").exists()


def test_restore_refuses_a_non_empty_database_without_force(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    ok(anxin(["backup", str(tmp_path / "b.db")], sqlite_env))
    line = failed(anxin(["restore", str(tmp_path / "b.db")], sqlite_env))
    assert "not empty" in line and "--force" in line
    said = ok(anxin(["restore", "--force", str(tmp_path / "b.db")], sqlite_env))
    assert said.startswith("restored")


def test_restore_refuses_what_is_not_a_backup(sqlite_env: dict[str, str], tmp_path: Path) -> None:
    empty = {"ANXIN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/fresh.db"}
    (tmp_path / "notes.txt").write_text("not a backup\n")
    line = failed(anxin(["restore", str(tmp_path / "notes.txt")], empty))
    assert "is not a backup" in line
    line = failed(anxin(["restore", str(tmp_path / "missing.db")], empty))
    assert "no backup file" in line
    with sqlite3.connect(tmp_path / "foreign.db") as conn:
        conn.execute("CREATE TABLE t (x)")
    line = failed(anxin(["restore", str(tmp_path / "foreign.db")], empty))
    assert "not an Anxin backup" in line
    (tmp_path / "torn.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 80)
    line = failed(anxin(["restore", str(tmp_path / "torn.db")], empty))
    assert "torn.db" in line
    (tmp_path / "x.dump").write_bytes(b"PGDMP\x01\x0e\x00")
    line = failed(anxin(["restore", str(tmp_path / "x.dump")], empty))
    assert "pg_dump archive" in line and "SQLite" in line
    assert not (tmp_path / "fresh.db").exists()


# ----- PostgreSQL ----------------------------------------------------------------------------


@pytest.fixture
async def pg_env() -> AsyncIterator[dict[str, str]]:
    admin = postgres_url()
    if admin is None:
        missing("PostgreSQL")
    async with fresh_pg_database(admin, with_schema=False) as url:
        yield {"ANXIN_DATABASE_URL": url}


@pytest.mark.postgres
def test_postgres_backup_and_restore(
    pg_env: dict[str, str], sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    ok(anxin(["migrate"], pg_env))
    dump = tmp_path / "pg.dump"
    said = ok(anxin(["backup", str(dump)], pg_env)).strip()
    assert said.startswith("backed up PostgreSQL database") and "pg_dump --format=custom" in said
    line = failed(anxin(["restore", str(dump)], pg_env))
    assert "not empty" in line and "--force" in line
    said = ok(anxin(["restore", "--force", str(dump)], pg_env)).strip()
    assert said.startswith("restored") and code_head(pg_env["ANXIN_DATABASE_URL"]) in said
    ok(anxin(["backup", str(tmp_path / "lite.db")], sqlite_env))
    line = failed(anxin(["restore", str(tmp_path / "lite.db")], pg_env))
    assert "SQLite backup" in line and "PostgreSQL" in line
    (tmp_path / "torn.dump").write_bytes(dump.read_bytes()[:200])
    line = failed(anxin(["restore", "--force", str(tmp_path / "torn.dump")], pg_env))
    assert line.startswith("anxin: pg_restore failed")


@pytest.mark.postgres
async def test_postgres_restore_without_the_right_to_create_the_database(
    pg_env: dict[str, str], tmp_path: Path
) -> None:
    """The service's role owns its database but may not create one: restoring after the
    database was dropped says what to do instead of failing half way."""
    ok(await asyncio.to_thread(anxin, ["migrate"], pg_env))
    ok(await asyncio.to_thread(anxin, ["backup", str(tmp_path / "pg.dump")], pg_env))
    admin = pg_env["ANXIN_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    role, gone = f"anxin_r_{uuid.uuid4().hex[:8]}", f"anxin_gone_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE ROLE "{role}" LOGIN NOCREATEDB')
        url = f"postgresql+asyncpg://{role}@127.0.0.1:5432/{gone}"
        done = await asyncio.to_thread(
            anxin, ["restore", str(tmp_path / "pg.dump")], {"ANXIN_DATABASE_URL": url}
        )
        line = failed(done)
        assert f"database '{gone}' does not exist" in line
        assert f"createdb --owner {role} {gone}" in line
    finally:
        await conn.execute(f'DROP ROLE IF EXISTS "{role}"')
        await conn.close()
