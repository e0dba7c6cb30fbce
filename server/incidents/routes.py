"""Help-call endpoints: the button, the incident views, the caregiver's steps, alarms."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from schemas.common import I18nText, Model
from schemas.incidents import (
    AlarmAckOut,
    AlarmOut,
    ArrivalOut,
    ArriveIn,
    AssignIn,
    CloseIn,
    ConfirmArrivalIn,
    DeclineIn,
    ElderContactOut,
    EnRouteIn,
    HelpCallIn,
    IncidentOut,
    IncidentPage,
    IncidentStepOut,
    OfferOut,
    OperatorIncidentIn,
    ResolveIn,
)
from server.auth.principal import Principal, Role
from server.errors import ApiError
from server.faults import crash_point
from server.http import caller, int_param, ok, parse, parse_optional, parse_query, platform, require
from server.incidents import flows
from server.incidents.idempotency import remember, replay, request_hash, valid_key
from server.incidents.intake import Intake, open_or_join
from server.incidents.model import ACTIVE_STATES, load
from server.incidents.tables import alarms, incidents, offers
from server.incidents.views import incident_out
from server.openapi import doc
from server.platform import Tx
from server.registry.guards import ON_THE_WAY, elder_for
from server.registry.routes import reveal_for_incident, stored
from server.registry.tables import elders, family_bindings
from server.registry.views import dicts_of
from server.texts import alarm_text


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
    cmd = Intake(
        elder_id=elder_id,
        kind=body.call_type,
        source="app",
        reporter_user_id=p.user_id,
        lat=lat,
        lng=lng,
        note=body.note,
    )
    status, answer = await _intake_once(
        request, p, key, request_hash(body.model_dump(mode="json")), cmd
    )
    return ok(answer, status)


async def _intake_once(
    request: web.Request, p: Principal, key: str, digest: str, cmd: Intake
) -> tuple[int, Any]:
    pf = platform(request)
    scope = f"user:{p.user_id}"
    for _ in range(3):
        try:
            async with pf.tx() as tx:
                seen = await replay(tx, scope, key, digest)
                if seen is not None:
                    return seen
                await _may_call_for(tx, p, cmd.elder_id)
                result = await open_or_join(pf, tx, cmd)
                row = await load(tx, result.incident_id, lock=False)
                out = await incident_out(tx.conn, row, tx.now)
                out.joined = result.joined
                status, answer = (200 if result.joined else 201), out.model_dump(mode="json")
                await remember(tx, scope, key, digest, status, answer)
            crash_point("intake.committed")
            return status, answer
        except IntegrityError:
            continue  # the same key committed concurrently: read its answer
    raise ApiError(409, "idempotency_conflict", "the same request is still being processed; retry")


async def _may_call_for(tx: Tx, p: Principal, elder_id: int) -> None:
    if p.role is Role.ELDER:
        return
    await elder_for(tx.conn, p, elder_id)


@doc(response=IncidentOut, status=201, also={200: "joined the open incident"})
async def operator_incident(request: web.Request) -> web.Response:
    """An operator turns a phone call into an incident through the same intake."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, OperatorIncidentIn)
    lat, lng = stored(body.location) if body.location else (None, None)
    pf = platform(request)
    async with pf.tx() as tx:
        await elder_for(tx.conn, p, body.elder_id)
        result = await open_or_join(
            pf,
            tx,
            Intake(
                elder_id=body.elder_id,
                kind=body.call_type,
                source="phone" if body.call_id else "operator",
                reporter_user_id=p.user_id,
                lat=lat,
                lng=lng,
                note=body.note,
                call_id=body.call_id,
            ),
        )
        out = await incident_out(tx.conn, await load(tx, result.incident_id, lock=False), tx.now)
        out.joined = result.joined
    return ok(out, 200 if result.joined else 201)


class IncidentQuery(Model):
    status: str | None = Field(
        default=None,
        pattern="^(active|open|offered|accepted|en_route|arrived|resolved|closed|all)$",
        description="active (the default) is open to arrived",
    )
    elder_id: int | None = None
    page: int = Field(default=1, ge=1, le=100000)
    page_size: int = Field(default=50, ge=1, le=200)


