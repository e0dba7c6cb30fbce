"""The operator's console and the phone-sized pages (H5), plus the few read-only JSON views
they need beyond the core API: the live board snapshot, today's figures, a caregiver's day
and an elder's day. Static files live in ``console/`` and are served as they are (no build).
The views are read in ``flows.py`` and shaped in ``out.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from server.auth.principal import Role
from server.console import flows, out
from server.errors import ApiError
from server.http import caller, int_param, ok, platform, require

CONSOLE_DIR = Path(__file__).resolve().parents[2] / "console"

PAGES = {
    "/console": "console.html",
    # The staff pages beside the board (issue 15), linked from its header.
    "/console/assess": "staff.html",
    "/console/daycare": "staff.html",
    "/console/volunteers": "staff.html",
    # Reports for a period and the audit log (issue 15): operators, officers, admins.
    "/console/reports": "staff.html",
    "/console/audit": "staff.html",
    "/console/applications": "staff.html",
    "/console/meals": "staff.html",
    "/console/welfare": "staff.html",
    # service organisations (issue 14): the district officer's pages
    "/console/providers": "staff.html",
    "/m/elder": "elder.html",
    "/m/family": "family.html",
    "/m/caregiver": "caregiver.html",
}

NO_CACHE = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
# Everything is served from here: no CDN, no inline scripts. Images may come from a tile server.
PAGE_HEADERS = {
    **NO_CACHE,
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: https: http:; connect-src 'self'; frame-ancestors 'self'"
    ),
}


def _page(filename: str) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        path = CONSOLE_DIR / filename
        if not path.is_file():
            raise ApiError(404, "not_found", "page not installed")
        if filename == "console.html" and not await flows.any_station(platform(request)):
            # An empty database: say what to run instead of an empty console.
            return web.Response(
                text=out.first_start_page(), content_type="text/html", headers=PAGE_HEADERS
            )
        return web.FileResponse(path, headers=PAGE_HEADERS)

    return handler


ASSETS = CONSOLE_DIR / "assets"
TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".wav": "audio/wav",
    ".json": "application/json",
}


async def _asset(request: web.Request) -> web.StreamResponse:
    """A static file under console/assets (never outside it)."""
    name = request.match_info.get("path", "")
    root = ASSETS.resolve()
    path = (root / name).resolve()
    if root not in path.parents or not path.is_file() or path.suffix not in TYPES:
        raise ApiError(404, "not_found", "no such file")
    return web.FileResponse(path, headers={**NO_CACHE, "Content-Type": TYPES[path.suffix]})


async def _redirect_console(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/console")


# ----- JSON views ---------------------------------------------------------------------------


async def incident_view(request: web.Request) -> web.Response:
    """The operator's view of one incident: timeline, candidates and the pending offer."""
    p = require(request, Role.OPERATOR)
    iid = int_param(request, "incident_id")
    return ok(await flows.incident_view(platform(request), p, iid))


async def board(request: web.Request) -> web.Response:
    """Everything the live board draws, in one snapshot (reloaded on every (re)connect)."""
    p = require(request, Role.OPERATOR)
    sid = flows.station_of(p, request.query.get("station_id"))
    pf = platform(request)
    return ok(await flows.board(pf, station_id=sid, tile_url=pf.settings.console_tile_url))


async def today(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    sid = flows.station_of(p, request.query.get("station_id"))
    return ok(await flows.today_view(platform(request), sid))


async def caregivers_view(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    sid = flows.station_of(p, request.query.get("station_id"))
    return ok(await flows.caregivers_view(platform(request), sid))


async def my_day(request: web.Request) -> web.Response:
    """A caregiver's day: their live incident(s) and today's tasks in route order."""
    p = require(request, Role.CAREGIVER)
    return ok(await flows.my_day(platform(request), p))


async def elder_day(request: web.Request) -> web.Response:
    """An elder's day (visits, meals) and open calls, for the elder or a bound family member."""
    p = caller(request)
    eid = int_param(request, "elder_id")
    return ok(await flows.elder_day(platform(request), p, eid))


async def my_notifications(request: web.Request) -> web.Response:
    """GET /api/v1/me/notifications?limit=N — the signed-in user's recent pushes that a person
    reads (newest first), each with its text in both languages: the history survives a new
    phone or a cleared browser, because it is the server's own push record."""
    p = caller(request)
    try:
        limit = max(1, min(100, int(request.query.get("limit", "30"))))
    except ValueError as exc:
        raise ApiError(422, "bad_limit", "limit must be an integer") from exc
    return ok(await flows.notifications(platform(request), p, limit))


def routes() -> list[web.RouteDef]:
    out: list[web.RouteDef] = [web.get(path, _page(name)) for path, name in PAGES.items()]
    out += [
        web.get("/", _redirect_console),
        web.get("/console/", _redirect_console),
        web.get("/console/assets/{path:.+}", _asset),
        web.get("/api/v1/console/board", board),
        web.get("/api/v1/console/incidents/{incident_id}", incident_view),
        web.get("/api/v1/console/today", today),
        web.get("/api/v1/console/caregivers", caregivers_view),
        web.get("/api/v1/console/my-day", my_day),
        web.get("/api/v1/console/elders/{elder_id}/day", elder_day),
        web.get("/api/v1/me/notifications", my_notifications),
    ]
    return out
