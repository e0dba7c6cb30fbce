"""The whole URL table, in one place. Domains hand in their route lists here."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from aiohttp import web

from server import ops, push
from server.auth import routes as auth_routes
from server.incidents import routes as incident_routes
from server.metrics import metrics_view
from server.registry import routes as registry_routes

# Domains that land later add their module here: each has ``routes() -> list[RouteDef]``
# and, optionally, ``register(platform)`` for outbox and timer handlers.
DOMAIN_MODULES: tuple[str, ...] = (
    "server.incidents.flows",
    "server.planning",
    "hotline.routes",
    "server.welfare.routes",
    "server.services.routes",
    "server.console",
)

CONSOLE_DIR = Path(__file__).resolve().parent.parent / "console"


def domain_modules() -> list[Any]:
    mods: list[Any] = []
    for name in DOMAIN_MODULES:
        try:
            mods.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return mods


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", ops.healthz)
    app.router.add_get("/readyz", ops.readyz)
    app.router.add_get("/metrics", metrics_view)
    app.router.add_get("/api/openapi.json", ops.openapi)
    app.router.add_get("/api/v1/ws", push.websocket)
    app.router.add_routes(auth_routes.routes())
    app.router.add_routes(registry_routes.routes())
    app.router.add_routes(incident_routes.routes())
    for mod in domain_modules():
        if hasattr(mod, "routes"):
            app.router.add_routes(mod.routes())
