"""What happens after an offer: accept, decline, expire, en route, arrive, resolve,
manual assignment, closing, and the timers that watch the 20-minute promise."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from schemas.incidents import IncidentStatus as S
from server.auth.principal import Principal
from server.errors import ApiError
from server.geo import distance_m
from server.incidents.alarms import raise_alarm
from server.incidents.dispatcher import make_offer
from server.incidents.model import load, timeline, transition
from server.incidents.notify import to_operators, to_watchers
from server.incidents.tables import alarms, incident_events, incidents, offers
from server.platform import Platform, Tx, cancel_timer, emit, queue_push
from server.registry.tables import caregivers


async def _offer_for(tx: Tx, p: Principal, offer_id: int) -> Any:
    row = (
        await tx.conn.execute(select(offers).where(offers.c.id == offer_id).with_for_update())
    ).first()
    if row is None or row.caregiver_id != p.caregiver_id:
        raise ApiError(404, "offer_not_found", "offer not found")
    if row.status != "offered":
        raise ApiError(
            409, "offer_gone", f"this offer is already {row.status}", offer_status=row.status
        )
    return row


async def accept(platform: Platform, p: Principal, offer_id: int) -> int:
    async with platform.tx() as tx:
        offer = await _offer_for(tx, p, offer_id)
        inc = await load(tx, offer.incident_id)
        if inc.status != S.OFFERED.value:
            raise ApiError(409, "offer_gone", "the incident has moved on")
        await tx.conn.execute(
            update(offers)
            .where(offers.c.id == offer_id)
            .values(status="accepted", decided_at=tx.now)
        )
        await cancel_timer(tx, f"offer:{offer_id}:expire")
        await cancel_timer(tx, f"incident:{inc.id}:ack_alarm")
        eta_at = tx.now + timedelta(seconds=offer.eta_s)
        await transition(
            tx,
            inc,
            S.ACCEPTED,
            "accepted",
            p.user_id,
            values={"caregiver_id": offer.caregiver_id, "accepted_at": tx.now, "eta_at": eta_at},
            caregiver_id=offer.caregiver_id,
            eta_s=offer.eta_s,
        )
        name = (
            await tx.conn.execute(
                select(caregivers.c.name).where(caregivers.c.id == offer.caregiver_id)
            )
        ).scalar()
        minutes = max(1, round(offer.eta_s / 60))
        await to_watchers(
            tx,
            inc.elder_id,
            "incident.status",
            {
                "incident_id": inc.id,
                "status": "accepted",
                "caregiver_name": name,
                "eta_at": eta_at.isoformat(),
                "eta_minutes": minutes,
                "text": f"{name}正在赶来，约 {minutes} 分钟",
            },
        )
        await to_operators(
            tx,
            inc.station_id,
            "incident.accepted",
            {
                "incident_id": inc.id,
                "caregiver_id": offer.caregiver_id,
                "caregiver_name": name,
                "eta_at": eta_at.isoformat(),
            },
        )
        await emit(
            tx, "incident.accepted", {"incident_id": inc.id, "caregiver_id": offer.caregiver_id}
        )
        return int(inc.id)


async def offer_lapsed(
    platform: Platform, tx: Tx, offer: Any, status: str, actor: int | None, reason: str
) -> None:
    await tx.conn.execute(
        update(offers).where(offers.c.id == offer.id).values(status=status, decided_at=tx.now)
    )
    await cancel_timer(tx, f"offer:{offer.id}:expire")
    inc = await load(tx, offer.incident_id)
    if inc.status == S.OFFERED.value:
        await transition(
            tx,
            inc,
            S.OPEN,
            f"offer_{status}",
            actor,
            offer_id=offer.id,
            caregiver_id=offer.caregiver_id,
            reason=reason,
        )
        await emit(tx, "incident.redispatch", {"incident_id": inc.id})
    await to_operators(
        tx,
        inc.station_id,
        f"offer.{status}",
        {
            "incident_id": inc.id,
            "offer_id": offer.id,
            "caregiver_id": offer.caregiver_id,
            "reason": reason,
        },
    )


async def decline(platform: Platform, p: Principal, offer_id: int, reason: str) -> None:
    async with platform.tx() as tx:
        offer = await _offer_for(tx, p, offer_id)
        await offer_lapsed(platform, tx, offer, "declined", p.user_id, reason)


async def _assigned(tx: Tx, p: Principal, incident_id: int) -> Any:
    inc = await load(tx, incident_id)
    if inc.caregiver_id is None or inc.caregiver_id != p.caregiver_id:
        raise ApiError(404, "incident_not_found", "incident not found")
    return inc


async def en_route(
    platform: Platform, p: Principal, incident_id: int, at: tuple[float, float] | None
) -> None:
    async with platform.tx() as tx:
        inc = await _assigned(tx, p, incident_id)
        await transition(
            tx, inc, S.EN_ROUTE, "en_route", p.user_id, location=list(at) if at else None
        )
        await to_watchers(
            tx,
            inc.elder_id,
            "incident.status",
            {
                "incident_id": inc.id,
                "status": "en_route",
                "eta_at": _iso(inc.eta_at),
                "text": "护理员已出发",
            },
        )
        await to_operators(tx, inc.station_id, "incident.en_route", {"incident_id": inc.id})


async def arrive(
    platform: Platform, p: Principal, incident_id: int, at: tuple[float, float]
) -> dict[str, Any]:
    """Arrival is checked against where the elder called from. Inside the tolerance the
    caregiver is on scene and the 20-minute clock stops. Outside it the check-in is only
    flagged: it does not count as on scene (the clock keeps running, so the deadline still
    re-alarms) until the operator confirms it or the caregiver checks in again nearby."""
    async with platform.tx() as tx:
        inc = await _assigned(tx, p, incident_id)
        dist = round(distance_m(inc.lat, inc.lng, at[0], at[1]), 1)
        if dist > platform.settings.arrival_tolerance_m:
            await _flag_arrival(platform, tx, inc, p.user_id, dist)
            return {
                "incident_id": inc.id,
                "distance_m": dist,
                "flagged": True,
                "status": inc.status,
                "needs_confirmation": True,
            }
        await transition(
            tx,
            inc,
            S.ARRIVED,
            "arrived",
            p.user_id,
            values={"arrived_at": tx.now, "arrival_distance_m": dist, "arrival_flagged": False},
            distance_m=dist,
            flagged=False,
        )
        await _on_scene(tx, inc, flagged=False, distance=dist)
        return {
            "incident_id": inc.id,
            "distance_m": dist,
            "flagged": False,
            "status": S.ARRIVED.value,
            "needs_confirmation": False,
        }


async def _flag_arrival(platform: Platform, tx: Tx, inc: Any, actor: int, dist: float) -> None:
    if inc.status not in (S.ACCEPTED.value, S.EN_ROUTE.value):
        raise ApiError(
            409, "incident_state_conflict", f"incident is {inc.status}", status_now=inc.status
        )
    res = await tx.conn.execute(
        update(incidents)
        .where(incidents.c.id == inc.id, incidents.c.version == inc.version)
        .values(arrival_flagged=True, arrival_distance_m=dist, version=inc.version + 1)
    )
    if res.rowcount != 1:
        raise ApiError(409, "incident_changed", "incident changed meanwhile; reload and retry")
    tolerance = platform.settings.arrival_tolerance_m
    await timeline(
        tx,
        inc.id,
        "arrival_flagged",
        actor,
        status=inc.status,
        distance_m=dist,
        tolerance_m=tolerance,
    )
    await raise_alarm(
        tx,
        inc.station_id,
        inc.id,
        "arrival_outside_geofence",
        {"distance": round(dist), "limit": round(tolerance)},
    )
    await to_operators(
        tx,
        inc.station_id,
        "incident.arrival_flagged",
        {"incident_id": inc.id, "distance_m": dist, "tolerance_m": tolerance},
    )


async def _on_scene(
    tx: Tx, inc: Any, *, flagged: bool, distance: float | None, confirmed_by: int | None = None
) -> None:
    """The caregiver counts as on scene: the 20-minute clock stops, everyone is told."""
    await cancel_timer(tx, f"incident:{inc.id}:sla")
    await to_watchers(
        tx,
        inc.elder_id,
        "incident.status",
        {"incident_id": inc.id, "status": "arrived", "text": "护理员已到达"},
    )
    await to_operators(
        tx,
        inc.station_id,
        "incident.arrived",
        {
            "incident_id": inc.id,
            "flagged": flagged,
            "distance_m": distance,
            "confirmed_by": confirmed_by,
        },
    )


async def confirm_arrival(
    platform: Platform, p: Principal, incident_id: int, note: str
) -> dict[str, Any]:
    """The operator confirms a flagged check-in (after calling the caregiver or the elder):
    from then on the caregiver is on scene, as of the time they checked in."""
    async with platform.tx() as tx:
        inc = await load(tx, incident_id)
        if p.role.value != "admin" and inc.station_id != p.station_id:
            raise ApiError(404, "incident_not_found", "incident not found")
        if not inc.arrival_flagged or inc.status not in (S.ACCEPTED.value, S.EN_ROUTE.value):
            raise ApiError(
                409,
                "no_arrival_to_confirm",
                "there is no flagged arrival waiting for confirmation",
                status_now=inc.status,
            )
        checked_in = (
            await tx.conn.execute(
                select(incident_events.c.at)
                .where(
                    incident_events.c.incident_id == inc.id,
                    incident_events.c.kind == "arrival_flagged",
                )
                .order_by(incident_events.c.id.desc())
                .limit(1)
            )
        ).scalar()
        await transition(
            tx,
            inc,
            S.ARRIVED,
            "arrival_confirmed",
            p.user_id,
            values={"arrived_at": checked_in or tx.now},
            distance_m=inc.arrival_distance_m,
            note=note,
        )
        await tx.conn.execute(
            update(alarms)
            .where(
                alarms.c.incident_id == inc.id,
                alarms.c.kind == "arrival_outside_geofence",
                alarms.c.acknowledged_at.is_(None),
            )
            .values(acknowledged_at=tx.now, acknowledged_by=p.user_id)
        )
        await _on_scene(
            tx, inc, flagged=True, distance=inc.arrival_distance_m, confirmed_by=p.user_id
        )
        # The caregiver's phone still says "check in again at the door": tell it the station
        # has confirmed, so it moves on to the resolve step without a reload.
        cg_user = (
            await tx.conn.execute(
                select(caregivers.c.user_id).where(caregivers.c.id == inc.caregiver_id)
            )
        ).scalar()
        if cg_user is not None:
            queue_push(
                tx,
                f"user:{cg_user}",
                "incident.arrival_confirmed",
                {"incident_id": inc.id, "distance_m": inc.arrival_distance_m},
            )
        return {"incident_id": inc.id, "status": S.ARRIVED.value}


async def resolve(
    platform: Platform, p: Principal, incident_id: int, notes: str, outcome: str
) -> None:
    async with platform.tx() as tx:
        inc = await _assigned(tx, p, incident_id)
        await transition(
            tx,
            inc,
            S.RESOLVED,
            "resolved",
            p.user_id,
            values={"resolved_at": tx.now, "resolution": outcome, "notes": notes},
            outcome=outcome,
            notes=notes,
        )
        await _stop_clocks(tx, inc.id)
        await to_watchers(
            tx,
            inc.elder_id,
            "incident.status",
            {"incident_id": inc.id, "status": "resolved", "text": "已处理完毕"},
        )
        await to_operators(tx, inc.station_id, "incident.resolved", {"incident_id": inc.id})
        await emit(
            tx,
            "incident.resolved",
            {
                "incident_id": inc.id,
                "elder_id": inc.elder_id,
                "station_id": inc.station_id,
                "kind": inc.kind,
            },
        )


async def _stop_clocks(tx: Tx, incident_id: int) -> None:
    for step in ("sla", "ack_alarm"):
        await cancel_timer(tx, f"incident:{incident_id}:{step}")


async def _withdraw_pending(tx: Tx, inc: Any, actor: int) -> None:
    pending = (
        await tx.conn.execute(
            select(offers).where(
                offers.c.incident_id == inc.id, offers.c.status.in_(("offered", "accepted"))
            )
        )
    ).all()
    for o in pending:
        await tx.conn.execute(
            update(offers).where(offers.c.id == o.id).values(status="withdrawn", decided_at=tx.now)
        )
        await cancel_timer(tx, f"offer:{o.id}:expire")
        user_id = (
            await tx.conn.execute(
                select(caregivers.c.user_id).where(caregivers.c.id == o.caregiver_id)
            )
        ).scalar()
        queue_push(
            tx, f"user:{user_id}", "task.withdrawn", {"offer_id": o.id, "incident_id": inc.id}
        )


async def assign(
    platform: Platform, p: Principal, incident_id: int, caregiver_id: int, reason: str
) -> int:
    """The operator's choice goes through the same offer path as the dispatcher's."""
    async with platform.tx() as tx:
        inc = await load(tx, incident_id)
        if p.role.value != "admin" and inc.station_id != p.station_id:
            raise ApiError(404, "incident_not_found", "incident not found")
        cg = (
            await tx.conn.execute(select(caregivers).where(caregivers.c.id == caregiver_id))
        ).first()
        if cg is None or cg.station_id != inc.station_id or not cg.active:
            raise ApiError(
                422, "caregiver_not_available", "no such active caregiver at this station"
            )
        if inc.status not in (S.OPEN.value, S.OFFERED.value, S.ACCEPTED.value, S.EN_ROUTE.value):
            raise ApiError(409, "incident_state_conflict", f"incident is {inc.status}")
        await _withdraw_pending(tx, inc, p.user_id)
        inc = await load(tx, incident_id)
        eta_s = _eta_from(platform, cg, inc)
        return await make_offer(
            platform,
            tx,
            inc,
            caregiver_id,
            eta_s,
            f"人工指派：{reason}",
            manual=True,
            actor=p.user_id,
        )


def _eta_from(platform: Platform, cg: Any, inc: Any, at: tuple[float, float] | None = None) -> int:
    """Travel seconds from the caregiver (or ``at``) to the incident; the whole promise
    when we do not know where they are."""
    from dispatch.geo import GeoPoint
    from server.incidents.dispatcher import point_of, travel_mode_of, travel_model

    origin = point_of(*at) if at is not None else point_of(cg.lat, cg.lng)
    if origin is None:
        return platform.settings.sla_s
    m = travel_model(platform).matrix(
        [origin], [GeoPoint(inc.lat, inc.lng)], travel_mode_of(cg.travel_mode)
    )
    return int(m[0][0])


async def close(
    platform: Platform, p: Principal, incident_id: int, resolution: str, notes: str
) -> None:
    """Operator closes a call after a call-back: false alarm, test press, handled by phone."""
    async with platform.tx() as tx:
        inc = await load(tx, incident_id)
        if p.role.value != "admin" and inc.station_id != p.station_id:
            raise ApiError(404, "incident_not_found", "incident not found")
        await _withdraw_pending(tx, inc, p.user_id)
        inc = await load(tx, incident_id)
        await transition(
            tx,
            inc,
            S.CLOSED,
            "closed",
            p.user_id,
            values={"resolved_at": tx.now, "resolution": resolution, "notes": notes},
            resolution=resolution,
            notes=notes,
        )
        await _stop_clocks(tx, inc.id)
        await tx.conn.execute(
            update(alarms)
            .where(alarms.c.incident_id == inc.id, alarms.c.acknowledged_at.is_(None))
            .values(acknowledged_at=tx.now, acknowledged_by=p.user_id)
        )
        await to_operators(
            tx, inc.station_id, "incident.closed", {"incident_id": inc.id, "resolution": resolution}
        )
        await to_watchers(
            tx,
            inc.elder_id,
            "incident.status",
            {"incident_id": inc.id, "status": "closed", "text": "呼叫已结束"},
        )
        await emit(tx, "incident.closed", {"incident_id": inc.id, "resolution": resolution})


async def ack_alarm(platform: Platform, p: Principal, alarm_id: int) -> None:
    async with platform.tx() as tx:
        row = (await tx.conn.execute(select(alarms).where(alarms.c.id == alarm_id))).first()
        if row is None or (p.role.value != "admin" and row.station_id != p.station_id):
            raise ApiError(404, "alarm_not_found", "alarm not found")
        if row.acknowledged_at is not None:
            return
        await tx.conn.execute(
            update(alarms)
            .where(alarms.c.id == alarm_id)
            .values(acknowledged_at=tx.now, acknowledged_by=p.user_id)
        )
        if row.incident_id:
            await timeline(tx, row.incident_id, "alarm_acknowledged", p.user_id, alarm_id=alarm_id)
        await to_operators(
            tx, row.station_id, "alarm.acknowledged", {"alarm_id": alarm_id, "by": p.user_id}
        )
        await emit(
            tx,
            "alarm.acknowledged",
            {"alarm_id": alarm_id, "incident_id": row.incident_id, "user_id": p.user_id},
        )


async def moved(platform: Platform, tx: Tx, caregiver_id: int, lat: float, lng: float) -> None:
    """A caregiver on the way reported a location: refresh the ETA the family sees."""
    inc = (
        await tx.conn.execute(
            select(incidents).where(
                incidents.c.caregiver_id == caregiver_id,
                incidents.c.status.in_((S.ACCEPTED.value, S.EN_ROUTE.value)),
            )
        )
    ).first()
    if inc is None:
        return
    cg = (await tx.conn.execute(select(caregivers).where(caregivers.c.id == caregiver_id))).one()
    eta_s = _eta_from(platform, cg, inc, (lat, lng))
    eta_at = tx.now + timedelta(seconds=eta_s)
    await tx.conn.execute(update(incidents).where(incidents.c.id == inc.id).values(eta_at=eta_at))
    minutes = max(1, round(eta_s / 60))
    await to_watchers(
        tx,
        inc.elder_id,
        "incident.status",
        {
            "incident_id": inc.id,
            "status": inc.status,
            "caregiver_name": cg.name,
            "eta_at": eta_at.isoformat(),
            "eta_minutes": minutes,
            "text": f"{cg.name}正在赶来，约 {minutes} 分钟",
        },
    )
    await to_operators(
        tx,
        inc.station_id,
        "incident.eta",
        {
            "incident_id": inc.id,
            "caregiver_id": caregiver_id,
            "eta_at": eta_at.isoformat(),
            "lat": lat,
            "lng": lng,
        },
    )


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None
