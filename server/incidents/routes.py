"""Help-call endpoints: the button, the incident views, the caregiver's steps, alarms.

Each handler parses with schemas/, calls one flow (or one read in out.py), and answers with
one schema."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.incidents import (
    AcceptIn,
    AlarmAckOut,
    AlarmOut,
    ArrivalOut,
    ArriveIn,
    AssignIn,
    CloseIn,
    ConfirmArrivalIn,
    DeclineIn,
    EnRouteIn,
    HelpCallIn,
    IncidentOut,
    IncidentQuery,
    IncidentStepOut,
    OfferOut,
    OfferStatus,
    OperatorIncidentIn,
    ResolveIn,
)
from schemas.incidents import IncidentStatus as S
from server.auth.principal import Role
from server.errors import ApiError
from server.http import caller, int_param, ok, parse, parse_optional, parse_query, platform, require
from server.incidents import flows, out
from server.incidents.flows.intake import Intake, open_for_operator, press
from server.incidents.idempotency import Floor, request_hash, step_once, valid_key
from server.incidents.model import WITH_CAREGIVER
from server.incidents.tables import incidents, offers
from server.openapi import doc
from server.registry.routes import stored


@doc(response=IncidentOut, status=201, also={200: "joined the open incident"}, idempotency_key=True)
async def help_call(request: web.Request) -> web.Response:
    """The help button: answered only after the incident is committed."""
    p = require(request, Role.ELDER, Role.FAMILY)
    key = valid_key(request.headers.get("Idempotency-Key"))
    body = await parse(request, HelpCallIn)
    elder_id = p.elder_id if p.role is Role.ELDER else body.elder_id
    if elder_id is None:
        raise ApiError(422, "elder_id_required", "say which elder needs help", field="elder_id")
    lat, lng = stored(body.location) if body.location else (None, None)
    cmd = Intake(elder_id, body.call_type, "app", p.user_id, lat, lng, note=body.note)
    digest = request_hash(body.model_dump(mode="json"))
    status, answer = await press(platform(request), p, key=key, digest=digest, cmd=cmd)
    return ok(answer, status)


@doc(response=IncidentOut, status=201, also={200: "joined the open incident"})
async def operator_incident(request: web.Request) -> web.Response:
    """An operator turns a phone call into an incident through the same intake."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, OperatorIncidentIn)
    lat, lng = stored(body.location) if body.location else (None, None)
    source = "phone" if body.call_id else "operator"
    cmd = Intake(
        body.elder_id, body.call_type, source, p.user_id, lat, lng, body.note, body.call_id
    )
    answer = await open_for_operator(platform(request), p, cmd)
    return ok(answer, 200 if answer.joined else 201)


async def list_incidents(request: web.Request) -> web.Response:
    """Incidents the caller may see, newest first, a page at a time (as the registry lists:
    items, total, page, page_size)."""
    p = caller(request)
    q = parse_query(request, IncidentQuery)
    pf = platform(request)
    async with pf.store.read() as conn:
        page = await out.incidents_page(conn, p, q, pf.clock.now())
    return ok(page)


@doc(response=IncidentOut)
async def get_incident(request: web.Request) -> web.Response:
    """One incident: with its timeline for staff and caregivers, the dispatcher's candidates
    for staff, and the elder's phones for the caregiver on the way (audited)."""
    p = caller(request)
    pf = platform(request)
    async with pf.store.read() as conn:
        row = await out.visible_incident(conn, p, int_param(request, "incident_id"))
        answer = await out.incident_out(
            conn,
            row,
            pf.clock.now(),
            # a lent caregiver's call: the station's own offers and notes are not hers
            with_timeline=p.is_staff() or p.role is Role.CAREGIVER and not out.lent(p, row),
            with_candidates=p.is_staff(),
        )
    theirs = row.caregiver_id is not None and row.caregiver_id == p.caregiver_id
    if theirs and row.status in WITH_CAREGIVER:
        answer.elder_contact = await flows.contact_for_caregiver(pf, p, row)
    return ok(answer)


@doc(response=list[OfferOut])
async def my_offers(request: web.Request) -> web.Response:
    """The caregiver's offers waiting for an answer."""
    p = require(request, Role.CAREGIVER)
    async with platform(request).store.read() as conn:
        offers = await out.open_offers(conn, p.caregiver_id)
    return ok([o.model_dump(mode="json") for o in offers])


def _offer_began(offer_id: int) -> Floor:
    """A step on an offer cannot have happened before the offer was made."""

    async def floor(conn: AsyncConnection) -> datetime | None:
        q = select(offers.c.offered_at).where(offers.c.id == offer_id)
        return (await conn.execute(q)).scalar()

    return floor


def _incident_began(incident_id: int) -> Floor:
    """A caregiver's step cannot have happened before the step it follows (the call opened,
    was accepted, the caregiver arrived)."""

    async def floor(conn: AsyncConnection) -> datetime | None:
        q = select(incidents.c.opened_at, incidents.c.accepted_at, incidents.c.arrived_at)
        row = (await conn.execute(q.where(incidents.c.id == incident_id))).first()
        return max((t for t in row if t is not None), default=None) if row else None

    return floor


