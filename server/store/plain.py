"""Plain SQL on the hot path, on the connection of the caller's SQLAlchemy transaction.

SQLAlchemy Core costs tens of microseconds of Python per statement (cache key, compile
lookup, execution context, result processing) before the driver sees it; on the help call's
dozen statements that was most of the intake's CPU (docs/figures.md, the profile). Here the
hot path's statements go straight to the driver on the same connection and inside the same
transaction (or savepoint) that ``Store.begin`` opened, so commit, rollback, group commit and
the 503/retry mapping stay as they are:

- PostgreSQL: asyncpg, whose per-connection statement cache prepares each text once;
- SQLite with the inline writer (group commit, the default): the ``sqlite3`` connection
  itself, in place on the loop;
- anything else (the threaded aiosqlite writer): ``exec_driver_sql``, no compile.

Statements are written with ``$1, $2`` parameters (``?1, ?2`` on SQLite). Values are what
SQLAlchemy's column types would bind: ``when`` and ``js`` say so, because the row must be the
one SQLAlchemy would have written (``tests/incidents/test_plain_intake.py`` compares them).
Driver errors come back as SQLAlchemy's (IntegrityError for a unique key, DBAPIError with
the SQLSTATE otherwise), so ``server.store.errors`` reads them as before.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.inline_sqlite import InlineConnection

Params = Sequence[Any]


@lru_cache(maxsize=256)
def qmark(sql: str) -> str:
    """``$1`` parameters as SQLite's ``?1``."""
    return re.sub(r"\$(\d+)", r"?\1", sql)


def _wrapped(sql: str, args: Params, error: Exception) -> sa_exc.DBAPIError:
    """A driver error as SQLAlchemy would have raised it."""
    state = str(getattr(error, "sqlstate", "") or "")
    integrity = isinstance(error, sqlite3.IntegrityError) or state.startswith("23")
    kind = sa_exc.IntegrityError if integrity else sa_exc.DBAPIError
    return kind(sql, list(args), error)


class Plain:
    """One transaction's connection, spoken to in plain SQL."""

    def __init__(self, conn: AsyncConnection, driver: Any, kind: str) -> None:
        self.conn = conn
        self.driver = driver
        self.kind = kind  # "asyncpg", "sqlite3" or "sqlalchemy"
        self.sqlite = conn.dialect.name == "sqlite"

    @classmethod
    async def of(cls, conn: AsyncConnection) -> Plain:
        raw = await conn.get_raw_connection()
        adapted: Any = raw.dbapi_connection
        if conn.dialect.name == "postgresql":
            # SQLAlchemy's asyncpg adapter sends BEGIN lazily, with its first statement:
            # start it here, through the adapter, so its commit and rollback still apply.
            if getattr(adapted, "_transaction", None) is None:
                async with adapted._execute_mutex:
                    if adapted._transaction is None:
                        await adapted._start_transaction()
            return cls(conn, adapted._connection, "asyncpg")
        inner = getattr(adapted, "_connection", None)
        if isinstance(inner, InlineConnection):
            return cls(conn, inner.sqlite3, "sqlite3")
        return cls(conn, None, "sqlalchemy")

    def when(self, t: datetime | None) -> Any:
        """A timestamp as ``UtcDateTime`` binds it."""
        if t is None:
            return None
        t = t.astimezone(UTC)
        if not self.sqlite:
            return t
        return t.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")

    def js(self, value: Any) -> Any:
        """A JSON column's value as SQLAlchemy's JSON type binds it."""
        return json.dumps(value)

    def read_js(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str | bytes) else value

    def read_when(self, value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value.astimezone(UTC) if isinstance(value, datetime) else None
        return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)

    async def rows(self, sql: str, args: Params = ()) -> list[Sequence[Any]]:
        try:
            if self.kind == "asyncpg":
                return list(await self.driver.fetch(sql, *args))
            if self.kind == "sqlite3":
                return self.driver.execute(qmark(sql), args).fetchall()  # type: ignore[no-any-return]
            res = await self.conn.exec_driver_sql(qmark(sql), tuple(args))
            return list(res.all()) if res.returns_rows else []
        except (sa_exc.DBAPIError, sa_exc.ResourceClosedError):
            raise
        except Exception as error:
            if _is_driver_error(error):
                raise _wrapped(sql, args, error) from error
            raise

    async def row(self, sql: str, args: Params = ()) -> Sequence[Any] | None:
        found = await self.rows(sql, args)
        return found[0] if found else None

    async def run(self, sql: str, args: Params = ()) -> None:
        if self.kind == "asyncpg":
            try:
                await self.driver.execute(sql, *args)
            except Exception as error:
                if _is_driver_error(error):
                    raise _wrapped(sql, args, error) from error
                raise
            return
        await self.rows(sql, args)


def _is_driver_error(error: Exception) -> bool:
    if isinstance(error, sqlite3.Error):
        return True
    # asyncpg's errors (a closed connection has no SQLSTATE, only its message)
    return type(error).__module__.startswith("asyncpg")


async def driver_row(conn: AsyncConnection, sql: str, args: Params = ()) -> Sequence[Any] | None:
    """The first row of one plain SQL read on any connection, through SQLAlchemy's driver
    path: no compile, and its error handling as for any statement (a dropped connection
    invalidates the pool and reads as a store outage)."""
    stmt = qmark(sql) if conn.dialect.name == "sqlite" else sql
    return (await conn.exec_driver_sql(stmt, tuple(args))).first()


def values(rows: int, width: int, start: int = 1) -> str:
    """``($1, $2), ($3, $4)`` for ``rows`` rows of ``width`` parameters."""
    out = []
    for r in range(rows):
        base = start + r * width
        out.append("(" + ", ".join(f"${base + i}" for i in range(width)) + ")")
    return ", ".join(out)
