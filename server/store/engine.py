"""The store: one async engine, transactions, and the durability checks at start."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import event, make_url, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

try:  # SQLAlchemy 2.1 renamed it
    from sqlalchemy.util.concurrency import await_
except ImportError:  # pragma: no cover - 2.0
    from sqlalchemy.util.concurrency import await_only as await_

from server.store.group_commit import GroupCommitWriter
from server.store.inline_sqlite import creator
from server.store.meta import metadata
from server.store.plain import driver_row, qmark

log = logging.getLogger("anxin.store")

T = TypeVar("T")


# Commits made in the current task (a request's handler): a handler that lost a lock race
# may be run again only if nothing of it was committed yet (server/retry.py).
_COMMITS: ContextVar[list[int] | None] = ContextVar("anxin_commits", default=None)


def count_commits() -> list[int]:
    """Start counting this task's commits; the returned cell holds the count."""
    cell = [0]
    _COMMITS.set(cell)
    return cell


def committed() -> None:
    cell = _COMMITS.get()
    if cell is not None:
        cell[0] += 1


class StoreMisconfigured(RuntimeError):
    """The database would not keep acknowledged writes through a crash."""


# The on-loop readers' connections (peek, glance): never a write, and never a wait for a
# lock, which would stall the loop; busy goes the threaded way instead.
_READ_ONLY = ("PRAGMA query_only=ON", "PRAGMA busy_timeout=0")


