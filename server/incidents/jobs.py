"""The incident's outbox consumers and timers: dispatch on open, the offer timeout, the
20-minute deadline, the no-acceptance alarm, tasks for calls that are not emergencies, and
the gauges the station's operators watch."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.incidents import CallType, FamilyCallRequestedPush, OfferStatus
from schemas.incidents import IncidentStatus as S
from server.hotline.flows.tasks import insert_new, task_row
from server.incidents.flows.alarms import raise_alarm
from server.incidents.flows.dispatch import dispatch_incident, offer_by_ranking, rank
from server.incidents.flows.offers import expire, release_caregiver
from server.incidents.idempotency import prune_keys
from server.incidents.model import ACTIVE_STATES, load
from server.incidents.notify import to_watchers
from server.incidents.tables import incidents, offers
from server.metrics import add_gauge
from server.platform import URGENT, Platform, Tx, emit
from server.registry.tables import elders
from server.texts import zh_en

UNANSWERED = (S.OPEN.value, S.OFFERED.value)  # nobody has accepted yet
NOT_THERE = (*UNANSWERED, S.ACCEPTED.value, S.EN_ROUTE.value)  # nobody on scene yet


async def on_offer_expired(platform: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    await expire(tx, int(payload["offer_id"]))


async def on_sla(platform: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    inc = await load(tx, payload["incident_id"])
    if inc.status in NOT_THERE:
        await raise_alarm(
            tx,
            inc.station_id,
            inc.id,
            "no_arrival_by_deadline",
            {"variant": "unconfirmed"} if inc.arrival_flagged else {},
        )


async def on_ack_alarm(platform: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    inc = await load(tx, payload["incident_id"])
    if inc.status in UNANSWERED:
        await raise_alarm(
            tx,
            inc.station_id,
            inc.id,
            "not_accepted",
            {"seconds": platform.settings.operator_alarm_after_s},
        )


async def on_retry(platform: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    await emit(tx, "incident.redispatch", {"incident_id": payload["incident_id"]}, priority=URGENT)


async def rank_if_emergency(platform: Platform, payload: dict[str, Any]) -> Any:
    """Before the relay's transaction: an emergency's ranking (read outside write locks)."""
    if payload.get("kind") != CallType.EMERGENCY.value:  # as on_opened decides
        return None
    return await rank(platform, int(payload["incident_id"]))


async def on_opened(platform: Platform, tx: Tx, payload: dict[str, Any], ranking: Any) -> None:
    """In the transaction that marks the event done: the offer, or the station's task."""
    if payload.get("kind") == CallType.EMERGENCY.value:
        await offer_by_ranking(platform, tx, int(payload["incident_id"]), ranking)
    else:
        await _non_emergency_task(tx, payload)


async def on_redispatch(platform: Platform, payload: dict[str, Any]) -> None:
    await dispatch_incident(platform, int(payload["incident_id"]))


async def _non_emergency_task(tx: Tx, payload: dict[str, Any]) -> None:
    """Health, service and family calls become a task for the station (once)."""
    iid = int(payload["incident_id"])
    inc = await load(tx, iid, lock=False)
    elder = (await tx.conn.execute(select(elders).where(elders.c.id == inc.elder_id))).one()
    row = task_row(
        tx,
        station_id=inc.station_id,
        elder_id=inc.elder_id,
        kind=f"call_{inc.kind}",
        title=zh_en(f"task.call_{inc.kind}"),
        ref=f"incident:{iid}",
        due=tx.now + timedelta(hours=2),
        duration_s=600,
        lat=elder.lat,
        lng=elder.lng,
        notes=inc.notes,
    )
    if not await insert_new(tx, [{**row, "source": "incident"}]):
        return
    if inc.kind == CallType.FAMILY.value:
        await to_watchers(
            tx, inc.elder_id, FamilyCallRequestedPush(incident_id=iid, elder_name=elder.name)
        )


async def open_incidents(conn: AsyncConnection) -> float:
    """Incidents not yet resolved or closed."""
    stmt = select(func.count()).select_from(incidents).where(incidents.c.status.in_(ACTIVE_STATES))
    return float((await conn.execute(stmt)).scalar_one())


async def pending_offers(conn: AsyncConnection) -> float:
    """Offers waiting for a caregiver's answer."""
    stmt = (
        select(func.count()).select_from(offers).where(offers.c.status == OfferStatus.OFFERED.value)
    )
    return float((await conn.execute(stmt)).scalar_one())


def register(platform: Platform) -> None:
    platform.on_prune("idempotency_keys", prune_keys)
    platform.on_event_in_tx("incident.opened", on_opened, prepare=rank_if_emergency)
    platform.on_event("incident.redispatch", on_redispatch)
    platform.on_event("caregiver.deactivated", release_caregiver)
    platform.on_timer("offer.expire", on_offer_expired)
    platform.on_timer("incident.sla", on_sla)
    platform.on_timer("incident.ack_alarm", on_ack_alarm)
    platform.on_timer("incident.retry", on_retry)
    add_gauge(
        platform, "anxin_open_incidents", "incidents not yet resolved or closed", open_incidents
    )
    add_gauge(platform, "anxin_pending_offers", "offers waiting for an answer", pending_offers)
