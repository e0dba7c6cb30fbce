"""Prometheus metrics and the middleware that times requests.

The platform's own numbers (request latency, errors, open sockets) are defined here; a
domain contributes its gauges with ``add_gauge`` from its ``jobs.register`` (the platform
knows no domain: it only reads each gauge's value from the store when scraped)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy.ext.asyncio import AsyncConnection

from server.errors import Handler
from server.keys import METRICS, PLATFORM
from server.platform import Platform, Slot

access = logging.getLogger("anxin.access")

Read = Callable[[AsyncConnection], Awaitable[float]]


@dataclass(frozen=True)
class StoreGauge:
    """A gauge whose value a domain reads from the store when the metrics are scraped."""

    name: str
    help: str
    read: Read


GAUGES: Final[Slot[list[StoreGauge]]] = Slot("metrics.gauges", list)  # the domains' gauges


def add_gauge(platform: Platform, name: str, help: str, read: Read) -> None:
    """Contribute a gauge (a domain calls this from its ``jobs.register``; registering the
    same name again replaces it)."""
    gauges = platform.get(GAUGES)
    gauges[:] = [g for g in gauges if g.name != name]
    gauges.append(StoreGauge(name, help, read))


def store_gauges(platform: Platform) -> list[StoreGauge]:
    """The gauges the domains contributed."""
    gauges: list[StoreGauge] = platform.get(GAUGES)
    return list(gauges)


class Metrics:
    """One registry per app, so several apps in one test process do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "anxin_http_request_seconds",
            "HTTP request latency",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.push_connections = Gauge(
            "anxin_push_connections", "open push WebSockets", registry=self.registry
        )
        self.errors = Counter(
            "anxin_http_errors_total", "responses with status >= 500", registry=self.registry
        )
        # The promise's first step, seen from the server: press (the incident opened) to the
        # dispatcher's first offer. Its tail is what a crash or an overload costs an elder.
        self.press_to_offer = Histogram(
            "anxin_press_to_offer_seconds",
            "help call opened to the dispatcher's first offer",
            ["kind"],
            registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300),
        )
        self.turned_away = Counter(
            "anxin_requests_turned_away_total",
            "requests answered 503 overloaded by admission control, by lane",
            ["lane"],
            registry=self.registry,
        )
        self.contributed: dict[str, Gauge] = {}

    def gauge(self, g: StoreGauge) -> Gauge:
        """The registry's gauge for a contributed one (made on first use)."""
        if g.name not in self.contributed:
            self.contributed[g.name] = Gauge(g.name, g.help, registry=self.registry)
        return self.contributed[g.name]


# One per platform, so the flows can observe what only they see (the app serves it).
METRICS_SLOT: Final[Slot[Metrics]] = Slot("metrics", Metrics)


def observe_press_to_offer(platform: Platform, kind: str, seconds: float) -> None:
    platform.get(METRICS_SLOT).press_to_offer.labels(kind).observe(max(0.0, seconds))


@web.middleware
async def timing(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Time every request, tag it with a request id, log one line (route, not the path:
    paths can carry ids, and query strings can carry tokens)."""
    start = time.perf_counter()
    # A tag to find the request's log lines by, not a secret: 64 random bits without the
    # system call uuid4 makes on every request.
    rid = request.headers.get("X-Request-Id", "")[:64] or f"{random.getrandbits(64):016x}"
    resp = await handler(request)
    elapsed = time.perf_counter() - start
    route = (
        request.match_info.route.resource.canonical if request.match_info.route.resource else "?"
    )
    m = request.app[METRICS]
    m.latency.labels(request.method, route, str(resp.status)).observe(elapsed)
    if resp.status >= 500:
        m.errors.inc()
    if not resp.prepared:
        resp.headers["X-Request-Id"] = rid
    access.info(
        "request",
        extra={
            "request_id": rid,
            "method": request.method,
            "route": route,
            "status": resp.status,
            "ms": round(elapsed * 1000, 2),
        },
    )
    return resp


async def metrics_view(request: web.Request) -> web.Response:
    """Prometheus text: the platform's numbers and every gauge the domains contributed."""
    m = request.app[METRICS]
    platform = request.app[PLATFORM]
    async with platform.store.read() as conn:
        for g in store_gauges(platform):
            m.gauge(g).set(await g.read(conn))
    return web.Response(
        body=generate_latest(m.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )
