"""Rows as the API shows them, and the read queries behind the help-call views.

Stored reasons are data (a code and parameters); they are rendered here, at the edge, for
pages that read a Chinese ``reason`` (the console adds ``reason_i18n`` from the same data)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from dispatch.emergency import Reason
from schemas.common import I18nText, Point, TimelineEvent
from schemas.incidents import (
    AlarmOut,
    AlarmStatus,
    CandidateOut,
    IncidentOut,
    IncidentPage,
    IncidentQuery,
    IncidentStatus,
    OfferOut,
    OfferStatus,
)
from server.auth.principal import Principal, Role
from server.errors import ApiError
from server.incidents.model import ACTIVE_STATES, COMING, WITH_CAREGIVER
from server.incidents.tables import alarms, incident_events, incidents, offers
from server.registry.guards import may_see_elder
from server.registry.tables import caregivers, elders, family_bindings
from server.texts import alarm_text, reason_zh, status_text


def _status_text(row: Any, caregiver_name: str | None, now: datetime) -> tuple[str, int | None]:
    """The elder's wording, in Chinese (server/texts has it for every reader and language;
    the console's views add ``status_text_i18n``)."""
    minutes = None
    if row.eta_at is not None and row.status in COMING:
        minutes = max(1, round((row.eta_at - now).total_seconds() / 60))
    text = status_text(
        row.status,
        "elder",
        name=caregiver_name,
        minutes=minutes,
        resolution=row.resolution,
        kind=row.kind,
    ).render("zh")
    return text, minutes


def candidate_out(c: dict[str, Any]) -> CandidateOut:
    """A stored candidate, its reason rendered from its data (its data only where it reads
    as a Reason: a row edited by hand shows "reason unknown", not a crash)."""
    code, params = c.get("reason_code"), c.get("reason_params")
    readable = Reason.from_data(code, params) is not None
    return CandidateOut(
        caregiver_id=c["caregiver_id"],
        name=c["name"],
        eta_s=c["eta_s"],
        meets_target=c["meets_target"],
        reason=reason_zh(code, params),
        reason_code=code if readable else None,
        reason_params=params if readable else None,
        lent=c.get("lent") is True,
    )


def event_out(e: Any) -> TimelineEvent:
    """A timeline event; a reason stored as data also reads as ``reason`` (Chinese)."""
    data = dict(e.data or {})
    if "reason_code" in data:
        data["reason"] = reason_zh(data["reason_code"], data.get("reason_params"))
    return TimelineEvent(at=e.at, kind=e.kind, actor_user_id=e.actor_user_id, data=data)


async def incident_out(
    conn: AsyncConnection,
    row: Any,
    now: datetime,
    *,
    with_timeline: bool = False,
    with_candidates: bool = False,
    elder_name: str | None = None,
) -> IncidentOut:
    """One incident as its reader sees it (the timeline and the candidates when asked); a
    caller that has the elder's name passes it and saves a read."""
    if elder_name is None:
        elder_name = (
            await conn.execute(select(elders.c.name).where(elders.c.id == row.elder_id))
        ).scalar()
    cg_name = None
    if row.caregiver_id:
        cg_name = (
            await conn.execute(select(caregivers.c.name).where(caregivers.c.id == row.caregiver_id))
        ).scalar()
    text, minutes = _status_text(row, cg_name, now)
    out = IncidentOut(
        id=row.id,
        station_id=row.station_id,
        elder_id=row.elder_id,
        elder_name=elder_name or "",
        kind=row.kind,
        status=row.status,
        source=row.source,
        location=Point(lat=row.lat, lng=row.lng),
        outside_circle=row.outside_circle,
        opened_at=row.opened_at,
        deadline_at=row.deadline_at,
        caregiver_id=row.caregiver_id,
        caregiver_name=cg_name,
        eta_at=row.eta_at,
        eta_minutes=minutes,
        accepted_at=row.accepted_at,
        arrived_at=row.arrived_at,
        arrival_flagged=row.arrival_flagged,
        arrival_distance_m=row.arrival_distance_m,
        resolved_at=row.resolved_at,
        resolution=row.resolution,
        summary=row.notes if row.status == IncidentStatus.RESOLVED.value else None,
        press_count=row.press_count,
        pressed_at=row.pressed_at,
        late_s=row.late_s,
        status_text=text,
    )
    if with_candidates and row.last_ranking:
        out.candidates = [candidate_out(c) for c in row.last_ranking.get("candidates", [])]
    if with_timeline:
        events = (
            await conn.execute(
                select(incident_events)
                .where(incident_events.c.incident_id == row.id)
                .order_by(incident_events.c.id)
            )
        ).all()
        out.timeline = [event_out(e) for e in events]
    return out


def _visible_to(p: Principal) -> list[ColumnElement[bool]]:
    """Which incidents the caller may list."""
    if p.role is Role.OPERATOR:
        return [incidents.c.station_id == p.station_id]
    if p.role is Role.CAREGIVER:
        # a call of another station she was lent to: while she works it (see _caregivers)
        here = (incidents.c.station_id == p.station_id) | incidents.c.status.in_(WITH_CAREGIVER)
        return [incidents.c.caregiver_id == p.caregiver_id, here]
    if p.role is Role.ELDER:
        return [incidents.c.elder_id == p.elder_id]
    if p.role is Role.FAMILY:
        bound = select(family_bindings.c.elder_id).where(
            family_bindings.c.family_user_id == p.user_id,
            family_bindings.c.status == "confirmed",
        )
        return [incidents.c.elder_id.in_(bound)]
    return []


