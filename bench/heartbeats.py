"""Device heartbeats per second through a real ``anxin serve`` (signed, over loopback).

    python -m bench.heartbeats --backend sqlite --devices 500 --beats 6000 --concurrency 32

Each round starts the server three times on fresh copies of one seeded database: one beat per
request with heartbeats batched in the store (``ANXIN_HEARTBEAT_FLUSH_S=1``, the default), one
beat per request with one transaction each (``ANXIN_HEARTBEAT_FLUSH_S=0``), and the gateway's
batch (``--gateway-batch`` beats per signed request to ``/devices/heartbeats``), the same client
and concurrency for all. After each run the bench checks that every device's last heartbeat
reached the store (the server flushes at SIGTERM). The client signs every request and runs on
the same 2 cores as the server, so beats/s is what the machine does with both; beats per
second of the server's own CPU is what one process does per core.
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


def cpu_s(pid: int) -> float:
    """The process's own CPU so far (user + system), from /proc: what one process spends per
    heartbeat, whatever else the shared cores are doing."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _request(
    base: str, ids: list[str], first: int, n: int, key: bytes
) -> tuple[str, bytes, dict[str, str]]:
    """Beats ``first`` .. ``first + n - 1``: one device's own request when ``n`` is 1, else one
    gateway batch of ``n`` devices."""
    beats = [
        {"device_id": ids[i % len(ids)], "battery_pct": 50 + i % 50, "event_id": uuid.uuid4().hex}
        for i in range(first, first + n)
    ]
    if n == 1:
        url = f"{base}/api/v1/hotline/devices/{beats[0]['device_id']}/heartbeat"
        body = json.dumps(beats[0]).encode()
    else:
        url, body = (
            f"{base}/api/v1/hotline/devices/heartbeats",
            json.dumps({"beats": beats}).encode(),
        )
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: ts,
        SIGNATURE_HEADER: sign(key, ts, body),
    }
    return url, body, headers


async def drive(
    base: str, ids: list[str], beats: int, concurrency: int, pid: int, per_request: int = 1
) -> dict[str, Any]:
    lat: list[float] = []
    errors = 0
    todo = iter(range(0, beats, per_request))
    key = DEVICE_SECRET.encode()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as s:

        async def worker() -> None:
            nonlocal errors
            for first in todo:
                url, body, headers = _request(base, ids, first, per_request, key)
                t0 = time.perf_counter()
                async with s.post(url, data=body, headers=headers) as r:
                    await r.read()
                    errors += r.status != 200
                lat.append(time.perf_counter() - t0)

        t0, cpu0 = time.perf_counter(), cpu_s(pid)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall, cpu = time.perf_counter() - t0, cpu_s(pid) - cpu0
    done = len(lat) * per_request
    return {
        "per_request": per_request,
        "beats": done,
        "errors": errors,
        "beats_per_s": round(done / wall, 1),
        "server_cpu_s": round(cpu, 2),
        "beats_per_server_cpu_s": round(done / cpu, 1),
        "request_p50_ms": round(1000 * sorted(lat)[len(lat) // 2], 2),
        "request_p99_ms": round(1000 * pct(lat, 99), 2),
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
        for flush, per_request in (("1", 1), ("0", 1), ("1", args.gateway_batch)):
            url = await _copy(args.backend, template, tmp, len(runs))
            run_env = {**env, "ANXIN_DATABASE_URL": url, "ANXIN_HEARTBEAT_FLUSH_S": flush}
            proc = await start_server(run_env, port, tmp / f"server{n}-{flush}.log")
            try:
                out = await drive(
                    f"http://127.0.0.1:{port}",
                    ids,
                    args.beats,
                    args.concurrency,
                    proc.pid,
                    per_request,
                )
            finally:
                proc.terminate()
                await proc.wait()
            out = {"flush_s": float(flush), **out, "devices_never_stored": await unseen(url)}
            print(json.dumps({"backend": args.backend, **out}), flush=True)
            runs.append(out)
    single = [r for r in runs if r["per_request"] == 1]
    batched = [r["beats_per_s"] for r in single if r["flush_s"] > 0]
    each = [r["beats_per_s"] for r in single if r["flush_s"] == 0]
    per_cpu = [r["beats_per_server_cpu_s"] for r in single if r["flush_s"] > 0]
    gateway = [r for r in runs if r["per_request"] > 1]
    return {
        "backend": args.backend,
        "concurrency": args.concurrency,
        "batched_beats_per_s": batched,
        "one_tx_each_beats_per_s": each,
        "batched_over_each": [round(a / b, 2) for a, b in zip(batched, each, strict=True)],
        "batched_beats_per_server_cpu_s": per_cpu,
        "gateway_batch": args.gateway_batch,
        "gateway_beats_per_s": [r["beats_per_s"] for r in gateway],
        "gateway_beats_per_server_cpu_s": [r["beats_per_server_cpu_s"] for r in gateway],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--devices", type=int, default=500)
    ap.add_argument("--beats", type=int, default=6000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument(
        "--gateway-batch", type=int, default=100, help="beats per request in the gateway's runs"
    )
    print(json.dumps(asyncio.run(main_async(ap.parse_args())), ensure_ascii=False))


if __name__ == "__main__":
    main()
