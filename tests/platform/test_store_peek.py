"""The cheap reads and the commit off the loop that every help call's path now takes (issue 16):

- ``Store.peek`` (the session check of every request) gives committed data only, the latest
  commit at once, on both stores; on SQLite it reads in place and, should SQLite answer busy,
  goes the threaded way;
- ``Store.glance`` (the dispatcher's ranking reads, a socket's page of pushes) gives committed
  data only on both stores; on SQLite its statements read in place on the loop in one
  snapshot, and run again the threaded way should SQLite answer busy;
- the SQLite writer's commit runs off the loop (the loop serves others meanwhile), and the
  writer is answered only once the commit has returned, cancelled or not.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.engine import Store
from server.store.inline_sqlite import InlineConnection
from tests.conftest import BACKENDS


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    s = Store(database_url)
    async with s.begin() as conn:
        await conn.execute(text("CREATE TABLE peek_t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
    yield s
    await s.dispose()


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_peek_sees_each_commit_at_once_and_nothing_uncommitted(store: Store) -> None:
    assert await store.peek("SELECT v FROM peek_t WHERE id = $1", (1,)) is None
    async with store.begin() as conn:
        await conn.execute(text("INSERT INTO peek_t (id, v) VALUES (1, 'a')"))
        assert await store.peek("SELECT v FROM peek_t WHERE id = $1", (1,)) is None
    row = await store.peek("SELECT v FROM peek_t WHERE id = $1", (1,))
    assert row is not None and row[0] == "a"
    async with store.begin() as conn:
        await conn.execute(text("UPDATE peek_t SET v = 'b' WHERE id = 1"))
    row = await store.peek("SELECT v, id FROM peek_t WHERE id = $1", (1,))
    assert row is not None and tuple(row) == ("b", 1)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_peek_reads_in_place_and_goes_threaded_when_sqlite_is_busy(store: Store) -> None:
    async with store.begin() as conn:
        await conn.execute(text("INSERT INTO peek_t (id, v) VALUES (1, 'a')"))
    row = await store.peek("SELECT v FROM peek_t WHERE id = $1", (1,))
    assert row is not None and row[0] == "a"
    assert store._peeker is not None, "read in place, on a connection of its own"

    class Busy:
        def execute(self, *_: Any) -> Any:
            raise sqlite3.OperationalError("database is locked")

        def close(self) -> None:
            pass

    store._peeker = Busy()  # type: ignore[assignment]
    row = await store.peek("SELECT v FROM peek_t WHERE id = $1", (1,))
    assert row is not None and row[0] == "a", "answered the threaded way"
    assert store._peeker is None, "the busy connection is dropped; the next peek opens anew"


class SlowCommit:
    """Stands in for the writer's sqlite3 connection: its commit takes a while."""

    def __init__(self, inner: sqlite3.Connection, seconds: float) -> None:
        self.inner = inner
        self.seconds = seconds
        self.done = threading.Event()
        self.thread: str | None = None

    def commit(self) -> None:
        self.thread = threading.current_thread().name
        time.sleep(self.seconds)
        self.inner.commit()
        self.done.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def _inline(store: Store) -> InlineConnection:
    async with store.begin():
        pass  # the writer's connection is open now
    assert store._group is not None and store._group._conn is not None
    raw = await store._group._conn.get_raw_connection()
    inline = raw.dbapi_connection._connection  # type: ignore[union-attr]
    assert isinstance(inline, InlineConnection)
    return inline


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_commit_runs_off_the_loop_and_answers_only_once_done(store: Store) -> None:
    inline = await _inline(store)
    slow = SlowCommit(inline._conn, 0.3)
    inline._conn = slow  # type: ignore[assignment]
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while not slow.done.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    beat = asyncio.create_task(ticker())
    async with store.begin() as conn:
        await conn.execute(text("INSERT INTO peek_t (id, v) VALUES (7, 'x')"))
    assert slow.done.is_set(), "answered only after the commit returned"
    await beat
    assert ticks >= 5, "the loop ran other work while the commit was on disk"
    assert slow.thread is not None and slow.thread.startswith("sqlite-commit")
    row = await store.peek("SELECT v FROM peek_t WHERE id = $1", (7,))
    assert row is not None and row[0] == "x"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_cancelled_commit_is_waited_for_before_the_cancel(store: Store) -> None:
    inline = await _inline(store)
    inline._conn.execute("BEGIN IMMEDIATE")
    inline._conn.execute("INSERT INTO peek_t (id, v) VALUES (8, 'y')")
    slow = SlowCommit(inline._conn, 0.2)
    inline._conn = slow  # type: ignore[assignment]
    task = asyncio.create_task(inline.commit())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert slow.done.is_set(), "nobody touches the connection while its commit runs"
    inline._conn = slow.inner
    row = await store.peek("SELECT v FROM peek_t WHERE id = $1", (8,))
    assert row is not None and row[0] == "y"


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_a_failing_peek_raises_the_stores_error_and_the_next_one_works(
    store: Store,
) -> None:
    with pytest.raises(DBAPIError):
        await store.peek("SELECT v FROM no_such_table WHERE id = $1", (1,))
    async with store.begin() as conn:
        await conn.execute(text("INSERT INTO peek_t (id, v) VALUES (2, 'c')"))
    row = await store.peek("SELECT v FROM peek_t WHERE id = $1", (2,))
    assert row is not None and row[0] == "c"


