"""Registry endpoints: stations, operators, caregivers, elders, family bindings.

Each handler reads the request, calls one command in ``flows/`` and answers with one schema
(``out.py``)."""

from __future__ import annotations

from aiohttp import web

from schemas.auth import PasswordReset
from schemas.registry import (
    ActiveOut,
    BindingOut,
    BindingRequest,
    CaregiverIn,
    CaregiverLocationOut,
    CaregiverPatch,
    DutyIn,
    DutyOut,
    ElderIn,
    ElderPatch,
    LinkCodeOut,
    LocationIn,
    OperatorIn,
    OperatorOut,
    PageQuery,
    StationIn,
    StationPatch,
)
from server.auth.principal import Role
from server.http import caller, int_param, ok, parse, parse_query, platform, require
from server.openapi import doc
from server.registry.flows import bindings, caregivers, elders, stations
from server.registry.flows.common import stored as stored
from server.registry.guards import station_scope
from server.registry.out import (
    binding_out,
    caregiver_out,
    caregiver_page,
    elder_out,
    elder_page,
    station_out,
)

STAFF = (Role.OPERATOR, Role.ADMIN)


# ----- stations ---------------------------------------------------------------------------


async def create_station(request: web.Request) -> web.Response:
    p = require(request, Role.ADMIN)
    body = await parse(request, StationIn)
    return ok(station_out(await stations.create(platform(request), p, body)), 201)


async def list_stations(request: web.Request) -> web.Response:
    rows = await stations.visible(platform(request), caller(request))
    return ok([station_out(r) for r in rows])


async def get_station(request: web.Request) -> web.Response:
    p = caller(request)
    row = await stations.get(platform(request), p, int_param(request, "station_id"))
    return ok(station_out(row))


async def patch_station(request: web.Request) -> web.Response:
    """Update a station; the service circle is recomputed from its minutes."""
    p = require(request, *STAFF)
    sid = int_param(request, "station_id")
    station_scope(p, sid)  # another station's is 404 whatever the body says
    body = await parse(request, StationPatch)
    return ok(station_out(await stations.patch(platform(request), p, station_id=sid, body=body)))


@doc(response=OperatorOut, status=201)
async def create_operator(request: web.Request) -> web.Response:
    p = require(request, Role.ADMIN)
    body = await parse(request, OperatorIn)
    return ok(await stations.create_operator(platform(request), p, body), 201)


# ----- caregivers -------------------------------------------------------------------------


async def create_caregiver(request: web.Request) -> web.Response:
    p = require(request, *STAFF)
    body = await parse(request, CaregiverIn)
    return ok(caregiver_out(await caregivers.create(platform(request), p, body), reveal=True), 201)


async def list_caregivers(request: web.Request) -> web.Response:
    p = require(request, *STAFF)
    q = parse_query(request, PageQuery)
    rows, total = await caregivers.page(platform(request), p, q)
    return ok(caregiver_page(rows, total, q))


async def get_caregiver(request: web.Request) -> web.Response:
    p = caller(request)
    cid = int_param(request, "caregiver_id")
    reveal = request.query.get("reveal") in ("1", "true") and p.is_staff()
    row = await caregivers.get(platform(request), p, cid, reveal=reveal)
    return ok(caregiver_out(row, reveal=reveal or p.caregiver_id == row.id))


async def patch_caregiver(request: web.Request) -> web.Response:
    p = require(request, *STAFF)
    cid = int_param(request, "caregiver_id")
    body = await parse(request, CaregiverPatch)
    return ok(
        caregiver_out(
            await caregivers.patch(platform(request), p, caregiver_id=cid, body=body), reveal=False
        )
    )


async def deactivate_caregiver(request: web.Request) -> web.Response:
    p = require(request, *STAFF)
    cid = int_param(request, "caregiver_id")
    await caregivers.deactivate(platform(request), p, cid)
    return ok(ActiveOut(id=cid, active=False))


@doc(status=204)
async def reset_caregiver_password(request: web.Request) -> web.Response:
    """The station sets a caregiver's new password (an audit row); her sessions end."""
    p = require(request, *STAFF)
    cid = int_param(request, "caregiver_id")
    body = await parse(request, PasswordReset)
    await caregivers.reset_password(platform(request), p, cid, body.new_password)
    return web.Response(status=204)


async def reactivate_caregiver(request: web.Request) -> web.Response:
    """Undo a deactivation: the caregiver can sign in again; duty stays off until they
    switch it on themselves."""
    p = require(request, *STAFF)
    cid = int_param(request, "caregiver_id")
    await caregivers.reactivate(platform(request), p, cid)
    return ok(ActiveOut(id=cid, active=True))


async def set_duty(request: web.Request) -> web.Response:
    p = require(request, Role.CAREGIVER)
    body = await parse(request, DutyIn)
    cid = await caregivers.set_duty(platform(request), p, body.on_duty)
    return ok(DutyOut(caregiver_id=cid, on_duty=body.on_duty))


async def set_location(request: web.Request) -> web.Response:
    p = require(request, Role.CAREGIVER)
    body = await parse(request, LocationIn)
    cid, lat, lng = await caregivers.set_location(platform(request), p, body.location)
    return ok(CaregiverLocationOut(caregiver_id=cid, lat=lat, lng=lng))


# ----- elders -----------------------------------------------------------------------------


async def create_elder(request: web.Request) -> web.Response:
    p = require(request, *STAFF)
    body = await parse(request, ElderIn)
    return ok(elder_out(await elders.create(platform(request), p, body), reveal=False), 201)


