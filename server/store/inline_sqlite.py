"""SQLite for the writer, run on the event loop's own thread.

SQLAlchemy's aiosqlite dialect sends every statement to a worker thread and back. For the
small statements of a help call that round trip costs more than the statement, and while a
writer holds SQLite's single write lock each hop also waits behind whatever else the event
loop is doing — so writers queue behind one another for many times their real work.

This module gives the aiosqlite dialect a connection whose coroutines finish at once: the
statement runs in place with the standard ``sqlite3`` module, and a whole write transaction
runs without yielding to the loop. The loop is blocked only for the statements themselves
(tens of microseconds). The commit, whose fsync takes milliseconds, runs on a thread of the
connection's own while the loop serves the requests that arrive meanwhile (they queue for
the writer and form the next group commit); the caller still resumes only once the commit
has returned. Reads keep the threaded driver, so a long report never stalls the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any


class _InlineQueue:
    """Stands in for aiosqlite's request queue: runs the function now, settles the future."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # handed back to the awaiting caller
            future.set_exception(exc)


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(
        self, operation: str, parameters: Sequence[Any] | None = None
    ) -> InlineCursor:
        if parameters is None:
            self._cursor.execute(operation)
        else:
            self._cursor.execute(operation, parameters)
        return self

    async def executemany(self, operation: str, seq: Iterable[Sequence[Any]]) -> InlineCursor:
        self._cursor.executemany(operation, seq)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """The part of ``aiosqlite.Connection`` that SQLAlchemy's adapter uses."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._connection: sqlite3.Connection | None = (
            conn  # truthy while open, as the adapter checks
        )
        self._tx = _InlineQueue()
        self._committer: ThreadPoolExecutor | None = None

    @property
    def sqlite3(self) -> sqlite3.Connection:
        """The connection itself, for plain SQL on the hot path (server/store/plain.py)."""
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def execute(
        self, operation: str, parameters: Sequence[Any] | None = None
    ) -> InlineCursor:
        return await self.cursor().execute(operation, parameters)

    async def commit(self) -> None:
        """COMMIT (and its fsync) on the connection's own thread; nothing else uses the
        connection meanwhile: its one user, the writer, holds its lock until this returns."""
        if self._committer is None:
            self._committer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-commit")
        done = asyncio.get_running_loop().run_in_executor(self._committer, self._conn.commit)
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            # The commit runs on regardless: let it finish before anyone (a rollback, a
            # close) touches the connection, then give up as asked.
            with contextlib.suppress(Exception):
                await done
            raise

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._conn.create_function(*args, **kw)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._conn.close()
            self._connection = None
        if self._committer is not None:
            self._committer.shutdown(wait=False)
            self._committer = None


def creator(path: str) -> Callable[[], Any]:
    """An ``async_creator`` for ``create_async_engine``: inline connections to ``path``."""

    async def connect() -> InlineConnection:
        return InlineConnection(sqlite3.connect(path, check_same_thread=False))

    return connect
