"""Press to offer while the server is killed: does dispatch keep moving through crashes?

    python -m bench.crash_dispatch --backend sqlite   --seconds 120 --kill-every 10
    python -m bench.crash_dispatch --backend postgres --seconds 120 --kill-every 10

Runs a real ``anxin serve`` on the demo station and presses emergencies at a steady rate,
each retried with its Idempotency-Key until acknowledged (as the phones do). A supervisor
SIGKILLs the server every ``--kill-every`` seconds and starts it again; an operator closes
each call once it is offered, so caregivers are free for the next. The same load runs first
without kills, in the same run, for the ratio. Prints one JSON line per phase: presses
acknowledged, 5xx answers, calls never offered (lost), and press → first offer p50/p99/max,
timed from the elder's first attempt to the offer's time in the store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from bench.help_calls import SECRET, demo_database, pct, seed_elders, start_server, token
from server.auth.principal import Role


@dataclass
class Call:
    elder: tuple[int, int]
    first_try: datetime
    incident_id: int | None = None
    server_errors: int = 0


@dataclass
class Phase:
    calls: list[Call] = field(default_factory=list)
    restarts: int = 0
    down_s: list[float] = field(default_factory=list)  # kill to ready again, each restart


class Server:
    """The server process, killed and restarted by the supervisor."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env, self.tmp = env, tmp
        self.port = 19000 + os.getpid() % 1000
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.proc = await start_server(self.env, self.port, self.tmp / "server.log")

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def press(s: aiohttp.ClientSession, srv: Server, call: Call) -> None:
    uid, eid = call.elder
    h = {
        "Authorization": f"Bearer {token(uid, Role.ELDER, elder_id=eid)}",
        "Idempotency-Key": uuid.uuid4().hex,
    }
    while call.incident_id is None:
        try:
            async with s.post(
                srv.base + "/api/v1/help-calls", json={"call_type": "emergency"}, headers=h
            ) as r:
                if r.status in (200, 201):
                    call.incident_id = int((await r.json())["id"])
                    return
                if r.status >= 500 and r.status != 503:
                    call.server_errors += 1
        except (aiohttp.ClientError, TimeoutError):
            pass  # the server is down: the phone keeps the press and tries again
        await asyncio.sleep(0.5)


async def close_offered(s: aiohttp.ClientSession, srv: Server, phase: Phase, op: str) -> None:
    """The operator closes each call once it has been offered (frees the caregiver)."""
    h = {"Authorization": f"Bearer {op}"}
    closed: set[int] = set()
    while True:
        for call in list(phase.calls):
            iid = call.incident_id
            if iid is None or iid in closed:
                continue
            try:
                async with s.get(f"{srv.base}/api/v1/incidents/{iid}", headers=h) as r:
                    status = (await r.json()).get("status") if r.status == 200 else None
                if status not in (None, "open"):
                    async with s.post(
                        f"{srv.base}/api/v1/incidents/{iid}/close",
                        json={"resolution": "test_press"},
                        headers=h,
                    ) as r:
                        if r.status in (200, 409):
                            closed.add(iid)
            except (aiohttp.ClientError, TimeoutError, ValueError):
                pass
        await asyncio.sleep(0.25)


async def run_phase(
    srv: Server, elders: list[tuple[int, int]], op: str, *, seconds: float, rate: float,
    kill_every: float,
) -> Phase:  # fmt: skip
    phase = Phase()
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as s:
        closer = asyncio.create_task(close_offered(s, srv, phase, op))
        presses: list[asyncio.Task[None]] = []
        t0 = time.monotonic()
        next_kill = t0 + kill_every if kill_every else float("inf")
        for elder in elders[: int(seconds * rate)]:
            call = Call(elder, datetime.now(UTC))
            phase.calls.append(call)
            presses.append(asyncio.create_task(press(s, srv, call)))
            await asyncio.sleep(1 / rate)
            if time.monotonic() >= next_kill:
                down = time.monotonic()
                await srv.kill()
                await srv.start()
                phase.down_s.append(time.monotonic() - down)
                phase.restarts += 1
                next_kill = time.monotonic() + kill_every
        await asyncio.wait_for(asyncio.gather(*presses), 120)
        await asyncio.sleep(15)  # the tail: the last calls' offers and closes
        closer.cancel()
    return phase


async def offered_at(url: str, ids: list[int]) -> dict[int, datetime]:
    from server.incidents.tables import offers
    from server.store.engine import Store

    store = Store(url)
    try:
        async with store.read() as conn:
            rows = await conn.execute(
                select(offers.c.incident_id, func.min(offers.c.offered_at))
                .where(offers.c.incident_id.in_(ids))
                .group_by(offers.c.incident_id)
            )
            return {int(i): at for i, at in rows.all()}
    finally:
        await store.dispose()


async def report(url: str, name: str, phase: Phase) -> dict[str, Any]:
    ids = [c.incident_id for c in phase.calls if c.incident_id is not None]
    first = await offered_at(url, ids)
    lat = [
        (first[c.incident_id] - c.first_try).total_seconds()
        for c in phase.calls
        if c.incident_id in first
    ]
    return {
        "phase": name,
        "presses": len(phase.calls),
        "acknowledged": len(ids),
        "server_errors_5xx": sum(c.server_errors for c in phase.calls),
        "never_offered": len(ids) - len(lat),
        "restarts": phase.restarts,
        "down_max_s": round(max(phase.down_s), 2) if phase.down_s else None,
        "press_to_offer_p50_s": round(pct(lat, 50), 2) if lat else None,
        "press_to_offer_p99_s": round(pct(lat, 99), 2) if lat else None,
        "press_to_offer_max_s": round(max(lat), 2) if lat else None,
    }


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    tmp = Path(tempfile.mkdtemp(prefix="anxin-crash-"))
    env = {"ANXIN_JWT_SECRET": SECRET, "ANXIN_LOG_LEVEL": "ERROR", "ANXIN_OFFER_TIMEOUT_S": "60"}
    env["ANXIN_DATABASE_URL"] = await demo_database(args.backend, tmp, "anxin_crash", env)
    n = int(args.seconds * args.rate)
    elders = await seed_elders(env["ANXIN_DATABASE_URL"], 2 * n)
    srv = Server(env, tmp)
    await srv.start()
    async with aiohttp.ClientSession() as s:
        r = await s.post(
            srv.base + "/api/v1/auth/login", json={"login": "operator", "password": "anxin1234"}
        )
        op = str((await r.json())["access_token"])
    out = []
    try:
        for name, elders_, kill in (
            ("steady", elders[:n], 0.0),
            ("killed", elders[n:], args.kill_every),
        ):
            phase = await run_phase(
                srv, elders_, op, seconds=args.seconds, rate=args.rate, kill_every=kill
            )
            out.append(await report(env["ANXIN_DATABASE_URL"], name, phase))
    finally:
        await srv.kill()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--rate", type=float, default=2.0, help="presses per second")
    ap.add_argument("--kill-every", type=float, default=10)
    for line in asyncio.run(main_async(ap.parse_args())):
        print(json.dumps(line, ensure_ascii=False))


if __name__ == "__main__":
    main()