async def _values(conn: AsyncConnection) -> list[str]:
    return [r[0] for r in (await conn.execute(text("SELECT v FROM peek_t ORDER BY id"))).all()]


async def _is_inline(conn: AsyncConnection) -> bool:
    raw = await conn.get_raw_connection()
    return isinstance(getattr(raw.dbapi_connection, "_connection", None), InlineConnection)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_glance_sees_committed_data_only(store: Store) -> None:
    assert await store.glance(_values) == []
    async with store.begin() as conn:
        await conn.execute(text("INSERT INTO peek_t (id, v) VALUES (1, 'a')"))
        assert await store.glance(_values) == [], "nothing uncommitted"
    assert await store.glance(_values) == ["a"], "the latest commit at once"
    with pytest.raises(DBAPIError):
        await store.glance(lambda c: c.execute(text("SELECT v FROM no_such_table")))
    assert await store.glance(_values) == ["a"], "a failed glance leaves nothing behind"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_glance_reads_in_place_in_one_snapshot_across_its_statements(
    store: Store,
) -> None:
    async with store.begin() as conn:
        await conn.execute(text("INSERT INTO peek_t (id, v) VALUES (1, 'a')"))

    async def twice(conn: AsyncConnection) -> tuple[list[str], list[str], bool]:
        first = await _values(conn)
        async with store.begin() as w:  # a commit between the glance's two statements
            await w.execute(text("INSERT INTO peek_t (id, v) VALUES (2, 'b')"))
        return first, await _values(conn), await _is_inline(conn)

    first, second, inline = await store.glance(twice)
    assert inline, "on the loop, on a connection of the glance's own"
    assert first == second == ["a"], "one snapshot: the commit between is not seen"
    assert await store.glance(_values) == ["a", "b"], "the next glance sees it"
    with pytest.raises(OperationalError):  # query_only: a glance never writes
        await store.glance(lambda c: c.execute(text("DELETE FROM peek_t")))
    assert await store.glance(_values) == ["a", "b"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_glance_runs_again_the_threaded_way_when_sqlite_is_busy(store: Store) -> None:
    async with store.begin() as conn:
        await conn.execute(text("INSERT INTO peek_t (id, v) VALUES (1, 'a')"))
    ways: list[bool] = []

    async def busy_once(conn: AsyncConnection) -> list[str]:
        ways.append(await _is_inline(conn))
        if len(ways) == 1:
            busy = sqlite3.OperationalError("database is locked")
            raise OperationalError("SELECT v FROM peek_t", [], busy)
        return await _values(conn)

    assert await store.glance(busy_once) == ["a"]
    assert ways == [True, False], "in place first, then again on the threaded read"

    async def broken(conn: AsyncConnection) -> None:
        raise OperationalError("SELECT", [], sqlite3.OperationalError("disk I/O error"))

    with pytest.raises(OperationalError):  # any other error is the caller's
        await store.glance(broken)