async def list_elders(request: web.Request) -> web.Response:
    p = require(request, *STAFF)
    q = parse_query(request, PageQuery)
    rows, total = await elders.page(platform(request), p, q)
    return ok(elder_page(rows, total, q))


async def get_elder(request: web.Request) -> web.Response:
    p = caller(request)
    eid = int_param(request, "elder_id")
    reveal = request.query.get("reveal") in ("1", "true") and p.is_staff()
    row, on_the_way = await elders.get(platform(request), p, eid, reveal=reveal)
    return ok(elder_out(row, reveal=reveal, reveal_contact=on_the_way))


async def patch_elder(request: web.Request) -> web.Response:
    p = require(request, *STAFF)
    eid = int_param(request, "elder_id")
    body = await parse(request, ElderPatch)
    return ok(
        elder_out(await elders.patch(platform(request), p, elder_id=eid, body=body), reveal=False)
    )


async def deactivate_elder(request: web.Request) -> web.Response:
    p = require(request, *STAFF)
    eid = int_param(request, "elder_id")
    await elders.deactivate(platform(request), p, eid)
    return ok(ActiveOut(id=eid, active=False))


async def reactivate_elder(request: web.Request) -> web.Response:
    """Undo a deactivation (an elder back from hospital or from living with their children):
    help calls are accepted again."""
    p = require(request, *STAFF)
    eid = int_param(request, "elder_id")
    await elders.reactivate(platform(request), p, eid)
    return ok(ActiveOut(id=eid, active=True))


async def link_code(request: web.Request) -> web.Response:
    p = require(request, *STAFF)
    code, expires = await elders.issue_link_code(
        platform(request), p, int_param(request, "elder_id")
    )
    return ok(LinkCodeOut(link_code=code, expires_at=expires), 201)


# ----- family bindings --------------------------------------------------------------------


@doc(response=BindingOut, status=201)
async def request_binding(request: web.Request) -> web.Response:
    """A family member asks to be bound; the elder or the station confirms."""
    p = require(request, Role.FAMILY)
    body = await parse(request, BindingRequest)
    row, elder_name, new = await bindings.request(platform(request), p, body)
    return ok(binding_out(row, elder_name), 201 if new else 200)


async def confirm_binding(request: web.Request) -> web.Response:
    p = caller(request)
    row, elder_name = await bindings.confirm(platform(request), p, int_param(request, "binding_id"))
    return ok(binding_out(row, elder_name))


async def revoke_binding(request: web.Request) -> web.Response:
    """End a binding, or turn down a request: the family member, the elder, or the elder's
    station may; the family member's access to the elder ends at once."""
    p = caller(request)
    bid = int_param(request, "binding_id")
    row, elder_name = await bindings.revoke(platform(request), p, bid)
    return ok(binding_out(row, elder_name))


async def reject_binding(request: web.Request) -> web.Response:
    """Turn down a pending request (the elder or the station); a confirmed binding is 409."""
    p = caller(request)
    bid = int_param(request, "binding_id")
    row, elder_name = await bindings.revoke(platform(request), p, bid, pending_only=True)
    return ok(binding_out(row, elder_name))


async def list_bindings(request: web.Request) -> web.Response:
    rows = await bindings.visible(platform(request), caller(request))
    return ok([binding_out(r, r.elder_name) for r in rows])


async def my_elders(request: web.Request) -> web.Response:
    p = require(request, Role.FAMILY, Role.ELDER)
    rows = await bindings.my_elders(platform(request), p)
    return ok([elder_out(r, reveal=False) for r in rows])


def routes() -> list[web.RouteDef]:
    return [
        web.post("/api/v1/stations", create_station),
        web.get("/api/v1/stations", list_stations),
        web.get("/api/v1/stations/{station_id}", get_station),
        web.patch("/api/v1/stations/{station_id}", patch_station),
        web.post("/api/v1/operators", create_operator),
        web.post("/api/v1/caregivers", create_caregiver),
        web.get("/api/v1/caregivers", list_caregivers),
        web.post("/api/v1/caregivers/me/duty", set_duty),
        web.post("/api/v1/caregivers/me/location", set_location),
        web.get("/api/v1/caregivers/{caregiver_id}", get_caregiver),
        web.patch("/api/v1/caregivers/{caregiver_id}", patch_caregiver),
        web.post("/api/v1/caregivers/{caregiver_id}/deactivate", deactivate_caregiver),
        web.post("/api/v1/caregivers/{caregiver_id}/password", reset_caregiver_password),
        web.post("/api/v1/caregivers/{caregiver_id}/reactivate", reactivate_caregiver),
        web.post("/api/v1/elders", create_elder),
        web.get("/api/v1/elders", list_elders),
        web.get("/api/v1/elders/{elder_id}", get_elder),
        web.patch("/api/v1/elders/{elder_id}", patch_elder),
        web.post("/api/v1/elders/{elder_id}/deactivate", deactivate_elder),
        web.post("/api/v1/elders/{elder_id}/reactivate", reactivate_elder),
        web.post("/api/v1/elders/{elder_id}/link-code", link_code),
        web.post("/api/v1/bindings", request_binding),
        web.get("/api/v1/bindings", list_bindings),
        web.post("/api/v1/bindings/{binding_id}/confirm", confirm_binding),
        web.post("/api/v1/bindings/{binding_id}/revoke", revoke_binding),
        web.post("/api/v1/bindings/{binding_id}/reject", reject_binding),
        web.get("/api/v1/me/elders", my_elders),
    ]
