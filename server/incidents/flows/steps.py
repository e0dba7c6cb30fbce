"""The caregiver's steps after accepting (en route, location updates, arrival, resolution)
and the operator's (confirming a flagged arrival, closing a call)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Row

from schemas.incidents import (
    ArrivalOut,
    ElderContactOut,
    IncidentArrivalConfirmedPush,
    IncidentArrivalFlaggedPush,
    IncidentArrivedPush,
    IncidentClosedPush,
    IncidentEnRoutePush,
    IncidentEtaPush,
    IncidentResolvedPush,
    IncidentStatusPush,
    IncidentStepOut,
)
from schemas.incidents import IncidentStatus as S
from server.auth.principal import Principal
from server.errors import ApiError
from server.geo import distance_m
from server.incidents.flows.alarms import raise_alarm
from server.incidents.flows.offers import withdraw_pending
from server.incidents.flows.snapshot import eta_from
from server.incidents.model import COMING, acknowledge_alarms, load, timeline, transition
from server.incidents.notify import to_operators, to_watchers
from server.incidents.tables import alarms, incident_events, incidents
from server.platform import Platform, Tx, cancel_timer, emit, queue_push
from server.registry.out import dicts_of
from server.registry.tables import caregivers, elders


async def _assigned(tx: Tx, p: Principal, incident_id: int) -> Row[Any]:
    """The incident, if the caller is its caregiver (locked)."""
    inc = await load(tx, incident_id)
    if inc.caregiver_id is None or inc.caregiver_id != p.caregiver_id:
        raise ApiError(404, "incident_not_found", "incident not found")
    return inc


async def _at_station(tx: Tx, p: Principal, incident_id: int) -> Row[Any]:
    """The incident, if it is at the caller's station (or the caller is an admin; locked)."""
    inc = await load(tx, incident_id)
    if p.role.value != "admin" and inc.station_id != p.station_id:
        raise ApiError(404, "incident_not_found", "incident not found")
    return inc


async def en_route(
    platform: Platform, p: Principal, incident_id: int, *, at: tuple[float, float] | None
) -> None:
    """The caregiver has set off."""
    async with platform.tx() as tx:
        inc = await _assigned(tx, p, incident_id)
        await transition(
            tx, inc, S.EN_ROUTE, "en_route", p.user_id, location=list(at) if at else None
        )
        await to_watchers(
            tx,
            inc.elder_id,
            IncidentStatusPush(incident_id=inc.id, status=S.EN_ROUTE, eta_at=inc.eta_at),
        )
        await to_operators(tx, IncidentEnRoutePush(station_id=inc.station_id, incident_id=inc.id))


async def arrive(
    platform: Platform, p: Principal, incident_id: int, *, at: tuple[float, float]
) -> ArrivalOut:
    """Arrival is checked against where the elder called from. Inside the tolerance the
    caregiver is on scene and the 20-minute clock stops. Outside it the check-in is only
    flagged: it does not count as on scene (the clock keeps running, so the deadline still
    re-alarms) until the operator confirms it or the caregiver checks in again nearby."""
    async with platform.tx() as tx:
        inc = await _assigned(tx, p, incident_id)
        dist = round(distance_m(inc.lat, inc.lng, at[0], at[1]), 1)
        if dist > platform.settings.arrival_tolerance_m:
            await _flag_arrival(platform, tx, inc, p.user_id, dist)
            return ArrivalOut(
                incident_id=inc.id,
                distance_m=dist,
                flagged=True,
                status=inc.status,
                needs_confirmation=True,
            )
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
        return ArrivalOut(
            incident_id=inc.id,
            distance_m=dist,
            flagged=False,
            status=S.ARRIVED,
            needs_confirmation=False,
        )


async def _flag_arrival(platform: Platform, tx: Tx, inc: Row[Any], actor: int, dist: float) -> None:
    """A check-in too far from the elder: recorded and alarmed, the status unchanged."""
    if inc.status not in COMING:
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
        IncidentArrivalFlaggedPush(
            station_id=inc.station_id, incident_id=inc.id, distance_m=dist, tolerance_m=tolerance
        ),
    )


async def _on_scene(
    tx: Tx,
    inc: Row[Any],
    *,
    flagged: bool,
    distance: float | None,
    confirmed_by: int | None = None,
) -> None:
    """The caregiver counts as on scene: the 20-minute clock stops, everyone is told."""
    await cancel_timer(tx, f"incident:{inc.id}:sla")
    await to_watchers(tx, inc.elder_id, IncidentStatusPush(incident_id=inc.id, status=S.ARRIVED))
    await to_operators(
        tx,
        IncidentArrivedPush(
            station_id=inc.station_id,
            incident_id=inc.id,
            flagged=flagged,
            distance_m=distance,
            confirmed_by=confirmed_by,
        ),
    )


async def confirm_arrival(
    platform: Platform, p: Principal, incident_id: int, *, note: str
) -> IncidentStepOut:
    """The operator confirms a flagged check-in (after calling the caregiver or the elder):
    from then on the caregiver is on scene, as of the time they checked in."""
    async with platform.tx() as tx:
        inc = await _at_station(tx, p, incident_id)
        if not inc.arrival_flagged or inc.status not in COMING:
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
        await acknowledge_alarms(
            tx,
            alarms.c.incident_id == inc.id,
            alarms.c.kind == "arrival_outside_geofence",
            by=p.user_id,
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
                IncidentArrivalConfirmedPush(incident_id=inc.id, distance_m=inc.arrival_distance_m),
            )
        return IncidentStepOut(incident_id=inc.id, status=S.ARRIVED.value)


