"""What the operator (and the family) do about one incident: its escalation chain, taking
responsibility, escalating, judging it medical, the care record for 120, and the call-back
after a press."""

from __future__ import annotations

from aiohttp import web

from schemas.hotline import CallBackIn, Called120In, CareRecordIn, EscalateIn, ResponsibilityIn
from server.auth.principal import Role
from server.hotline.flows import care
from server.hotline.flows import responsibility as chain_flows
from server.hotline.flows.common import incident_for, scope_of
from server.hotline.out import describe_chain
from server.http import int_param, ok, parse, platform, require
from server.incidents.flows import presses


async def get_chain(request: web.Request) -> web.Response:
    """The chain of an incident: status, next step, history, alerts and their delivery."""
    p = require(request, Role.OPERATOR)
    pf = platform(request)
    inc = await incident_for(pf, p, int_param(request, "incident_id"))
    return ok(await describe_chain(pf, inc.id))


async def responsibility(request: web.Request) -> web.Response:
    """Take responsibility ("I'm on my way") or withdraw ("I cannot after all")."""
    p = require(request, Role.OPERATOR, Role.FAMILY)
    body = await parse(request, ResponsibilityIn)
    pf = platform(request)
    inc = await incident_for(pf, p, int_param(request, "incident_id"))
    person = await chain_flows.answer_for(
        pf, p, incident_id=inc.id, action=body.action, person=body.person
    )
    return ok({"incident_id": inc.id, "person": person, "action": body.action})


async def escalate(request: web.Request) -> web.Response:
    """The operator skips the wait: the next step fires now."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, EscalateIn)
    pf = platform(request)
    inc = await incident_for(pf, p, int_param(request, "incident_id"))
    await chain_flows.escalate(pf, inc.id, body.reason)
    return ok({"incident_id": inc.id, "escalated": True})


async def medical(request: web.Request) -> web.Response:
    """The operator judges the incident a medical emergency: advise 120 at once."""
    p = require(request, Role.OPERATOR)
    pf = platform(request)
    inc = await incident_for(pf, p, int_param(request, "incident_id"))
    await chain_flows.judge_medical(pf, inc.id, p.user_id)
    return ok({"incident_id": inc.id, "medical": True})


async def care_record(request: web.Request) -> web.Response:
    """The care record for 120, as short text; every disclosure is logged."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, CareRecordIn)
    station_id, is_admin = scope_of(p)
    text = await care.disclose_care_record(
        platform(request),
        incident_id=int_param(request, "incident_id"),
        station_id=station_id,
        is_admin=is_admin,
        user_id=p.user_id,
        recipient=body.recipient,
        reason=body.reason,
    )
    return ok({"text": text, "recipient": body.recipient})


async def called_120(request: web.Request) -> web.Response:
    """Record that the operator called 120."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, Called120In)
    station_id, is_admin = scope_of(p)
    await care.record_called_120(
        platform(request),
        incident_id=int_param(request, "incident_id"),
        station_id=station_id,
        is_admin=is_admin,
        user_id=p.user_id,
        note=body.note,
    )
    return ok({"recorded": True})


async def call_back(request: web.Request) -> web.Response:
    """Record the call-back after a press (who, when, what was found); a test or accidental
    press is closed with it."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, CallBackIn)
    out = await presses.record_call_back(
        platform(request),
        p,
        incident_id=int_param(request, "incident_id"),
        outcome=body.outcome,
        reached=body.reached,
        called_at=body.called_at,
        note=body.note,
    )
    return ok(out, 201)
