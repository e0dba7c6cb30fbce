"""SQLite group commit: many write transactions share one fsync, and none is answered
before its write is on disk; one failing transaction never takes its neighbours with it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from server.store.engine import Store


@pytest.fixture
async def store(tmp_path: Path) -> Any:
    s = Store(f"sqlite+aiosqlite:///{tmp_path}/g.db")
    async with s.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
    yield s
    await s.dispose()


async def _count(path_store: Store) -> int:
    # A separate connection sees only what was physically committed.
    async with path_store.read() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM t"))).scalar_one())


async def test_concurrent_transactions_share_commits_and_are_durable_on_return(
    store: Store,
) -> None:
    commits = 0
    conn_commit = store._group._commit_physically  # type: ignore[union-attr]

    async def counting() -> None:
        nonlocal commits
        commits += 1
        await conn_commit()

    store._group._commit_physically = counting  # type: ignore[union-attr,method-assign]
    seen_after_return: list[int] = []

    async def write(i: int) -> None:
        async with store.begin() as conn:
            await conn.execute(text("INSERT INTO t (id, v) VALUES (:i, 'x')"), {"i": i})
        seen_after_return.append(await _count(store))

    await asyncio.gather(*(write(i) for i in range(50)))
    assert await _count(store) == 50
    # Each writer, once answered, finds its row committed for everyone to read.
    assert all(n >= 1 for n in seen_after_return)
    assert commits < 50, "transactions that were ready together should share a commit"


async def test_a_failing_transaction_rolls_back_alone(store: Store) -> None:
    async def good(i: int) -> None:
        async with store.begin() as conn:
            await conn.execute(text("INSERT INTO t (id, v) VALUES (:i, 'ok')"), {"i": i})

    async def bad() -> None:
        async with store.begin() as conn:
            await conn.execute(text("INSERT INTO t (id, v) VALUES (1000, 'half')"))
            await conn.execute(text("INSERT INTO t (id, v) VALUES (1001, NULL)"))  # NOT NULL

    results = await asyncio.gather(good(1), bad(), good(2), return_exceptions=True)
    assert results[0] is None and results[2] is None and isinstance(results[1], Exception)
    async with store.read() as conn:
        ids = sorted((await conn.execute(text("SELECT id FROM t"))).scalars())
    assert ids == [1, 2], "nothing of the failed transaction is kept, its neighbours are"


async def test_a_failed_commit_acknowledges_nobody_in_the_group(store: Store) -> None:
    async def broken() -> None:
        raise OSError("disk full")

    store._group._commit_physically = broken  # type: ignore[union-attr,method-assign]

    async def write(i: int) -> None:
        async with store.begin() as conn:
            await conn.execute(text("INSERT INTO t (id, v) VALUES (:i, 'x')"), {"i": i})

    results = await asyncio.gather(*(write(i) for i in range(5)), return_exceptions=True)
    assert all(isinstance(r, OSError) for r in results)
    del store._group._commit_physically  # type: ignore[union-attr]
    assert await _count(store) == 0
    await write(99)  # the writer starts afresh after the failure
    assert await _count(store) == 1
