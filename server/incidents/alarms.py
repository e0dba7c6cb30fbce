"""Operator alarms: raised once per incident and kind, shown until acknowledged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select

from server.incidents.model import timeline
from server.incidents.notify import to_operators
from server.incidents.tables import alarms
from server.platform import Tx, emit


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
        same.append(alarms.c.acknowledged_at.is_(None))
    waiting = (await tx.conn.execute(select(alarms.c.id).where(*same))).first()
    if waiting is not None:
        return None
    aid = int(
        (
            await tx.conn.execute(
                insert(alarms)
                .values(
                    station_id=station_id,
                    incident_id=incident_id,
                    kind=kind,
                    params=dict(params or {}),
                    raised_at=tx.now,
                )
                .returning(alarms.c.id)
            )
        ).scalar_one()
    )
    if incident_id is not None:
        await timeline(
            tx, incident_id, "alarm", None, alarm_id=aid, alarm=kind, params=dict(params or {})
        )
    await to_operators(
        tx,
        station_id,
        "alarm.raised",
        {
            "alarm_id": aid,
            "incident_id": incident_id,
            "kind": kind,
            "params": dict(params or {}),
            "sound": True,
        },
    )
    # The escalation chain (hotline/) listens for this and takes it from here.
    await emit(
        tx,
        "alarm.raised",
        {"alarm_id": aid, "station_id": station_id, "incident_id": incident_id, "kind": kind},
    )
    return aid
