"""Welfare endpoints: rule sets and eligibility, visit proof and service records, the ledger and
period closes, applications and their reviewers, the calendar, service addresses, statements
and fraud signals. Each handler parses, calls one flow (server/welfare/flows/) and answers with
one schema; the URL table is ``routes()``."""

from __future__ import annotations

from datetime import date
from typing import Final

from aiohttp import web

from schemas.welfare import (
    AddressHistoryOut,
    ApplicationIn,
    ApplicationOut,
    CalendarIn,
    CalendarOut,
    CalendarYearOut,
    CloseIn,
    DecisionIn,
    DocumentStoredOut,
    DoorCardOut,
    EligibilityOut,
    FraudSignalsOut,
    LedgerOut,
    ObjectionIn,
    OfficerIn,
    OfficerOut,
    PeriodCloseOut,
    RecordOut,
    ReverseIn,
    ReviewIn,
    RulesetOut,
    RulesetPublishedOut,
    ServiceAddressIn,
    StayIn,
    StayOut,
    VisitCodeOut,
    WelfareProfileIn,
    WelfareProfileOut,
)
from server.auth.principal import Role
from server.errors import ApiError
from server.http import int_param, ok, parse, platform, require
from server.openapi import doc
from server.welfare import out
from server.welfare.flows import (
    addresses,
    applications,
    calendars,
    eligibility,
    notice,
    officers,
    quota,
    rulesets,
    statements,
    visits,
)
from server.welfare.flows.officers import OFFICERS

# who may see an elder's welfare data (each still passes the elder guard)
WATCHERS: Final = (Role.ELDER, Role.FAMILY, Role.OPERATOR)

# ----- rule sets and eligibility ----------------------------------------------------------------


@doc(response=list[RulesetOut])
async def list_rulesets(request: web.Request) -> web.Response:
    """The rule set versions: stored, then the packaged examples."""
    require(request, Role.OPERATOR)
    return ok(await rulesets.listing(platform(request)))


@doc(response=RulesetPublishedOut, status=201)
async def create_ruleset(request: web.Request) -> web.Response:
    """District staff (admin) publish a new version of a district's rules, as JSON."""
    p = require(request, Role.ADMIN)
    body = await request.read()
    return ok(await rulesets.publish(platform(request), p, body), 201)


@doc(response=WelfareProfileOut)
async def put_profile(request: web.Request) -> web.Response:
    """The facts the rules need beyond the registry's file."""
    p = require(request, Role.OPERATOR)
    eid = int_param(request, "elder_id")
    body = await parse(request, WelfareProfileIn)
    return ok(await eligibility.put_profile(platform(request), p, elder_id=eid, body=body))


@doc(response=EligibilityOut)
async def get_eligibility(request: web.Request) -> web.Response:
    """The elder's class, quota and what is left of it this period."""
    p = require(request, *WATCHERS)
    eid = int_param(request, "elder_id")
    return ok(await quota.eligibility(platform(request), p, elder_id=eid))


# ----- visit proof ------------------------------------------------------------------------------


@doc(response=VisitCodeOut)
async def visit_code(request: web.Request) -> web.Response:
    """Today's code for the elder's phone (an operator's read, for an elder without one, is
    audited)."""
    p = require(request, Role.ELDER, Role.FAMILY, Role.OPERATOR)
    eid = int_param(request, "elder_id")
    day, code = await visits.phone_code(platform(request), p, elder_id=eid)
    return ok(VisitCodeOut(elder_id=eid, day=day, code=code))


@doc(response=DoorCardOut)
async def get_door_card(request: web.Request) -> web.Response:
    """The fixed code to print on the elder's door card (issued on first read); audited."""
    p = require(request, Role.OPERATOR)
    eid = int_param(request, "elder_id")
    return ok(await visits.read_door_card(platform(request), p, elder_id=eid))


@doc(response=DoorCardOut)
async def rotate_door_card(request: web.Request) -> web.Response:
    """A new door-card code (the old card stops proving visits at once); audited."""
    p = require(request, Role.OPERATOR)
    eid = int_param(request, "elder_id")
    return ok(await visits.read_door_card(platform(request), p, elder_id=eid, rotate=True))


# ----- service records, ledger, closes ----------------------------------------------------------