async def incidents_page(
    conn: AsyncConnection, p: Principal, q: IncidentQuery, now: datetime
) -> IncidentPage:
    """Incidents the caller may see, newest first, a page at a time."""
    conds = _visible_to(p)
    if q.status in (None, "active"):
        conds.append(incidents.c.status.in_(ACTIVE_STATES))
    elif q.status != "all":
        conds.append(incidents.c.status == q.status)
    if q.elder_id:
        conds.append(incidents.c.elder_id == q.elder_id)
    total = (
        await conn.execute(select(func.count()).select_from(incidents).where(*conds))
    ).scalar_one()
    # The id breaks ties between calls opened in the same instant, so pages never overlap
    # or skip.
    rows = (
        await conn.execute(
            select(incidents)
            .where(*conds)
            .order_by(incidents.c.opened_at.desc(), incidents.c.id.desc())
            .offset((q.page - 1) * q.page_size)
            .limit(q.page_size)
        )
    ).all()
    items = [await incident_out(conn, r, now) for r in rows]
    return IncidentPage(items=items, total=int(total), page=q.page, page_size=q.page_size)


async def visible_incident(conn: AsyncConnection, p: Principal, iid: int) -> Row[Any]:
    """The incident, if the caller may see it (404 otherwise, never 403: no probing)."""
    row = (await conn.execute(select(incidents).where(incidents.c.id == iid))).first()
    if row is None:
        raise ApiError(404, "incident_not_found", "incident not found")
    if p.role is Role.OPERATOR and row.station_id == p.station_id or p.role is Role.ADMIN:
        return row
    if p.role is Role.CAREGIVER and await _caregivers(conn, p, row):
        return row
    if p.role in (Role.ELDER, Role.FAMILY):
        elder = (await conn.execute(select(elders).where(elders.c.id == row.elder_id))).one()
        if await may_see_elder(conn, p, elder):
            return row
    raise ApiError(404, "incident_not_found", "incident not found")


def lent(p: Principal, row: Any) -> bool:
    """Whether a caregiver reads a call of another station (lent to it: dispatch.neighbours)."""
    return p.role is Role.CAREGIVER and row.station_id != p.station_id


async def _caregivers(conn: AsyncConnection, p: Principal, row: Any) -> bool:
    """Whether the caregiver may read the call: one she holds or was offered. A call of
    another station (she was lent to it) only while it is offered to her or hers to work:
    the rest of it, and the notes others add later, are that station's."""
    if row.caregiver_id == p.caregiver_id and (not lent(p, row) or row.status in WITH_CAREGIVER):
        return True
    asked = select(offers.c.id).where(
        offers.c.incident_id == row.id, offers.c.caregiver_id == p.caregiver_id
    )
    if lent(p, row):
        asked = asked.where(offers.c.status == OfferStatus.OFFERED.value)
    return (await conn.execute(asked.limit(1))).first() is not None


def offer_out(r: Any) -> OfferOut:
    """One offer as its caregiver sees it."""
    return OfferOut(
        id=r.id,
        incident_id=r.incident_id,
        caregiver_id=r.caregiver_id,
        status=r.status,
        offered_at=r.offered_at,
        expires_at=r.expires_at,
        eta_s=r.eta_s,
        nobody_else=nobody_else(r.reason_params),
    )


def nobody_else(reason_params: Any) -> bool:
    """Whether an offer's stored reason says nobody else can be there in time (the caregiver
    was asked again: dispatch.emergency.ask_again)."""
    return isinstance(reason_params, dict) and reason_params.get("alone") is True


async def open_offers(conn: AsyncConnection, caregiver_id: int | None) -> list[OfferOut]:
    """The caregiver's offers waiting for an answer, oldest first."""
    rows = (
        await conn.execute(
            select(offers)
            .where(
                offers.c.caregiver_id == caregiver_id,
                offers.c.status == OfferStatus.OFFERED.value,
            )
            .order_by(offers.c.id)
        )
    ).all()
    return [offer_out(r) for r in rows]


def offer_reason(r: Any) -> dict[str, Any]:
    """An offer row's reason for pages: ``reason`` (Chinese) and its data."""
    return {
        "reason": reason_zh(r.reason_code, r.reason_params),
        "reason_code": r.reason_code,
        "reason_params": r.reason_params,
    }


def alarm_out(r: Any) -> AlarmOut:
    """An alarm, its text rendered from its kind and parameters."""
    said = alarm_text(r.kind, r.params)
    return AlarmOut(
        id=r.id,
        station_id=r.station_id,
        incident_id=r.incident_id,
        kind=r.kind,
        status=r.status,
        message=said.render("zh"),
        message_i18n=I18nText.model_validate(said.out()),
        raised_at=r.raised_at,
        acknowledged_at=r.acknowledged_at,
    )


async def station_alarms(
    conn: AsyncConnection, station_id: int | None, *, open_only: bool
) -> list[AlarmOut]:
    """The station's alarms, newest first (only those still raised, by default)."""
    stmt = select(alarms).where(alarms.c.station_id == station_id)
    if open_only:
        stmt = stmt.where(alarms.c.status == AlarmStatus.RAISED.value)
    rows = (await conn.execute(stmt.order_by(alarms.c.id.desc()).limit(200))).all()
    return [alarm_out(r) for r in rows]
