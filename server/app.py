"""The application factory: no singletons, resources opened and closed in order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from server.admission import GATE, admission, make_gate
from server.auth.routes import authenticate
from server.bus import make_bus
from server.cancel import stop_tasks
from server.clock import Clock, make_clock
from server.domains import register_jobs
from server.errors import problem_json
from server.jobs import add_job_gauges, run_relay, run_timers, start_prune
from server.keys import HTTP, HUB, METRICS, PLATFORM
from server.metrics import METRICS_SLOT, timing
from server.platform import Platform
from server.push import PushHub
from server.retry import retry_lost_races
from server.routes import setup_routes
from server.settings import Settings
from server.store.engine import Store

log = logging.getLogger("anxin.app")


async def _safe_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer: no versions in ``Server``, no content sniffing; API answers (personal
    data) are never stored by a browser or a proxy."""
    response.headers["Server"] = "anxin"
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.path.startswith("/api/"):
        response.headers["Cache-Control"] = "no-store"


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    run_background: bool = True,
    create_schema: bool = False,
) -> web.Application:
    """Build the app; ``run_background=False`` lets tests drive outbox and timers by hand."""
    app = web.Application(
        middlewares=[timing, problem_json, admission, retry_lost_races, authenticate],
        client_max_size=2 * 1024**2,
    )
    store = Store(settings.database_url, sqlite_writer=settings.sqlite_writer)
    platform = Platform(
        settings, store, make_bus(settings.redis_url), clock or make_clock(settings.clock_start)
    )
    app[PLATFORM] = platform
    app[GATE] = make_gate(settings.admit_limit, settings.admit_bulk, settings.admit_wait_s)
    app[METRICS] = platform.get(METRICS_SLOT)
    app[HUB] = PushHub(platform)
    register_jobs(platform)
    add_job_gauges(platform)

    async def open_store(app: web.Application) -> AsyncIterator[None]:
        if create_schema:
            await store.create_all()
        found = await store.check_durability()
        log.info("store ready", extra={"dialect": store.dialect, **found})
        yield
        await store.dispose()

    async def open_bus(app: web.Application) -> AsyncIterator[None]:
        await platform.bus.start()
        yield
        await platform.bus.stop()

    async def open_http(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            app[HTTP] = platform.http = session
            yield
            platform.http = None

    async def background(app: web.Application) -> AsyncIterator[None]:
        tasks = []
        if run_background:
            await start_prune(platform)
            tasks = [
                asyncio.create_task(run_relay(platform, "fast"), name="outbox-relay"),
                asyncio.create_task(run_relay(platform, "slow"), name="outbox-relay-slow"),
                asyncio.create_task(run_timers(platform), name="timers"),
                asyncio.create_task(app[HUB].poll(), name="push-poll"),
            ]
        yield
        await app[HUB].close_all()
        await stop_tasks(tasks, within_s=5.0, log=log)
        for stop in platform.stop_handlers:
            await stop(platform)

    async def close_sockets(app: web.Application) -> None:
        # Before the server waits for open requests to finish: a WebSocket never finishes
        # by itself, and waiting for it would hold a SIGTERM for the whole shutdown timeout.
        await app[HUB].close_all()

    app.on_shutdown.append(close_sockets)
    app.on_response_prepare.append(_safe_headers)
    app.cleanup_ctx.extend([open_store, open_bus, open_http, background])
    setup_routes(app)
    return app
