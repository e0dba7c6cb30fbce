"""The operator's side of the phone: the call list, a call turned into an incident, and the
name search for what callers say."""

from __future__ import annotations

from aiohttp import web

from schemas.hotline import CallToIncidentIn, ForwardEmergencyIn, NameSearchQuery
from server.auth.principal import Role
from server.errors import ApiError
from server.hotline.flows import calls, forward, names
from server.hotline.flows.common import scope_of
from server.http import ok, parse, parse_query, platform, require


async def list_calls(request: web.Request) -> web.Response:
    """The station's recent calls."""
    p = require(request, Role.OPERATOR)
    return ok(await calls.list_calls(platform(request), p))


async def call_to_incident(request: web.Request) -> web.Response:
    """The operator turns a call into an incident through the one intake path."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, CallToIncidentIn)
    station_id, is_admin = scope_of(p)
    result = await calls.call_to_incident(
        platform(request),
        station_id=station_id,
        is_admin=is_admin,
        user_id=p.user_id,
        call_id=request.match_info["call_id"],
        elder_id=body.elder_id,
        kind=body.call_type,
        note=body.note,
        medical=body.medical,
    )
    return ok(
        {"incident_id": result.incident_id, "joined": result.joined}, 200 if result.joined else 201
    )


async def forward_emergency(request: web.Request) -> web.Response:
    """An emergency for another station's elder the call matched: opened at their station."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, ForwardEmergencyIn)
    station_id, is_admin = scope_of(p)
    result = await forward.forward_emergency(
        platform(request),
        station_id=station_id,
        is_admin=is_admin,
        user_id=p.user_id,
        call_id=request.match_info["call_id"],
        match=body.match,
        note=body.note,
        medical=body.medical,
    )
    return ok(result.model_dump(), 200 if result.joined else 201)


async def reveal_caller(request: web.Request) -> web.Response:
    """The caller's full number (to call back), with an audit row naming the operator."""
    p = require(request, Role.OPERATOR)
    station_id, is_admin = scope_of(p)
    number = await calls.reveal_caller(
        platform(request),
        station_id=station_id,
        is_admin=is_admin,
        user_id=p.user_id,
        call_id=request.match_info["call_id"],
    )
    return ok({"call_id": request.match_info["call_id"], "caller": number})


async def search_elders(request: web.Request) -> web.Response:
    """Find the elder by what the caller says (characters, pinyin, initials, homophones, typos)."""
    p = require(request, Role.OPERATOR)
    q = parse_query(request, NameSearchQuery)
    station_id = q.station_id if p.role is Role.ADMIN else p.station_id
    if p.role is not Role.ADMIN and q.station_id not in (None, p.station_id):
        raise ApiError(404, "station_not_found", "station not found")
    return ok(await names.search(platform(request), q, station_id=station_id))
