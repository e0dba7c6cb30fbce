"""The one intake path for help: the app button, the phone line and the operator.

The incident, its first timeline event, its outbox event and its timers commit in one
transaction before anyone gets an answer. A press while the elder already has an open
incident joins that incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update

from schemas.incidents import CallType, IncidentStatus
from server.errors import ApiError
from server.geo import distance_m
from server.incidents.alarms import raise_alarm
from server.incidents.model import ACTIVE_STATES, timeline
from server.incidents.notify import to_operators, to_watchers
from server.incidents.presses import link_repeat, recent_false_alarm
from server.incidents.tables import incidents
from server.platform import Platform, Tx, emit, schedule
from server.registry.tables import elders, stations

CALL_TITLES = {
    CallType.EMERGENCY: "紧急呼叫",
    CallType.HEALTH: "健康咨询",
    CallType.SERVICE: "为老服务",
    CallType.FAMILY: "亲情呼叫",
}


@dataclass(frozen=True)
class Intake:
    """What arrived: whose call, what kind, from where, through which channel."""

    elder_id: int
    kind: CallType
    source: str  # button, app, phone, operator, device
    reporter_user_id: int | None
    lat: float | None = None  # GCJ-02; None means the elder's home
    lng: float | None = None
    note: str = ""
    call_id: str | None = None


@dataclass(frozen=True)
class IntakeResult:
    incident_id: int
    joined: bool


async def open_or_join(platform: Platform, tx: Tx, cmd: Intake) -> IntakeResult:
    """Open a help call for the elder, or join the one already open."""
    elder = (
        await tx.conn.execute(select(elders).where(elders.c.id == cmd.elder_id).with_for_update())
    ).first()
    if elder is None:
        raise ApiError(404, "elder_not_found", "elder not found")
    if not elder.active:
        raise ApiError(422, "elder_inactive", "this elder's file is deactivated; call the station")
    lat, lng = (
        (cmd.lat, cmd.lng)
        if cmd.lat is not None and cmd.lng is not None
        else (elder.lat, elder.lng)
    )
    existing = (
        await tx.conn.execute(
            select(incidents)
            .where(incidents.c.elder_id == elder.id, incidents.c.status.in_(ACTIVE_STATES))
            .order_by(incidents.c.id.desc())
            .limit(1)
        )
    ).first()
    if existing is not None:
        await _join(platform, tx, existing, cmd)
        return IntakeResult(existing.id, joined=True)
    # A press soon after a test/accidental closure is linked to it (server.incidents.presses says why
    # it still opens a new incident).
    repeat = await recent_false_alarm(tx, elder.id, elder.station_id)
    station = (
        await tx.conn.execute(select(stations).where(stations.c.id == elder.station_id))
    ).one()
    outside = distance_m(station.lat, station.lng, lat, lng) > station.circle_radius_m
    emergency = cmd.kind is CallType.EMERGENCY
    deadline = tx.now + timedelta(seconds=platform.settings.sla_s) if emergency else None
    iid = int(
        (
            await tx.conn.execute(
                insert(incidents)
                .values(
                    station_id=elder.station_id,
                    elder_id=elder.id,
                    kind=cmd.kind.value,
                    status=IncidentStatus.OPEN.value,
                    source=cmd.source,
                    reporter_user_id=cmd.reporter_user_id,
                    lat=lat,
                    lng=lng,
                    outside_circle=outside,
                    opened_at=tx.now,
                    deadline_at=deadline,
                    notes=cmd.note,
                    call_id=cmd.call_id,
                )
                .returning(incidents.c.id)
            )
        ).scalar_one()
    )
    await timeline(
        tx,
        iid,
        "opened",
        cmd.reporter_user_id,
        kind=cmd.kind.value,
        source=cmd.source,
        outside_circle=outside,
        note=cmd.note,
    )
    if repeat is not None:
        await link_repeat(tx, iid, repeat)
    payload = {
        "incident_id": iid,
        "station_id": elder.station_id,
        "elder_id": elder.id,
        "kind": cmd.kind.value,
        "source": cmd.source,
    }
    await emit(tx, "incident.opened", payload)
    if emergency:
        assert deadline is not None
        await start_emergency_clock(platform, tx, iid, deadline)
    await to_operators(
        tx,
        elder.station_id,
        "incident.opened",
        {
            **payload,
            "elder_name": elder.name,
            "title": CALL_TITLES[cmd.kind],
            "deadline_at": deadline.isoformat() if deadline else None,
            "outside_circle": outside,
            "repeat_of": repeat,
        },
    )
    await to_watchers(
        tx,
        elder.id,
        "incident.status",
        {"incident_id": iid, "status": "open", "text": "已收到呼叫，正在为您联系护理员"},
    )
    if outside:
        await raise_alarm(
            tx,
            elder.station_id,
            iid,
            "outside_circle",
            {"name": elder.name},
        )
    return IntakeResult(iid, joined=False)


async def start_emergency_clock(platform: Platform, tx: Tx, iid: int, deadline: Any) -> None:
    """The 20-minute deadline and the no-acceptance alarm, as durable timers."""
    s = platform.settings
    await schedule(tx, "incident.sla", f"incident:{iid}:sla", deadline, {"incident_id": iid})
    await schedule(
        tx,
        "incident.ack_alarm",
        f"incident:{iid}:ack_alarm",
        tx.now + timedelta(seconds=s.operator_alarm_after_s),
        {"incident_id": iid},
    )


async def _join(platform: Platform, tx: Tx, inc: Any, cmd: Intake) -> None:
    values: dict[str, Any] = {"press_count": inc.press_count + 1}
    upgrade = cmd.kind is CallType.EMERGENCY and inc.kind != CallType.EMERGENCY.value
    if upgrade:
        deadline = tx.now + timedelta(seconds=platform.settings.sla_s)
        values.update(kind=CallType.EMERGENCY.value, deadline_at=deadline)
    await tx.conn.execute(update(incidents).where(incidents.c.id == inc.id).values(**values))
    await timeline(
        tx,
        inc.id,
        "joined",
        cmd.reporter_user_id,
        kind=cmd.kind.value,
        source=cmd.source,
        press_count=inc.press_count + 1,
        upgraded=upgrade,
    )
    if upgrade:
        await start_emergency_clock(platform, tx, inc.id, values["deadline_at"])
        await emit(
            tx,
            "incident.opened",
            {
                "incident_id": inc.id,
                "station_id": inc.station_id,
                "elder_id": inc.elder_id,
                "kind": "emergency",
                "source": cmd.source,
            },
        )
    await to_operators(
        tx,
        inc.station_id,
        "incident.joined",
        {"incident_id": inc.id, "press_count": inc.press_count + 1, "upgraded": upgrade},
    )
