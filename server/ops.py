"""Health, readiness and the OpenAPI document."""

from __future__ import annotations

import asyncio

from aiohttp import web

from server.keys import PLATFORM
from server.openapi import build_openapi


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when the store answers. The bus is reported but does not decide: without Redis
    the processes poll (hints are only wake-ups), and taking every process out of the load
    balancer because Redis is down would turn a slower station into a dead one."""
    p = request.app[PLATFORM]
    checks: dict[str, str] = {}
    for name, probe in (("store", p.store.ping), ("bus", p.bus.ping)):
        try:
            await asyncio.wait_for(probe(), timeout=2)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"down: {type(exc).__name__}"
    ready = checks["store"] == "ok"
    return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(build_openapi(request.app))
