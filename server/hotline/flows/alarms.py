"""Alarms outside the escalation chain reach a person, not only the console.

A complaint past its deadline, a call from outside the service circle, a caregiver arriving
far from the elder: at night nobody watches the console. Such an alarm calls the operator on
duty at once (app push, then voice) and, when it is still unacknowledged after HEAD_AFTER,
the station head (voice, then SMS). Whoever is on the roster at that moment is called. The
duty operator pressing 1 (or the SMS link) acknowledges the alarm, like the console button.

The chain's own alarms are left to the chain, which already calls the duty operator and the
head for them (see flows/chain.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hotline.roster import DutyRole, DutySlot
from schemas.hotline import Channel
from schemas.incidents import AlarmAcknowledgedPush
from server.hotline.flows.roster import roster_now
from server.hotline.model import new_alert
from server.hotline.out import ALARM_SMS
from server.hotline.tables import alerts
from server.incidents.model import acknowledge_alarms, timeline
from server.incidents.notify import to_operators
from server.incidents.tables import alarms
from server.platform import Platform, Tx, emit, schedule

HEAD_TIMER: Final = "hotline.alarm_head"
HEAD_AFTER: Final = timedelta(seconds=300)
FIRING_PREFIX: Final = "alarm:"
# Raised by the chain or answered by it: the chain calls the duty operator and the head.
CHAIN_KINDS: Final = frozenset(
    {"not_accepted", "no_caregiver", "no_caregiver_in_time", "advise_120", "escalation_head"}
)
DUTY_CHANNELS: Final = (Channel.APP_PUSH, Channel.VOICE)
HEAD_CHANNELS: Final = (Channel.VOICE, Channel.SMS)


def followed(kind: str) -> bool:
    """Whether an alarm of this kind is followed up by phone here."""
    if kind in CHAIN_KINDS:
        return False
    # "Could not reach the duty operator" must not call the duty operator again.
    return not kind.startswith(("unreachable:duty:", "unreachable:head:"))


def is_alarm_alert(alert: Any) -> bool:
    """Whether an alert row carries an alarm (rather than a chain step)."""
    return alert.chain_id is None and str(alert.firing).startswith(FIRING_PREFIX)


def alarm_id_of(alert: Any) -> int:
    """The alarm an alarm alert (is_alarm_alert) carries."""
    return int(str(alert.firing)[len(FIRING_PREFIX) :].split(":", 1)[0])


async def _waiting_alarm(tx: Tx, alarm_id: Any) -> Any:
    """The alarm, unless it is gone or someone has acknowledged it."""
    alarm = (await tx.conn.execute(select(alarms).where(alarms.c.id == alarm_id))).first()
    return alarm if alarm is not None and alarm.acknowledged_at is None else None


async def call_duty(platform: Platform, alarm_id: Any) -> None:
    """Call the operator on duty about a new alarm, and schedule the head's call."""
    async with platform.tx() as tx:
        alarm = await _waiting_alarm(tx, alarm_id)
        if alarm is None:
            return
        for slot, user_id in await roster_now(tx, alarm.station_id):
            if slot.role is DutyRole.OPERATOR:
                await _alert(tx, alarm, slot, user_id, DUTY_CHANNELS)
        ref = f"alarm:{alarm.id}:head"
        await schedule(tx, HEAD_TIMER, ref, tx.now + HEAD_AFTER, {"alarm_id": alarm.id})


async def call_head(tx: Tx, alarm_id: Any) -> None:
    """Nobody acknowledged the alarm: call the station head on the roster now."""
    alarm = await _waiting_alarm(tx, alarm_id)
    if alarm is None:
        return
    for slot, user_id in await roster_now(tx, alarm.station_id):
        if slot.role is DutyRole.HEAD:
            await _alert(tx, alarm, slot, user_id, HEAD_CHANNELS)


async def _alert(
    tx: Tx, alarm: Any, slot: DutySlot, user_id: int | None, channels: tuple[Channel, ...]
) -> None:
    firing = f"{FIRING_PREFIX}{alarm.id}:{slot.person}"
    done = (
        await tx.conn.execute(
            select(alerts.c.id).where(alerts.c.chain_id.is_(None), alerts.c.firing == firing)
        )
    ).first()
    if done is not None:
        return
    alert_id = await new_alert(
        tx,
        chain_id=None,
        incident_id=alarm.incident_id,
        firing=firing,
        person=slot.person,
        name=slot.name,
        phone=slot.phone,
        user_id=user_id,
        channels=[c.value for c in channels],
        text_key=ALARM_SMS,
        text_params={"kind": alarm.kind, "params": dict(alarm.params or {})},
    )
    if alarm.incident_id is not None:
        await timeline(
            tx,
            alarm.incident_id,
            "alarm_call",
            None,
            alarm_id=alarm.id,
            person=slot.person,
            name=slot.name,
            alert_id=alert_id,
        )
    await emit(tx, "hotline.alert", {"alert_id": alert_id})


async def acknowledged(conn: AsyncConnection, alert: Any) -> bool:
    """Whether the alarm an alert carries has been acknowledged by anyone."""
    stmt = select(alarms.c.acknowledged_at).where(alarms.c.id == alarm_id_of(alert))
    return (await conn.execute(stmt)).scalar() is not None


async def acknowledge_by_phone(tx: Tx, alert: Any, *, via: str) -> bool:
    """The person called for an alarm pressed 1 (or tapped the link): the alarm is theirs."""
    alarm_id = alarm_id_of(alert)
    taken = await acknowledge_alarms(tx, alarms.c.id == alarm_id, by=alert.user_id)
    if not taken:
        return False
    row = taken[0]
    if row.incident_id is not None:
        await timeline(
            tx,
            row.incident_id,
            "alarm_acknowledged",
            alert.user_id,
            alarm_id=alarm_id,
            person=alert.person,
            via=via,
        )
    # The incidents' own message (server/incidents owns "alarm.acknowledged"), with who and how.
    await to_operators(
        tx,
        AlarmAcknowledgedPush(
            station_id=row.station_id,
            alarm_id=alarm_id,
            by=alert.user_id,
            person=alert.person,
            via=via,
        ),
    )
    await emit(
        tx,
        "alarm.acknowledged",
        {"alarm_id": alarm_id, "incident_id": row.incident_id, "user_id": alert.user_id},
    )
    return True
