"""The restore drill: a real server takes help calls, a ledger and timers; `anxin backup` runs
while it keeps writing; the database is destroyed; `anxin restore` brings it back; a new server
finds every acknowledged help call, ledger entry and pending timer, and keeps working."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from server.incidents.tables import idempotency_keys
from server.store.tables import timers
from tests.deploy.support import SECRET, Server, anxin, ok, until
from tests.support.backends import fresh_pg_database, missing, postgres_url

pytestmark = pytest.mark.slow

DEMO_PASSWORD = "anxin1234"
# Long enough that nothing the drill created fires by itself before the restore is checked.
FIRST_RUN = {
    "ANXIN_OFFER_TIMEOUT_S": "3600",
    "ANXIN_OPERATOR_ALARM_AFTER_S": "3600",
    "ANXIN_SLA_S": "7200",
}


@dataclass
class Database:
    url: str
    destroy: Callable[[], Awaitable[None]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "anxin.db"

        async def delete_files() -> None:
            for p in (path, path.with_name("anxin.db-wal"), path.with_name("anxin.db-shm")):
                p.unlink(missing_ok=True)

        yield Database(f"sqlite+aiosqlite:///{path}", delete_files)
        return
    admin = postgres_url()
    if admin is None:
        missing("PostgreSQL")
    async with fresh_pg_database(admin, with_schema=False) as url:

        async def drop() -> None:
            conn = await asyncpg.connect(admin.replace("postgresql+asyncpg://", "postgresql://"))
            try:
                await conn.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
            finally:
                await conn.close()

        yield Database(url, drop)


class Client:
    """The public API as the demo's people use it."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.s, self.base = session, base
        self.tokens: dict[str, str] = {}

    async def login(self, *who: str) -> None:
        for w in who:
            body = await self.call(
                "POST",
                "/api/v1/auth/login",
                None,
                200,
                json={"login": w, "password": DEMO_PASSWORD},
            )
            self.tokens[w] = body["access_token"]

    async def call(
        self, method: str, path: str, who: str | None, expect: int | None, **kw: Any
    ) -> Any:
        headers = {**kw.pop("headers", {})}
        if who:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        async with self.s.request(method, self.base + path, headers=headers, **kw) as r:
            body = await r.json(content_type=None)
            assert expect is None or r.status == expect, f"{method} {path}: {r.status} {body}"
            return body

    async def press(self, key: str, expect: int) -> dict[str, Any]:
        body: dict[str, Any] = await self.call(
            "POST",
            "/api/v1/help-calls",
            "elder",
            expect,
            json={"call_type": "emergency"},
            headers={"Idempotency-Key": key},
        )
        return body

    async def incidents(self) -> dict[int, str]:
        page = await self.call("GET", "/api/v1/incidents?status=all&page_size=200", "operator", 200)
        return {int(i["id"]): str(i["status"]) for i in page["items"]}

    async def ledger(self, elder_id: int) -> dict[str, int]:
        led = await self.call("GET", f"/api/v1/elders/{elder_id}/ledger", "elder", 200)
        return {str(e["entry_id"]): int(e["amount_fen"]) for e in led["entries"]}


@dataclass
class Acknowledged:
    """What the server had answered before the backup began (and so must come back)."""

    incidents: dict[int, str]  # id -> status
    open_incident: int
    elder_id: int
    ledger: dict[str, int]  # entry id -> amount in fen
    pending: dict[str, tuple[str, datetime]]  # timer ref -> (kind, due at)
    keys: list[str]  # Idempotency-Keys of acknowledged presses
    backup_done: datetime = datetime.min.replace(tzinfo=UTC)


async def help_calls(c: Client) -> dict[str, Any]:
    """A press that the operator closes as a test, then a real one left open (its offer and
    SLA timers pending); the family's press joins it."""
    first = await c.press("drill-press-0001", 201)
    await c.call(
        "POST",
        f"/api/v1/incidents/{first['id']}/close",
        "operator",
        200,
        json={"resolution": "test_press", "notes": "恢复演练 / restore drill"},
    )
    second = await c.press("drill-press-0002", 201)

    async def offered() -> bool:
        return (await c.incidents()).get(second["id"]) == "offered"

    await until(offered)  # a settled state: the offer waits an hour for an answer
    return second


async def grants(c: Client, elder_id: int) -> dict[str, int]:
    """Ledger entries: the elder is approved for a free-service class (application through
    the community, street and district steps) and the first read of the quota grants it."""
    a = await c.call(
        "POST",
        f"/api/v1/elders/{elder_id}/applications",
        "family",
        201,
        json={"rule_id": "abc-a-sanwu"},
    )
    for who in ("operator", "admin", "admin"):
        url = f"/api/v1/applications/{a['id']}/decision"
        await c.call("POST", url, who, 200, json={"decision": "pass"})
    await c.call(
        "PATCH", f"/api/v1/elders/{elder_id}", "operator", 200, json={"categories": ["三无"]}
    )
    entries = await c.ledger(elder_id)
    assert entries, "the approved elder's quota read wrote no grant"
    return entries


