"""The button's plain-SQL intake writes what the general intake writes, row for row.

flows/plain_intake.py bypasses SQLAlchemy on the hot path; a value bound differently (a
timestamp's format, a JSON text, a default) would be a silent difference in the store. Here
one press goes through the general path and one through the plain path, for the same elder
at the same instant, and every row each wrote is compared with the ids taken out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select, update

from server.incidents.flows import intake
from server.incidents.tables import incidents
from server.store.meta import metadata
from tests.conftest import BACKENDS
from tests.support.api import Api

BOTH = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

Rows = dict[str, list[str]]
IDS = {"id", "incident_id", "seq", "last_seq", "key", "ref"}


def _plain(value: Any) -> Any:
    """A row's value with the ids (which differ between two presses) taken out."""
    if isinstance(value, dict):
        return {k: ("ID" if k in IDS else _plain(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def took_plain(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[bool]:
    """Whether each call of ``module.name`` (a plain path) took it (returned an answer)."""
    taken: list[bool] = []
    real = getattr(module, name)

    async def spy(*args: Any, **kw: Any) -> Any:
        out = await real(*args, **kw)
        taken.append(out is not None)
        return out

    monkeypatch.setattr(module, name, spy)
    return taken


async def _all(api: Api) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    async with api.platform.store.read() as conn:
        for table in metadata.sorted_tables:
            rows = (await conn.execute(select(table))).mappings().all()
            out[table.name] = {json.dumps(dict(r), default=str): dict(r) for r in rows}
    return out


def _new(before: dict[str, Any], after: dict[str, Any]) -> Rows:
    out: Rows = {}
    for name, rows in after.items():
        new = [_plain(r) for k, r in rows.items() if k not in before[name]]
        if new:
            out[name] = sorted(json.dumps(r, default=str, sort_keys=True) for r in new)
    return out


async def _press(api: Api, monkeypatch: pytest.MonkeyPatch, plain: bool) -> tuple[Rows, Any]:
    monkeypatch.setattr(intake, "PLAIN", plain)
    before = await _all(api)
    answer = await api.press(expect=201)
    wrote = _new(before, await _all(api))
    # Resolved as a real emergency: the next press opens a new call, not a join or a repeat.
    async with api.platform.store.begin() as conn:
        await conn.execute(
            update(incidents)
            .where(incidents.c.id == answer["id"])
            .values(status="resolved", resolution="resolved", resolved_at=api.clock.now())
        )
    return wrote, _plain(answer)


@BOTH
async def test_plain_press_writes_the_rows_of_the_general_path(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = took_plain(monkeypatch, intake, "plain_press")
    general, general_answer = await _press(api, monkeypatch, plain=False)
    plain, plain_answer = await _press(api, monkeypatch, plain=True)
    assert taken == [True], "the press did not take the plain path"
    assert {"incidents", "incident_events", "outbox", "timers", "push_messages"} <= set(plain)
    assert sorted(plain) == sorted(general)
    for table in general:
        assert plain[table] == general[table], table
    assert plain_answer == general_answer


@BOTH
async def test_a_replayed_key_and_a_join_go_as_before(api: Api) -> None:
    first = await api.press(key="k" * 20, expect=201)
    again = await api.press(key="k" * 20, expect=201)
    assert again == first
    await api.press(key="k" * 20, call_type="health", expect=422)
    joined = await api.press(expect=200)
    assert joined["id"] == first["id"] and joined["joined"] is True


@pytest.mark.parametrize("writer", ["group", "threaded"])
async def test_pushes_are_numbered_on_every_sqlite_writer(tmp_path: Any, writer: str) -> None:
    """flush_pushes speaks plain SQL to the inline writer's sqlite3 connection, and through
    exec_driver_sql to the threaded aiosqlite writer: both number and store the same way."""
    from datetime import UTC, datetime

    from schemas.incidents import IncidentStatus, IncidentStatusPush
    from server.platform import Tx, flush_pushes, queue_push
    from server.store.engine import Store
    from server.store.tables import push_messages

    store = Store(f"sqlite+aiosqlite:///{tmp_path}/w.db", sqlite_writer=writer)
    await store.create_all()
    now = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
    try:
        for _ in range(2):
            async with store.begin() as conn:
                tx = Tx(conn=conn, now=now)
                for who in ("user:2", "user:1", "user:2"):
                    queue_push(
                        tx, who, IncidentStatusPush(incident_id=7, status=IncidentStatus.OPEN)
                    )
                await flush_pushes(tx)
        async with store.read() as conn:
            rows = (await conn.execute(select(push_messages))).all()
    finally:
        await store.dispose()
    seqs = sorted((r.recipient, r.seq) for r in rows)
    assert seqs == [("user:1", 1), ("user:1", 2)] + [("user:2", n) for n in (1, 2, 3, 4)]
    assert {r.created_at for r in rows} == {now}
    assert all(r.payload["incident_id"] == 7 for r in rows)
