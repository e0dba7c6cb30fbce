"""Follow-up at the station: the quarterly return-visit sample, satisfaction, complaints."""

from __future__ import annotations

from aiohttp import web

from hotline.followup import ComplaintAction
from schemas.hotline import ComplaintActionIn, ComplaintIn, SampleIn, SatisfactionIn
from server.auth.principal import Role
from server.hotline.flows import complaints, followup
from server.hotline.flows.common import scope_of
from server.http import int_param, ok, parse, platform, require


async def sample(request: web.Request) -> web.Response:
    """Draw the quarter's ≥5% return-visit sample (stratified by station) as visit tasks."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, SampleIn)
    out = await followup.draw_sample(
        platform(request),
        station_id=None if p.role is Role.ADMIN else p.station_id,
        quarter=body.quarter,
    )
    return ok(out, 201)


async def post_satisfaction(request: web.Request) -> web.Response:
    """Record one satisfaction answer: the operator by phone, or the elder or family in the app."""
    p = require(request, Role.OPERATOR, Role.FAMILY, Role.ELDER)
    body = await parse(request, SatisfactionIn)
    sid = await followup.answer_satisfaction(platform(request), p, body)
    return ok({"id": sid}, 201)


async def get_satisfaction(request: web.Request) -> web.Response:
    """Satisfaction per provider and station against the 95% target."""
    p = require(request, Role.OPERATOR)
    return ok(
        await followup.satisfaction_report(
            platform(request), station_id=None if p.role is Role.ADMIN else p.station_id
        )
    )


async def post_complaint(request: web.Request) -> web.Response:
    """Open a complaint ticket."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, ComplaintIn)
    station_id, is_admin = scope_of(p)
    out = await complaints.open_complaint(
        platform(request),
        station_id=station_id,
        is_admin=is_admin,
        elder_id=body.elder_id,
        text=body.text,
        provider_id=body.provider_id,
        deadline_hours=body.deadline_hours,
    )
    return ok(out, 201)


async def complaint_action(request: web.Request) -> web.Response:
    """Assign, resolve, reopen or close a ticket."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, ComplaintActionIn)
    station_id, is_admin = scope_of(p)
    out = await complaints.move_complaint(
        platform(request),
        complaint_id=int_param(request, "complaint_id"),
        station_id=station_id,
        is_admin=is_admin,
        action=ComplaintAction(body.action),
        owner=body.owner_user_id,
        outcome=body.outcome,
        deadline_hours=body.deadline_hours,
    )
    return ok(out)
