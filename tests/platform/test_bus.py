"""The bus: in-process and Redis; hints cross processes; a Redis outage loses nothing."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from server.bus import InProcessBus, RedisBus
from server.settings import Settings
from tests.platform.test_push_ws import next_of
from tests.support.api import Api
from tests.support.backends import missing, redis_url
from tests.support.proc import free_port


async def wait_for(pred: Any, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if pred():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not reached")


async def test_in_process_bus_delivers_to_every_listener() -> None:
    bus = InProcessBus()
    heard: list[tuple[str, str]] = []
    bus.listen(lambda t, d: heard.append((t, d)))
    bus.listen(lambda t, d: heard.append((t + "!", d)))
    await bus.publish("push", "user:1")
    assert heard == [("push", "user:1"), ("push!", "user:1")]


@pytest.fixture
def redis() -> str:
    return redis_url() or missing("Redis")


@pytest.mark.redis
async def test_redis_bus_crosses_processes(redis: str) -> None:
    a, b = RedisBus(redis), RedisBus(redis)
    heard_b: list[tuple[str, str]] = []
    b.listen(lambda t, d: heard_b.append((t, d)))
    await a.start()
    await b.start()
    try:
        await wait_for(lambda: b.connected and a.connected)
        await a.publish("push", "user:7")
        await wait_for(lambda: ("push", "user:7") in heard_b)
    finally:
        await a.stop()
        await b.stop()


@pytest.mark.redis
async def test_a_transactions_hints_cross_in_one_redis_message(redis: str) -> None:
    """Every hint of a transaction reaches the other process, from one message."""
    a, b = RedisBus(redis), RedisBus(redis)
    heard_a: list[tuple[str, str]] = []
    heard_b: list[tuple[str, str]] = []
    a.listen(lambda t, d: heard_a.append((t, d)))
    b.listen(lambda t, d: heard_b.append((t, d)))
    sent: list[str] = []
    await a.start()
    await b.start()
    try:
        await wait_for(lambda: b.connected and a.connected)
        real = a._redis.publish

        async def counting(channel: str, message: str) -> Any:
            sent.append(message)
            return await real(channel, message)

        a._redis.publish = counting  # type: ignore[method-assign,assignment]
        hints = [("outbox", ""), ("push", "user:1"), ("push", "user:2")]
        await a.publish_many(hints)
        await wait_for(lambda: all(h in heard_b for h in hints))
        assert len(sent) == 1
        assert [h for h in heard_a if h[0] != "resync"] == hints  # heard at once locally
    finally:
        await a.stop()
        await b.stop()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[int, Any]]:
    """A Redis server of this test's own, so it can be killed without hurting others."""
    exe = shutil.which("redis-server") or missing("redis-server")
    port = free_port()
    cmd = [
        exe,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    holder = {"proc": proc}

    def restart() -> None:
        holder["proc"] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)

    yield port, (holder, restart)
    holder["proc"].kill()


@pytest.mark.redis
@pytest.mark.slow
async def test_redis_outage_then_resubscribe(own_redis: tuple[int, Any]) -> None:
    port, (holder, restart) = own_redis
    url = f"redis://127.0.0.1:{port}/0"
    a, b = RedisBus(url), RedisBus(url)
    heard: list[str] = []
    b.listen(lambda t, d: heard.append(f"{t}:{d}"))
    await asyncio.sleep(0.3)
    await a.start()
    await b.start()
    try:
        await wait_for(lambda: a.connected and b.connected)
        holder["proc"].kill()
        holder["proc"].wait()
        await a.publish("push", "during-outage")  # must not raise; local delivery still works
        await wait_for(lambda: not b.connected)
        restart()
        await wait_for(lambda: b.connected, timeout=15)
        assert "resync:" in heard  # woken to catch up on missed hints
        await a.publish("push", "after")
        await wait_for(lambda: "push:after" in heard, timeout=5)
    finally:
        await a.stop()
        await b.stop()


@pytest.fixture
async def two_servers(
    aiohttp_client: Any, settings: Settings, redis: str, clock: Any
) -> AsyncIterator[tuple[Api, Api]]:
    s = replace(settings, redis_url=redis)
    a = Api(
        await aiohttp_client(create_app(s, clock=clock, run_background=True, create_schema=True))
    )
    await a.seed()
    b = Api(await aiohttp_client(create_app(s, clock=clock, run_background=True)))
    b.tokens, b.ids = a.tokens, a.ids
    yield a, b


@pytest.mark.redis
async def test_press_on_one_server_reaches_socket_on_another(two_servers: tuple[Api, Api]) -> None:
    a, b = two_servers
    ws = await b.client.ws_connect(f"/api/v1/ws?token={b.tokens['cg_a']}")
    await next_of(ws, "hello")
    inc = await a.press(expect=201)
    offered = await next_of(ws, "task.offered", timeout=5)
    assert offered["payload"]["incident_id"] == inc["id"]
    await ws.close()
