"""The escalation chain's start in plain SQL (server/store/plain.py), as the offer does it in
plain_offer.py: every emergency starts one in the relay's transaction, right after its offer
(issue 16, the dispatch half). ``chain.start_chain`` takes it unless a step is due at once;
what it writes is what the general path (``new_chain``, ``record``, ``advance``) writes
(tests/hotline/test_plain_chain.py compares the rows).

1. one read: the incident (status, kind, station, elder, opening), the elder's contacts,
   neighbours and family doctor, the confirmed family's accounts (a row each, in the order
   of their ids), whether the incident has a chain already, and whether each of the other
   things a chain start reads has any row at all (overrides, linked volunteers, the
   station's roster, a press that joined the call): the start reads those (through
   SQLAlchemy, as before) only where there are some;
2. the chain row with the planner's status, wake-up time and timer sequence, its ``started``
   event and its first timer: one ``WITH … INSERT`` statement on PostgreSQL, three on SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hotline.escalation import Plan
from server.platform import Tx
from server.store.plain import Plain

_READ = (
    "SELECT i.status, i.kind, i.station_id, i.elder_id, i.opened_at,"
    " e.contacts, e.neighbours, e.family_doctor,"
    " EXISTS (SELECT 1 FROM hotline_chains WHERE incident_id = $1),"
    " EXISTS (SELECT 1 FROM hotline_chain_overrides"
    " WHERE station_id = i.station_id OR elder_id = i.elder_id),"
    " EXISTS (SELECT 1 FROM volunteer_links WHERE elder_id = i.elder_id),"
    " EXISTS (SELECT 1 FROM hotline_roster WHERE station_id = i.station_id),"
    " EXISTS (SELECT 1 FROM incident_events WHERE incident_id = $1 AND kind = 'joined'),"
    " u.id, u.phone, u.wechat_openid, u.display_name"
    " FROM incidents i JOIN elders e ON e.id = i.elder_id"
    " LEFT JOIN family_bindings f ON f.elder_id = i.elder_id AND f.status = 'confirmed'"
    " LEFT JOIN users u ON u.id = f.family_user_id"
    " WHERE i.id = $1 ORDER BY u.id"
)
_COLUMNS = (
    "hotline_chains (incident_id, station_id, elder_id, started_at, definition, context,"
    " status, next_at, timer_seq)"
)
# PostgreSQL: the chain, its started event and its first timer in one statement. The timer's
# payload is the text SQLAlchemy's JSON type writes ('{"chain_id": 7}'), so the rows match.
_WRITE_PG = (
    f"WITH c AS (INSERT INTO {_COLUMNS} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    " RETURNING id),"
    " e AS (INSERT INTO hotline_chain_events (chain_id, kind, at, firing, person, data)"
    " SELECT id, 'started', $4, NULL, NULL, '{}' FROM c),"
    " t AS (INSERT INTO timers (kind, ref, due_at, payload, state, created_at)"
    " SELECT $11, 'chain:' || id || ':1', $8, ('{\"chain_id\": ' || id || '}')::json,"
    " 'pending', $10 FROM c WHERE $9 = 1 ON CONFLICT (ref) DO NOTHING)"
    " SELECT id FROM c"
)
_CHAIN = f"INSERT INTO {_COLUMNS} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id"
_STARTED = (
    "INSERT INTO hotline_chain_events (chain_id, kind, at, firing, person, data)"
    " VALUES ($1, 'started', $2, NULL, NULL, '{}')"
)
_TIMER = (
    "INSERT INTO timers (kind, ref, due_at, payload, state, created_at)"
    " VALUES ($1, $2, $3, $4, 'pending', $5) ON CONFLICT (ref) DO NOTHING"
)


@dataclass(frozen=True)
class Relative:
    """A confirmed family member's account, as ``chain._bound_family`` reads it."""

    id: int
    phone: str | None
    wechat_openid: str | None
    display_name: str


@dataclass(frozen=True)
class Elder:
    """What a chain start reads of the elder (``chain._people``)."""

    id: int
    contacts: Any
    neighbours: Any
    family_doctor: Any


@dataclass(frozen=True)
class Start:
    """The incident as a chain start reads it, and which of the other reads have rows."""

    id: int
    status: str
    kind: str
    station_id: int
    elder_id: int
    opened_at: datetime
    elder: Elder
    bound: list[Relative]  # the confirmed family's accounts
    has_chain: bool
    overrides: bool
    volunteers: bool
    roster: bool
    joined: bool


async def read_start(tx: Tx, incident_id: int) -> Start | None:
    """The one read of a chain start (None: no such incident)."""
    db = await Plain.of(tx.conn)
    rows = await db.rows(_READ, (incident_id,))
    if not rows:
        return None
    row = rows[0]
    status, kind, station_id, elder_id, opened_at, contacts, neighbours, doctor = row[:8]
    flags = [bool(x) for x in row[8:13]]
    bound = [Relative(int(r[13]), r[14], r[15], str(r[16])) for r in rows if r[13] is not None]
    elder = Elder(int(elder_id), db.read_js(contacts), db.read_js(neighbours), db.read_js(doctor))
    opened = db.read_when(opened_at)
    assert opened is not None  # NOT NULL
    return Start(
        incident_id, str(status), str(kind), int(station_id), int(elder_id), opened, elder,
        bound, *flags,
    )  # fmt: skip


async def write_chain(
    tx: Tx,
    start: Start,
    *,
    started_at: datetime,
    definition: list[dict[str, Any]],
    context: dict[str, Any],
    after: Plan,
    timer_kind: str,
) -> int:
    """The chain as the planner left it, its started event and its first timer; its id."""
    db = await Plain.of(tx.conn)
    seq = 1 if after.next_at is not None else 0
    now, at, due = db.when(tx.now), db.when(started_at), db.when(after.next_at)
    where = (start.id, start.station_id, start.elder_id, at)
    chain = (*where, db.js(definition), db.js(context), after.status.value, due, seq)
    if db.kind == "asyncpg":
        chain_id = int((await db.rows(_WRITE_PG, (*chain, now, timer_kind)))[0][0])
    else:
        chain_id = int((await db.rows(_CHAIN, chain))[0][0])
        await db.run(_STARTED, (chain_id, at))
        if seq:
            payload = db.js({"chain_id": chain_id})
            await db.run(_TIMER, (timer_kind, f"chain:{chain_id}:1", due, payload, now))
    if after.next_at is not None:
        tx.hint("timers", f"{after.next_at.timestamp():.3f}")
    return chain_id
