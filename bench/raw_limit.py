"""The raw limit: a minimal server that writes what one help call's intake writes, with the
same durability, in one transaction, run interleaved with the real ``anxin serve``.

    python -m bench.raw_limit --backend sqlite   --calls 1000 --concurrency 16 --rounds 2
    python -m bench.raw_limit --backend postgres --calls 1000 --concurrency 16 --rounds 2

One press of the help button (a new emergency, inside the service circle) writes, in
server/incidents/flows/intake.py and the platform it calls:

- ``incidents``: the incident (``_open``);
- ``incident_events``: its ``opened`` event (``timeline``);
- ``outbox``: ``incident.opened`` for the dispatcher (``emit``);
- ``timers``: the SLA deadline and the no-acceptance alarm (``start_emergency_clock``);
- ``push_cursors`` and ``push_messages``: one numbered message per operator and admin
  (``to_operators``) and per watcher, the elder and bound family (``to_watchers``);
- ``idempotency_keys``: the key with its answer (``remember``).

The raw server reads the elder's row with a lock, writes those rows with plain SQL (sqlite3
in place on the loop with one commit per turn of the loop, as the real server's group commit
does; asyncpg on PostgreSQL) and answers 201 after the commit. The operator list is read once
at start. ``tests/platform/test_raw_limit.py`` runs one raw press and one real press and
compares the tables and columns each wrote, so a schema change the raw bench does not follow
fails CI.

Each round gives both servers a fresh copy of one seeded database (the real server's dispatch
backlog from a previous round never loads the next) and drives them with the same client
(bench/help_calls.py ``load``) at the same concurrency: raw, real, raw, real, ... It prints one
JSON line per run and a summary with real/raw per pair.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import make_url

from server.auth.tokens import decode_access
from server.store.plain import values

SLA_S = 20 * 60
ACK_ALARM_S = 60


def _sqlite_time(t: datetime) -> str:
    return t.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


class Press:
    """The statements of one press, in the order the intake writes them (plain SQL with
    ``$n`` parameters; SQLite takes them as ``?n``)."""

    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite

    def sql(self, text: str) -> str:
        return re.sub(r"\$(\d+)", r"?\1", text) if self.sqlite else text

    def t(self, when: datetime) -> Any:
        return _sqlite_time(when) if self.sqlite else when

    def elder(self) -> str:
        lock = "" if self.sqlite else " FOR UPDATE"
        return self.sql(
            "SELECT id, station_id, user_id, lat, lng, name, active FROM elders WHERE id = $1"
            + lock
        )


def _payloads(iid: int, elder: Sequence[Any], deadline: datetime) -> tuple[str, str, str]:
    eid, station = int(elder[0]), int(elder[1])
    opened = {
        "station_id": station,
        "incident_id": iid,
        "elder_id": eid,
        "kind": "emergency",
        "source": "button",
        "elder_name": elder[5],
        "title": "紧急呼叫",
        "deadline_at": deadline.isoformat(),
        "outside_circle": False,
        "repeat_of": None,
    }
    status = {"incident_id": iid, "status": "open", "kind": "emergency", "text": "已收到您的呼叫"}
    event = {"incident_id": iid, "station_id": station, "elder_id": eid}
    return (
        json.dumps(opened, ensure_ascii=False),
        json.dumps(status, ensure_ascii=False),
        json.dumps({**event, "kind": "emergency", "source": "button"}),
    )


def answer(iid: int, elder: Sequence[Any], now: datetime, deadline: datetime) -> dict[str, Any]:
    return {
        "id": iid,
        "station_id": int(elder[1]),
        "elder_id": int(elder[0]),
        "elder_name": elder[5],
        "kind": "emergency",
        "status": "open",
        "source": "button",
        "opened_at": now.isoformat(),
        "deadline_at": deadline.isoformat(),
        "lat": elder[3],
        "lng": elder[4],
        "joined": False,
    }


class RawWriter:
    """One press's rows on one connection that is already inside a transaction."""

    def __init__(self, sqlite: bool, operators: Sequence[int]) -> None:
        self.p = Press(sqlite)
        self.operators = list(operators)

    def incident(self) -> str:
        return self.p.sql(
            "INSERT INTO incidents (station_id, elder_id, kind, status, source, reporter_user_id,"
            " lat, lng, outside_circle, opened_at, deadline_at, notes, press_count, version,"
            " arrival_flagged) VALUES ($1, $2, 'emergency', 'open', 'button', $3, $4, $5, $6,"
            " $7, $8, '', 1, 1, $9) RETURNING id"
        )

    def rest(
        self,
        iid: int,
        elder: Sequence[Any],
        reporter: int,
        key: str,
        digest: str,
        now: datetime,
    ) -> tuple[list[tuple[str, tuple[Any, ...]]], tuple[str, list[Any], list[str]], Any]:
        """The statements after the incident row: (plain ones, the cursor upsert, answer)."""
        p = self.p
        deadline = now + timedelta(seconds=SLA_S)
        opened, status, event = _payloads(iid, elder, deadline)
        recipients = sorted({f"user:{u}" for u in self.operators} | {f"user:{elder[2]}"})
        plain: list[tuple[str, tuple[Any, ...]]] = [
            (
                p.sql(
                    "INSERT INTO incident_events (incident_id, at, kind, actor_user_id, data)"
                    " VALUES ($1, $2, 'opened', $3, $4)"
                ),
                (
                    iid,
                    p.t(now),
                    reporter,
                    json.dumps({"kind": "emergency", "source": "button", "outside_circle": False}),
                ),
            ),
            (
                p.sql(
                    "INSERT INTO outbox (topic, payload, created_at, priority, attempts)"
                    " VALUES ('incident.opened', $1, $2, 0, 0)"
                ),
                (event, p.t(now)),
            ),
            (
                p.sql(
                    "INSERT INTO timers (kind, ref, due_at, payload, state, attempts, created_at)"
                    " VALUES ('incident.sla', $1, $2, $3, 'pending', 0, $4),"
                    " ('incident.ack_alarm', $5, $6, $3, 'pending', 0, $4)"
                    " ON CONFLICT (ref) DO NOTHING"
                ),
                (
                    f"incident:{iid}:sla",
                    p.t(deadline),
                    json.dumps({"incident_id": iid}),
                    p.t(now),
                    f"incident:{iid}:ack_alarm",
                    p.t(now + timedelta(seconds=ACK_ALARM_S)),
                ),
            ),
        ]
        cursors = p.sql(
            "INSERT INTO push_cursors (recipient, last_seq) VALUES "
            + values(len(recipients), 2)
            + " ON CONFLICT (recipient) DO UPDATE SET last_seq = push_cursors.last_seq + 1"
            " RETURNING recipient, last_seq"
        )
        cparams: list[Any] = [v for r in recipients for v in (r, 1)]
        body = answer(iid, elder, now, deadline)
        own = f"user:{elder[2]}"
        messages = {
            r: ("incident.status", status) if r == own else ("incident.opened", opened)
            for r in recipients
        }
        plain.append(
            (
                p.sql(
                    "INSERT INTO idempotency_keys (scope, key, request_hash, state,"
                    " response_status, response_body, created_at)"
                    " VALUES ($1, $2, $3, 'done', 201, $4, $5)"
                ),
                (f"user:{reporter}", key, digest, json.dumps(body, ensure_ascii=False), p.t(now)),
            )
        )
        return plain, (cursors, cparams, recipients), (body, messages)

    def messages_sql(
        self, seqs: dict[str, int], messages: dict[str, tuple[str, str]], now: datetime
    ) -> tuple[str, list[Any]]:
        params: list[Any] = []
        for r in sorted(seqs):
            t, payload = messages[r]
            params += [r, seqs[r], t, payload, self.p.t(now)]
        sql = self.p.sql(
            "INSERT INTO push_messages (recipient, seq, type, payload, created_at) VALUES "
            + values(len(seqs), 5)
        )
        return sql, params


