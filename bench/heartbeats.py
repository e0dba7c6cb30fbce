"""Device heartbeats per second through a real ``anxin serve`` (signed, over loopback).

    python -m bench.heartbeats --backend sqlite --devices 500 --beats 6000 --concurrency 32

Each round starts the server twice on fresh copies of one seeded database: with heartbeats
batched (``ANXIN_HEARTBEAT_FLUSH_S=1``, the default) and with one transaction per heartbeat
(``ANXIN_HEARTBEAT_FLUSH_S=0``), the same client and concurrency for both. After each run the
bench checks that every device's last heartbeat reached the store (the server flushes at
SIGTERM). The client signs every request and runs on the same 2 cores as the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.help_calls import SECRET, pct, start_server
from bench.raw_limit import _copy, _template
from hotline.cti import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

DEVICE_SECRET = "bench-device-secret-0123456789abcdef"
SECRETS = {
    "ANXIN_DEVICE_SECRET": DEVICE_SECRET,
    "ANXIN_CTI_SECRET": "bench-cti-secret-0123456789abcdef0123",
    "ANXIN_HOTLINE_RECEIPT_SECRET": "bench-receipt-secret-0123456789abcd",
}


async def add_devices(url: str, n: int) -> list[str]:
    from sqlalchemy import insert, select

    from server.hotline.tables import devices
    from server.registry.tables import elders
    from server.store.engine import Store

    store = Store(url)
    now = datetime.now(UTC)
    async with store.begin() as conn:
        found = (await conn.execute(select(elders.c.id, elders.c.station_id))).all()
        ids = [f"HB-{i:05d}" for i in range(n)]
        await conn.execute(
            insert(devices),
            [
                {
                    "device_id": d,
                    "elder_id": found[i % len(found)].id,
                    "station_id": found[i % len(found)].station_id,
                    "registered_at": now,
                }
                for i, d in enumerate(ids)
            ],
        )
    await store.dispose()
    return ids


async def unseen(url: str) -> int:
    from sqlalchemy import func, select

    from server.hotline.tables import devices
    from server.store.engine import Store

    store = Store(url)
    async with store.read() as conn:
        n = (
            await conn.execute(
                select(func.count())
                .select_from(devices)
                .where(devices.c.device_id.like("HB-%"), devices.c.last_heartbeat_at.is_(None))
            )
        ).scalar_one()
    await store.dispose()
    return int(n)


async def drive(base: str, ids: list[str], beats: int, concurrency: int) -> dict[str, Any]:
    lat: list[float] = []
    errors = 0
    todo = iter(range(beats))
    key = DEVICE_SECRET.encode()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as s:

        async def worker() -> None:
            nonlocal errors
            for i in todo:
                d = ids[i % len(ids)]
                body = json.dumps(
                    {"device_id": d, "battery_pct": 50 + i % 50, "event_id": uuid.uuid4().hex}
                ).encode()
                ts = str(int(time.time()))
                h = {
                    "Content-Type": "application/json",
                    TIMESTAMP_HEADER: ts,
                    SIGNATURE_HEADER: sign(key, ts, body),
                }
                t0 = time.perf_counter()
                async with s.post(
                    f"{base}/api/v1/hotline/devices/{d}/heartbeat", data=body, headers=h
                ) as r:
                    await r.read()
                    errors += r.status != 200
                lat.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    return {
        "beats": len(lat),
        "errors": errors,
        "beats_per_s": round(len(lat) / wall, 1),
        "p50_ms": round(1000 * sorted(lat)[len(lat) // 2], 2),
        "p99_ms": round(1000 * pct(lat, 99), 2),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="anxin-hb-"))
    env = {"ANXIN_JWT_SECRET": SECRET, "ANXIN_LOG_LEVEL": "WARNING", **SECRETS}
    if args.backend == "postgres":
        env["ANXIN_REDIS_URL"] = "redis://127.0.0.1:6379/14"
    os.environ.update(SECRETS)
    template = await _template(args.backend, tmp, 0, env)
    ids = await add_devices(template, args.devices)
    port = 20000 + os.getpid() % 1000
    runs: list[dict[str, Any]] = []
    for n in range(args.rounds):
        for flush in ("1", "0"):
            url = await _copy(args.backend, template, tmp, len(runs))
            run_env = {**env, "ANXIN_DATABASE_URL": url, "ANXIN_HEARTBEAT_FLUSH_S": flush}
            proc = await start_server(run_env, port, tmp / f"server{n}-{flush}.log")
            try:
                out = await drive(f"http://127.0.0.1:{port}", ids, args.beats, args.concurrency)
            finally:
                proc.terminate()
                await proc.wait()
            out = {"flush_s": float(flush), **out, "devices_never_stored": await unseen(url)}
            print(json.dumps({"backend": args.backend, **out}), flush=True)
            runs.append(out)
    batched = [r["beats_per_s"] for r in runs if r["flush_s"] > 0]
    each = [r["beats_per_s"] for r in runs if r["flush_s"] == 0]
    return {
        "backend": args.backend,
        "concurrency": args.concurrency,
        "batched_beats_per_s": batched,
        "one_tx_each_beats_per_s": each,
        "batched_over_each": [round(a / b, 2) for a, b in zip(batched, each, strict=True)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--devices", type=int, default=500)
    ap.add_argument("--beats", type=int, default=6000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2)
    print(json.dumps(asyncio.run(main_async(ap.parse_args())), ensure_ascii=False))


if __name__ == "__main__":
    main()
