"""The dispatcher's I/O edge: build a snapshot, ask dispatch/, act on the answer."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import insert, select, update

from dispatch.emergency import (
    WHY_DECLINED,
    Candidate,
    CaregiverState,
    CurrentWork,
    EmergencyRanking,
    EmergencyRequest,
    Reason,
    rank_for_emergency,
)
from dispatch.geo import GeoPoint
from dispatch.travel import TravelMode, TravelTimeModel
from schemas.incidents import IncidentStatus as S
from server.incidents.alarms import raise_alarm
from server.incidents.model import load, transition
from server.incidents.notify import to_operators, to_watchers
from server.incidents.tables import incidents, offers
from server.platform import Platform, Tx, queue_push, schedule
from server.registry.tables import caregivers, elders
from server.registry.views import skills_of
from server.tasks.tables import tasks
from server.travel import does_io, make_travel_model

log = logging.getLogger("anxin.dispatch")

TRAVEL_KEY = "travel"
RETRY_S = 30
REASK_AFTER_S = 300


def travel_model(platform: Platform) -> TravelTimeModel:
    model = platform.extras.get(TRAVEL_KEY)
    if model is None:
        model = platform.extras[TRAVEL_KEY] = make_travel_model(platform.settings.osrm_url)
    return cast(TravelTimeModel, model)


async def caregiver_states(tx: Tx, station_id: int, now: datetime) -> list[CaregiverState]:
    """Every active caregiver of the station as dispatch/ sees them right now."""
    cgs = (
        await tx.conn.execute(
            select(caregivers).where(
                caregivers.c.station_id == station_id, caregivers.c.active.is_(True)
            )
        )
    ).all()
    working = (
        await tx.conn.execute(
            select(tasks).where(tasks.c.station_id == station_id, tasks.c.status == "in_progress")
        )
    ).all()
    current = {t.caregiver_id: t for t in working}
    busy = set(
        (
            await tx.conn.execute(
                select(incidents.c.caregiver_id).where(
                    incidents.c.station_id == station_id,
                    incidents.c.status.in_((S.ACCEPTED.value, S.EN_ROUTE.value, S.ARRIVED.value)),
                )
            )
        ).scalars()
    )
    # A caregiver holding an unanswered offer is not offered a second emergency meanwhile.
    busy |= set(
        (
            await tx.conn.execute(
                select(offers.c.caregiver_id)
                .join(caregivers, caregivers.c.id == offers.c.caregiver_id)
                .where(caregivers.c.station_id == station_id, offers.c.status == "offered")
            )
        ).scalars()
    )
    states = []
    for c in cgs:
        state = _state_of(c, current.get(c.id), c.id in busy, now)
        if state is not None:
            states.append(state)
    return states


def _state_of(c: Any, task: Any, busy: bool, now: datetime) -> CaregiverState | None:
    """One caregiver row as dispatch/ sees it, read defensively: the rows come from
    operators' forms, imports and older versions, and one odd row (skills stored as null
    or a string, an unknown travel mode, half a location) must not stop dispatch for the
    whole station — an emergency would stay open with nobody offered while the outbox
    retried the same crash. Odd fields get safe readings; a row that still cannot be read
    is left out and logged."""
    try:
        loc = point_of(c.lat, c.lng)
        work = None
        if task is not None and task.started_at is not None:
            duration = task.duration_s if isinstance(task.duration_s, int | float) else 0
            remaining = max(0, int(duration - (now - task.started_at).total_seconds()))
            where = point_of(task.lat, task.lng) or loc
            if where is not None:
                work = CurrentWork(
                    task_id=str(task.id),
                    interruptible=task.interruptible is not False,
                    remaining_s=remaining,
                    location=where,
                    label=str(task.title or ""),
                )
        return CaregiverState(
            caregiver_id=c.id,
            name=str(c.name or ""),
            location=loc,
            on_duty=bool(c.on_duty),
            skills=skills_of(c.skills),
            mode=travel_mode_of(c.travel_mode),
            current=work,
            on_emergency=busy,
        )
    except Exception:
        log.exception(
            "caregiver row unreadable, left out of dispatch",
            extra={"caregiver_id": getattr(c, "id", None)},
        )
        return None


def travel_mode_of(raw: Any) -> TravelMode:
    try:
        return TravelMode(raw)
    except ValueError:
        return TravelMode.EBIKE  # the station's usual way of getting about


def point_of(lat: Any, lng: Any) -> GeoPoint | None:
    if not isinstance(lat, int | float) or not isinstance(lng, int | float):
        return None
    p = GeoPoint(float(lat), float(lng))
    return p if p.is_valid() else None


def ranking_json(r: EmergencyRanking) -> dict[str, Any]:
    """The ranking as stored on the incident. Each candidate's reason is kept as data
    (``reason_code`` and ``reason_params``, rendered per language by server/texts.py) beside
    its Chinese wording ``reason`` (what rows from before the data have, and old clients read)."""
    return {
        "can_meet_target": r.can_meet_target,
        "target_s": r.target_s,
        "candidates": [_candidate_json(c) for c in r.candidates],
        "excluded": [{"caregiver_id": cid, "why": why} for cid, why in r.excluded],
    }


def _candidate_json(c: Candidate) -> dict[str, Any]:
    out: dict[str, Any] = {
        "caregiver_id": c.caregiver_id,
        "name": c.name,
        "eta_s": c.eta_s,
        "travel_s": c.travel_s,
        "finish_s": c.finish_s,
        "meets_target": c.meets_target,
        "reason": c.reason,
    }
    if c.why is not None:
        out["reason_code"], out["reason_params"] = c.why.code, c.why.params()
    return out


async def _rank(platform: Platform, incident_id: int) -> EmergencyRanking | None:
    """Rank from a read snapshot, outside the write transaction: a road-time service may
    take a moment, and nothing should hold the store's write lock meanwhile."""
    async with platform.store.read() as conn:
        t = Tx(conn=conn, now=platform.clock.now())
        inc = await load(t, incident_id, lock=False)
        if inc.kind != "emergency" or inc.status != S.OPEN.value:
            return None
        # Who said no (or did not answer) in the last few minutes is not asked again yet;
        # after that they are, since a caregiver's situation changes and the call still waits.
        recent = t.now - timedelta(seconds=REASK_AFTER_S)
        tried = set(
            (
                await conn.execute(
                    select(offers.c.caregiver_id).where(
                        offers.c.incident_id == incident_id,
                        (offers.c.decided_at.is_(None)) | (offers.c.decided_at > recent),
                    )
                )
            ).scalars()
        )
        states = await caregiver_states(t, inc.station_id, t.now)
    s = platform.settings
    request = EmergencyRequest(incident_id=incident_id, location=GeoPoint(inc.lat, inc.lng))
    model = travel_model(platform)

    def rank() -> EmergencyRanking:
        return rank_for_emergency(
            request, states, model, target_s=s.sla_s, plan_s=s.plan_eta_s, exclude=frozenset(tried)
        )

    return await asyncio.to_thread(rank) if does_io(model) else rank()