def press_sqlite(
    db: sqlite3.Connection,
    w: RawWriter,
    eid: int,
    reporter: int,
    key: str,
    digest: str,
    now: datetime,
) -> dict[str, Any]:
    """One press on a connection inside a transaction (a savepoint of the group)."""
    elder = db.execute(w.p.elder(), (eid,)).fetchone()
    if elder is None:
        raise LookupError("elder not found")
    deadline = now + timedelta(seconds=SLA_S)
    iid = db.execute(
        w.incident(),
        (
            elder[1],
            elder[0],
            reporter,
            elder[3],
            elder[4],
            False,
            _sqlite_time(now),
            _sqlite_time(deadline),
            False,
        ),
    ).fetchone()[0]
    plain, (csql, cparams, _), (body, messages) = w.rest(iid, elder, reporter, key, digest, now)
    for sql, params in plain[:-1]:
        db.execute(sql, params)
    seqs = {r: int(s) for r, s in db.execute(csql, cparams).fetchall()}
    msql, mparams = w.messages_sql(seqs, messages, now)
    db.execute(msql, mparams)
    db.execute(*plain[-1])
    return dict(body)


async def press_pg(
    conn: Any, w: RawWriter, eid: int, reporter: int, key: str, digest: str, now: datetime
) -> dict[str, Any]:
    """One press on an asyncpg connection inside a transaction."""
    elder = await conn.fetchrow(w.p.elder(), eid)
    if elder is None:
        raise LookupError("elder not found")
    deadline = now + timedelta(seconds=SLA_S)
    iid = await conn.fetchval(
        w.incident(), elder[1], elder[0], reporter, elder[3], elder[4], False, now, deadline, False
    )
    plain, (csql, cparams, _), (body, messages) = w.rest(
        iid, tuple(elder), reporter, key, digest, now
    )
    for sql, params in plain[:-1]:
        await conn.execute(sql, *params)
    seqs = {r["recipient"]: int(r["last_seq"]) for r in await conn.fetch(csql, *cparams)}
    msql, mparams = w.messages_sql(seqs, messages, now)
    await conn.execute(msql, *mparams)
    await conn.execute(plain[-1][0], *plain[-1][1])
    return dict(body)


