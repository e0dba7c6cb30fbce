"""Help-call load benchmark: drives a real ``anxin serve`` process over loopback.

    python -m bench.help_calls --backend sqlite --calls 2000 --concurrency 32
    python -m bench.help_calls --backend postgres   # PostgreSQL + Redis on localhost

Prints one JSON line: sustained help calls per second, intake latency p50/p99, and the
time from a press to the offer arriving on the caregiver's WebSocket (p50/p99), measured
one call at a time so the dispatcher is not queueing behind a flood.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from server.auth.principal import Principal, Role
from server.auth.tokens import issue_access

SECRET = "bench-secret-0123456789abcdef0123456789abcdef"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def seed_elders(url: str, n: int) -> list[tuple[int, int]]:
    """Bench-only setup: n more elders with accounts, straight into the store."""
    from sqlalchemy import insert, select

    from server.auth.tables import users
    from server.identity import make_id_number
    from server.registry.tables import elders, stations
    from server.store.engine import Store

    store = Store(url)
    now = datetime.now(UTC)
    out = []
    async with store.begin() as conn:
        st = (await conn.execute(select(stations))).first()
        assert st is not None
        from datetime import date

        for i in range(n):
            uid = (
                await conn.execute(
                    insert(users)
                    .values(
                        role="elder",
                        display_name=f"bench{i}",
                        username=f"bench-elder-{i}",
                        station_id=st.id,
                        created_at=now,
                    )
                    .returning(users.c.id)
                )
            ).scalar_one()
            eid = (
                await conn.execute(
                    insert(elders)
                    .values(
                        station_id=st.id,
                        user_id=uid,
                        name=f"压测老人{i}",
                        sex="F",
                        birth_date="1945-01-01",
                        id_number=make_id_number(f"12{i // 1000:04d}", date(1945, 1, 1), i % 1000),
                        address="压测地址",
                        lat=st.lat + 0.001,
                        lng=st.lng + 0.001,
                        categories=[],
                        contacts=[],
                        neighbours=[],
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(elders.c.id)
                )
            ).scalar_one()
            out.append((uid, eid))
    await store.dispose()
    return out


def token(uid: int, role: Role, station: int = 1, **kw: Any) -> str:
    p = Principal(user_id=uid, role=role, station_id=station, **kw)
    return issue_access(p, secret=SECRET, now=datetime.now(UTC), ttl_s=3600)


async def start_server(
    env: dict[str, str], port: int, log: Path, cwd: str | None = None
) -> asyncio.subprocess.Process:
    """``anxin serve`` on ``port``; ``cwd`` runs another checkout's code (an A/B)."""
    import sys

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        "serve",
        "--port",
        str(port),
        env={**os.environ, **env},
        stdout=log.open("ab"),
        stderr=asyncio.subprocess.STDOUT,
        cwd=cwd,
    )
    return await ready(proc, port, log)


async def ready(
    proc: asyncio.subprocess.Process, port: int, log: Path
) -> asyncio.subprocess.Process:
    """Wait until the process on ``port`` answers /readyz (up to a minute: a loaded machine
    has taken more than 20 s to start the server); a server that never got ready is killed,
    so that a failed start leaves nothing running."""
    async with aiohttp.ClientSession() as s:
        for _ in range(600):
            try:
                async with s.get(f"http://127.0.0.1:{port}/readyz") as r:
                    if r.status == 200:
                        return proc
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    if proc.returncode is None:
        proc.kill()
        await proc.wait()
    raise RuntimeError("server did not start: " + log.read_text()[-2000:])


