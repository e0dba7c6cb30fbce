"""``anxin backup`` and ``anxin restore``: online backups of the configured store.

SQLite: the sqlite3 backup API copies the database inside one read transaction, so the copy
is consistent while servers keep writing (WAL: readers never block the writer). PostgreSQL:
``pg_dump --format=custom`` (one repeatable-read snapshot) and ``pg_restore`` in a single
transaction. Both refuse to overwrite a non-empty database unless told to (``force``).

A platform module: it knows tables only by name (``alembic_version``), no domain.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import URL, make_url, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why in one line."""


@dataclass(frozen=True)
class Target:
    """The configured database, as the backup tools need it."""

    url: URL

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path:
        if not self.url.database or self.url.database == ":memory:":
            raise BackupError("an in-memory SQLite database cannot be backed up or restored")
        return Path(self.url.database)

    @property
    def shown(self) -> str:
        if self.is_sqlite:
            return str(self.sqlite_path.resolve())
        return f"PostgreSQL database {self.url.database!r} on {self.url.host or 'localhost'}"


def target_of(database_url: str) -> Target:
    url = make_url(database_url)
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise BackupError(f"cannot back up a {url.get_backend_name()} database")
    return Target(url)


# ----- backup ------------------------------------------------------------------------------


def backup(database_url: str, dest: Path) -> str:
    """Write a backup of the configured database to ``dest`` (a new file, or a directory to
    put a time-stamped file in); answer what was done in one line."""
    target = target_of(database_url)
    out = _destination(dest, ".db" if target.is_sqlite else ".dump")
    # Written under a temporary name and renamed when complete: a backup file that exists
    # is always a whole backup, even if this process dies half way.
    partial = out.with_name(f".{out.name}.partial")
    _owner_only(partial)
    try:
        if target.is_sqlite:
            revision = _sqlite_backup(target.sqlite_path, partial)
            how = "sqlite3 online backup"
        else:
            revision = _pg_revision(target)
            _run_pg(target, ["pg_dump", "--format=custom", "--file", str(partial)])
            how = "pg_dump --format=custom"
        _fsync(partial)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    size = out.stat().st_size / 1024**2
    return f"backed up {target.shown} (revision {revision or 'none'}) to {out.resolve()} ({size:.1f} MB, {how})"


def _destination(dest: Path, suffix: str) -> Path:
    if dest.is_dir():
        dest = dest / f"anxin-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}{suffix}"
    if not dest.parent.is_dir():
        raise BackupError(f"cannot write the backup: directory {dest.parent} does not exist")
    if dest.exists():
        raise BackupError(
            f"{dest} already exists: choose a new name (backups are never overwritten)"
        )
    if not os.access(dest.parent, os.W_OK):
        raise BackupError(f"cannot write the backup: no permission to write in {dest.parent}")
    return dest


def _owner_only(path: Path) -> None:
    """Create the file readable by its owner alone before anything is written to it: it will
    hold every elder's file (ID numbers, phones, addresses)."""
    path.unlink(missing_ok=True)  # a partial file left by a backup that died
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_backup(path: Path, out: Path) -> str | None:
    if not path.is_file():
        raise BackupError(f"no database at {path.resolve()}: nothing to back up")
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(out)
    try:
        # pages=-1: the whole database in one step, so inside one read transaction: a
        # consistent snapshot that the server's writes (WAL) neither block nor disturb.
        src.backup(dst, pages=-1)
        # A self-contained file: no -wal beside it, and checked before it is called a backup.
        dst.execute("PRAGMA journal_mode=DELETE")
        _check_sqlite(dst, out)
        return _sqlite_revision(dst)
    except sqlite3.Error as exc:
        raise BackupError(f"backup of {path.resolve()} failed: {exc}") from exc
    finally:
        dst.close()
        src.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ----- restore -----------------------------------------------------------------------------


def restore(database_url: str, src: Path, *, force: bool = False) -> str:
    """Restore a backup into the configured database; answer what was done in one line."""
    target = target_of(database_url)
    kind = _kind_of(src)
    if target.is_sqlite and kind != "sqlite":
        raise BackupError(f"{src} is a pg_dump archive, but the configured database is SQLite")
    if not target.is_sqlite and kind != "pgdump":
        raise BackupError(f"{src} is a SQLite backup, but the configured database is PostgreSQL")
    if target.is_sqlite:
        revision = _sqlite_restore(src, target.sqlite_path, force=force)
        return f"restored {src.resolve()} into {target.shown} (revision {revision or 'none'})"
    created = _pg_restore(target, src, force=force)
    revision = _pg_revision(target)
    note = " (created the database)" if created else ""
    return f"restored {src.resolve()} into {target.shown}{note} (revision {revision or 'none'})"


