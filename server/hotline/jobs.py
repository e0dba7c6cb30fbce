"""The hotline's outbox consumers and timers: the chain, alarm follow-up, delivery, sweeps,
follow-up and complaints. Each handler reads its payload and calls one flow."""

from __future__ import annotations

from typing import Any

from server.hotline.config import check_production
from server.hotline.flows import (
    alarms,
    complaints,
    delivery,
    devices,
    followup,
    responsibility,
    sweep,
)
from server.hotline.flows.chain import TIMER_KIND, advance, start_chain
from server.hotline.flows.heartbeats import close_heartbeats
from server.incidents.flows import presses
from server.platform import Platform, Tx, emit


def register(platform: Platform) -> None:
    """Outbox consumers and timer handlers of the hotline."""
    check_production(platform.settings)
    platform.on_event_in_tx("incident.opened", on_incident_opened)
    platform.on_event("incident.accepted", on_incident_accepted)
    platform.on_event("incident.redispatch", on_redispatch)
    platform.on_event("incident.resolved", on_incident_over)
    platform.on_event("incident.closed", on_incident_over)
    platform.on_event("incident.resolved", on_incident_resolved)
    platform.on_event("incident.closed", presses.on_incident_closed)
    platform.on_event("alarm.raised", on_alarm_raised)
    platform.on_event("alarm.acknowledged", on_alarm_acknowledged)
    platform.on_event("alarm.raised", on_alarm_to_follow)
    platform.on_timer(alarms.HEAD_TIMER, on_head_timer)
    platform.on_event("hotline.alert", on_alert, slow=True)
    platform.on_stop(delivery.stop_sends)  # before the HTTP session closes; bounded
    platform.on_timer(TIMER_KIND, on_chain_timer)
    platform.on_timer(delivery.CHECK_TIMER, on_alert_check)
    platform.on_timer(complaints.DEADLINE_TIMER, on_complaint_deadline)
    platform.on_timer(sweep.SWEEP_TIMER, on_sweep_timer)
    platform.on_prune("device_events", devices.prune_device_events)
    platform.on_stop(close_heartbeats)  # the last interval's heartbeats are written


# --- the escalation chain ------------------------------------------------------------------


async def on_incident_opened(
    platform: Platform, tx: Tx, payload: dict[str, Any], _prepared: Any
) -> None:
    """An emergency starts its chain (the clock counts from the incident's opening), in the
    relay's transaction: with the offer and the event's done mark, one commit."""
    if payload.get("kind") != "emergency":
        return
    await start_chain(platform, tx, int(payload["incident_id"]))


async def on_chain_timer(platform: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """The chain's timer fired."""
    await advance(platform, tx, int(payload["chain_id"]))


async def on_alarm_raised(platform: Platform, payload: dict[str, Any]) -> None:
    """No caregiver can come in time: skip the wait."""
    kind = payload.get("kind")
    if kind not in responsibility.ESCALATING_ALARMS or payload.get("incident_id") is None:
        return
    await responsibility.escalate(platform, int(payload["incident_id"]), str(kind))


async def on_alarm_acknowledged(platform: Platform, payload: dict[str, Any]) -> None:
    """An operator acknowledged a "nobody has taken this call" alarm at the console."""
    if payload.get("incident_id") is None or payload.get("alarm_id") is None:
        return
    await responsibility.alarm_acknowledged(
        platform,
        incident_id=int(payload["incident_id"]),
        alarm_id=payload["alarm_id"],
        user_id=payload.get("user_id"),
    )


async def on_incident_accepted(platform: Platform, payload: dict[str, Any]) -> None:
    """A caregiver accepted: a person is responsible."""
    person = f"caregiver:{payload['caregiver_id']}"
    async with platform.tx() as tx:
        await responsibility.acknowledge(
            platform, tx, int(payload["incident_id"]), person, actor=None, via="offer"
        )


async def on_redispatch(platform: Platform, payload: dict[str, Any]) -> None:
    """The incident is looking for a caregiver again: a caregiver who had it has withdrawn."""
    await responsibility.caregiver_withdrew(platform, int(payload["incident_id"]))


async def on_incident_over(platform: Platform, payload: dict[str, Any]) -> None:
    """Resolved or closed: close the chain."""
    async with platform.tx() as tx:
        await responsibility.close_chain(platform, tx, int(payload["incident_id"]))


# --- alarms, alerts -----------------------------------------------------------------------------


async def on_alarm_to_follow(platform: Platform, payload: dict[str, Any]) -> None:
    """An alarm outside the chain: call the operator on duty, and schedule the head's call."""
    kind = str(payload.get("kind", ""))
    if not alarms.followed(kind) or payload.get("alarm_id") is None:
        return
    await alarms.call_duty(platform, payload["alarm_id"])


async def on_head_timer(platform: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """Nobody acknowledged the alarm: call the station head on the roster now."""
    await alarms.call_head(tx, payload["alarm_id"])


async def on_alert(platform: Platform, payload: dict[str, Any]) -> None:
    """Re-decide one alert; an outside send goes on in the background (a slow lane: a
    provider timing out never delays dispatching a help call)."""
    send = await delivery.prepare(platform, int(payload["alert_id"]))
    if send is not None:
        delivery.in_background(platform, send)


async def on_alert_check(platform: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """A receipt was due; decide again outside this transaction."""
    await emit(tx, "hotline.alert", {"alert_id": int(payload["alert_id"])})


# --- follow-up, complaints, the sweep ------------------------------------------------------------


async def on_incident_resolved(platform: Platform, payload: dict[str, Any]) -> None:
    """A resolved emergency gets a return call within 24 hours (once)."""
    if payload.get("kind") != "emergency":
        return
    await followup.call_back_after(platform, int(payload["incident_id"]))


async def on_complaint_deadline(platform: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """A complaint still open at its deadline alarms the station."""
    await complaints.check_deadline(tx, payload["complaint_id"])


async def on_sweep_timer(platform: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """Sweep every station, then schedule the next sweep."""
    await sweep.sweep_in(tx, station_id=None)
    await sweep.ensure_sweep_scheduled(tx)