@doc(response=list[RecordOut])
async def list_records(request: web.Request) -> web.Response:
    """The elder's service records, with the audit gate's verdict on each."""
    p = require(request, *WATCHERS)
    eid = int_param(request, "elder_id")
    return ok(await visits.records_of(platform(request), p, elder_id=eid))


@doc(response=RecordOut)
async def review_record(request: web.Request) -> web.Response:
    """The station's review, the last step of the audit gate; the money follows it."""
    p = require(request, Role.OPERATOR)
    rid = int_param(request, "record_id")
    body = await parse(request, ReviewIn)
    return ok(await visits.review(platform(request), p, record_id=rid, body=body))


@doc(response=RecordOut)
async def confirm_record(request: web.Request) -> web.Response:
    """The elder (or bound family) confirms the visit happened."""
    p = require(request, Role.ELDER, Role.FAMILY)
    rid = int_param(request, "record_id")
    return ok(await visits.confirm(platform(request), p, record_id=rid))


@doc(response=RecordOut)
async def reverse_record(request: web.Request) -> web.Response:
    """A correction: reversing ledger entries, never an edit; the record is marked reversed."""
    p = require(request, Role.OPERATOR)
    rid = int_param(request, "record_id")
    body = await parse(request, ReverseIn)
    return ok(await visits.reverse(platform(request), p, record_id=rid, reason=body.reason))


@doc(response=LedgerOut)
async def elder_ledger(request: web.Request) -> web.Response:
    """The elder's quota and own accounts: what is left, the balances, every entry."""
    p = require(request, *WATCHERS)
    eid = int_param(request, "elder_id")
    return ok(await statements.elder_ledger(platform(request), p, elder_id=eid))


@doc(response=list[PeriodCloseOut])
async def close_period(request: web.Request) -> web.Response:
    """Close a settlement period for a district (district staff); idempotent."""
    p = require(request, Role.DISTRICT_OFFICER)
    district = request.match_info["district"]
    body = await parse(request, CloseIn)
    return ok(await quota.close(platform(request), p, district=district, period=body.period))


@doc(response=StayOut, status=201)
async def add_stay(request: web.Request) -> web.Response:
    """Record a hospital stay of the elder (audited)."""
    p = require(request, Role.OPERATOR)
    eid = int_param(request, "elder_id")
    body = await parse(request, StayIn)
    return ok(await visits.add_stay(platform(request), p, elder_id=eid, body=body), 201)


# ----- applications and reviewers ---------------------------------------------------------------


@doc(response=ApplicationOut, status=201)
async def submit_application(request: web.Request) -> web.Response:
    """Apply for a rule of the district's rule set; it starts at the community step."""
    p = require(request, *WATCHERS)
    eid = int_param(request, "elder_id")
    body = await parse(request, ApplicationIn)
    return ok(await applications.submit(platform(request), p, elder_id=eid, body=body), 201)


@doc(response=ApplicationOut)
async def get_application(request: web.Request) -> web.Response:
    """One application with its deadline, history and documents."""
    p = require(request, *WATCHERS, *OFFICERS)
    aid = int_param(request, "application_id")
    return ok(await applications.get(platform(request), p, app_id=aid))


@doc(response=DocumentStoredOut, status=201)
async def upload_document(request: web.Request) -> web.Response:
    """Upload one document as the raw body; kind and filename in the query."""
    p = require(request, *WATCHERS)
    aid = int_param(request, "application_id")
    kind = request.query.get("kind", "other")
    data = await request.read()
    upload = applications.read_upload(
        kind, request.content_type, data, request.query.get("filename")
    )
    stored = await applications.add_document(platform(request), p, app_id=aid, doc=upload)
    return ok(stored, 201)


async def download_document(request: web.Request) -> web.Response:
    """Staff and reviewers read an uploaded document; every read is audited."""
    p = require(request, Role.OPERATOR, *OFFICERS)
    aid = int_param(request, "application_id")
    did = int_param(request, "document_id")
    row = await applications.document(platform(request), p, app_id=aid, doc_id=did)
    return out.document_file(row)


@doc(response=ApplicationOut)
async def decide(request: web.Request) -> web.Response:
    """Pass the current step (on to the next, or approved) or refuse it with a written reason."""
    p = require(request, Role.OPERATOR, *OFFICERS)
    aid = int_param(request, "application_id")
    body = await parse(request, DecisionIn)
    return ok(await applications.decide(platform(request), p, app_id=aid, body=body))