async def list_incidents(request: web.Request) -> web.Response:
    """Incidents the caller may see, newest first, a page at a time (as the registry lists:
    items, total, page, page_size)."""
    p = caller(request)
    q = parse_query(request, IncidentQuery)
    conds: list[Any] = []
    if p.role is Role.OPERATOR:
        conds.append(incidents.c.station_id == p.station_id)
    elif p.role is Role.CAREGIVER:
        conds.append(incidents.c.caregiver_id == p.caregiver_id)
    elif p.role is Role.ELDER:
        conds.append(incidents.c.elder_id == p.elder_id)
    elif p.role is Role.FAMILY:
        conds.append(
            incidents.c.elder_id.in_(
                select(family_bindings.c.elder_id).where(
                    family_bindings.c.family_user_id == p.user_id,
                    family_bindings.c.status == "confirmed",
                )
            )
        )
    if q.status in (None, "active"):
        conds.append(incidents.c.status.in_(ACTIVE_STATES))
    elif q.status != "all":
        conds.append(incidents.c.status == q.status)
    if q.elder_id:
        conds.append(incidents.c.elder_id == q.elder_id)
    pf = platform(request)
    async with pf.store.read() as conn:
        total = (
            await conn.execute(select(func.count()).select_from(incidents).where(*conds))
        ).scalar_one()
        # The id breaks ties between calls opened in the same instant, so pages never
        # overlap or skip.
        rows = (
            await conn.execute(
                select(incidents)
                .where(*conds)
                .order_by(incidents.c.opened_at.desc(), incidents.c.id.desc())
                .offset((q.page - 1) * q.page_size)
                .limit(q.page_size)
            )
        ).all()
        now = pf.clock.now()
        items = [await incident_out(conn, r, now) for r in rows]
    return ok(IncidentPage(items=items, total=int(total), page=q.page, page_size=q.page_size))


async def _visible_incident(conn: Any, p: Principal, iid: int) -> Any:
    row = (await conn.execute(select(incidents).where(incidents.c.id == iid))).first()
    if row is None:
        raise ApiError(404, "incident_not_found", "incident not found")
    if p.role is Role.OPERATOR and row.station_id == p.station_id or p.role is Role.ADMIN:
        return row
    if p.role is Role.CAREGIVER:
        mine = (
            row.caregiver_id == p.caregiver_id
            or (
                await conn.execute(
                    select(offers.c.id).where(
                        offers.c.incident_id == iid, offers.c.caregiver_id == p.caregiver_id
                    )
                )
            ).first()
        )
        if mine:
            return row
    if p.role in (Role.ELDER, Role.FAMILY):
        elder = (await conn.execute(select(elders).where(elders.c.id == row.elder_id))).one()
        from server.registry.guards import may_see_elder

        if await may_see_elder(conn, p, elder):
            return row
    raise ApiError(404, "incident_not_found", "incident not found")


@doc(response=IncidentOut)
async def get_incident(request: web.Request) -> web.Response:
    p = caller(request)
    pf = platform(request)
    iid = int_param(request, "incident_id")
    async with pf.store.read() as conn:
        row = await _visible_incident(conn, p, iid)
        staff = p.is_staff()
        out = await incident_out(
            conn,
            row,
            pf.clock.now(),
            with_timeline=staff or p.role is Role.CAREGIVER,
            with_candidates=staff,
        )
    if (
        row.caregiver_id is not None
        and row.caregiver_id == p.caregiver_id
        and row.status in ON_THE_WAY
    ):
        out.elder_contact = await _contact_for_caregiver(pf, p, row)
    return ok(out)


async def _contact_for_caregiver(pf: Any, p: Principal, inc: Any) -> ElderContactOut | None:
    """The elder's phones for the caregiver on the way, read and audited in one step (the
    incident must still be theirs and active when the audit row is written)."""
    async with pf.tx() as tx:
        if await reveal_for_incident(tx, p, inc.elder_id) != inc.id:
            return None
        e = (await tx.conn.execute(select(elders).where(elders.c.id == inc.elder_id))).one()
    return ElderContactOut(
        phone=e.phone,
        contacts=dicts_of(e.contacts),
        neighbours=dicts_of(e.neighbours),
        address=e.address,
        access_notes=e.access_notes,
        key_holder=e.key_holder,
    )


