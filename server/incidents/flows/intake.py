"""The one intake path for help: the app button, the phone line and the operator.

The incident, its first timeline event, its outbox event and its timers commit in one
transaction before anyone gets an answer. A press while the elder already has an open
incident joins that incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from schemas.incidents import (
    CallType,
    IncidentJoinedPush,
    IncidentOpenedPush,
    IncidentOut,
    IncidentStatus,
    IncidentStatusPush,
    RepeatOf,
)
from server.auth.principal import Principal, Role
from server.errors import ApiError
from server.faults import crash_point
from server.geo import distance_m
from server.incidents.flows.alarms import raise_alarm
from server.incidents.flows.plain_intake import opened_push, plain_press
from server.incidents.flows.presses import link_repeat, recent_false_alarm
from server.incidents.idempotency import remember, replay
from server.incidents.model import ACTIVE_STATES, load, timeline
from server.incidents.notify import to_operators, to_watchers
from server.incidents.out import incident_out
from server.incidents.tables import incidents
from server.platform import NORMAL, URGENT, Platform, Tx, emit, schedule_all
from server.registry.guards import elder_for
from server.registry.tables import elders, stations

# The button's common case in plain SQL (flows/plain_intake.py); a test turns it off to
# compare its rows with the general path's.
PLAIN = True


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
    # A press a device buffered and sent late: the device's time and how late it came.
    pressed_at: datetime | None = None
    late_s: int | None = None

    def timing(self) -> dict[str, Any]:
        """The press's own time for the timeline, when it came from a device clock."""
        out: dict[str, Any] = {}
        if self.pressed_at is not None:
            out["pressed_at"] = self.pressed_at.isoformat()
        if self.late_s is not None:
            out["late_s"] = self.late_s
        return out


@dataclass(frozen=True)
class IntakeResult:
    incident_id: int
    joined: bool
    # A new incident's row as inserted, and its elder's name: the answer needs no re-read.
    row: Row[Any] | None = None
    elder_name: str | None = None


async def open_or_join(platform: Platform, tx: Tx, cmd: Intake) -> IntakeResult:
    """Open a help call for the elder, or join the one already open."""
    elder = (
        await tx.conn.execute(select(elders).where(elders.c.id == cmd.elder_id).with_for_update())
    ).first()
    if elder is None:
        raise ApiError(404, "elder_not_found", "elder not found")
    if not elder.active:
        raise ApiError(422, "elder_inactive", "this elder's file is deactivated; call the station")
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
    row = await _open(platform, tx, elder, cmd)
    return IntakeResult(row.id, joined=False, row=row, elder_name=elder.name)


async def _open(platform: Platform, tx: Tx, elder: Row[Any], cmd: Intake) -> Row[Any]:
    """A new incident: its row, first timeline event, outbox event, timers and pushes."""
    lat, lng = (
        (cmd.lat, cmd.lng)
        if cmd.lat is not None and cmd.lng is not None
        else (
            elder.lat,
            elder.lng,
        )
    )
    # A press soon after a test/accidental closure is linked to it (flows/presses.py says why
    # it still opens a new incident).
    repeat = await recent_false_alarm(tx, elder.id, elder.station_id)
    station = (
        await tx.conn.execute(select(stations).where(stations.c.id == elder.station_id))
    ).one()
    outside = distance_m(station.lat, station.lng, lat, lng) > station.circle_radius_m
    emergency = cmd.kind is CallType.EMERGENCY
    deadline = tx.now + timedelta(seconds=platform.settings.sla_s) if emergency else None
    row = (
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
                pressed_at=cmd.pressed_at if cmd.late_s is not None else None,
                late_s=cmd.late_s,
            )
            .returning(*incidents.c)
        )
    ).one()
    iid = int(row.id)
    await timeline(
        tx,
        iid,
        "opened",
        cmd.reporter_user_id,
        kind=cmd.kind.value,
        source=cmd.source,
        outside_circle=outside,
        note=cmd.note,
        **cmd.timing(),
    )
    if repeat is not None:
        await link_repeat(tx, iid, repeat)
    opened = opened_push(
        row, elder.name, outside=outside, repeat=RepeatOf(**repeat) if repeat is not None else None
    )
    await _announce(platform, tx, opened)
    return row


