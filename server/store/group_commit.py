"""Group commit for the SQLite writer: one fsync for every transaction of a loop turn.

SQLite has one writer, and with ``synchronous=FULL`` every commit waits for the disk. When
many help calls arrive together, each paid for its own fsync. Here each logical transaction
is a SAVEPOINT inside one physical transaction on a single writer connection; the physical
COMMIT happens once the transactions that were ready in the same turn of the event loop
have run, and only then does any of them return. So the invariant stays: nobody gets an
answer before their write is on disk. A failed physical commit fails every transaction in
its group (none was acknowledged), and a failed logical transaction rolls back only its own
savepoint.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.store.inline_sqlite import InlineConnection

log = logging.getLogger("anxin.store")


class GroupCommitWriter:
    """The single writer connection and the group of savepoints waiting for its commit."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._lock = asyncio.Lock()
        self._conn: AsyncConnection | None = None
        self._raw: sqlite3.Connection | None = None  # the inline writer's own, if it is one
        self._group: asyncio.Future[None] | None = None
        self._group_size = 0

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        async with self._lock:
            conn = await self._connection()
            if not conn.in_transaction():
                await conn.begin()
            raw = self._raw
            if raw is None:
                async with self._savepoint(conn):
                    yield conn
            else:
                # The savepoint in plain SQL on the connection itself: SQLAlchemy's nested
                # transaction cost more of the loop than most of the statements inside it.
                raw.execute("SAVEPOINT anxin_tx")
                try:
                    yield conn
                except BaseException:
                    await self._undo_plain(raw)
                    raise
                try:
                    raw.execute("RELEASE anxin_tx")
                except BaseException as exc:
                    await self._abandon(exc)
                    raise
            group = self._join()
        # Shielded: one caller giving up must not cancel the commit the others wait for.
        await asyncio.shield(group)

    @asynccontextmanager
    async def _savepoint(self, conn: AsyncConnection) -> AsyncIterator[None]:
        savepoint = await conn.begin_nested()
        try:
            yield
        except BaseException:
            await self._undo(savepoint)
            raise
        try:
            await savepoint.commit()
        except BaseException as exc:
            await self._abandon(exc)
            raise

    async def _sqlite3(self, conn: AsyncConnection) -> sqlite3.Connection | None:
        """The inline writer's own sqlite3 connection (None for any other driver)."""
        raw = await conn.get_raw_connection()
        inner = getattr(raw.dbapi_connection, "_connection", None)
        return inner.sqlite3 if isinstance(inner, InlineConnection) else None

    async def _undo_plain(self, raw: sqlite3.Connection) -> None:
        try:
            raw.execute("ROLLBACK TO anxin_tx")
            raw.execute("RELEASE anxin_tx")
        except BaseException as exc:
            await self._abandon(exc)

    async def close(self) -> None:
        group = self._group
        if group is not None:
            await self._flush(group)
        async with self._lock:
            if self._conn is not None:
                await self._conn.close()
                self._conn, self._raw = None, None

    async def _connection(self) -> AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await self._engine.connect()
            self._raw = await self._sqlite3(self._conn)
        return self._conn

    def _join(self) -> asyncio.Future[None]:
        if self._group is None:
            self._group = asyncio.get_running_loop().create_future()
            self._group_size = 0
            # Runs after the handlers already queued in this turn: they join the group.
            asyncio.get_running_loop().create_task(self._flush(self._group))
        self._group_size += 1
        return self._group

    async def _flush(self, group: asyncio.Future[None]) -> None:
        async with self._lock:
            if self._group is not group:
                return
            self._group = None
            try:
                await self._commit_physically()
            except BaseException as exc:
                log.error("group commit failed; %d transactions not acknowledged", self._group_size)
                group.set_exception(exc)
                await self._discard()
                return
            group.set_result(None)

    async def _commit_physically(self) -> None:
        assert self._conn is not None
        await self._conn.commit()

    async def _undo(self, savepoint: object) -> None:
        try:
            if getattr(savepoint, "is_active", False):
                await savepoint.rollback()  # type: ignore[attr-defined]
        except BaseException as exc:
            await self._abandon(exc)

    async def _abandon(self, exc: BaseException) -> None:
        """The connection is in an unknown state: fail the open group and start afresh."""
        group, self._group = self._group, None
        if group is not None and not group.done():
            group.set_exception(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
        await self._discard()

    async def _discard(self) -> None:
        conn, self._conn, self._raw = self._conn, None, None
        if conn is None:
            return
        try:
            await conn.rollback()
        finally:
            await conn.close()
