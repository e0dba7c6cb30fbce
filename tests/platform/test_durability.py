"""Kill a real server process between two steps of a help call; nothing is lost.

The process SIGKILLs itself at a named crash point (server/faults.py), then a fresh process
starts on the same store and must carry every incident, offer and timer forward.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.proc import ServerProcess, run_cli

pytestmark = pytest.mark.slow

KEY = "durable-press-0001"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    env = {
        "ANXIN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/anxin.db",
        "ANXIN_JWT_SECRET": "durability-test-secret-0123456789abcdef",
        "ANXIN_LEASE_S": "1",
        "ANXIN_OFFER_TIMEOUT_S": "3",
        "ANXIN_LOG_LEVEL": "WARNING",
    }
    run_cli(["demo", "--no-serve"], env)
    srv = ServerProcess(env, tmp_path / "server.log")
    yield srv
    srv.kill()


async def login(s: aiohttp.ClientSession, url: str, who: str) -> dict[str, str]:
    async with s.post(
        url + "/api/v1/auth/login", json={"login": who, "password": "anxin1234"}
    ) as r:
        assert r.status == 200, await r.text()
        return {"Authorization": f"Bearer {(await r.json())['access_token']}"}


async def press(s: aiohttp.ClientSession, url: str, h: dict[str, str]) -> tuple[int, Any]:
    async with s.post(
        url + "/api/v1/help-calls",
        json={"call_type": "emergency"},
        headers={**h, "Idempotency-Key": KEY},
    ) as r:
        return r.status, await r.json()


async def until(probe: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")


async def incidents(s: aiohttp.ClientSession, url: str, h: dict[str, str]) -> list[dict[str, Any]]:
    async with s.get(url + "/api/v1/incidents?status=all&page_size=200", headers=h) as r:
        return list((await r.json())["items"])


async def test_killed_after_commit_before_answer(server: ServerProcess) -> None:
    """The client saw no answer; its retry with the same key finds the one incident."""
    server.start(ANXIN_CRASH_AT="intake.committed")
    await server.wait_ready()
    async with aiohttp.ClientSession() as s:
        elder = await login(s, server.url, "elder")
        with pytest.raises(aiohttp.ClientError):
            await press(s, server.url, elder)
        assert server.wait_dead() == -signal.SIGKILL
        server.start()
        await server.wait_ready()
        status, body = await press(s, server.url, elder)
        assert status == 201
        op = await login(s, server.url, "operator")
        all_incidents = await incidents(s, server.url, op)
        assert [i["id"] for i in all_incidents] == [body["id"]]
        # The offer that the dead process never made is made now.
        offered = await until(lambda: _status_is(s, server.url, op, body["id"], "offered"))
        assert offered["status"] == "offered"


async def _status_is(
    s: aiohttp.ClientSession, url: str, h: dict[str, str], iid: int, want: str
) -> Any:
    async with s.get(f"{url}/api/v1/incidents/{iid}", headers=h) as r:
        body = await r.json()
    return body if body["status"] == want else None


async def test_killed_while_relaying_the_event(server: ServerProcess) -> None:
    """The outbox row was claimed but not handled: the next process delivers it."""
    # The demo's own seeding leaves other events in the outbox: die on the help call's.
    server.start(ANXIN_CRASH_AT="relay.claimed:incident.opened")
    await server.wait_ready()
    async with aiohttp.ClientSession() as s:
        elder = await login(s, server.url, "elder")
        status, body = await press(s, server.url, elder)
        assert status == 201
        assert server.wait_dead() == -signal.SIGKILL
        server.start()
        await server.wait_ready()
        op = await login(s, server.url, "operator")
        offered = await until(lambda: _status_is(s, server.url, op, body["id"], "offered"))
        timeline = [e["kind"] for e in offered["timeline"]]
        assert timeline.count("offered") == 1


async def test_killed_while_firing_offer_timeout(server: ServerProcess) -> None:
    """The offer timeout fires after the restart, once, and the next caregiver is offered."""
    server.start(ANXIN_CRASH_AT="timer.offer.expire")
    await server.wait_ready()
    async with aiohttp.ClientSession() as s:
        elder = await login(s, server.url, "elder")
        status, body = await press(s, server.url, elder)
        assert status == 201
        assert server.wait_dead(timeout=30) == -signal.SIGKILL
        server.start()
        await server.wait_ready()
        op = await login(s, server.url, "operator")

        async def second_offer() -> Any:
            async with s.get(f"{server.url}/api/v1/incidents/{body['id']}", headers=op) as r:
                inc = await r.json()
            kinds = [e["kind"] for e in inc["timeline"]]
            return inc if kinds.count("offered") >= 2 else None

        inc = await until(second_offer)
        kinds = [e["kind"] for e in inc["timeline"]]
        assert kinds.count("offer_expired") == 1
        assert kinds[:3] == ["opened", "offered", "offer_expired"]