async def resolve(
    platform: Platform, p: Principal, incident_id: int, *, notes: str, outcome: str
) -> None:
    """The caregiver is done: notes and outcome on the record, every clock stopped."""
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
        # The call's alarms end with it (a late acceptance, a missed deadline): none stays up
        # on the console for a call that is over.
        await acknowledge_alarms(tx, alarms.c.incident_id == inc.id, by=p.user_id)
        await to_watchers(
            tx, inc.elder_id, IncidentStatusPush(incident_id=inc.id, status=S.RESOLVED)
        )
        await to_operators(tx, IncidentResolvedPush(station_id=inc.station_id, incident_id=inc.id))
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


async def close(
    platform: Platform, p: Principal, incident_id: int, *, resolution: str, notes: str
) -> None:
    """Operator closes a call after a call-back: false alarm, test press, handled by phone."""
    async with platform.tx() as tx:
        inc = await _at_station(tx, p, incident_id)
        await withdraw_pending(tx, inc)
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
        await acknowledge_alarms(tx, alarms.c.incident_id == inc.id, by=p.user_id)
        await to_operators(
            tx,
            IncidentClosedPush(
                station_id=inc.station_id, incident_id=inc.id, resolution=resolution
            ),
        )
        await to_watchers(tx, inc.elder_id, IncidentStatusPush(incident_id=inc.id, status=S.CLOSED))
        await emit(tx, "incident.closed", {"incident_id": inc.id, "resolution": resolution})


# ----- a caregiver on the way reports where they are --------------------------------------


@dataclass(frozen=True)
class TravelAfterMove:
    """The call a moving caregiver is on the way to, and their travel time from the new spot
    (computed before the location's transaction: no road-service call holds a lock)."""

    incident_id: int
    eta_s: int


async def travel_after_move(
    platform: Platform, caregiver_id: int, lat: float, lng: float
) -> TravelAfterMove | None:
    """The new travel time, if the caregiver is on the way to a call (read from a snapshot)."""
    async with platform.store.read() as conn:
        inc = (
            await conn.execute(
                select(incidents).where(
                    incidents.c.caregiver_id == caregiver_id, incidents.c.status.in_(COMING)
                )
            )
        ).first()
        if inc is None:
            return None
        cg = (await conn.execute(select(caregivers).where(caregivers.c.id == caregiver_id))).one()
    return TravelAfterMove(inc.id, await eta_from(platform, cg, inc, (lat, lng)))


async def moved(
    platform: Platform,
    tx: Tx,
    caregiver_id: int,
    lat: float,
    lng: float,
    *,
    eta: TravelAfterMove | None,
) -> None:
    """A caregiver on the way reported a location: refresh the ETA the family sees, from the
    travel time ``travel_after_move`` computed before the caller's transaction."""
    if eta is None:
        return
    inc = (
        await tx.conn.execute(
            select(incidents).where(
                incidents.c.id == eta.incident_id,
                incidents.c.caregiver_id == caregiver_id,
                incidents.c.status.in_(COMING),
            )
        )
    ).first()
    if inc is None:
        return  # the call moved on meanwhile
    name = (
        await tx.conn.execute(select(caregivers.c.name).where(caregivers.c.id == caregiver_id))
    ).scalar()
    eta_at = tx.now + timedelta(seconds=eta.eta_s)
    await tx.conn.execute(update(incidents).where(incidents.c.id == inc.id).values(eta_at=eta_at))
    status = IncidentStatusPush(
        incident_id=inc.id,
        status=inc.status,
        caregiver_name=name,
        eta_at=eta_at,
        eta_minutes=max(1, round(eta.eta_s / 60)),
    )
    await to_watchers(tx, inc.elder_id, status)
    await to_operators(
        tx,
        IncidentEtaPush(
            station_id=inc.station_id,
            incident_id=inc.id,
            caregiver_id=caregiver_id,
            eta_at=eta_at,
            lat=lat,
            lng=lng,
        ),
    )


async def contact_for_caregiver(
    platform: Platform, p: Principal, inc: Row[Any]
) -> ElderContactOut | None:
    """The elder's phones for the caregiver on the way, read and audited in one step (the
    incident must still be theirs and active when the audit row is written)."""
    from server.registry.flows.elders import reveal_for_incident

    async with platform.tx() as tx:
        if await reveal_for_incident(tx, p, inc.elder_id) != inc.id:
            return None
        e = (await tx.conn.execute(select(elders).where(elders.c.id == inc.elder_id))).one()
    return ElderContactOut(
        phone=e.phone,
        landline=e.landline,
        contacts=dicts_of(e.contacts),
        neighbours=dicts_of(e.neighbours),
        address=e.address,
        access_notes=e.access_notes,
        key_holder=e.key_holder,
        care_level=e.care_level,
        health_notes=e.health_notes,
        medicines=e.medicines,
        diet_notes=e.diet_notes,
    )
