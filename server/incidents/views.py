"""Incident rows as the API shows them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from dispatch.emergency import Reason
from schemas.common import Point, TimelineEvent
from schemas.incidents import CandidateOut, IncidentOut
from server.incidents.tables import incident_events
from server.registry.tables import caregivers, elders
from server.texts import status_text


def _status_text(row: Any, caregiver_name: str | None, now: Any) -> tuple[str, int | None]:
    """The elder's wording, in Chinese (server/texts.py has it for every reader and language;
    the console's views add ``status_text_i18n``)."""
    minutes = None
    if row.eta_at is not None and row.status in ("accepted", "en_route"):
        minutes = max(1, round((row.eta_at - now).total_seconds() / 60))
    text = status_text(
        row.status, "elder", name=caregiver_name, minutes=minutes, resolution=row.resolution
    ).render("zh")
    return text, minutes


def _candidate_out(c: dict[str, Any]) -> CandidateOut:
    """A stored candidate; its reason's data only where it reads as a Reason (rows from before
    the data have the Chinese text alone)."""
    code, params = c.get("reason_code"), c.get("reason_params")
    readable = Reason.from_data(code, params) is not None
    return CandidateOut(
        caregiver_id=c["caregiver_id"],
        name=c["name"],
        eta_s=c["eta_s"],
        meets_target=c["meets_target"],
        reason=c["reason"],
        reason_code=code if readable else None,
        reason_params=params if readable else None,
    )


async def incident_out(
    conn: AsyncConnection,
    row: Any,
    now: Any,
    *,
    with_timeline: bool = False,
    with_candidates: bool = False,
) -> IncidentOut:
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
        press_count=row.press_count,
        status_text=text,
    )
    if with_candidates and row.last_ranking:
        out.candidates = [_candidate_out(c) for c in row.last_ranking.get("candidates", [])]
    if with_timeline:
        events = (
            await conn.execute(
                select(incident_events)
                .where(incident_events.c.incident_id == row.id)
                .order_by(incident_events.c.id)
            )
        ).all()
        out.timeline = [
            TimelineEvent(at=e.at, kind=e.kind, actor_user_id=e.actor_user_id, data=e.data)
            for e in events
        ]
    return out