@doc(response=ApplicationOut)
async def object_to(request: web.Request) -> web.Response:
    """Record an objection raised during the application's public notice (公示异议): it then
    waits for the street officer instead of moving on when the notice ends."""
    p = require(request, Role.OPERATOR, Role.STREET_OFFICER)
    aid = int_param(request, "application_id")
    body = await parse(request, ObjectionIn)
    return ok(await notice.object_(platform(request), p, app_id=aid, body=body))


async def printable_notice(request: web.Request) -> web.Response:
    """The application's printable notice in Chinese: the 公示 while it runs, the written
    decision (审批决定书) once decided; 409 while it is under review."""
    p = require(request, Role.OPERATOR, Role.ELDER, Role.FAMILY, *OFFICERS)
    aid = int_param(request, "application_id")
    page = await notice.printable(platform(request), p, app_id=aid)
    return web.Response(text=page, content_type="text/html", headers=out.NOTICE_HEADERS)


@doc(response=list[ApplicationOut])
async def list_applications(request: web.Request) -> web.Response:
    """A station's applications; `?overdue=1` keeps those past their step's due day."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    only = request.query.get("overdue") in ("1", "true")
    return ok(await applications.listing(platform(request), p, station_id=sid, overdue_only=only))


@doc(response=list[ApplicationOut])
async def review_queue(request: web.Request) -> web.Response:
    """A street or district officer's applications waiting at their step, in their scope (an
    admin sees every application at the street and district steps); `?overdue=1` filters."""
    p = require(request, *OFFICERS)
    only = request.query.get("overdue") in ("1", "true")
    return ok(await applications.review_queue(platform(request), p, overdue_only=only))


@doc(response=OfficerOut, status=201)
async def create_officer(request: web.Request) -> web.Response:
    """An admin opens a reviewer's account with its scope (audited)."""
    p = require(request, Role.ADMIN)
    body = await parse(request, OfficerIn)
    return ok(await officers.create(platform(request), p, body), 201)


@doc(response=list[OfficerOut])
async def list_officers(request: web.Request) -> web.Response:
    """Every street and district reviewer with their scope."""
    require(request, Role.ADMIN)
    return ok(await officers.listing(platform(request)))


# ----- the calendar and service addresses -------------------------------------------------------


@doc(response=CalendarOut, status=201)
async def put_calendar(request: web.Request) -> web.Response:
    """Publish (or correct) one year's official calendar; a new version each time."""
    p = require(request, Role.ADMIN)
    try:
        year = int(request.match_info["year"])
    except ValueError as exc:
        raise ApiError(404, "not_found", "years look like 2027") from exc
    if not 2000 <= year <= 2100:
        raise ApiError(404, "not_found", "years look like 2027")
    body = await parse(request, CalendarIn)
    return ok(await calendars.publish(platform(request), p, year=year, body=body), 201)


@doc(response=list[CalendarYearOut])
async def list_calendars(request: web.Request) -> web.Response:
    """Which years are official (published or packaged) and which would be provisional."""
    require(request, Role.OPERATOR)
    return ok(await calendars.years(platform(request)))


@doc(response=AddressHistoryOut, status=201)
async def change_address(request: web.Request) -> web.Response:
    """Serve the elder at a new address, within the district's limits (audited)."""
    p = require(request, Role.OPERATOR)
    eid = int_param(request, "elder_id")
    body = await parse(request, ServiceAddressIn)
    return ok(await addresses.change(platform(request), p, elder_id=eid, body=body), 201)


@doc(response=AddressHistoryOut)
async def list_addresses(request: web.Request) -> web.Response:
    """The household's service addresses, oldest first."""
    p = require(request, *WATCHERS)
    eid = int_param(request, "elder_id")
    return ok(await addresses.listing(platform(request), p, elder_id=eid))


# ----- statements and fraud signals -------------------------------------------------------------


