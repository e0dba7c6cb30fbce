"""Day-care endpoints: the station's programme, enrolments, the day's attendance list with
check-in and check-out, absence notices and the roll call."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from schemas.daycare import (
    AbsenceIn,
    AttendanceOut,
    DayOut,
    EnrolmentIn,
    EnrolmentOut,
    ProgrammeIn,
    ProgrammeOut,
)
from server.auth.principal import Role
from server.daycare import flows
from server.errors import ApiError
from server.http import int_param, ok, parse, platform, require
from server.openapi import doc
from server.registry.guards import station_scope

STAFF = (Role.OPERATOR, Role.CAREGIVER, Role.ADMIN)


def _day(request: web.Request) -> date:
    try:
        return date.fromisoformat(request.match_info["day"])
    except ValueError as exc:
        raise ApiError(404, "not_found", "no such day") from exc


@doc(response=ProgrammeOut)
async def put_programme(request: web.Request) -> web.Response:
    """Set the station's day-care days, hours and capacity."""
    p = require(request, Role.OPERATOR, Role.ADMIN)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    body = await parse(request, ProgrammeIn)
    return ok(
        await flows.put_programme(platform(request), station_id=sid, body=body, actor=p.user_id)
    )


@doc(response=ProgrammeOut)
async def get_programme(request: web.Request) -> web.Response:
    """The station's day-care programme."""
    p = require(request, *STAFF)
    sid = int_param(request, "station_id")
    flows.staff_of(p, sid)
    return ok(await flows.get_programme(platform(request), station_id=sid))


@doc(response=EnrolmentOut, status=201)
async def enrol(request: web.Request) -> web.Response:
    """Enrol an elder for days of the week (waiting while a day is full)."""
    p = require(request, Role.OPERATOR, Role.ADMIN)
    eid = int_param(request, "elder_id")
    body = await parse(request, EnrolmentIn)
    return ok(await flows.enrol(platform(request), p, elder_id=eid, body=body), 201)


@doc(response=list[EnrolmentOut])
async def list_enrolments(request: web.Request) -> web.Response:
    """The station's enrolments and waiting list."""
    p = require(request, *STAFF)
    sid = int_param(request, "station_id")
    flows.staff_of(p, sid)
    return ok(await flows.list_enrolments(platform(request), station_id=sid))


@doc(response=EnrolmentOut)
async def end_enrolment(request: web.Request) -> web.Response:
    """The elder leaves day care; the waiting list moves up."""
    p = require(request, Role.OPERATOR, Role.ADMIN)
    en = int_param(request, "enrolment_id")
    return ok(await flows.end_enrolment(platform(request), p, enrolment_id=en))


@doc(response=DayOut)
async def get_day(request: web.Request) -> web.Response:
    """A day's attendance list."""
    p = require(request, *STAFF)
    sid = int_param(request, "station_id")
    flows.staff_of(p, sid)
    return ok(await flows.get_day(platform(request), station_id=sid, day=_day(request)))


@doc(response=DayOut)
async def open_day(request: web.Request) -> web.Response:
    """Open (or refresh) a day's list and order its lunches."""
    p = require(request, *STAFF)
    sid = int_param(request, "station_id")
    flows.staff_of(p, sid)
    return ok(await flows.open_day_for(platform(request), p, station_id=sid, day=_day(request)))


@doc(response=DayOut)
async def roll_call(request: web.Request) -> web.Response:
    """Call the roll: silent absences become welfare checks."""
    p = require(request, *STAFF)
    sid = int_param(request, "station_id")
    flows.staff_of(p, sid)
    return ok(await flows.roll_call_now(platform(request), p, station_id=sid, day=_day(request)))


@doc(response=AttendanceOut)
async def check_in(request: web.Request) -> web.Response:
    """Check an elder in."""
    p = require(request, *STAFF)
    aid = int_param(request, "attendance_id")
    return ok(await flows.check_in(platform(request), p, attendance_id=aid))


@doc(response=AttendanceOut)
async def check_out(request: web.Request) -> web.Response:
    """Check an elder out."""
    p = require(request, *STAFF)
    aid = int_param(request, "attendance_id")
    return ok(await flows.check_out(platform(request), p, attendance_id=aid))


@doc(response=AttendanceOut)
async def absence(request: web.Request) -> web.Response:
    """The elder, family or staff say the elder will not come that day."""
    p = require(request, Role.ELDER, Role.FAMILY, Role.OPERATOR, Role.ADMIN)
    eid = int_param(request, "elder_id")
    body = await parse(request, AbsenceIn)
    return ok(
        await flows.notify_absence(platform(request), p, elder_id=eid, day=_day(request), body=body)
    )


def routes() -> list[web.RouteDef]:
    """The day-care URL table."""
    base = "/api/v1/stations/{station_id}/daycare"
    return [
        web.put(f"{base}/programme", put_programme),
        web.get(f"{base}/programme", get_programme),
        web.get(f"{base}/enrolments", list_enrolments),
        web.get(f"{base}/days/{{day}}", get_day),
        web.post(f"{base}/days/{{day}}/open", open_day),
        web.post(f"{base}/days/{{day}}/roll-call", roll_call),
        web.post("/api/v1/elders/{elder_id}/daycare/enrolments", enrol),
        web.post("/api/v1/daycare/enrolments/{enrolment_id}/end", end_enrolment),
        web.post("/api/v1/daycare/attendance/{attendance_id}/check-in", check_in),
        web.post("/api/v1/daycare/attendance/{attendance_id}/check-out", check_out),
        web.post("/api/v1/elders/{elder_id}/daycare/absences/{day}", absence),
    ]
