"""The whole URL table, in one place: the platform's own routes, then every domain's."""

from __future__ import annotations

from aiohttp import web

from server import ops, push
from server.auth import routes as auth_routes
from server.domains import domain_routes
from server.metrics import metrics_view


def setup_routes(app: web.Application) -> None:
    """Add every route to the app."""
    app.router.add_get("/healthz", ops.healthz)
    app.router.add_get("/readyz", ops.readyz)
    app.router.add_get("/metrics", metrics_view)
    app.router.add_get("/api/openapi.json", ops.openapi)
    app.router.add_get("/api/v1/ws", push.websocket)
    app.router.add_routes(auth_routes.routes())
    app.router.add_routes(domain_routes())