async def elder_statement(request: web.Request) -> web.Response:
    """The elder's service record book of one month, as CSV or XLSX."""
    p = require(request, *WATCHERS)
    eid = int_param(request, "elder_id")
    month = request.match_info["month"]
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError as exc:
        raise ApiError(404, "not_found", "months look like 2026-11") from exc
    if not 2000 <= first.year <= 2099:
        raise ApiError(404, "not_found", "months look like 2026-11")
    book = await statements.elder_month(platform(request), p, elder_id=eid, month=first)
    name = f"service-record-book-{eid}-{month}"
    return out.download([book], request.match_info["fmt"], name)


async def station_settlement(request: web.Request) -> web.Response:
    """A station's quarterly settlement, unproven list and work hours, as CSV or XLSX."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    quarter = request.match_info["quarter"]
    sheets = await statements.station_quarter(platform(request), p, station_id=sid, quarter=quarter)
    name = f"settlement-station-{sid}-{quarter}"
    return out.download(sheets, request.match_info["fmt"], name)


async def district_statement(request: web.Request) -> web.Response:
    """For district staff: the district's own officers and admins (404 for other districts)."""
    p = require(request, Role.DISTRICT_OFFICER)
    district = request.match_info["district"]
    quarter = statements.quarter_in_path(request.match_info["quarter"])
    sheets = await statements.district_quarter(
        platform(request), p, district=district, quarter=quarter
    )
    return out.download(sheets, request.match_info["fmt"], f"district-summary-{quarter}")


@doc(response=FraudSignalsOut)
async def fraud_signals(request: web.Request) -> web.Response:
    """Patterns a reviewer should look at in a station's quarter (`?quarter=2026Q4`, default
    this one)."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    quarter = request.query.get("quarter")
    return ok(await statements.fraud(platform(request), p, station_id=sid, quarter=quarter))


def routes() -> list[web.RouteDef]:
    """The welfare URL table."""
    fmt = "{fmt:csv|xlsx}"
    return [
        web.get("/api/v1/welfare/rulesets", list_rulesets),
        web.get("/api/v1/welfare/calendars", list_calendars),
        web.put("/api/v1/welfare/calendars/{year}", put_calendar),
        web.post("/api/v1/welfare/rulesets", create_ruleset),
        web.put("/api/v1/elders/{elder_id}/welfare-profile", put_profile),
        web.get("/api/v1/elders/{elder_id}/eligibility", get_eligibility),
        web.get("/api/v1/elders/{elder_id}/visit-code", visit_code),
        web.get("/api/v1/elders/{elder_id}/door-card", get_door_card),
        web.post("/api/v1/elders/{elder_id}/door-card/rotate", rotate_door_card),
        web.post("/api/v1/elders/{elder_id}/applications", submit_application),
        web.get("/api/v1/applications/{application_id}", get_application),
        web.post("/api/v1/applications/{application_id}/documents", upload_document),
        web.get("/api/v1/applications/{application_id}/documents/{document_id}", download_document),
        web.post("/api/v1/applications/{application_id}/decision", decide),
        web.post("/api/v1/applications/{application_id}/objections", object_to),
        web.get("/api/v1/applications/{application_id}/notice", printable_notice),
        web.get("/api/v1/stations/{station_id}/applications", list_applications),
        web.get("/api/v1/welfare/review-queue", review_queue),
        web.post("/api/v1/welfare/officers", create_officer),
        web.get("/api/v1/welfare/officers", list_officers),
        web.get("/api/v1/elders/{elder_id}/service-records", list_records),
        web.post("/api/v1/service-records/{record_id}/review", review_record),
        web.post("/api/v1/service-records/{record_id}/confirm", confirm_record),
        web.post("/api/v1/service-records/{record_id}/reverse", reverse_record),
        web.get("/api/v1/elders/{elder_id}/ledger", elder_ledger),
        web.post("/api/v1/elders/{elder_id}/hospital-stays", add_stay),
        web.post("/api/v1/elders/{elder_id}/service-address", change_address),
        web.get("/api/v1/elders/{elder_id}/service-addresses", list_addresses),
        web.post("/api/v1/districts/{district}/close", close_period),
        web.get("/api/v1/elders/{elder_id}/statements/{month}." + fmt, elder_statement),
        web.get("/api/v1/stations/{station_id}/settlements/{quarter}." + fmt, station_settlement),
        web.get("/api/v1/districts/{district}/summaries/{quarter}." + fmt, district_statement),
        web.get("/api/v1/stations/{station_id}/fraud-signals", fraud_signals),
    ]
