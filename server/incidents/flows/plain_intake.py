"""The help button's common case in plain SQL: an elder with no call open presses.

The same rows as ``intake.open_or_join`` writes (the incident, its ``opened`` event, the
outbox row, both emergency timers, the pushes, the idempotency key), with a third of its
statements and none of SQLAlchemy's per-statement work (server/store/plain.py):

1. one lock-and-read: the elder's row (locked, so presses for one elder queue; the first
   lock of the one order elder → incident → offer), the station's circle and the
   idempotency key;
2. one read after the lock (on PostgreSQL a fresh snapshot, so a press that committed while
   we waited is seen): an open call, a recent false alarm, the operators, the family;
3. the incident, its event, its outbox row, its timers (one multi-row insert), the pushes
   (flush_pushes: one upsert and one multi-row insert) and the key.

Anything unusual — no such elder, a deactivated file, a call already open (a join), a press
soon after a false alarm, a press outside the service circle, a phone's late step — returns
None before writing, and the caller runs the general path in the same transaction.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from schemas.incidents import (
    CallType,
    IncidentOpenedPush,
    IncidentStatus,
    IncidentStatusPush,
)
from server import steps
from server.geo import distance_m
from server.incidents.flows.presses import FALSE_ALARMS, MAX_WINDOW
from server.incidents.idempotency import stored_answer
from server.incidents.model import ACTIVE_STATES
from server.incidents.notify import in_their_words
from server.incidents.out import incident_out
from server.incidents.tables import incidents
from server.platform import NORMAL, URGENT, Platform, Tx, queue_push
from server.store.plain import Plain
from server.texts import Audience, render

# The flows/intake.py Intake; typed loosely here to keep the import one way.
Command = Any

_LOCK = (
    "SELECT e.id, e.station_id, e.user_id, e.lat, e.lng, e.name, e.active,"
    " s.lat, s.lng, s.circle_radius_m, k.request_hash, k.response_status, k.response_body"
    " FROM elders e JOIN stations s ON s.id = e.station_id"
    " LEFT JOIN idempotency_keys k ON k.scope = $2 AND k.key = $3"
    " WHERE e.id = $1"
)
_STATES = ", ".join(f"'{s}'" for s in ACTIVE_STATES)
_FALSE = ", ".join(f"'{s}'" for s in FALSE_ALARMS)
_AROUND = (
    f"SELECT 'i', id FROM incidents WHERE elder_id = $1 AND status IN ({_STATES})"
    f" UNION ALL SELECT 'r', id FROM incidents WHERE elder_id = $1 AND resolution IN ({_FALSE})"
    " AND resolved_at >= $2"
    " UNION ALL SELECT 'o', id FROM users WHERE role IN ('operator', 'admin') AND active"
    " AND (station_id = $3 OR role = 'admin')"
    " UNION ALL SELECT 'f', family_user_id FROM family_bindings"
    " WHERE elder_id = $1 AND status = 'confirmed'"
)
_INCIDENT = (
    "INSERT INTO incidents (station_id, elder_id, kind, status, source, reporter_user_id,"
    " lat, lng, outside_circle, opened_at, deadline_at, notes, call_id, pressed_at, late_s)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id"
)
_EVENT = (
    "INSERT INTO incident_events (incident_id, at, kind, actor_user_id, data)"
    " VALUES ($1, $2, 'opened', $3, $4)"
)
_OUTBOX = (
    "INSERT INTO outbox (topic, payload, created_at, priority)"
    " VALUES ('incident.opened', $1, $2, $3)"
)
_TIMERS = (
    "INSERT INTO timers (kind, ref, due_at, payload, state, created_at)"
    " VALUES ('incident.sla', $1, $2, $3, 'pending', $4),"
    " ('incident.ack_alarm', $5, $6, $3, 'pending', $4) ON CONFLICT (ref) DO NOTHING"
)
_KEY = (
    "INSERT INTO idempotency_keys (scope, key, request_hash, state, response_status,"
    " response_body, created_at) VALUES ($1, $2, $3, 'done', $4, $5, $6)"
)


async def plain_press(
    platform: Platform, tx: Tx, *, scope: str, key: str, digest: str, cmd: Command
) -> tuple[int, dict[str, Any]] | None:
    """(status, answer) for a new call or a replayed key; None: take the general path."""
    if steps.current() is not None:
        return None
    db = await Plain.of(tx.conn)
    lock = _LOCK if db.sqlite else _LOCK + " FOR UPDATE OF e"
    elder = await db.row(lock, (cmd.elder_id, scope, key))
    if elder is None:
        return None
    if elder[10] is not None:  # this key was seen: its first answer
        return stored_answer(elder[10], elder[11], db.read_js(elder[12]), digest)
    if not elder[6]:
        return None
    around = await db.rows(_AROUND, (elder[0], db.when(tx.now - MAX_WINDOW), elder[1]))
    if any(kind in ("i", "r") for kind, _ in around):
        return None
    lat, lng = (cmd.lat, cmd.lng) if cmd.lat is not None and cmd.lng is not None else elder[3:5]
    if distance_m(elder[7], elder[8], lat, lng) > elder[9]:
        return None  # the outside-circle alarm is the general path's
    operators = [int(uid) for kind, uid in around if kind == "o"]
    readers: list[tuple[int, Audience]] = [(int(elder[2]), "elder")] if elder[2] else []
    readers += [(int(uid), "family") for kind, uid in around if kind == "f"]
    row = await _open(platform, tx, db, elder, cmd, (lat, lng))
    _pushes(tx, row, elder[5], operators, readers)
    answer = (await incident_out(tx.conn, row, tx.now, elder_name=elder[5])).model_dump(mode="json")
    answer["joined"] = False
    await db.run(_KEY, (scope, key, digest, 201, db.js(answer), db.when(tx.now)))
    return 201, answer


async def _open(
    platform: Platform, tx: Tx, db: Plain, elder: Any, cmd: Command, at: tuple[float, float]
) -> SimpleNamespace:
    """The incident, its event, outbox row and timers; its row as RETURNING would give it."""
    emergency = cmd.kind is CallType.EMERGENCY
    deadline = tx.now + timedelta(seconds=platform.settings.sla_s) if emergency else None
    pressed_at = cmd.pressed_at if cmd.late_s is not None else None
    station_id, elder_id = int(elder[1]), int(elder[0])
    values = (station_id, elder_id, cmd.kind.value, IncidentStatus.OPEN.value, cmd.source,
              cmd.reporter_user_id, at[0], at[1], False, db.when(tx.now), db.when(deadline),
              cmd.note, cmd.call_id, db.when(pressed_at), cmd.late_s)  # fmt: skip
    iid = int((await db.rows(_INCIDENT, values))[0][0])
    data = {"kind": cmd.kind.value, "source": cmd.source, "outside_circle": False}
    data |= {"note": cmd.note, **cmd.timing()}
    await db.run(_EVENT, (iid, db.when(tx.now), cmd.reporter_user_id, db.js(data)))
    event = {"station_id": station_id, "incident_id": iid, "elder_id": elder_id}
    event |= {"kind": cmd.kind.value, "source": cmd.source}
    priority = URGENT if emergency else NORMAL
    await db.run(_OUTBOX, (db.js(event), db.when(tx.now), priority))
    tx.hint("outbox")
    if deadline is not None:
        alarm_at = tx.now + timedelta(seconds=platform.settings.operator_alarm_after_s)
        due = (f"incident:{iid}:sla", db.when(deadline), db.js({"incident_id": iid}))
        await db.run(
            _TIMERS, (*due, db.when(tx.now), f"incident:{iid}:ack_alarm", db.when(alarm_at))
        )
        tx.hint("timers", f"{min(deadline, alarm_at).timestamp():.3f}")
    # The row as RETURNING would give it: the values written, the rest at their defaults.
    row = dict.fromkeys(c.name for c in incidents.c)
    row.update(_DEFAULTS, id=iid, station_id=station_id, elder_id=elder_id)
    row.update(zip(_WRITTEN, values[2:], strict=True))
    row.update(lat=at[0], lng=at[1], opened_at=tx.now, deadline_at=deadline, pressed_at=pressed_at)
    return SimpleNamespace(**row)


_WRITTEN = ("kind", "status", "source", "reporter_user_id", "lat", "lng", "outside_circle",
            "opened_at", "deadline_at", "notes", "call_id", "pressed_at", "late_s")  # fmt: skip
_DEFAULTS = {"arrival_flagged": False, "press_count": 1, "version": 1}


def _pushes(
    tx: Tx,
    row: SimpleNamespace,
    elder_name: str,
    operators: list[int],
    readers: list[tuple[int, Audience]],
) -> None:
    """What to_operators and to_watchers queue for a new call (flows/intake.py _announce)."""
    kind = CallType(row.kind)
    opened = opened_push(row, elder_name, outside=False, repeat=None)
    for uid in operators:
        queue_push(tx, f"user:{uid}", opened)
    status = IncidentStatusPush(incident_id=row.id, status=IncidentStatus.OPEN, kind=kind.value)
    for recipient, msg in in_their_words(status, readers):
        queue_push(tx, recipient, msg)


def opened_push(row: Any, elder_name: str, *, outside: bool, repeat: Any) -> IncidentOpenedPush:
    """The console's ring for a new call, from its incident row."""
    same = {k: getattr(row, k) for k in ("station_id", "elder_id", "source", "deadline_at")}
    return IncidentOpenedPush(
        incident_id=row.id, kind=CallType(row.kind), elder_name=elder_name,
        title=render(f"call.{row.kind}"), outside_circle=outside, repeat_of=repeat, **same,
    )  # fmt: skip
