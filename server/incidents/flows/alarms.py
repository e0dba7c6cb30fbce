"""Operator alarms: raised once per incident and kind, shown until acknowledged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select

from schemas.common import I18nText
from schemas.incidents import AlarmAcknowledgedPush, AlarmRaisedPush, AlarmStatus
from server.auth.principal import Principal
from server.errors import ApiError
from server.incidents.model import acknowledge_alarms, timeline
from server.incidents.notify import to_operators
from server.incidents.tables import alarms
from server.platform import URGENT, Platform, Tx, emit
from server.texts import alarm_text


async def raise_alarm(
    tx: Tx,
    station_id: int,
    incident_id: int | None,
    kind: str,
    params: Mapping[str, Any] | None = None,
) -> int | None:
    """Raise an alarm unless the same one was already raised; returns its id if new.

    The alarm holds its kind and the parameters of its text (``alarm.<kind>`` in
    server/texts/help_calls.py), never a sentence: each reader gets it in their language.

    For an incident, each kind of alarm is raised once: the dispatcher's retries must not
    ring again for what the operator already acknowledged (a new kind still rings).
    """
    same = [alarms.c.incident_id == incident_id, alarms.c.kind == kind]
    if incident_id is None:
        same.append(alarms.c.status == AlarmStatus.RAISED.value)
    if (await tx.conn.execute(select(alarms.c.id).where(*same))).first() is not None:
        return None
    values = dict(params or {})
    aid = int(
        (
            await tx.conn.execute(
                insert(alarms)
                .values(
                    station_id=station_id,
                    incident_id=incident_id,
                    kind=kind,
                    params=values,
                    status=AlarmStatus.RAISED.value,
                    raised_at=tx.now,
                )
                .returning(alarms.c.id)
            )
        ).scalar_one()
    )
    if incident_id is not None:
        await timeline(tx, incident_id, "alarm", None, alarm_id=aid, alarm=kind, params=values)
    said = alarm_text(kind, values)
    await to_operators(
        tx,
        AlarmRaisedPush(
            station_id=station_id,
            alarm_id=aid,
            incident_id=incident_id,
            kind=kind,
            params=values,
            sound=True,
            message=said.render("zh"),
            message_i18n=I18nText.model_validate(said.out()),
        ),
    )
    # The escalation chain (server/hotline/) listens for this and takes it from here.
    await emit(
        tx,
        "alarm.raised",
        {"alarm_id": aid, "station_id": station_id, "incident_id": incident_id, "kind": kind},
        priority=URGENT,
    )
    return aid


async def ack_alarm(platform: Platform, p: Principal, alarm_id: int) -> None:
    """The operator takes an alarm (acknowledging one already taken is a no-op)."""
    async with platform.tx() as tx:
        row = (await tx.conn.execute(select(alarms).where(alarms.c.id == alarm_id))).first()
        if row is None or (p.role.value != "admin" and row.station_id != p.station_id):
            raise ApiError(404, "alarm_not_found", "alarm not found")
        if not await acknowledge_alarms(tx, alarms.c.id == alarm_id, by=p.user_id):
            return
        if row.incident_id:
            await timeline(tx, row.incident_id, "alarm_acknowledged", p.user_id, alarm_id=alarm_id)
        await to_operators(
            tx, AlarmAcknowledgedPush(station_id=row.station_id, alarm_id=alarm_id, by=p.user_id)
        )
        await emit(
            tx,
            "alarm.acknowledged",
            {"alarm_id": alarm_id, "incident_id": row.incident_id, "user_id": p.user_id},
        )
