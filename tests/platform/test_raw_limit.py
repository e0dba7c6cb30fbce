"""bench/raw_limit.py writes what a real press writes: the same tables and columns.

The raw limit is only a limit if it does the intake's work; a schema change or a new row in
the intake that the raw bench does not follow fails here."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import make_url, select

from bench import raw_limit
from server.store.meta import metadata
from tests.conftest import BACKENDS
from tests.support.api import Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

Snapshot = dict[str, set[str]]


async def snapshot(api: Api) -> dict[str, dict[str, dict[str, Any]]]:
    """Every row of every table, keyed by its JSON form."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    async with api.platform.store.read() as conn:
        for table in metadata.sorted_tables:
            rows = (await conn.execute(select(table))).mappings().all()
            out[table.name] = {
                json.dumps(dict(r), default=str, sort_keys=True): dict(r) for r in rows
            }
    return out


def written(
    before: dict[str, dict[str, dict[str, Any]]], after: dict[str, dict[str, dict[str, Any]]]
) -> Snapshot:
    """Per table, the columns holding a value in the rows that are new or changed."""
    out: Snapshot = {}
    for name, rows in after.items():
        for key, row in rows.items():
            if key not in before.get(name, {}):
                out.setdefault(name, set()).update(c for c, v in row.items() if v is not None)
    return out


async def raw_press(api: Api, url: str, elder_id: int, reporter: int) -> dict[str, Any]:
    ops = [api.ids["operator"], api.ids["admin"]]
    key, now = uuid.uuid4().hex, datetime.now(UTC)
    if url.startswith("sqlite"):
        db = sqlite3.connect(str(make_url(url).database), isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            out = raw_limit.press_sqlite(
                db, raw_limit.RawWriter(True, ops), elder_id, reporter, key, "d" * 64, now
            )
            db.execute("COMMIT")
        finally:
            db.close()
        return out
    import asyncpg

    conn = await asyncpg.connect(raw_limit.pg_dsn(url))
    try:
        async with conn.transaction():
            return await raw_limit.press_pg(
                conn, raw_limit.RawWriter(False, ops), elder_id, reporter, key, "d" * 64, now
            )
    finally:
        await conn.close()


async def test_raw_press_writes_the_tables_and_columns_of_a_real_press(api: Api) -> None:
    url = api.platform.settings.database_url
    start = await snapshot(api)
    inc = await api.press(expect=201)
    after_real = await snapshot(api)
    real = written(start, after_real)
    out = await raw_press(api, url, api.ids["elder"], api.ids["elder_user"])
    raw = written(after_real, await snapshot(api))
    assert out["status"] == "open" and out["id"] != inc["id"]
    assert set(real) >= {"incidents", "incident_events", "outbox", "timers", "idempotency_keys"}
    assert {"push_cursors", "push_messages"} <= set(real)
    assert sorted(raw) == sorted(real), "the raw bench writes other tables than a press"
    for table in real:
        assert raw[table] == real[table], (
            f"{table}: raw writes {raw[table] ^ real[table]} differently"
        )