OPERATORS_SQL = (
    "SELECT id FROM users WHERE role IN ('operator', 'admin') AND active"
    " AND (station_id = {s} OR role = 'admin')"
)


class SqliteGroup:
    """sqlite3 in place on the loop; every press of one turn of the loop is a savepoint in
    one transaction that commits (fsync, synchronous=FULL) before anyone is answered."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        station = self.db.execute("SELECT id FROM stations ORDER BY id LIMIT 1").fetchone()[0]
        ops = [r[0] for r in self.db.execute(OPERATORS_SQL.format(s=station))]
        self.w = RawWriter(True, ops)
        self.pending: list[tuple[tuple[int, int, str, str], asyncio.Future[dict[str, Any]]]] = []

    async def press(self, eid: int, reporter: int, key: str, digest: str) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[dict[str, Any]] = loop.create_future()
        if not self.pending:
            loop.call_soon(self._flush)
        self.pending.append(((eid, reporter, key, digest), fut))
        return await fut

    def _flush(self) -> None:
        batch, self.pending = self.pending, []
        now = datetime.now(UTC)
        done: list[tuple[asyncio.Future[dict[str, Any]], Any]] = []
        self.db.execute("BEGIN IMMEDIATE")
        for args, fut in batch:
            self.db.execute("SAVEPOINT p")
            try:
                done.append((fut, press_sqlite(self.db, self.w, *args, now)))
                self.db.execute("RELEASE p")
            except Exception as exc:  # noqa: BLE001 - the member fails alone
                self.db.execute("ROLLBACK TO p")
                self.db.execute("RELEASE p")
                done.append((fut, exc))
        try:
            self.db.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001 - a failed commit fails everyone
            for fut, _ in done:
                fut.set_exception(exc)
            return
        for fut, out in done:
            if isinstance(out, Exception):
                fut.set_exception(out)
            else:
                fut.set_result(out)


class PgWriter:
    def __init__(self, pool: Any, w: RawWriter) -> None:
        self.pool = pool
        self.w = w

    @classmethod
    async def open(cls, url: str) -> PgWriter:
        import asyncpg

        pool = await asyncpg.create_pool(url, min_size=4, max_size=20)
        async with pool.acquire() as c:
            station = await c.fetchval("SELECT id FROM stations ORDER BY id LIMIT 1")
            ops = [r[0] for r in await c.fetch(OPERATORS_SQL.format(s=int(station)))]
        return cls(pool, RawWriter(False, ops))

    async def press(self, eid: int, reporter: int, key: str, digest: str) -> dict[str, Any]:
        async with self.pool.acquire() as conn, conn.transaction():
            return await press_pg(conn, self.w, eid, reporter, key, digest, datetime.now(UTC))


def pg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def make_app(writer: Any, secret: str) -> web.Application:
    import hashlib

    async def help_call(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        p = decode_access(auth.removeprefix("Bearer "), secret=secret, now=datetime.now(UTC))
        key = request.headers["Idempotency-Key"]
        body = await request.json()
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        assert p.elder_id is not None
        out = await writer.press(p.elder_id, p.user_id, key, digest)
        return web.json_response(out, status=201)

    async def ready(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.add_routes([web.post("/api/v1/help-calls", help_call), web.get("/readyz", ready)])
    return app


async def _serve(url: str, port: int, secret: str) -> None:
    if url.startswith("sqlite"):
        writer: Any = SqliteGroup(str(make_url(url).database))
    else:
        writer = await PgWriter.open(pg_dsn(url))
    runner = web.AppRunner(make_app(writer, secret), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


# ----- the interleaved comparison -------------------------------------------------------------


async def _template(
    backend: str, tmp: Path, calls: int, env: dict[str, str], cwd: str | None = None
) -> str:
    """A seeded database (demo station plus ``calls`` elders with accounts), made by the
    code in ``cwd`` (its schema and migration): its URL."""
    from bench.help_calls import demo_database, seed_elders

    prefix = "anxin_raw_tmpl_before" if cwd else "anxin_raw_tmpl"
    url = await demo_database(backend, tmp, prefix, env, cwd)
    await seed_elders(url, calls)
    return url


async def _copy(backend: str, template: str, tmp: Path, n: int) -> str:
    if backend == "postgres":
        import asyncpg

        base, name = template.rsplit("/", 1)
        new = f"{name}_{n}"
        c = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        await c.execute(f'CREATE DATABASE "{new}" TEMPLATE "{name}"')
        await c.close()
        return f"{base}/{new}"
    src = Path(str(make_url(template).database))
    dst = tmp / f"run{n}.db"
    shutil.copyfile(src, dst)
    return f"sqlite+aiosqlite:///{dst}"


async def _elders(url: str) -> list[tuple[int, int]]:
    from sqlalchemy import select

    from server.registry.tables import elders
    from server.store.engine import Store

    store = Store(url)
    async with store.read() as conn:
        rows = (
            await conn.execute(
                select(elders.c.user_id, elders.c.id)
                .where(elders.c.name.like("压测老人%"))
                .order_by(elders.c.id)
            )
        ).all()
    await store.dispose()
    return [(int(u), int(e)) for u, e in rows]


async def _run(
    kind: str,
    url: str,
    env: dict[str, str],
    port: int,
    log: Path,
    elders: list[tuple[int, int]],
    concurrency: int,
) -> dict[str, Any]:
    from bench.help_calls import load, start_server

    run_env = {**env, "ANXIN_DATABASE_URL": url}
    if kind == "real":
        proc = await start_server(run_env, port, log)
    elif kind == "before":
        proc = await start_server(run_env, port, log, cwd=os.environ["ANXIN_BENCH_BEFORE"])
    else:
        proc = await _start_raw(run_env, port, log)
    try:
        result = await load(f"http://127.0.0.1:{port}", elders, concurrency)
    finally:
        proc.terminate()
        await proc.wait()
    return {"server": kind, **result}


async def _start_raw(env: dict[str, str], port: int, log: Path) -> asyncio.subprocess.Process:
    from bench.help_calls import ready

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.raw_limit",
        "serve",
        "--url",
        env["ANXIN_DATABASE_URL"],
        "--port",
        str(port),
        env={**os.environ, **env},
        stdout=log.open("ab"),
        stderr=asyncio.subprocess.STDOUT,
    )
    return await ready(proc, port, log)


async def compare(args: argparse.Namespace) -> dict[str, Any]:
    from bench.help_calls import SECRET

    tmp = Path(tempfile.mkdtemp(prefix="anxin-raw-"))
    env = {"ANXIN_JWT_SECRET": SECRET, "ANXIN_LOG_LEVEL": "WARNING"}
    if args.backend == "postgres":
        env["ANXIN_REDIS_URL"] = "redis://127.0.0.1:6379/14"
    if args.before:
        os.environ["ANXIN_BENCH_BEFORE"] = args.before
    template = await _template(args.backend, tmp, args.calls, env)
    before = await _template(args.backend, tmp, args.calls, env, args.before) if args.before else ""
    elders = await _elders(template)
    port = 19000 + os.getpid() % 1000
    runs: list[dict[str, Any]] = []
    for n in range(args.rounds):
        for kind in ("raw", "real", *(("before",) if args.before else ())):
            url = await _copy(
                args.backend, before if kind == "before" else template, tmp, len(runs)
            )
            out = await _run(kind, url, env, port, tmp / f"{kind}{n}.log", elders, args.concurrency)
            print(json.dumps({"backend": args.backend, **out}), flush=True)
            runs.append(out)
    raws = [r["calls_per_s"] for r in runs if r["server"] == "raw"]
    reals = [r["calls_per_s"] for r in runs if r["server"] == "real"]
    befores = [r["calls_per_s"] for r in runs if r["server"] == "before"]
    extra = {}
    if befores:
        extra = {
            "before_calls_per_s": befores,
            "before_over_raw": [round(b / a, 3) for a, b in zip(raws, befores, strict=True)],
        }
    return {
        **extra,
        "backend": args.backend,
        "concurrency": args.concurrency,
        "raw_calls_per_s": raws,
        "real_calls_per_s": reals,
        "real_over_raw": [round(b / a, 3) for a, b in zip(raws, reals, strict=True)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd")
    srv = sub.add_parser("serve", help="run the raw endpoint alone")
    srv.add_argument("--url", required=True)
    srv.add_argument("--port", type=int, default=8099)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument(
        "--before",
        help="a checkout of older code (git archive): each round also runs its server",
    )
    args = ap.parse_args()
    if args.cmd == "serve":
        secret = os.environ.get("ANXIN_JWT_SECRET", "")
        asyncio.run(_serve(args.url, args.port, secret))
        return
    print(json.dumps(asyncio.run(compare(args)), ensure_ascii=False))


if __name__ == "__main__":
    main()