async def _announce(platform: Platform, tx: Tx, opened: IncidentOpenedPush) -> None:
    """The dispatcher (through the outbox), the clocks, the station and the family hear of a
    new call; the operator is alarmed when it comes from outside the service circle."""
    iid = opened.incident_id
    event = opened.model_dump(mode="json", include={"incident_id", "station_id", "elder_id"})
    urgent = opened.kind is CallType.EMERGENCY
    await emit(
        tx,
        "incident.opened",
        {**event, "kind": opened.kind.value, "source": opened.source},
        priority=URGENT if urgent else NORMAL,
    )
    if opened.deadline_at is not None:
        await start_emergency_clock(platform, tx, iid, opened.deadline_at)
    await to_operators(tx, opened)
    await to_watchers(
        tx,
        opened.elder_id,
        IncidentStatusPush(incident_id=iid, status=IncidentStatus.OPEN, kind=opened.kind.value),
    )
    if opened.outside_circle:
        await raise_alarm(tx, opened.station_id, iid, "outside_circle", {"name": opened.elder_name})


async def start_emergency_clock(platform: Platform, tx: Tx, iid: int, deadline: Any) -> None:
    """The 20-minute deadline and the no-acceptance alarm, as durable timers."""
    s = platform.settings
    alarm_at = tx.now + timedelta(seconds=s.operator_alarm_after_s)
    await schedule_all(
        tx,
        [
            ("incident.sla", f"incident:{iid}:sla", deadline, {"incident_id": iid}),
            ("incident.ack_alarm", f"incident:{iid}:ack_alarm", alarm_at, {"incident_id": iid}),
        ],
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
        **cmd.timing(),
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
            priority=URGENT,
        )
    await to_operators(
        tx,
        IncidentJoinedPush(
            station_id=inc.station_id,
            incident_id=inc.id,
            press_count=inc.press_count + 1,
            upgraded=upgrade,
        ),
    )


# ----- the commands that own their transaction ----------------------------------------------


async def press(
    platform: Platform, p: Principal, *, key: str, digest: str, cmd: Intake
) -> tuple[int, dict[str, Any]]:
    """The help button, once per Idempotency-Key: (status, answer), the answer committed with
    the incident. A retry gets the first answer; a retry racing the first reads its answer."""
    scope = f"user:{p.user_id}"
    for _ in range(3):
        try:
            async with platform.tx() as tx:
                quick = None
                if PLAIN and p.role is Role.ELDER:  # the button's common case, in plain SQL
                    quick = await plain_press(
                        platform, tx, scope=scope, key=key, digest=digest, cmd=cmd
                    )
                if quick is not None:
                    status, answer = quick
                else:
                    status, answer = await _general_press(platform, tx, p, scope, key, digest, cmd)
            crash_point("intake.committed")
            return status, answer
        except IntegrityError:
            continue  # the same key committed concurrently: read its answer
    raise ApiError(409, "idempotency_conflict", "the same request is still being processed; retry")


async def _general_press(
    platform: Platform, tx: Tx, p: Principal, scope: str, key: str, digest: str, cmd: Intake
) -> tuple[int, dict[str, Any]]:
    seen = await replay(tx, scope, key, digest)
    if seen is not None:
        return seen
    if p.role is not Role.ELDER:
        await elder_for(tx.conn, p, cmd.elder_id)
    out = await _open_and_show(platform, tx, cmd)
    status, answer = (200 if out.joined else 201), out.model_dump(mode="json")
    await remember(tx, scope, key, digest, status, answer)
    return status, answer


async def open_for_operator(platform: Platform, p: Principal, cmd: Intake) -> IncidentOut:
    """An operator turns a phone call into an incident through the same intake."""
    async with platform.tx() as tx:
        await elder_for(tx.conn, p, cmd.elder_id)
        return await _open_and_show(platform, tx, cmd)


async def _open_and_show(platform: Platform, tx: Tx, cmd: Intake) -> IncidentOut:
    result = await open_or_join(platform, tx, cmd)
    if result.row is not None:  # a new incident: answered from the row it was inserted as
        out = await incident_out(tx.conn, result.row, tx.now, elder_name=result.elder_name)
    else:
        out = await incident_out(tx.conn, await load(tx, result.incident_id, lock=False), tx.now)
    out.joined = result.joined
    return out
