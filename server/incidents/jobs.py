"""The incident's outbox consumers and timers: dispatch on open, the offer timeout, the
20-minute deadline, the no-acceptance alarm, and tasks for calls that are not emergencies."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select

from schemas.incidents import IncidentStatus as S
from server.incidents.alarms import raise_alarm
from server.incidents.dispatcher import dispatch_incident
from server.incidents.flows import offer_lapsed
from server.incidents.model import load
from server.incidents.notify import to_watchers
from server.incidents.tables import offers
from server.platform import Platform, Tx, emit
from server.registry.tables import elders
from server.tasks.tables import tasks


async def on_offer_expired(platform: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    offer = (
        await tx.conn.execute(select(offers).where(offers.c.id == payload["offer_id"]))
    ).first()
    if offer is not None and offer.status == "offered":
        await offer_lapsed(platform, tx, offer, "expired", None, "无应答 / no answer in time")


async def on_sla(platform: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    inc = await load(tx, payload["incident_id"])
    if inc.status in (S.OPEN.value, S.OFFERED.value, S.ACCEPTED.value, S.EN_ROUTE.value):
        await raise_alarm(
            tx,
            inc.station_id,
            inc.id,
            "no_arrival_by_deadline",
            {"variant": "unconfirmed"} if inc.arrival_flagged else {},
        )


async def on_ack_alarm(platform: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    inc = await load(tx, payload["incident_id"])
    if inc.status in (S.OPEN.value, S.OFFERED.value):
        await raise_alarm(
            tx,
            inc.station_id,
            inc.id,
            "not_accepted",
            {"seconds": platform.settings.operator_alarm_after_s},
        )


async def on_retry(platform: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    await emit(tx, "incident.redispatch", {"incident_id": payload["incident_id"]})


async def on_opened(platform: Platform, payload: dict[str, Any]) -> None:
    if payload.get("kind") == "emergency":
        await dispatch_incident(platform, int(payload["incident_id"]))
    else:
        await _non_emergency_task(platform, payload)


async def on_redispatch(platform: Platform, payload: dict[str, Any]) -> None:
    await dispatch_incident(platform, int(payload["incident_id"]))


TASK_TITLES = {
    "health": "健康咨询回电 / health advice call-back",
    "service": "为老服务需求 / service need",
    "family": "亲情呼叫：联系家属 / call the family",
}


async def _non_emergency_task(platform: Platform, payload: dict[str, Any]) -> None:
    """Health, service and family calls become a task for the station (once)."""
    iid = int(payload["incident_id"])
    async with platform.tx() as tx:
        ref = f"incident:{iid}"
        if (await tx.conn.execute(select(tasks.c.id).where(tasks.c.source_ref == ref))).first():
            return
        inc = await load(tx, iid, lock=False)
        elder = (await tx.conn.execute(select(elders).where(elders.c.id == inc.elder_id))).one()
        await tx.conn.execute(
            insert(tasks).values(
                station_id=inc.station_id,
                elder_id=inc.elder_id,
                kind=f"call_{inc.kind}",
                title=TASK_TITLES.get(inc.kind, inc.kind),
                status="open",
                priority=2,
                required_skills=[],
                window_start=tx.now,
                window_end=tx.now + timedelta(hours=2),
                duration_s=600,
                lat=elder.lat,
                lng=elder.lng,
                source="incident",
                source_ref=ref,
                notes=inc.notes,
                created_at=tx.now,
            )
        )
        if inc.kind == "family":
            await to_watchers(
                tx,
                inc.elder_id,
                "family.call_requested",
                {"incident_id": iid, "elder_name": elder.name, "text": f"{elder.name}希望您回电"},
            )


def register(platform: Platform) -> None:
    platform.on_event("incident.opened", on_opened)
    platform.on_event("incident.redispatch", on_redispatch)
    platform.on_timer("offer.expire", on_offer_expired)
    platform.on_timer("incident.sla", on_sla)
    platform.on_timer("incident.ack_alarm", on_ack_alarm)
    platform.on_timer("incident.retry", on_retry)