def _offer_out(r: Any) -> OfferOut:
    return OfferOut(
        id=r.id,
        incident_id=r.incident_id,
        caregiver_id=r.caregiver_id,
        status=r.status,
        offered_at=r.offered_at,
        expires_at=r.expires_at,
        eta_s=r.eta_s,
    )


async def my_offers(request: web.Request) -> web.Response:
    p = require(request, Role.CAREGIVER)
    async with platform(request).store.read() as conn:
        rows = (
            await conn.execute(
                select(offers)
                .where(offers.c.caregiver_id == p.caregiver_id, offers.c.status == "offered")
                .order_by(offers.c.id)
            )
        ).all()
    return ok([_offer_out(r).model_dump(mode="json") for r in rows])


async def accept_offer(request: web.Request) -> web.Response:
    p = require(request, Role.CAREGIVER)
    iid = await flows.accept(platform(request), p, int_param(request, "offer_id"))
    return ok(IncidentStepOut(incident_id=iid, status="accepted"))


async def decline_offer(request: web.Request) -> web.Response:
    p = require(request, Role.CAREGIVER)
    body = await parse_optional(request, DeclineIn)
    await flows.decline(platform(request), p, int_param(request, "offer_id"), body.reason)
    return ok(IncidentStepOut(offer_id=int_param(request, "offer_id"), status="declined"))


async def en_route(request: web.Request) -> web.Response:
    p = require(request, Role.CAREGIVER)
    body = await parse_optional(request, EnRouteIn)
    at = stored(body.location) if body.location else None
    await flows.en_route(platform(request), p, int_param(request, "incident_id"), at)
    return ok(IncidentStepOut(incident_id=int_param(request, "incident_id"), status="en_route"))


@doc(response=ArrivalOut)
async def arrive(request: web.Request) -> web.Response:
    p = require(request, Role.CAREGIVER)
    body = await parse(request, ArriveIn)
    return ok(
        ArrivalOut(
            **await flows.arrive(
                platform(request), p, int_param(request, "incident_id"), stored(body.location)
            )
        )
    )


async def resolve(request: web.Request) -> web.Response:
    p = require(request, Role.CAREGIVER)
    body = await parse(request, ResolveIn)
    await flows.resolve(
        platform(request), p, int_param(request, "incident_id"), body.notes, body.outcome
    )
    return ok(IncidentStepOut(incident_id=int_param(request, "incident_id"), status="resolved"))


async def assign(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    body = await parse(request, AssignIn)
    oid = await flows.assign(
        platform(request), p, int_param(request, "incident_id"), body.caregiver_id, body.reason
    )
    return ok(
        IncidentStepOut(
            incident_id=int_param(request, "incident_id"), offer_id=oid, status="offered"
        ),
        201,
    )


async def close(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    body = await parse(request, CloseIn)
    await flows.close(
        platform(request), p, int_param(request, "incident_id"), body.resolution, body.notes
    )
    return ok(
        IncidentStepOut(
            incident_id=int_param(request, "incident_id"),
            status="closed",
            resolution=body.resolution,
        )
    )


@doc(response=IncidentStepOut)
async def confirm_arrival(request: web.Request) -> web.Response:
    """The operator confirms a check-in that was flagged as too far from the elder."""
    p = require(request, Role.OPERATOR)
    body = await parse_optional(request, ConfirmArrivalIn)
    return ok(
        IncidentStepOut(
            **await flows.confirm_arrival(
                platform(request), p, int_param(request, "incident_id"), body.note
            )
        )
    )


async def list_alarms(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    stmt = select(alarms).where(alarms.c.station_id == p.station_id)
    if request.query.get("open", "1") in ("1", "true"):
        stmt = stmt.where(alarms.c.acknowledged_at.is_(None))
    async with platform(request).store.read() as conn:
        rows = (await conn.execute(stmt.order_by(alarms.c.id.desc()).limit(200))).all()
    return ok(
        [
            AlarmOut(
                id=r.id,
                station_id=r.station_id,
                incident_id=r.incident_id,
                kind=r.kind,
                message=alarm_text(r.kind, r.params).render("zh"),
                message_i18n=I18nText.model_validate(alarm_text(r.kind, r.params).out()),
                raised_at=r.raised_at,
                acknowledged_at=r.acknowledged_at,
            ).model_dump(mode="json")
            for r in rows
        ]
    )


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
