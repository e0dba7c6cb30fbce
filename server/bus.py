"""The bus carries wake-up hints between processes, never the only copy of anything.

Must-arrive work is in the store (outbox, timers, push messages); a hint only says
"look now" so a process need not wait for its next poll. A lost hint costs latency,
never data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Protocol

from server.cancel import raise_if_stopping

log = logging.getLogger("anxin.bus")

Listener = Callable[[str, str], None]


class Bus(Protocol):
    def listen(self, listener: Listener) -> None: ...
    async def publish(self, topic: str, data: str = "") -> None: ...
    async def publish_many(self, hints: list[tuple[str, str]]) -> None: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def ping(self) -> None: ...


class InProcessBus:
    """Hints delivered to listeners in this process only (the embedded default)."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    @property
    def reaches_others(self) -> bool:
        """Whether a hint published here reaches the other processes now (in-process: there
        are none to reach). When it does not, they must poll (server/push.py)."""
        return True

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def deliver(self, topic: str, data: str) -> None:
        for listener in self._listeners:
            try:
                listener(topic, data)
            except Exception:
                log.exception("bus listener failed", extra={"topic": topic})

    async def publish(self, topic: str, data: str = "") -> None:
        self.deliver(topic, data)

    async def publish_many(self, hints: list[tuple[str, str]]) -> None:
        """A transaction's hints, in one message to the other processes."""
        for topic, data in hints:
            self.deliver(topic, data)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def ping(self) -> None:
        return None


class RedisBus(InProcessBus):
    """Hints fanned out to every process through Redis pub/sub.

    Local listeners hear a hint at once; other processes hear it through Redis. If Redis
    is down, this process keeps working and the others fall back to polling.
    """

    CHANNEL = "anxin:hints"

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._origin = uuid.uuid4().hex
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        self._quiet = OutageLog(log, "redis bus")

    @property
    def reaches_others(self) -> bool:
        return self.connected

    async def publish(self, topic: str, data: str = "") -> None:
        await self.publish_many([(topic, data)])

    async def publish_many(self, hints: list[tuple[str, str]]) -> None:
        """Local listeners hear each hint at once; the other processes get all of a
        transaction's hints in one Redis message (one round trip, not one per hint)."""
        for topic, data in hints:
            self.deliver(topic, data)
        if len(hints) == 1:
            message = json.dumps({"o": self._origin, "t": hints[0][0], "d": hints[0][1]})
        else:
            message = json.dumps({"o": self._origin, "h": hints})
        try:
            await self._redis.publish(self.CHANNEL, message)
        except Exception as exc:  # a lost hint only costs latency
            self.connected = False
            self._quiet.failed(f"publish failed: {exc}")

    async def ping(self) -> None:
        await self._redis.ping()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever(), name="redis-bus")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._redis.aclose()

    async def _listen_forever(self) -> None:
        delay = 0.2
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.CHANNEL)
                    self.connected, delay = True, 0.2
                    self._quiet.recovered()
                    # A hint may have been missed while disconnected: wake everyone.
                    self.deliver("resync", "")
                    while True:
                        msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                        if msg is not None:
                            self._on_message(msg["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise_if_stopping()
                self.connected = False
                self._quiet.failed(f"disconnected: {exc}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _on_message(self, raw: bytes | str) -> None:
        try:
            body = json.loads(raw)
        except (ValueError, TypeError):
            return
        if body.get("o") == self._origin:
            return
        many = body.get("h")
        if isinstance(many, list):
            for hint in many:
                if isinstance(hint, list) and len(hint) == 2:
                    self.deliver(str(hint[0]), str(hint[1]))
            return
        self.deliver(str(body.get("t", "")), str(body.get("d", "")))


class OutageLog:
    """Log an outage once when it starts, then a count once per interval, and once when it
    ends: a Redis outage is one event to the operator, not 150 warnings a second."""

    def __init__(self, logger: logging.Logger, what: str, every_s: float = 30.0) -> None:
        self.log, self.what, self.every_s = logger, what, every_s
        self.down_since: float | None = None
        self.last_said = 0.0
        self.missed = 0

    def failed(self, detail: str) -> None:
        now = time.monotonic()
        if self.down_since is None:
            self.down_since, self.last_said, self.missed = now, now, 0
            self.log.warning(
                "%s unavailable (%s); other processes poll meanwhile", self.what, detail
            )
            return
        self.missed += 1
        if now - self.last_said >= self.every_s:
            self.log.warning(
                "%s still unavailable after %.0f s (%d more failures): %s",
                self.what, now - self.down_since, self.missed, detail,
            )  # fmt: skip
            self.last_said, self.missed = now, 0

    def recovered(self) -> None:
        if self.down_since is not None:
            self.log.warning("%s back after %.0f s", self.what, time.monotonic() - self.down_since)
            self.down_since = None


def make_bus(redis_url: str | None) -> InProcessBus:
    return RedisBus(redis_url) if redis_url else InProcessBus()
