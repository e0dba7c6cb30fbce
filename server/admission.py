"""Admission control: under overload, a process degrades in order.

A help call (the button, a device press, the telephony platform's events, a caregiver's
answer to an offer and the steps of a call) is always admitted. Everything else shares a
bounded number of requests in flight and waits a bounded time for a place; bulk work
(device heartbeats, statements, exports) has a smaller share and is turned away first.
Turned away means 503 with ``Retry-After``: nothing was done, the client tries again.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum

from aiohttp import web

from server.errors import Handler, problem
from server.keys import METRICS

log = logging.getLogger("anxin.admission")


class Lane(StrEnum):
    HELP = "help"
    NORMAL = "normal"
    BULK = "bulk"
    STREAM = "stream"  # a WebSocket: lives for hours, holds no place


_HELP = re.compile(
    r"^/api/v1/(help-calls$|incidents/|offers/|hotline/cti/|hotline/devices/[^/]+/press$"
    r"|hotline/incidents/|hotline/respond)"
)
_BULK = re.compile(r"(/heartbeats?$|\.(csv|xlsx|pdf|html)$|/statements/|/summaries/|/exports?\b)")


def lane_of(request: web.Request) -> Lane:
    path = request.path
    if path == "/api/v1/ws":
        return Lane.STREAM
    if _HELP.match(path):
        return Lane.HELP
    if _BULK.search(path):
        return Lane.BULK
    return Lane.NORMAL


@dataclass
class Gate:
    """One process's places: ``limit`` requests in flight outside the help lane, of which at
    most ``bulk_limit`` bulk; a request waits at most ``wait_s`` for a place."""

    limit: int
    bulk_limit: int
    wait_s: float
    in_flight: int = 0
    bulk: int = 0
    turned_away: int = 0
    _freed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @asynccontextmanager
    async def place(self, lane: Lane) -> AsyncIterator[bool]:
        """Yields whether the request was admitted."""
        if lane in (Lane.HELP, Lane.STREAM):
            yield True
            return
        if not await self._take(lane):
            self.turned_away += 1
            yield False
            return
        try:
            yield True
        finally:
            self.in_flight -= 1
            if lane is Lane.BULK:
                self.bulk -= 1
            async with self._freed:
                self._freed.notify()

    async def _take(self, lane: Lane) -> bool:
        async with self._freed:
            if lane is Lane.BULK and (self.bulk >= self.bulk_limit or self.in_flight >= self.limit):
                return False  # bulk never queues: it is the first to go
            try:
                await asyncio.wait_for(
                    self._freed.wait_for(lambda: self.in_flight < self.limit), self.wait_s
                )
            except TimeoutError:
                return False
            self.in_flight += 1
            if lane is Lane.BULK:
                self.bulk += 1
            return True


GATE: web.AppKey[Gate] = web.AppKey("admission_gate", Gate)  # one per app (per process)
RETRY_AFTER_S = 2


def make_gate(limit: int, bulk_limit: int, wait_s: float) -> Gate:
    return Gate(limit=limit, bulk_limit=min(bulk_limit, limit), wait_s=wait_s)


@web.middleware
async def admission(request: web.Request, handler: Handler) -> web.StreamResponse:
    gate = request.app[GATE]
    lane = lane_of(request)
    async with gate.place(lane) as admitted:
        if admitted:
            return await handler(request)
    request.app[METRICS].turned_away.labels(lane.value).inc()
    if gate.turned_away % 100 == 1:
        log.warning("overloaded: turning requests away", extra={"lane": lane.value})
    resp = problem(
        503,
        "overloaded",
        "the server is busy; nothing was done, try again shortly",
        retry_after_s=RETRY_AFTER_S,
        lane=lane.value,
    )
    resp.headers["Retry-After"] = str(RETRY_AFTER_S)
    return resp