async def rows(url: str) -> tuple[dict[str, tuple[str, datetime, str]], set[str]]:
    """Every timer (ref -> kind, due at, state) and every stored Idempotency-Key, read
    straight from the store."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            found = await conn.execute(
                select(timers.c.ref, timers.c.kind, timers.c.due_at, timers.c.state)
            )
            timer_rows = {r.ref: (r.kind, _utc(r.due_at), r.state) for r in found}
            keys = {k for (k,) in await conn.execute(select(idempotency_keys.c.key))}
    finally:
        await engine.dispose()
    return timer_rows, keys


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def keep_pressing(c: Client, acked: list[str], stop: asyncio.Event) -> None:
    """Writes while the backup runs: each press joins the open incident."""
    n = 0
    while not stop.is_set():
        key = f"drill-during-{n:05d}"
        await c.press(key, 200)
        acked.append(key)
        n += 1


async def state_and_backup(base: str, url: str, backup: Path, env: dict[str, str]) -> Acknowledged:
    async with aiohttp.ClientSession() as s:
        c = Client(s, base)
        await c.login("elder", "family", "operator", "admin")
        incident = await help_calls(c)
        ledger = await grants(c, int(incident["elder_id"]))
        acked: list[str] = ["drill-press-0001", "drill-press-0002"]
        stop = asyncio.Event()
        writer = asyncio.create_task(keep_pressing(c, acked, stop))
        try:
            await until(lambda: asyncio.sleep(0, result=len(acked) > 3))  # writes under way
            timer_rows, _ = await rows(url)
            known = Acknowledged(
                incidents=await c.incidents(),
                open_incident=int(incident["id"]),
                elder_id=int(incident["elder_id"]),
                ledger=ledger,
                pending={r: (k, due) for r, (k, due, st) in timer_rows.items() if st == "pending"},
                keys=list(acked),  # answered before the backup starts
            )
            said = ok(await asyncio.to_thread(anxin, ["backup", str(backup)], env))
            known.backup_done = datetime.now(UTC)
        finally:
            stop.set()
            await writer
    assert said.startswith("backed up") and str(backup) in said and len(said.splitlines()) == 1
    return known


def check_restored_rows(known: Acknowledged, timer_rows: dict[str, Any], keys: set[str]) -> None:
    """Straight from the restored store, before any server touches it."""
    assert set(known.keys) <= keys, "an acknowledged press is missing"
    assert known.pending, "the drill should have pending timers"
    for ref, (kind, due) in known.pending.items():
        assert ref in timer_rows, f"timer {ref} is missing"
        got_kind, got_due, state = timer_rows[ref]
        assert (got_kind, got_due) == (kind, due)
        # Only a timer already due when the backup ended could have fired inside it.
        assert state == "pending" or due <= known.backup_done, (ref, state)
    sla = f"incident:{known.open_incident}:sla"
    assert timer_rows[sla][2] == "pending"


async def check_restored_server(base: str, known: Acknowledged) -> None:
    """Everything acknowledged is there through the API, and the server keeps working: a
    replayed press gets its first answer, a new call is taken, and its offer timer fires."""
    async with aiohttp.ClientSession() as s:
        c = Client(s, base)
        await c.login("elder", "operator")
        now = await c.incidents()
        assert {i: now.get(i) for i in known.incidents} == known.incidents
        ledger = await c.ledger(known.elder_id)
        assert {e: ledger.get(e) for e in known.ledger} == known.ledger
        replay = await c.press("drill-press-0002", 201)  # the first answer, replayed
        assert replay["id"] == known.open_incident
        joined = await c.press("drill-after-restore-1", 200)
        assert joined["id"] == known.open_incident
        other = next(e for e in range(1, 50) if e != known.elder_id)
        new = await c.call(
            "POST",
            "/api/v1/incidents",
            "operator",
            201,
            json={"elder_id": other, "call_type": "emergency", "note": "演练后新来电"},
        )

        async def expired() -> bool:
            inc = await c.call("GET", f"/api/v1/incidents/{new['id']}", "operator", 200)
            return "offer_expired" in [e["kind"] for e in inc["timeline"]]

        await until(expired, timeout=180)  # the restored server's timers fire
        assert (await c.incidents())[known.open_incident] == known.incidents[known.open_incident]


async def test_restore_drill(database: Database, tmp_path: Path) -> None:
    env = {"ANXIN_DATABASE_URL": database.url, "ANXIN_JWT_SECRET": SECRET, "ANXIN_LEASE_S": "2"}
    ok(await asyncio.to_thread(anxin, ["demo", "--no-serve"], env))
    backup = tmp_path / "drill.backup"
    first = Server({**env, **FIRST_RUN}, tmp_path / "first.log")
    try:
        first.start()
        await first.wait_ready(timeout=120)
        known = await state_and_backup(first.url, database.url, backup, env)
    finally:
        first.stop()
    await database.destroy()
    said = ok(await asyncio.to_thread(anxin, ["restore", str(backup)], env))
    assert said.startswith("restored") and len(said.splitlines()) == 1
    check_restored_rows(known, *await rows(database.url))
    # The second run answers offers in 2 s: the new call's offer timer must fire.
    second = Server({**env, **FIRST_RUN, "ANXIN_OFFER_TIMEOUT_S": "2"}, tmp_path / "second.log")
    try:
        second.start()
        await second.wait_ready(timeout=120)
        await check_restored_server(second.url, known)
    finally:
        second.stop()
