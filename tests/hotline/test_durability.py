"""Kill a real server process while the escalation chain fires a step; the chain continues
after the restart and no step fires twice."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.platform.test_durability import login, press, until
from tests.support.proc import ServerProcess, run_cli

pytestmark = pytest.mark.slow

FAST_CHAIN = {
    "delays_s": {"operator_alarm": 2, "neighbour_call": 5, "family_call": 5, "head_alarm": 8}
}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    env = {
        "ANXIN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/anxin.db",
        "ANXIN_JWT_SECRET": "durability-test-secret-0123456789abcdef",
        "ANXIN_LEASE_S": "1",
        "ANXIN_OFFER_TIMEOUT_S": "30",
        "ANXIN_LOG_LEVEL": "WARNING",
    }
    run_cli(["demo", "--no-serve"], env)
    srv = ServerProcess(env, tmp_path / "server.log")
    yield srv
    srv.kill()


async def chain(s: aiohttp.ClientSession, url: str, h: dict[str, str], iid: int) -> dict[str, Any]:
    async with s.get(f"{url}/api/v1/hotline/incidents/{iid}/chain", headers=h) as r:
        return dict(await r.json()) if r.status == 200 else {}


def fired(c: dict[str, Any]) -> list[str]:
    return [e["firing"] for e in c.get("history", []) if e["kind"] == "fired"]


async def nobody_on_duty(s: aiohttp.ClientSession, url: str) -> None:
    """Every demo caregiver goes off duty, so the press raises the no-caregiver alarm and
    the chain starts at once, whatever the hour (the demo's shifts are 08:00-17:00)."""
    for i in range(1, 5):
        h = await login(s, url, f"caregiver{i}")
        async with s.post(
            url + "/api/v1/caregivers/me/duty", json={"on_duty": False}, headers=h
        ) as r:
            assert r.status == 200, await r.text()


async def test_killed_while_firing_a_chain_step(server: ServerProcess) -> None:
    server.start(ANXIN_CRASH_AT="timer.hotline.chain")
    await server.wait_ready()
    async with aiohttp.ClientSession() as s:
        await nobody_on_duty(s, server.url)
        op = await login(s, server.url, "operator")
        async with s.put(server.url + "/api/v1/hotline/chain", json=FAST_CHAIN, headers=op) as r:
            assert r.status == 200, await r.text()
        elder = await login(s, server.url, "elder")
        status, body = await press(s, server.url, elder)
        assert status == 201
        assert server.wait_dead(timeout=30) == -signal.SIGKILL  # died firing the 2-second step
        server.start()
        await server.wait_ready()
        op = await login(s, server.url, "operator")

        async def reached_family() -> Any:
            c = await chain(s, server.url, op, body["id"])
            return c if any(f.startswith("family_call") for f in fired(c)) else None

        c = await until(reached_family, timeout=40)
        steps = fired(c)
        assert steps[0] == "operator_alarm:0"
        assert len(steps) == len(set(steps))  # nothing fired twice
        assert {"neighbour_call:0", "family_call:0"} <= set(steps)
