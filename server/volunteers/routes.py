"""Volunteer endpoints: the registry, chain links, tasks and hours, the time bank."""

from __future__ import annotations

from aiohttp import web

from schemas.volunteers import (
    ChainLinkIn,
    ChainLinkOut,
    SpendIn,
    StatementOut,
    TaskDoneIn,
    TransferIn,
    VolunteerIn,
    VolunteerOut,
    VolunteerTaskIn,
    VolunteerTaskOut,
)
from server.auth.principal import Role
from server.http import int_param, ok, parse, platform, require
from server.openapi import doc
from server.registry.guards import station_scope
from server.volunteers import flows

STAFF = (Role.OPERATOR, Role.ADMIN)


@doc(response=VolunteerOut, status=201)
async def register(request: web.Request) -> web.Response:
    """Register a volunteer with the station."""
    p = require(request, *STAFF)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    body = await parse(request, VolunteerIn)
    return ok(await flows.register(platform(request), p, station_id=sid, body=body), 201)


@doc(response=list[VolunteerOut])
async def list_volunteers(request: web.Request) -> web.Response:
    """The station's volunteers."""
    p = require(request, *STAFF)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    return ok(await flows.list_volunteers(platform(request), station_id=sid))


@doc(response=VolunteerOut)
async def update(request: web.Request) -> web.Response:
    """Replace a volunteer's record."""
    p = require(request, *STAFF)
    vid = int_param(request, "volunteer_id")
    body = await parse(request, VolunteerIn)
    return ok(await flows.update_volunteer(platform(request), p, volunteer_id=vid, body=body))


@doc(response=ChainLinkOut, status=201)
async def link(request: web.Request) -> web.Response:
    """Put a volunteer on the elder's escalation chain (a watch agreement is required)."""
    p = require(request, *STAFF)
    eid = int_param(request, "elder_id")
    body = await parse(request, ChainLinkIn)
    return ok(await flows.link(platform(request), p, elder_id=eid, body=body), 201)


@doc(response=VolunteerTaskOut, status=201)
async def assign(request: web.Request) -> web.Response:
    """Give a volunteer a simple task (chat, door knock, shopping)."""
    p = require(request, *STAFF)
    body = await parse(request, VolunteerTaskIn)
    return ok(await flows.assign(platform(request), p, body=body), 201)


@doc(response=VolunteerTaskOut)
async def done(request: web.Request) -> web.Response:
    """Record that the volunteer did the task, and how long it took."""
    p = require(request, *STAFF)
    tid = int_param(request, "task_id")
    body = await parse(request, TaskDoneIn)
    return ok(await flows.report_done(platform(request), p, task_id=tid, body=body))


@doc(response=VolunteerTaskOut)
async def confirm(request: web.Request) -> web.Response:
    """The elder, family or station confirm the hours (once; again changes nothing)."""
    p = require(request, Role.ELDER, Role.FAMILY, *STAFF)
    tid = int_param(request, "task_id")
    return ok(await flows.confirm(platform(request), p, task_id=tid))


@doc(response=StatementOut)
async def statement(request: web.Request) -> web.Response:
    """The volunteer's time-bank statement."""
    p = require(request, *STAFF)
    vid = int_param(request, "volunteer_id")
    return ok(await flows.volunteer_statement(platform(request), p, volunteer_id=vid))


@doc(response=StatementOut)
async def elder_statement(request: web.Request) -> web.Response:
    """An elder's time-bank statement (hours given by a family member)."""
    p = require(request, Role.ELDER, Role.FAMILY, *STAFF)
    eid = int_param(request, "elder_id")
    return ok(await flows.elder_statement(platform(request), p, elder_id=eid))


@doc(response=StatementOut)
async def spend(request: web.Request) -> web.Response:
    """The volunteer uses hours."""
    p = require(request, *STAFF)
    vid = int_param(request, "volunteer_id")
    body = await parse(request, SpendIn)
    return ok(await flows.spend(platform(request), p, volunteer_id=vid, body=body))


@doc(response=StatementOut)
async def transfer(request: web.Request) -> web.Response:
    """The volunteer gives hours to a family member on the registry."""
    p = require(request, *STAFF)
    vid = int_param(request, "volunteer_id")
    body = await parse(request, TransferIn)
    return ok(await flows.transfer(platform(request), p, volunteer_id=vid, body=body))


def routes() -> list[web.RouteDef]:
    """The volunteer URL table."""
    return [
        web.post("/api/v1/stations/{station_id}/volunteers", register),
        web.get("/api/v1/stations/{station_id}/volunteers", list_volunteers),
        web.put("/api/v1/volunteers/{volunteer_id}", update),
        web.post("/api/v1/elders/{elder_id}/chain-volunteers", link),
        web.post("/api/v1/volunteer-tasks", assign),
        web.post("/api/v1/volunteer-tasks/{task_id}/done", done),
        web.post("/api/v1/volunteer-tasks/{task_id}/confirm", confirm),
        web.get("/api/v1/volunteers/{volunteer_id}/timebank", statement),
        web.post("/api/v1/volunteers/{volunteer_id}/timebank/spend", spend),
        web.post("/api/v1/volunteers/{volunteer_id}/timebank/transfer", transfer),
        web.get("/api/v1/elders/{elder_id}/timebank", elder_statement),
    ]