@doc(response=IncidentStepOut, idempotency_key=True, idempotency_required=False)
async def accept_offer(request: web.Request) -> web.Response:
    """The caregiver takes the offer (a queued step: device time, Idempotency-Key)."""
    p = require(request, Role.CAREGIVER)
    body = await parse_optional(request, AcceptIn)
    oid = int_param(request, "offer_id")

    async def run() -> IncidentStepOut:
        iid = await flows.accept(platform(request), p, oid)
        return IncidentStepOut(incident_id=iid, status=S.ACCEPTED.value)

    return await step_once(request, p, body, run, floor=_offer_began(oid))


@doc(response=IncidentStepOut, idempotency_key=True, idempotency_required=False)
async def decline_offer(request: web.Request) -> web.Response:
    p = require(request, Role.CAREGIVER)
    body = await parse_optional(request, DeclineIn)
    oid = int_param(request, "offer_id")

    async def run() -> IncidentStepOut:
        await flows.decline(platform(request), p, oid, reason=body.reason)
        return IncidentStepOut(offer_id=oid, status=OfferStatus.DECLINED.value)

    return await step_once(request, p, body, run, floor=_offer_began(oid))


@doc(response=IncidentStepOut, idempotency_key=True, idempotency_required=False)
async def en_route(request: web.Request) -> web.Response:
    p = require(request, Role.CAREGIVER)
    body = await parse_optional(request, EnRouteIn)
    at = stored(body.location) if body.location else None
    iid = int_param(request, "incident_id")

    async def run() -> IncidentStepOut:
        await flows.en_route(platform(request), p, iid, at=at)
        return IncidentStepOut(incident_id=iid, status=S.EN_ROUTE.value)

    return await step_once(request, p, body, run, floor=_incident_began(iid))


@doc(response=ArrivalOut, idempotency_key=True, idempotency_required=False)
async def arrive(request: web.Request) -> web.Response:
    p = require(request, Role.CAREGIVER)
    body = await parse(request, ArriveIn)
    at = stored(body.location)
    iid = int_param(request, "incident_id")

    async def run() -> ArrivalOut:
        return await flows.arrive(platform(request), p, iid, at=at)

    return await step_once(request, p, body, run, floor=_incident_began(iid))


@doc(response=IncidentStepOut, idempotency_key=True, idempotency_required=False)
async def resolve(request: web.Request) -> web.Response:
    p = require(request, Role.CAREGIVER)
    body = await parse(request, ResolveIn)
    iid = int_param(request, "incident_id")

    async def run() -> IncidentStepOut:
        await flows.resolve(platform(request), p, iid, notes=body.notes, outcome=body.outcome)
        return IncidentStepOut(incident_id=iid, status=S.RESOLVED.value)

    return await step_once(request, p, body, run, floor=_incident_began(iid))


async def assign(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    body = await parse(request, AssignIn)
    iid = int_param(request, "incident_id")
    oid = await flows.assign(
        platform(request), p, iid, caregiver_id=body.caregiver_id, reason=body.reason
    )
    return ok(IncidentStepOut(incident_id=iid, offer_id=oid, status=S.OFFERED.value), 201)


async def close(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    body = await parse(request, CloseIn)
    iid = int_param(request, "incident_id")
    await flows.close(platform(request), p, iid, resolution=body.resolution, notes=body.notes)
    return ok(IncidentStepOut(incident_id=iid, status=S.CLOSED.value, resolution=body.resolution))


@doc(response=IncidentStepOut)
async def confirm_arrival(request: web.Request) -> web.Response:
    """The operator confirms a check-in that was flagged as too far from the elder."""
    p = require(request, Role.OPERATOR)
    body = await parse_optional(request, ConfirmArrivalIn)
    iid = int_param(request, "incident_id")
    return ok(await flows.confirm_arrival(platform(request), p, iid, note=body.note))


@doc(response=list[AlarmOut], query_names=("open",))
async def list_alarms(request: web.Request) -> web.Response:
    """The station's alarms, newest first: only those still raised unless ``open=0``."""
    p = require(request, Role.OPERATOR)
    open_only = request.query.get("open", "1") in ("1", "true")
    async with platform(request).store.read() as conn:
        alarms = await out.station_alarms(conn, p.station_id, open_only=open_only)
    return ok([a.model_dump(mode="json") for a in alarms])


async def acknowledge_alarm(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    await flows.ack_alarm(platform(request), p, int_param(request, "alarm_id"))
    return ok(AlarmAckOut(alarm_id=int_param(request, "alarm_id"), acknowledged=True))


def routes() -> list[web.RouteDef]:
    return [
        web.post("/api/v1/help-calls", help_call),
        web.post("/api/v1/incidents", operator_incident),
        web.get("/api/v1/incidents", list_incidents),
        web.get("/api/v1/incidents/{incident_id}", get_incident),
        web.post("/api/v1/incidents/{incident_id}/en-route", en_route),
        web.post("/api/v1/incidents/{incident_id}/arrive", arrive),
        web.post("/api/v1/incidents/{incident_id}/confirm-arrival", confirm_arrival),
        web.post("/api/v1/incidents/{incident_id}/resolve", resolve),
        web.post("/api/v1/incidents/{incident_id}/assign", assign),
        web.post("/api/v1/incidents/{incident_id}/close", close),
        web.get("/api/v1/offers", my_offers),
        web.post("/api/v1/offers/{offer_id}/accept", accept_offer),
        web.post("/api/v1/offers/{offer_id}/decline", decline_offer),
        web.get("/api/v1/alarms", list_alarms),
        web.post("/api/v1/alarms/{alarm_id}/ack", acknowledge_alarm),
    ]
