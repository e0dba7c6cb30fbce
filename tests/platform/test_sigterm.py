"""A station's server stops when told to (systemd's SIGTERM on a deploy or a reboot): with a
caregiver's socket open and a help call's dispatch in flight it exits cleanly, without a
traceback, instead of hanging until it is killed (the relay used to swallow the stop)."""

from __future__ import annotations

import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.platform.test_durability import login, press
from tests.support.proc import ServerProcess, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    env = {
        "ANXIN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/anxin.db",
        "ANXIN_JWT_SECRET": "sigterm-test-secret-0123456789abcdef",
        "ANXIN_LOG_LEVEL": "WARNING",
    }
    run_cli(["demo", "--no-serve"], env)
    srv = ServerProcess(env, tmp_path / "server.log")
    yield srv
    srv.kill()


async def test_sigterm_with_an_open_socket_and_a_call_in_flight_exits_cleanly(
    server: ServerProcess,
) -> None:
    server.start()
    await server.wait_ready()
    async with aiohttp.ClientSession() as s:
        cg = await login(s, server.url, "caregiver1")
        token = cg["Authorization"].split()[1]
        ws_url = server.url.replace("http", "ws") + f"/api/v1/ws?token={token}"
        async with s.ws_connect(ws_url) as ws:
            assert json.loads((await ws.receive()).data)["type"] == "hello"
            status, _ = await press(s, server.url, await login(s, server.url, "elder"))
            assert status == 201
            assert server.proc is not None
            server.proc.send_signal(signal.SIGTERM)
            # Under the kill that systemd sends after its own stop timeout (90 s by default);
            # a hang here is the bug, not a slow machine.
            assert server.wait_dead(timeout=60) == 0
            # Pushes queued before the stop may still arrive; then the socket is closed.
            msg = await ws.receive()
            while msg.type is aiohttp.WSMsgType.TEXT:
                msg = await ws.receive()
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    log = server.log_path.read_text()
    assert "Traceback" not in log, log[-3000:]