def _sqlite_pragmas(engine: AsyncEngine, *, inline: bool = False, glance: bool = False) -> None:
    """``glance``: the glance's inline connections, read-only, never waiting for a lock (the
    loop would wait), a deferred BEGIN (the snapshot starts with the first SELECT)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us issue BEGIN IMMEDIATE ourselves: a writer takes the lock at the start
        # instead of failing on upgrade from a read lock half way through.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if glance:
            for pragma in _READ_ONLY:
                cur.execute(pragma)
            cur.close()
            return
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        # The inline writer runs on the event loop: SQLite's busy handler would sleep the
        # whole loop (and the other writer, whose thread needs the loop, would never
        # finish). It fails fast instead and waits for the lock asynchronously.
        cur.execute(f"PRAGMA busy_timeout={0 if inline else 10000}")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = glance or conn.get_execution_options().get("anxin_read", False)
        if inline and not read_only:
            _begin_immediate_without_blocking(conn)
            return
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _busy(error: OperationalError) -> bool:
    text_ = str(error.orig).lower()
    return "locked" in text_ or "busy" in text_


def _begin_immediate_without_blocking(conn: Any, timeout_s: float = 10.0) -> None:
    """BEGIN IMMEDIATE, yielding to the event loop while another connection writes."""
    delay, waited = 0.0005, 0.0
    while True:
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as exc:
            if "locked" not in str(exc.orig) or waited >= timeout_s:
                raise
        await_(asyncio.sleep(delay))
        waited += delay
        delay = min(delay * 2, 0.05)


class Store:
    """Async access to the relational store (SQLite embedded, PostgreSQL in production)."""

    def __init__(self, url: str, *, echo: bool = False, sqlite_writer: str = "group") -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo}
        if url.startswith("postgresql"):
            # No pre-ping: it was a round trip before every transaction on the hot path. A
            # connection the database dropped fails its first use, SQLAlchemy then discards
            # the whole pool, and the caller answers 503 with Retry-After (the phone retries).
            kwargs.update(pool_size=20, max_overflow=20)
        self.engine = create_async_engine(url, **kwargs)
        self.dialect = self.engine.dialect.name
        # SQLite has one writer at a time; queueing writers here is fair and cheap, where
        # SQLite's own busy handler sleeps and retries (seconds of tail latency under load).
        self._write_lock: asyncio.Lock | None = None
        self._writer = self.engine
        self._group: GroupCommitWriter | None = None
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}
        self._peek_path: str | None = None  # SQLite: peek() reads in place on the loop
        self._peeker: sqlite3.Connection | None = None
        self._glancer: AsyncEngine | None = None  # SQLite: glance() reads in place on the loop
        if self.dialect == "sqlite":
            _sqlite_pragmas(self.engine)
            self._write_lock = asyncio.Lock()
            path = make_url(url).database
            # group (default), inline, or threaded (aiosqlite): Settings.sqlite_writer.
            mode = sqlite_writer
            if path and path != ":memory:" and mode in ("group", "inline"):
                # Writes run in place on the loop (see inline_sqlite); reads stay threaded.
                self._writer = create_async_engine(url, echo=echo, async_creator=creator(path))
                self._peek_path = path
                # Short reads of several statements in one snapshot, on the loop (glance).
                self._glancer = create_async_engine(
                    url, echo=echo, async_creator=creator(path), pool_size=4, max_overflow=-1
                )
                _sqlite_pragmas(self._glancer, glance=True)
                _sqlite_pragmas(self._writer, inline=True)
                if mode == "group":
                    self._group = GroupCommitWriter(self._writer)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A transaction: committed when the block ends, rolled back on error."""
        async with self._begin() as conn:
            yield conn
        committed()

    @asynccontextmanager
    async def _begin(self) -> AsyncIterator[AsyncConnection]:
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        if self._group is not None:
            async with self._group.begin() as conn:
                yield conn
            return
        async with self._write_lock, self._writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def lock(self, name: str, key: int) -> AsyncIterator[None]:
        """Hold a named lock across every process on this store until the block ends: a
        PostgreSQL advisory lock on its own connection (released by the database if the
        process dies), or, on SQLite, whose one writer means one process, a lock in it."""
        if not self.is_postgres:
            local = self._locks.setdefault((name, key), asyncio.Lock())
            async with local:
                yield
            return
        async with self.engine.connect() as conn:
            args = {"name": name, "key": key}
            await conn.execute(text("SELECT pg_advisory_lock(hashtext(:name), :key)"), args)
            await conn.commit()
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(hashtext(:name), :key)"), args)
                await conn.commit()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only unit of work (no write lock on SQLite's BEGIN IMMEDIATE path)."""
        async with self.engine.connect() as conn:
            await conn.execution_options(anxin_read=True)
            yield conn

    async def glance(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """``work`` (a few short reads, nothing else) on a read-only connection, all its
        statements in one snapshot of committed data, as ``read`` would run it but cheaply.

        With the inline SQLite writer: in place on the loop, on a read connection of its
        own (``query_only``, BEGIN ... ROLLBACK around the statements: in WAL mode one
        snapshot, and a reader never waits for the writer). The threaded read costs a pool
        checkout and about six hops to a worker thread and back per unit of work: ~2.6 ms
        of the loop's time under load, where a short read costs tens of microseconds.
        Should SQLite answer busy, ``work`` runs again, from the start, the threaded way
        (it must only read). Long reads (reports, exports) belong on ``read``: this one
        holds the loop for every statement. Elsewhere (PostgreSQL): ``read``.
        """
        if self._glancer is not None:
            try:
                # Not ``async with``: its exit closes on a task of its own (asyncio.shield),
                # a hop through the loop before the connection is back in the pool, so
                # glances at once would each open a connection. This close runs in place.
                conn = await self._glancer.connect()
                try:
                    return await work(conn)
                finally:
                    await conn.close()
            except OperationalError as error:
                if not _busy(error):
                    raise
                log.info("glance: SQLite busy, read the threaded way")
        async with self.read() as conn:
            return await work(conn)

    async def peek(self, sql: str, args: Sequence[Any] = ()) -> Sequence[Any] | None:
        """The first row of one short read by key (plain SQL, ``$1`` parameters), committed
        data only, as ``read`` would give it but cheaply, for what runs on every request.

        With the inline SQLite writer: in place on the loop, on a read connection of its own
        (``query_only``). In WAL mode a reader never waits for the writer, and a point read
        costs tens of microseconds, where the threaded read's pool checkout and its hops to a
        worker thread and back cost milliseconds of the loop's time under load. Should SQLite
        answer busy anyway, the read goes the threaded way. On PostgreSQL: the one statement
        on asyncpg itself, outside a transaction, one round trip where SQLAlchemy's adapter
        sends BEGIN, the SELECT and (returning the connection) ROLLBACK. Otherwise: ``read``.
        """
        if self._peek_path is not None:
            try:
                return self._peek_in_place(sql, args)
            except sqlite3.OperationalError:
                self._close_peeker()
        async with self.read() as conn:
            if self.is_postgres:
                return await self._peek_pg(conn, sql, args)
            return await driver_row(conn, sql, args)

    async def _peek_pg(
        self, conn: AsyncConnection, sql: str, args: Sequence[Any]
    ) -> Sequence[Any] | None:
        adapted: Any = (await conn.get_raw_connection()).dbapi_connection
        driver = getattr(adapted, "_connection", None)
        if driver is None or getattr(adapted, "_transaction", None) is not None:
            return await driver_row(conn, sql, args)
        try:
            row: Sequence[Any] | None = await driver.fetchrow(sql, *args)
        except Exception as error:
            if not type(error).__module__.startswith("asyncpg") and not isinstance(error, OSError):
                raise
            # As SQLAlchemy would have had it: a broken connection leaves the pool, and the
            # error reads as the store's (a dropped one as an outage: 503, come back).
            broken = driver.is_closed() or isinstance(error, OSError)
            if broken:
                await conn.invalidate(error)
            raise DBAPIError(sql, list(args), error, connection_invalidated=broken) from error
        return row

    def _peek_in_place(self, sql: str, args: Sequence[Any]) -> Sequence[Any] | None:
        if self._peeker is None:
            assert self._peek_path is not None
            conn = sqlite3.connect(self._peek_path, isolation_level=None, check_same_thread=False)
            for pragma in _READ_ONLY:
                conn.execute(pragma)
            self._peeker = conn
        cur = self._peeker.execute(qmark(sql), tuple(args))
        try:
            # Every row fetched: the statement resets and its read snapshot ends here, so
            # the next peek sees the latest commit and a checkpoint is never held back.
            rows = cur.fetchall()
        finally:
            cur.close()
        return rows[0] if rows else None

    def _close_peeker(self) -> None:
        conn, self._peeker = self._peeker, None
        if conn is not None:
            conn.close()

    async def create_all(self) -> None:
        """Create every table on the metadata (import ``server.domains`` first)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    async def drop_all(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def check_durability(self) -> dict[str, str]:
        """Read the settings that decide whether a commit survives a power cut."""
        async with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                sync = (await conn.exec_driver_sql("PRAGMA synchronous")).scalar()
                mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
                found = {"synchronous": str(sync), "journal_mode": str(mode)}
                if str(sync) != "2":  # 2 == FULL
                    raise StoreMisconfigured(f"SQLite synchronous must be FULL, is {sync}")
                return found
            if self.is_postgres:
                fsync = (await conn.exec_driver_sql("SHOW fsync")).scalar()
                sc = (await conn.exec_driver_sql("SHOW synchronous_commit")).scalar()
                found = {"fsync": str(fsync), "synchronous_commit": str(sc)}
                if fsync != "on" or sc not in ("on", "remote_write", "remote_apply"):
                    raise StoreMisconfigured(
                        f"PostgreSQL must run with fsync and synchronous_commit on: {found}"
                    )
                return found
        return {}

    async def dispose(self) -> None:
        self._close_peeker()
        if self._glancer is not None:
            await self._glancer.dispose()
        if self._group is not None:
            await self._group.close()
        if self._writer is not self.engine:
            await self._writer.dispose()
        await self.engine.dispose()
