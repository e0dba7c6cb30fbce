"""Prometheus metrics and the middleware that times requests."""

from __future__ import annotations

import logging
import time
import uuid

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select

from server.errors import Handler
from server.incidents.tables import incidents, offers
from server.keys import METRICS, PLATFORM

access = logging.getLogger("anxin.access")


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
        self.open_incidents = Gauge(
            "anxin_open_incidents", "incidents not yet resolved or closed", registry=self.registry
        )
        self.pending_offers = Gauge(
            "anxin_pending_offers", "offers waiting for an answer", registry=self.registry
        )
        self.errors = Counter(
            "anxin_http_errors_total", "responses with status >= 500", registry=self.registry
        )


@web.middleware
async def timing(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Time every request, tag it with a request id, log one line (route, not the path:
    paths can carry ids, and query strings can carry tokens)."""
    start = time.perf_counter()
    rid = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex[:16]
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
    m = request.app[METRICS]
    from server.incidents.model import ACTIVE_STATES

    async with request.app[PLATFORM].store.read() as conn:
        m.open_incidents.set(
            (
                await conn.execute(
                    select(func.count())
                    .select_from(incidents)
                    .where(incidents.c.status.in_(ACTIVE_STATES))
                )
            ).scalar_one()
        )
        m.pending_offers.set(
            (
                await conn.execute(
                    select(func.count()).select_from(offers).where(offers.c.status == "offered")
                )
            ).scalar_one()
        )
    return web.Response(
        body=generate_latest(m.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )
