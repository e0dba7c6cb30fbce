"""What one emergency costs the store in the relay, from the claim of its `incident.opened`
to the done mark: statements sent, SQLAlchemy's and plain SQL's alike. A budget, so a change
that brings back a re-read or a statement per row shows here (issue 16: the dispatch half)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from server.jobs import relay_once
from server.store.plain import Plain
from tests.conftest import BACKENDS
from tests.support.api import Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


@contextmanager
def counting(api: Api) -> Iterator[Counter[str]]:
    """Count statements: SQLAlchemy's (a cursor hook on every engine) and plain SQL's."""
    seen: Counter[str] = Counter()
    store = api.platform.store
    engines = {id(e): e.sync_engine for e in (store.engine, store._writer)}.values()

    def hook(*args: Any) -> None:
        seen["sqlalchemy"] += 1

    real_rows, real_run = Plain.rows, Plain.run

    async def rows(self: Plain, sql: str, args: Any = ()) -> Any:
        seen["plain"] += 1
        return await real_rows(self, sql, args)

    async def run(self: Plain, sql: str, args: Any = ()) -> None:
        if self.kind == "asyncpg":  # the others run through rows, counted there
            seen["plain"] += 1
        await real_run(self, sql, args)

    for e in engines:
        event.listen(e, "before_cursor_execute", hook)
    mp = pytest.MonkeyPatch()
    mp.setattr(Plain, "rows", rows)
    mp.setattr(Plain, "run", run)
    try:
        yield seen
    finally:
        mp.undo()
        for e in engines:
            event.remove(e, "before_cursor_execute", hook)


async def statements_per_emergency(api: Api) -> Counter[str]:
    inc = await api.press(expect=201)
    with counting(api) as seen:
        while await relay_once(api.platform):
            pass
    status = await api.call("GET", f"/api/v1/incidents/{inc['id']}", "operator", expect=200)
    assert status["status"] == "offered"
    return seen


# Counted on main at a5945c3: SQLite 44, PostgreSQL 35; at 9c59b4c: 39 and 29. SQLite's
# count has its BEGIN, SAVEPOINT and RELEASE lines and the ranking's read transaction
# (outside the write lock). The escalation chain's start in plain SQL (plain_chain.py):
# 14 statements → 5 on SQLite, 3 on PostgreSQL; the offer's four writes one statement on
# PostgreSQL (plain_offer._WRITE_PG); the black list read with the snapshot's caregivers.
BUDGET = {"sqlite": 28, "postgres": 13}


async def test_an_emergency_s_dispatch_stays_within_its_statement_budget(
    api: Api, backend: str
) -> None:
    seen = await statements_per_emergency(api)
    assert sum(seen.values()) <= BUDGET[backend], dict(seen)
