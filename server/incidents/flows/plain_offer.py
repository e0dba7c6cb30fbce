"""An offer in plain SQL: the rows ``offers.make_offer`` writes, with half its statements and
none of SQLAlchemy's per-statement work (server/store/plain.py), as the press does in
plain_intake.py. Every emergency's dispatch runs this once (issue 16, the dispatch half).

1. one read: the caregiver (her account, name, station), the elder's name, address and
   access notes, whether the call was offered before (the press → offer metric counts the
   first offer only), and everyone the offer is told to: the station's operators, the elder's
   own account, the confirmed family;
2. the offer row, the incident's move to offered (guarded by status and version, as
   ``Machine.move``; the dispatcher's ranking stored with it), its ``offered`` event and the
   offer's timeout timer;
3. the pushes, queued as ``_tell_offered`` queues them (one upsert and one multi-row insert
   at the commit, flush_pushes).

A phone's late step (its events carry the device time) and a missing caregiver return None
before writing, and the caller takes the general path in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.incidents import IncidentOfferedPush, IncidentStatusPush, TaskOfferedPush
from schemas.incidents import IncidentStatus as S
from server import steps
from server.errors import ApiError
from server.incidents.model import INCIDENT
from server.incidents.notify import in_their_words
from server.incidents.out import nobody_else
from server.platform import Tx, queue_push
from server.store.plain import Plain
from server.texts import Audience


@dataclass(frozen=True)
class NewOffer:
    """What make_offer was asked: whom, how soon, why, by whom, until when."""

    caregiver_id: int
    eta_s: int
    expires: datetime
    reason_code: str
    reason_params: dict[str, Any]
    actor: int | None
    ranking: dict[str, Any] | None  # the dispatcher's, stored with the move to offered
    manual: bool


_READ = (
    "SELECT c.user_id, c.name, c.station_id, e.name, e.address, e.access_notes,"
    " EXISTS (SELECT 1 FROM offers WHERE incident_id = $3), p.who, p.uid"
    " FROM caregivers c JOIN elders e ON e.id = $2 LEFT JOIN ("
    " SELECT 'o' AS who, id AS uid FROM users WHERE role IN ('operator', 'admin') AND active"
    " AND (station_id = $4 OR role = 'admin')"
    " UNION ALL SELECT 'e', user_id FROM elders WHERE id = $2 AND user_id IS NOT NULL"
    " UNION ALL SELECT 'f', family_user_id FROM family_bindings"
    " WHERE elder_id = $2 AND status = 'confirmed'"
    ") p ON 1 = 1 WHERE c.id = $1"
)
_OFFER = (
    "INSERT INTO offers (incident_id, caregiver_id, status, offered_at, expires_at, eta_s,"
    " manual, reason_code, reason_params) VALUES ($1, $2, 'offered', $3, $4, $5, $6, $7, $8)"
    " RETURNING id"
)
_MOVE = (
    "UPDATE incidents SET status = 'offered', caregiver_id = NULL, version = $4{ranking}"
    " WHERE id = $1 AND status = $2 AND version = $3 RETURNING id"
)
_EVENT = (
    "INSERT INTO incident_events (incident_id, at, kind, actor_user_id, data)"
    " VALUES ($1, $2, 'offered', $3, $4)"
)
_TIMER = (
    "INSERT INTO timers (kind, ref, due_at, payload, state, created_at)"
    " VALUES ('offer.expire', $1, $2, $3, 'pending', $4) ON CONFLICT (ref) DO NOTHING"
)

# PostgreSQL: the four writes in one statement. The event's data and the timer's payload are
# the texts SQLAlchemy's JSON type writes (json.dumps), the offer's id spliced in, so the rows
# match; a move refused by its guard writes neither and the caller raises, as below.
_WRITE_PG = (
    "WITH o AS ("
    + _OFFER
    + "), m AS ("
    + _MOVE.replace("$2", "$9").replace("$3", "$10").replace("$4", "$11")
    + "), e AS (INSERT INTO incident_events (incident_id, at, kind, actor_user_id, data)"
    " SELECT $1, $3, 'offered', $12, ($13::text || o.id || $14::text)::json FROM o, m),"
    " t AS (INSERT INTO timers (kind, ref, due_at, payload, state, created_at)"
    " SELECT 'offer.expire', 'offer:' || o.id || ':expire', $4,"
    " ('{{\"offer_id\": ' || o.id || '}}')::json, 'pending', $3 FROM o, m"
    " ON CONFLICT (ref) DO NOTHING)"
    " SELECT o.id, EXISTS (SELECT 1 FROM m) FROM o"
)


async def plain_offer(tx: Tx, inc: Any, o: NewOffer) -> tuple[int, bool] | None:
    """(offer id, whether the call was offered before it), or None: take the general path."""
    if steps.current() is not None:
        return None
    INCIDENT.check(inc.status, S.OFFERED)
    db = await Plain.of(tx.conn)
    found = await db.rows(_READ, (o.caregiver_id, inc.elder_id, inc.id, inc.station_id))
    if not found:
        return None
    cg_user, cg_name, cg_station, name, address, notes, before = found[0][:7]
    people = [(str(who), int(uid)) for *_, who, uid in found if who is not None]
    oid = await _write(tx, db, inc, o)
    queue_push(
        tx,
        f"user:{cg_user}",
        TaskOfferedPush(
            offer_id=oid, incident_id=inc.id, kind=inc.kind, elder_name=name, address=address,
            # a neighbour's caregiver learns how to get in once the call is hers (_tell_offered)
            access_notes="" if cg_station != inc.station_id else notes,
            lat=inc.lat, lng=inc.lng, eta_s=o.eta_s, expires_at=o.expires,
            deadline_at=inc.deadline_at, nobody_else=nobody_else(o.reason_params),
        ),
    )  # fmt: skip
    offered = IncidentOfferedPush(
        station_id=inc.station_id, incident_id=inc.id, offer_id=oid, caregiver_id=o.caregiver_id,
        caregiver_name=cg_name, eta_s=o.eta_s, manual=o.manual,
    )  # fmt: skip
    for who, uid in people:
        if who == "o":
            queue_push(tx, f"user:{uid}", offered)
    readers: list[tuple[int, Audience]] = [
        (uid, "elder" if who == "e" else "family") for who, uid in people if who != "o"
    ]
    status = IncidentStatusPush(incident_id=inc.id, status=S.OFFERED)
    for recipient, msg in in_their_words(status, readers):
        queue_push(tx, recipient, msg)
    return oid, bool(before)


async def _write(tx: Tx, db: Plain, inc: Any, o: NewOffer) -> int:
    """The offer row, the incident's guarded move, its event and the timeout timer."""
    now, until = db.when(tx.now), db.when(o.expires)
    row = (inc.id, o.caregiver_id, now, until, o.eta_s, o.manual, o.reason_code)
    if db.kind == "asyncpg":
        return await _write_pg(tx, db, inc, o, row)
    oid = int((await db.rows(_OFFER, (*row, db.js(o.reason_params))))[0][0])
    move = [inc.id, inc.status, inc.version, inc.version + 1]
    if o.ranking:
        move.append(db.js(o.ranking))
    sql = _MOVE.format(ranking=", last_ranking = $5" if o.ranking else "")
    if len(await db.rows(sql, move)) != 1:
        raise ApiError(409, "incident_changed", "incident changed meanwhile; reload and retry")
    data = {"status": S.OFFERED.value, "offer_id": oid, **_event_rest(o)}
    await db.run(_EVENT, (inc.id, now, o.actor, db.js(data)))
    await db.run(_TIMER, (f"offer:{oid}:expire", until, db.js({"offer_id": oid}), now))
    tx.hint("timers", f"{o.expires.timestamp():.3f}")
    return oid


async def _write_pg(tx: Tx, db: Plain, inc: Any, o: NewOffer, row: tuple[Any, ...]) -> int:
    """``_write`` in one statement (``_WRITE_PG``)."""
    head = db.js({"status": S.OFFERED.value})[:-1] + ', "offer_id": '
    tail = ", " + db.js(_event_rest(o))[1:]
    move = [inc.status, inc.version, inc.version + 1, o.actor, head, tail]
    if o.ranking:
        move.append(db.js(o.ranking))
    sql = _WRITE_PG.format(ranking=", last_ranking = $15" if o.ranking else "")
    oid, moved = (await db.rows(sql, (*row, db.js(o.reason_params), *move)))[0]
    if not moved:
        raise ApiError(409, "incident_changed", "incident changed meanwhile; reload and retry")
    tx.hint("timers", f"{o.expires.timestamp():.3f}")
    return int(oid)


def _event_rest(o: NewOffer) -> dict[str, Any]:
    """The ``offered`` event's data after its status and offer id."""
    rest: dict[str, Any] = {"caregiver_id": o.caregiver_id, "eta_s": o.eta_s, "manual": o.manual}
    return rest | {"reason_code": o.reason_code, "reason_params": o.reason_params}