def _kind_of(src: Path) -> str:
    if not src.is_file():
        raise BackupError(f"no backup file at {src}")
    with src.open("rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "pgdump"
    raise BackupError(
        f"{src} is not a backup: neither a SQLite database nor a pg_dump custom-format archive"
    )


def _sqlite_restore(src: Path, path: Path, *, force: bool) -> str | None:
    if not path.parent.is_dir():
        raise BackupError(f"cannot restore: directory {path.parent.resolve()} does not exist")
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    try:
        _check_sqlite(source, src)
        revision = _sqlite_revision(source)
        if revision is None:
            raise BackupError(f"{src} is a SQLite database but not an Anxin backup (no revision)")
        if not force and _sqlite_has_tables(path):
            raise BackupError(
                f"{path.resolve()} is not empty: refusing to overwrite it (--force to replace it)"
            )
        dst = sqlite3.connect(path, timeout=30)
        try:
            # The backup API writes through SQLite's own locking and journal (WAL included),
            # so it replaces the content whole; a file copy would leave a stale -wal beside it.
            source.backup(dst, pages=-1)
            _check_sqlite(dst, path)
        finally:
            dst.close()
        return revision
    except sqlite3.Error as exc:
        raise BackupError(f"restore from {src} failed: {exc}") from exc
    finally:
        source.close()


def _sqlite_has_tables(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return bool(conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
    finally:
        conn.close()


def _check_sqlite(conn: sqlite3.Connection, path: Path) -> None:
    try:
        found = conn.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a usable SQLite database: {exc}") from exc
    if found != "ok":
        raise BackupError(f"{path} fails SQLite's integrity check: {found}")


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no such table: never migrated
        return None
    return str(row[0]) if row else None


# ----- PostgreSQL --------------------------------------------------------------------------


def _pg_restore(target: Target, src: Path, *, force: bool) -> bool:
    # Read the archive's table of contents first: a damaged file fails here, before the
    # database is touched.
    _run_pg(target, ["pg_restore", "--list", str(src)], quiet=True)
    created = asyncio.run(_pg_prepare(target, force=force))
    flags = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    if force:
        flags += ["--clean", "--if-exists"]
    # --single-transaction: a restore that fails half way leaves the database as it was.
    _run_pg(target, ["pg_restore", *flags, "--dbname", target.url.database or "", str(src)])
    asyncio.run(_pg_sql(target, "ANALYZE"))  # pg_restore leaves the planner no statistics
    return created


async def _pg_prepare(target: Target, *, force: bool) -> bool:
    """Create the database if it is gone; refuse a non-empty one without ``force``."""
    created = False
    if not await _pg_exists(target):
        name, role = target.url.database, target.url.username
        try:
            await _pg_sql(target, f'CREATE DATABASE "{name}"', on="postgres")
        except BackupError as exc:
            raise BackupError(
                f"database {name!r} does not exist and {role!r} cannot create it ({exc}): "
                f"create it as postgres (createdb --owner {role} {name}) and run again"
            ) from exc
        created = True
    tables = await _pg_scalar(
        target,
        "SELECT count(*) FROM pg_catalog.pg_tables"
        " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    )
    if tables and not force:
        raise BackupError(
            f"{target.shown} is not empty ({tables} tables): refusing to overwrite it"
            " (--force to replace it)"
        )
    return created


async def _pg_exists(target: Target) -> bool:
    found = await _pg_scalar(
        target,
        "SELECT count(*) FROM pg_database WHERE datname = :name",
        on="postgres",
        name=target.url.database,
    )
    return bool(found)


def _pg_revision(target: Target) -> str | None:
    async def read() -> str | None:
        has = await _pg_scalar(target, "SELECT to_regclass('alembic_version') IS NOT NULL")
        if not has:
            return None
        found = await _pg_scalar(target, "SELECT max(version_num) FROM alembic_version")
        return None if found is None else str(found)

    return asyncio.run(read())


async def _pg_scalar(
    target: Target, sql: str, *, on: str | None = None, **params: object
) -> object:
    async with _pg_connect(target, on) as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def _pg_sql(target: Target, sql: str, *, on: str | None = None) -> None:
    async with _pg_connect(target, on) as conn:
        await conn.execute(text(sql))


@asynccontextmanager
async def _pg_connect(target: Target, on: str | None) -> AsyncIterator[AsyncConnection]:
    """An autocommit connection to the target database, or to ``on`` (its maintenance
    database), with connection errors turned into one readable line."""
    url = target.url.set(drivername="postgresql+asyncpg")
    url = url.set(database=on) if on else url
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        try:
            conn = await engine.connect()
        except (SQLAlchemyError, OSError) as exc:
            raise BackupError(
                f"cannot reach PostgreSQL database {url.database!r}: {first_line(exc)}"
            ) from exc
        try:
            yield conn
        except SQLAlchemyError as exc:
            raise BackupError(f"PostgreSQL refused: {first_line(exc)}") from exc
        finally:
            await conn.close()
    finally:
        await engine.dispose()


def _run_pg(target: Target, argv: list[str], *, quiet: bool = False) -> None:
    """Run a PostgreSQL client tool against the target; libpq reads the connection from
    the environment, so the password never appears on a command line (``ps`` shows those)."""
    tool = argv[0]
    if shutil.which(tool) is None:
        raise BackupError(
            f"{tool} not found: install postgresql-client (the server's major version or newer)"
        )
    done = subprocess.run(
        argv, env={**os.environ, **_libpq_env(target.url)}, capture_output=True, text=True
    )
    if done.returncode != 0:
        said = first_line(done.stderr).removeprefix(f"{tool}: ")
        raise BackupError(f"{tool} failed: {said}")
    if not quiet and done.stderr.strip():
        print(done.stderr.strip(), flush=True)


def _libpq_env(url: URL) -> dict[str, str]:
    env = {
        "PGHOST": url.host or "localhost",
        "PGPORT": str(url.port or 5432),
        "PGDATABASE": url.database or "",
        "PGUSER": url.username or "",
        "PGPASSWORD": url.password or "",
    }
    # asyncpg spells it ssl=require, libpq sslmode=require
    ssl = url.query.get("ssl") or url.query.get("sslmode")
    if isinstance(ssl, str):
        env["PGSSLMODE"] = ssl
    return {k: v for k, v in env.items() if v}


def first_line(exc: object) -> str:
    """The first line of an error, the driver's own words for a wrapped database error."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
