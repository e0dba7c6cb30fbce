"""A burst of help calls, end to end: N presses as fast as the client can send them, then the
time until every incident's offer has reached a caregiver's WebSocket.

    python -m bench.burst --backend sqlite   --calls 400 --concurrency 32
    python -m bench.burst --backend postgres --calls 400 --concurrency 32 --processes 1 2 1 2

The store is the demo station plus ``calls / per-station`` bench stations, each with
``per-station`` elders (accounts, homes 100 m from the station) and as many caregivers on duty
(at the station, each with a socket open), so every emergency has a free caregiver: what is
measured is the server's work from press to offer (intake, outbox relay, dispatch snapshot,
ranking, the offer's transaction, the push), not a shortage of people. ``--processes``
runs that many ``anxin serve`` processes on one PostgreSQL database and Redis (presses and
sockets spread round-robin; an offer made by one process reaches a socket on another through
Redis); a list runs one measurement per entry, each on a fresh copy of the seeded database.
``--before DIR`` runs the server of another checkout (``git archive REV | tar -x -C DIR``)
right after each measurement, on its own fresh copy: an interleaved A/B.

Prints one JSON line per run: presses/s at intake, incidents/s end to end (calls ÷ time from
the first press to the last offer), press → offer p50/p99, and how many had no offer within
``--timeout`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.help_calls import SECRET, demo_database, pct, start_server, token
from bench.raw_limit import _copy
from server.auth.principal import Role

Person = tuple[int, int, int]  # user id, elder or caregiver id, station id


async def seed(url: str, calls: int, per_station: int) -> tuple[list[Person], list[Person]]:
    """Bench stations, each with ``per_station`` elders and caregivers on duty."""
    from sqlalchemy import insert, select

    from server.auth.tables import users
    from server.registry.tables import caregivers, stations
    from server.store.engine import Store

    store = Store(url)
    now = datetime.now(UTC)
    elders: list[Person] = []
    carers: list[Person] = []
    async with store.begin() as conn:
        demo = dict((await conn.execute(select(stations))).mappings().first() or {})
        for k in range(-(-calls // per_station)):
            at = (demo["lat"] + 0.02 * (k + 1), demo["lng"])
            row = {**demo, "name": f"压测站{k}", "lat": at[0], "lng": at[1], "created_at": now}
            row.pop("id")
            sid = (
                await conn.execute(insert(stations).values(**row).returning(stations.c.id))
            ).scalar_one()
            n = min(per_station, calls - len(elders))
            for i in range(n):
                user = {"station_id": sid, "created_at": now}
                cuid = (
                    await conn.execute(
                        insert(users)
                        .values(role="caregiver", display_name=f"cg{k}-{i}", **user)
                        .returning(users.c.id)
                    )
                ).scalar_one()
                cid = (
                    await conn.execute(
                        insert(caregivers)
                        .values(user_id=cuid, station_id=sid, name=f"护理员{k}-{i}",
                                phone=f"139{k:04d}{i:04d}", skills=["first_aid", "nursing"],
                                certificates=[], travel_mode="ebike", shifts=[], on_duty=True,
                                lat=at[0] + 0.001, lng=at[1], located_at=now, created_at=now)
                        .returning(caregivers.c.id)
                    )
                ).scalar_one()  # fmt: skip
                carers.append((int(cuid), int(cid), int(sid)))
            elders += await _elders(conn, sid, at, n, k, now)
    await store.dispose()
    return elders, carers


async def _elders(
    conn: Any, sid: int, at: tuple[float, float], n: int, k: int, now: datetime
) -> list[Person]:
    from datetime import date

    from sqlalchemy import insert

    from server.auth.tables import users
    from server.identity import make_id_number
    from server.registry.tables import elders

    out: list[Person] = []
    for i in range(n):
        uid = (
            await conn.execute(
                insert(users)
                .values(role="elder", display_name=f"e{k}-{i}", station_id=sid, created_at=now)
                .returning(users.c.id)
            )
        ).scalar_one()
        eid = (
            await conn.execute(
                insert(elders)
                .values(station_id=sid, user_id=uid, name=f"压测老人{k}-{i}", sex="F",
                        birth_date="1945-01-01", address="压测地址",
                        id_number=make_id_number(f"13{k:04d}", date(1945, 1, 1), i),
                        lat=at[0] - 0.0009, lng=at[1], categories=[], contacts=[],
                        neighbours=[], created_at=now, updated_at=now)
                .returning(elders.c.id)
            )
        ).scalar_one()  # fmt: skip
        out.append((int(uid), int(eid), sid))
    return out


async def _listen(ws: Any, offered: dict[int, float], heard: asyncio.Event) -> None:
    async for msg in ws:
        if msg.type != aiohttp.WSMsgType.TEXT:
            continue
        body = json.loads(msg.data)
        if body.get("type") == "task.offered":
            offered.setdefault(int(body["payload"]["incident_id"]), time.perf_counter())
            heard.set()


async def burst(
    bases: list[str], elders: list[Person], carers: list[Person], concurrency: int, timeout: float
) -> dict[str, Any]:
    """Sockets up, then every elder presses once; wait for every incident's first offer."""
    offered: dict[int, float] = {}
    pressed: dict[int, float] = {}
    errors = 0
    conn = aiohttp.TCPConnector(limit=concurrency + len(carers) + 8)
    async with aiohttp.ClientSession(connector=conn) as s:
        sockets = []
        for n, (uid, cid, sid) in enumerate(carers):
            tok = token(uid, Role.CAREGIVER, station=sid, caregiver_id=cid)
            ws_base = bases[n % len(bases)].replace("http", "ws")
            sockets.append(await s.ws_connect(f"{ws_base}/api/v1/ws?token={tok}"))
        heard = asyncio.Event()
        readers = [asyncio.create_task(_listen(ws, offered, heard)) for ws in sockets]
        # The district's stations press interleaved (a fixed order, the same for every run).
        queue = list(enumerate(elders))
        random.Random(16).shuffle(queue)

        async def press() -> None:
            nonlocal errors
            while queue:
                n, (uid, eid, sid) = queue.pop()
                h = {"Authorization": f"Bearer {token(uid, Role.ELDER, station=sid, elder_id=eid)}",
                     "Idempotency-Key": uuid.uuid4().hex}  # fmt: skip
                t0 = time.perf_counter()
                url = bases[n % len(bases)] + "/api/v1/help-calls"
                async with s.post(url, json={"call_type": "emergency"}, headers=h) as r:
                    body = await r.json(content_type=None)
                    if r.status not in (200, 201):
                        errors += 1
                        continue
                pressed[int(body["id"])] = t0

        start = time.perf_counter()
        await asyncio.gather(*(press() for _ in range(concurrency)))
        intake_s = time.perf_counter() - start
        while not set(pressed) <= set(offered) and time.perf_counter() - start < timeout:
            heard.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(heard.wait(), 1.0)
        for t in readers:
            t.cancel()
        for ws in sockets:
            await ws.close()
    waits = [offered[i] - t for i, t in pressed.items() if i in offered]
    last = max((offered[i] for i in pressed if i in offered), default=start)
    return {
        "calls": len(elders),
        "errors": errors,
        "presses_per_s": round(len(pressed) / intake_s, 1),
        "incidents_per_s_end_to_end": round(len(waits) / (last - start), 1) if waits else 0.0,
        "press_to_offer_p50_ms": round(1000 * pct(waits, 50), 1) if waits else None,
        "press_to_offer_p99_ms": round(1000 * pct(waits, 99), 1) if waits else None,
        "without_offer": len(pressed) - len(waits),
    }


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    tmp = Path(tempfile.mkdtemp(prefix="anxin-burst-"))
    env = {"ANXIN_JWT_SECRET": SECRET, "ANXIN_LOG_LEVEL": "WARNING"}
    if args.backend == "postgres":
        env["ANXIN_REDIS_URL"] = "redis://127.0.0.1:6379/13"
    template = await demo_database(args.backend, tmp, "anxin_burst", env)
    os.environ.update(env)
    elders, carers = await seed(template, args.calls, args.per_station)
    out = []
    runs = [
        (p, code) for p in args.processes for code in (None, *([args.before] * bool(args.before)))
    ]
    for n, (processes, cwd) in enumerate(runs):
        url = await _copy(args.backend, template, tmp, n)
        run_env = {**env, "ANXIN_DATABASE_URL": url}
        port = 19000 + os.getpid() % 500 * 2
        procs = [
            await start_server(run_env, port + 100 * p, tmp / f"server{n}-{p}.log", cwd)
            for p in range(processes)
        ]
        bases = [f"http://127.0.0.1:{port + 100 * p}" for p in range(processes)]
        try:
            result = await burst(bases, elders, carers, args.concurrency, args.timeout)
        finally:
            hung = await _stop(procs)
        code = "before" if cwd else "after"
        line = {"backend": args.backend, "code": code, "processes": processes, **result}
        line["not_stopped_by_sigterm_in_10s"] = hung
        print(json.dumps(line, ensure_ascii=False), flush=True)
        out.append(line)
    return out


async def _stop(procs: list[asyncio.subprocess.Process]) -> int:
    """SIGTERM, then SIGKILL after 10 s: how many needed the kill."""
    for proc in procs:
        proc.terminate()
    hung = 0
    for proc in procs:
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            hung += 1
            proc.kill()
            await proc.wait()
    return hung


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--calls", type=int, default=400)
    ap.add_argument("--per-station", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--processes", type=int, nargs="+", default=[1])
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--before", help="another checkout's code, run after each measurement (A/B)")
    args = ap.parse_args()
    if args.backend == "sqlite" and any(p != 1 for p in args.processes):
        ap.error("SQLite has one writer: one process")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
