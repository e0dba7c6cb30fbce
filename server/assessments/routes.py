"""Capability-assessment endpoints: the scales, recording an assessment item by item, the
plan's acceptance, re-assessment triggers and the elder's capability history."""

from __future__ import annotations

from aiohttp import web

from schemas.assessments import (
    AssessmentIn,
    AssessmentOut,
    AssessmentPatch,
    CapabilityOut,
    PlanAcceptIn,
    PlanAcceptOut,
    ReassessmentOut,
    TriggerIn,
)
from server.assessments import flows
from server.auth.principal import Role
from server.http import int_param, ok, parse, platform, require
from server.openapi import doc


async def list_scales(request: web.Request) -> web.Response:
    """The capability scales loaded (the national one and any province's beside it)."""
    require(request, *flows.ASSESSORS)
    return ok(flows.list_scales())


@doc(response=AssessmentOut, status=201)
async def record(request: web.Request) -> web.Response:
    """Record an assessment (a draft while items are missing)."""
    p = require(request, *flows.ASSESSORS)
    eid = int_param(request, "elder_id")
    body = await parse(request, AssessmentIn)
    return ok(await flows.record(platform(request), p, elder_id=eid, body=body), 201)


@doc(response=AssessmentOut)
async def amend(request: web.Request) -> web.Response:
    """Add answers to a draft, and submit it."""
    p = require(request, *flows.ASSESSORS)
    aid = int_param(request, "assessment_id")
    body = await parse(request, AssessmentPatch)
    return ok(await flows.amend(platform(request), p, assessment_id=aid, body=body))


@doc(response=AssessmentOut)
async def get(request: web.Request) -> web.Response:
    """One assessment."""
    p = require(request, *flows.ASSESSORS)
    aid = int_param(request, "assessment_id")
    return ok(await flows.get(platform(request), p, assessment_id=aid))


@doc(response=PlanAcceptOut, status=201)
async def accept_plan(request: web.Request) -> web.Response:
    """Accept the suggested service plan (edited) as recurring bookings."""
    p = require(request, Role.OPERATOR, Role.ADMIN)
    aid = int_param(request, "assessment_id")
    body = await parse(request, PlanAcceptIn)
    return ok(await flows.accept_plan(platform(request), p, assessment_id=aid, body=body), 201)


@doc(response=ReassessmentOut, status=201)
async def trigger(request: web.Request) -> web.Response:
    """A hospital stay or a fall: re-assess soon."""
    p = require(request, *flows.ASSESSORS)
    eid = int_param(request, "elder_id")
    body = await parse(request, TriggerIn)
    return ok(await flows.trigger(platform(request), p, elder_id=eid, body=body), 201)


@doc(response=CapabilityOut)
async def capability(request: web.Request) -> web.Response:
    """The elder's capability level, its history and the re-assessments planned."""
    p = require(request, *flows.ASSESSORS, Role.FAMILY, Role.ELDER)
    eid = int_param(request, "elder_id")
    return ok(await flows.capability(platform(request), p, elder_id=eid))


def routes() -> list[web.RouteDef]:
    """The assessment URL table."""
    return [
        web.get("/api/v1/assessment-scales", list_scales),
        web.post("/api/v1/elders/{elder_id}/assessments", record),
        web.get("/api/v1/assessments/{assessment_id}", get),
        web.patch("/api/v1/assessments/{assessment_id}", amend),
        web.post("/api/v1/assessments/{assessment_id}/plan/accept", accept_plan),
        web.post("/api/v1/elders/{elder_id}/reassessments", trigger),
        web.get("/api/v1/elders/{elder_id}/capability", capability),
    ]
