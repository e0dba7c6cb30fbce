"""Three server processes on one PostgreSQL database, with Redis and without it: every
offer reaches the caregiver's socket whichever process holds it, each call is offered once
at a time, and each escalation step fires once."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.platform.test_durability import login, until
from tests.support.backends import fresh_pg_database, missing, postgres_url, redis_url
from tests.support.proc import ServerProcess, free_port, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


async def _servers(tmp: Path, url: str, redis: str, n: int) -> list[ServerProcess]:
    env = {
        "ANXIN_DATABASE_URL": url,
        "ANXIN_REDIS_URL": redis,
        "ANXIN_JWT_SECRET": "processes-test-secret-0123456789abcdef",
        "ANXIN_LOG_LEVEL": "WARNING",
        "ANXIN_OFFER_TIMEOUT_S": "60",
    }
    run_cli(["demo", "--no-serve"], env)
    servers = [ServerProcess(env, tmp / f"server{i}.log") for i in range(n)]
    for s in servers:
        s.start()
    for s in servers:
        await s.wait_ready()
    return servers


@pytest.fixture
async def database() -> AsyncIterator[str]:
    admin = postgres_url()
    if admin is None:
        missing("PostgreSQL")
    assert admin is not None
    if redis_url() is None:
        missing("Redis")
    async with fresh_pg_database(admin, with_schema=False) as url:
        yield url


async def _offer_on_socket(
    s: aiohttp.ClientSession, ws_url: str, press_url: str, elder: dict[str, str]
) -> dict[str, Any]:
    """Press on one process; the offer's push, read on the socket held by another."""
    async with s.ws_connect(ws_url) as ws:
        assert json.loads((await ws.receive()).data)["type"] == "hello"
        async with s.post(
            press_url + "/api/v1/help-calls",
            json={"call_type": "emergency"},
            headers={**elder, "Idempotency-Key": str(uuid.uuid4())},
        ) as r:
            assert r.status == 201, await r.text()
        while True:
            body = json.loads((await asyncio.wait_for(ws.receive(), 30)).data)
            if body["type"] == "task.offered":
                return dict(body["payload"])


async def _duty(s: aiohttp.ClientSession, servers: list[ServerProcess], on: set[int]) -> None:
    """Demo caregivers 1..4 on or off duty (through whichever process)."""
    for i in range(1, 5):
        url = servers[i % len(servers)].url
        h = await login(s, url, f"caregiver{i}")
        async with s.post(
            url + "/api/v1/caregivers/me/duty", json={"on_duty": i in on}, headers=h
        ) as r:
            assert r.status == 200, await r.text()


async def _one_offer_per_call(s: aiohttp.ClientSession, url: str, op: dict[str, str]) -> None:
    async with s.get(url + "/api/v1/incidents?status=all&page_size=50", headers=op) as r:
        items = (await r.json())["items"]
    for inc in items:
        async with s.get(f"{url}/api/v1/incidents/{inc['id']}", headers=op) as r:
            timeline = (await r.json())["timeline"]
        offered = [e for e in timeline if e["kind"] == "offered"]
        assert len(offered) == 1, timeline  # nobody declined: one offer, not one per process


@pytest.mark.parametrize("bus", ["redis", "redis down"])
async def test_three_processes_offer_once_and_reach_every_socket(
    database: str, tmp_path: Path, bus: str
) -> None:
    redis = redis_url() or ""
    if bus == "redis down":
        redis = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: hints never arrive
    servers = await _servers(tmp_path, database, redis, 3)
    try:
        async with aiohttp.ClientSession() as s:
            await _duty(s, servers, on={1})  # the offer can only go to caregiver1
            cg = await login(s, servers[0].url, "caregiver1")
            elder = await login(s, servers[1].url, "elder")
            token = cg["Authorization"].split()[1]
            ws_url = servers[0].url.replace("http", "ws") + f"/api/v1/ws?token={token}"
            offer = await _offer_on_socket(s, ws_url, servers[1].url, elder)
            assert offer["incident_id"] > 0
            op = await login(s, servers[2].url, "operator")
            await _one_offer_per_call(s, servers[2].url, op)
    finally:
        for srv in servers:
            srv.kill()


async def test_three_processes_fire_each_escalation_step_once(
    database: str, tmp_path: Path
) -> None:
    servers = await _servers(tmp_path, database, redis_url() or "", 3)
    try:
        async with aiohttp.ClientSession() as s:
            await _duty(s, servers, on=set())  # nobody on duty: the chain starts at once
            op = await login(s, servers[0].url, "operator")
            chain = {"delays_s": {"operator_alarm": 1, "neighbour_call": 2, "family_call": 2}}
            async with s.put(servers[0].url + "/api/v1/hotline/chain", json=chain, headers=op) as r:
                assert r.status == 200, await r.text()
            elder = await login(s, servers[1].url, "elder")
            async with s.post(
                servers[1].url + "/api/v1/help-calls",
                json={"call_type": "emergency"},
                headers={**elder, "Idempotency-Key": str(uuid.uuid4())},
            ) as r:
                iid = (await r.json())["id"]

            async def reached_family() -> list[str] | None:
                async with s.get(
                    f"{servers[2].url}/api/v1/hotline/incidents/{iid}/chain", headers=op
                ) as r:
                    history = (await r.json()).get("history", [])
                fired = [e["firing"] for e in history if e["kind"] == "fired"]
                return fired if any(f.startswith("family_call") for f in fired) else None

            fired = await until(reached_family, timeout=40)
            assert len(fired) == len(set(fired)), fired  # no step fired twice
    finally:
        for srv in servers:
            srv.kill()
