"""A stop always ends: a background loop cancelled while it waits on the store stops even
when the interrupted call raises a plain error instead of ``CancelledError`` (before, the loop
logged it as a failed pass and went on, and the stop that awaited it waited for ever: a test
teardown hung for 300 s in CI, and a server could ignore SIGTERM)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

import server.jobs
import server.push
from server.cancel import stop_tasks
from server.push import PushHub
from tests.support.api import Api

FAILED_ONCE: list[bool] = []


async def _fails_when_cancelled(*_args: Any, **_kwargs: Any) -> int:
    """The first cancellation surfaces as a plain error; later ones as themselves, so that a
    loop that swallowed the first can still be stopped and the test fails instead of hanging."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        if FAILED_ONCE:
            raise
        FAILED_ONCE.append(True)
        raise RuntimeError("the interrupted driver call failed") from None
    return 0


async def _stops(start: Callable[[], Coroutine[Any, Any, None]]) -> None:
    FAILED_ONCE.clear()
    task = asyncio.create_task(start())
    await asyncio.sleep(0.05)  # inside the pass
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=10)
    if task not in done:
        task.cancel()
        await asyncio.wait([task], timeout=10)
        pytest.fail("the loop swallowed its cancellation and kept going")
    assert task.cancelled()


async def test_the_relay_stops_when_its_pass_fails_on_cancel(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server.jobs, "relay_once", _fails_when_cancelled)
    await _stops(lambda: server.jobs.run_relay(api.platform, "fast"))


async def test_the_timers_stop_when_their_pass_fails_on_cancel(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server.jobs, "fire_due_timers", _fails_when_cancelled)
    await _stops(lambda: server.jobs.run_timers(api.platform))


async def test_the_push_catch_up_stops_when_its_pass_fails_on_cancel(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server.push, "POLL_BACKSTOP_S", 0.0)
    monkeypatch.setattr(server.push, "POLL_FALLBACK_S", 0.0)
    hub = PushHub(api.platform)
    monkeypatch.setattr(hub, "catch_up", _fails_when_cancelled)
    await _stops(hub.poll)


async def test_a_stop_ends_even_if_a_task_ignores_its_cancellation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue  # what a buggy loop does

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR):
        await stop_tasks([task], within_s=0.2, log=logging.getLogger("test"))
    assert not task.done()
    assert "did not stop" in caplog.text
    release.set()
    task.cancel()
    await asyncio.wait([task], timeout=5)