async def dispatch_incident(platform: Platform, incident_id: int) -> None:
    """Offer an open emergency to the best caregiver; idempotent, safe to repeat."""
    ranking = await _rank(platform, incident_id)
    if ranking is None:
        return
    async with platform.tx() as tx:
        inc = await load(tx, incident_id)
        if inc.kind != "emergency" or inc.status != S.OPEN.value:
            return  # someone else moved it on meanwhile
        await tx.conn.execute(
            update(incidents)
            .where(incidents.c.id == incident_id)
            .values(last_ranking=ranking_json(ranking))
        )
        elder_name = (
            await tx.conn.execute(select(elders.c.name).where(elders.c.id == inc.elder_id))
        ).scalar()
        if ranking.best is not None:
            best = ranking.best
            await make_offer(
                platform,
                tx,
                inc,
                best.caregiver_id,
                best.eta_s,
                best.reason,
                manual=False,
                actor=None,
                why=best.why,
            )
            if not ranking.can_meet_target:
                await raise_alarm(
                    tx,
                    inc.station_id,
                    incident_id,
                    "no_caregiver_in_time",
                    {"name": elder_name, "minutes": best.eta_s // 60},
                )
            return
        tried = any(why == WHY_DECLINED for _, why in ranking.excluded)
        await raise_alarm(
            tx,
            inc.station_id,
            incident_id,
            "no_caregiver",
            {"name": elder_name, **({"variant": "tried"} if tried else {})},
        )
        # Dispatch goes on looking while people act: a durable retry.
        await schedule(
            tx,
            "incident.retry",
            f"incident:{incident_id}:retry:{tx.now.timestamp():.0f}",
            tx.now + timedelta(seconds=RETRY_S),
            {"incident_id": incident_id},
        )


async def make_offer(
    platform: Platform,
    tx: Tx,
    inc: Any,
    caregiver_id: int,
    eta_s: int,
    reason: str,
    *,
    manual: bool,
    actor: int | None,
    why: Reason | None = None,
) -> int:
    """Offer the incident to one caregiver: offer row, timeout timer, push, timeline (with the
    dispatcher's reason as data, ``why``, where there is one)."""
    s = platform.settings
    expires = tx.now + timedelta(seconds=s.offer_timeout_s)
    oid = int(
        (
            await tx.conn.execute(
                insert(offers)
                .values(
                    incident_id=inc.id,
                    caregiver_id=caregiver_id,
                    status="offered",
                    offered_at=tx.now,
                    expires_at=expires,
                    eta_s=eta_s,
                    manual=manual,
                    reason=reason,
                )
                .returning(offers.c.id)
            )
        ).scalar_one()
    )
    await transition(
        tx,
        inc,
        S.OFFERED,
        "offered",
        actor,
        values={"caregiver_id": None},
        offer_id=oid,
        caregiver_id=caregiver_id,
        eta_s=eta_s,
        reason=reason,
        manual=manual,
        **({"reason_code": why.code, "reason_params": why.params()} if why else {}),
    )
    await schedule(tx, "offer.expire", f"offer:{oid}:expire", expires, {"offer_id": oid})
    cg = (
        await tx.conn.execute(
            select(caregivers.c.user_id, caregivers.c.name).where(caregivers.c.id == caregiver_id)
        )
    ).one()
    elder = (
        await tx.conn.execute(
            select(elders.c.name, elders.c.address, elders.c.access_notes).where(
                elders.c.id == inc.elder_id
            )
        )
    ).one()
    queue_push(
        tx,
        f"user:{cg.user_id}",
        "task.offered",
        {
            "offer_id": oid,
            "incident_id": inc.id,
            "kind": inc.kind,
            "elder_name": elder.name,
            "address": elder.address,
            "access_notes": elder.access_notes,
            "lat": inc.lat,
            "lng": inc.lng,
            "eta_s": eta_s,
            "expires_at": expires.isoformat(),
            "deadline_at": _iso(inc.deadline_at),
        },
    )
    await to_operators(
        tx,
        inc.station_id,
        "incident.offered",
        {
            "incident_id": inc.id,
            "offer_id": oid,
            "caregiver_id": caregiver_id,
            "caregiver_name": cg.name,
            "eta_s": eta_s,
            "manual": manual,
        },
    )
    await to_watchers(
        tx,
        inc.elder_id,
        "incident.status",
        {"incident_id": inc.id, "status": "offered", "text": "正在联系护理员"},
    )
    return oid


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
