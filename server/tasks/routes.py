"""Tasks's URL table."""

from __future__ import annotations

from aiohttp import web


def routes() -> list[web.RouteDef]:
    """The routes of tasks: none yet."""
    return []