async def load(base: str, elders: list[tuple[int, int]], concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    for e in elders:
        queue.put_nowait(e)
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as s:

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                uid, eid = queue.get_nowait()
                h = {
                    "Authorization": f"Bearer {token(uid, Role.ELDER, elder_id=eid)}",
                    "Idempotency-Key": uuid.uuid4().hex,
                }
                t0 = time.perf_counter()
                async with s.post(
                    base + "/api/v1/help-calls", json={"call_type": "emergency"}, headers=h
                ) as r:
                    await r.read()
                    if r.status not in (200, 201):
                        errors += 1
                latencies.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    return {
        "calls": len(latencies),
        "errors": errors,
        "calls_per_s": round(len(latencies) / wall, 1),
        "intake_p50_ms": round(1000 * statistics.median(latencies), 2),
        "intake_p99_ms": round(1000 * pct(latencies, 99), 2),
    }


async def push_latency(base: str, elders: list[tuple[int, int]], samples: int) -> dict[str, float]:
    """Press, wait for task.offered on the caregivers' sockets, close the call, repeat."""
    ws_base = base.replace("http", "ws")
    lat: list[float] = []
    async with aiohttp.ClientSession() as s:
        r = await s.post(
            base + "/api/v1/auth/login", json={"login": "operator", "password": "anxin1234"}
        )
        op = {"Authorization": f"Bearer {(await r.json())['access_token']}"}
        sockets = []
        for i in range(1, 4):
            r = await s.post(
                base + "/api/v1/auth/login",
                json={"login": f"caregiver{i}", "password": "anxin1234"},
            )
            tok = (await r.json())["access_token"]
            ws = await s.ws_connect(f"{ws_base}/api/v1/ws?token={tok}")
            await ws.receive()
            sockets.append(ws)
        for uid, eid in elders[:samples]:
            h = {
                "Authorization": f"Bearer {token(uid, Role.ELDER, elder_id=eid)}",
                "Idempotency-Key": uuid.uuid4().hex,
            }
            t0 = time.perf_counter()
            async with s.post(
                base + "/api/v1/help-calls", json={"call_type": "emergency"}, headers=h
            ) as r:
                inc = await r.json()
            done, pending = await asyncio.wait(
                [asyncio.ensure_future(_offer(ws, inc["id"])) for ws in sockets],
                timeout=5,
                return_when=asyncio.FIRST_COMPLETED,
            )
            for p in pending:
                p.cancel()
            if done:
                lat.append(time.perf_counter() - t0)
            await s.post(
                f"{base}/api/v1/incidents/{inc['id']}/close",
                json={"resolution": "test_press"},
                headers=op,
            )
        for ws in sockets:
            await ws.close()
    return {
        "push_samples": len(lat),
        "intake_to_push_p50_ms": round(1000 * statistics.median(lat), 2),
        "intake_to_push_p99_ms": round(1000 * pct(lat, 99), 2),
    }


async def _offer(ws: Any, incident_id: int) -> None:
    while True:
        msg = await ws.receive()
        body = json.loads(msg.data)
        if body.get("type") == "task.offered" and body["payload"]["incident_id"] == incident_id:
            return


async def demo_database(
    backend: str, tmp: Path, prefix: str, env: dict[str, str], cwd: str | None = None
) -> str:
    """A fresh database (a new PostgreSQL database, or an SQLite file in ``tmp``) seeded with
    the demo station by ``anxin demo`` (of the code in ``cwd``, default this checkout): its URL."""
    import subprocess
    import sys

    if backend == "postgres":
        import asyncpg

        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        c = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        await c.execute(f'CREATE DATABASE "{name}"')
        await c.close()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    else:
        url = f"sqlite+aiosqlite:///{tmp}/{prefix}.db"
    subprocess.run(
        [sys.executable, "-m", "server.cli", "demo", "--no-serve"],
        env={**os.environ, **env, "ANXIN_DATABASE_URL": url},
        check=True,
        capture_output=True,
        cwd=cwd,
    )
    return url


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="anxin-bench-"))
    env = {"ANXIN_JWT_SECRET": SECRET, "ANXIN_LOG_LEVEL": "WARNING"}
    if args.backend == "postgres":
        env["ANXIN_REDIS_URL"] = "redis://127.0.0.1:6379/14"
    env["ANXIN_DATABASE_URL"] = await demo_database(args.backend, tmp, "anxin_bench", env)
    os.environ.update(env)
    elders = await seed_elders(env["ANXIN_DATABASE_URL"], args.calls + args.push_samples)
    port = 18000 + os.getpid() % 1000
    proc = await start_server(env, port, tmp / "server.log")
    base = f"http://127.0.0.1:{port}"
    try:
        push = await push_latency(base, elders[args.calls :], args.push_samples)
        result = await load(base, elders[: args.calls], args.concurrency)
    finally:
        proc.terminate()
        await proc.wait()
    return {"backend": args.backend, "concurrency": args.concurrency, **result, **push}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--push-samples", type=int, default=50)
    print(json.dumps(asyncio.run(main_async(ap.parse_args())), ensure_ascii=False))


if __name__ == "__main__":
    main()
