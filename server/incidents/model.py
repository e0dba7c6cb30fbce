"""The states of a help call, its offers and its alarms: each a table of allowed moves, and
one function each that makes a move (and writes the incident's timeline event in the same
transaction)."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import ColumnElement, insert, select
from sqlalchemy.engine import Row

from schemas.incidents import AlarmStatus, OfferStatus
from schemas.incidents import IncidentStatus as S
from server import steps
from server.errors import ApiError
from server.incidents.tables import alarms, incident_events, incidents, offers
from server.machine import Machine
from server.platform import Tx, cancel_timer
from server.registry.tables import elders

OPEN_STATES: Final = (S.OPEN, S.OFFERED, S.ACCEPTED, S.EN_ROUTE, S.ARRIVED)
ACTIVE_STATES: Final = tuple(s.value for s in OPEN_STATES)
ASSIGNABLE: Final = tuple(s.value for s in (S.OPEN, S.OFFERED, S.ACCEPTED, S.EN_ROUTE))
COMING: Final = (S.ACCEPTED.value, S.EN_ROUTE.value)  # a caregiver is on the way
WITH_CAREGIVER: Final = (*COMING, S.ARRIVED.value)  # a caregiver has the call

TRANSITIONS: Final[dict[S, frozenset[S]]] = {
    S.OPEN: frozenset({S.OFFERED, S.CLOSED}),
    S.OFFERED: frozenset({S.ACCEPTED, S.OPEN, S.OFFERED, S.CLOSED}),
    S.ACCEPTED: frozenset({S.EN_ROUTE, S.ARRIVED, S.OPEN, S.OFFERED, S.CLOSED}),
    S.EN_ROUTE: frozenset({S.ARRIVED, S.OPEN, S.OFFERED, S.CLOSED}),
    S.ARRIVED: frozenset({S.RESOLVED, S.CLOSED}),
    S.RESOLVED: frozenset(),
    S.CLOSED: frozenset(),
}
INCIDENT: Final = Machine("incident", incidents, S, TRANSITIONS)

OFFER_TRANSITIONS: Final[dict[OfferStatus, frozenset[OfferStatus]]] = {
    OfferStatus.OFFERED: frozenset(
        {OfferStatus.ACCEPTED, OfferStatus.DECLINED, OfferStatus.EXPIRED, OfferStatus.WITHDRAWN}
    ),
    OfferStatus.ACCEPTED: frozenset(
        {OfferStatus.WITHDRAWN}
    ),  # the operator gave the call to someone else
    OfferStatus.DECLINED: frozenset(),
    OfferStatus.EXPIRED: frozenset(),
    OfferStatus.WITHDRAWN: frozenset(),
}
OFFER: Final = Machine("offer", offers, OfferStatus, OFFER_TRANSITIONS)
PENDING_OFFERS: Final = (
    OfferStatus.OFFERED.value,
    OfferStatus.ACCEPTED.value,
)  # withdrawn when the call moves on

A = AlarmStatus
ALARM_TRANSITIONS: Final[dict[A, frozenset[A]]] = {
    A.RAISED: frozenset({A.ACKNOWLEDGED}),
    A.ACKNOWLEDGED: frozenset(),
}
ALARM: Final = Machine("alarm", alarms, A, ALARM_TRANSITIONS)


async def timeline(
    tx: Tx, incident_id: int, event: str, actor: int | None = None, **data: Any
) -> None:
    """One event on the incident's timeline (which is also its audit log). A phone's late step
    carries its device time and the late / flagged marker (server.steps)."""
    step = steps.current()
    if step is not None:
        data = {**data, **step.when.marker()}
    await tx.conn.execute(
        insert(incident_events).values(
            incident_id=incident_id, at=tx.now, kind=event, actor_user_id=actor, data=data
        )
    )


async def load(tx: Tx, incident_id: int, *, lock: bool = True) -> Row[Any]:
    """The incident's row (locked for the rest of the transaction unless ``lock`` is off).

    Locks are always taken in one order, **elder, then incident, then offer**, so two
    steps on one call (a press joining it, an accept, a dispatch, a reassignment) queue
    behind each other instead of deadlocking: locking an incident locks its elder first.
    """
    stmt = select(incidents).where(incidents.c.id == incident_id)
    # SQLite has one writer: transactions never interleave, there is no order to keep.
    if lock and tx.conn.dialect.name != "sqlite":
        # One statement: the subquery's incident row is read, not locked (FOR UPDATE locks
        # the rows of the outer FROM only), so the elder is the first lock taken.
        of_incident = select(incidents.c.elder_id).where(incidents.c.id == incident_id)
        await tx.conn.execute(
            select(elders.c.id)
            .where(elders.c.id == of_incident.scalar_subquery())
            .with_for_update()
        )
        stmt = stmt.with_for_update()
    row = (await tx.conn.execute(stmt)).first()
    if row is None:
        raise ApiError(404, "incident_not_found", "incident not found")
    return row


async def lock_offer(tx: Tx, offer_id: int) -> tuple[Row[Any], Row[Any]] | None:
    """An offer and its incident, locked in the house order (elder, incident, offer)."""
    incident_id = (
        await tx.conn.execute(select(offers.c.incident_id).where(offers.c.id == offer_id))
    ).scalar()
    if incident_id is None:
        return None
    inc = await load(tx, incident_id)
    offer = (
        await tx.conn.execute(select(offers).where(offers.c.id == offer_id).with_for_update())
    ).one()
    return offer, inc


async def transition(
    tx: Tx,
    inc: Row[Any],
    to: S,
    event: str,
    actor: int | None = None,
    values: dict[str, Any] | None = None,
    **data: Any,
) -> None:
    """Move an incident to ``to`` and write its timeline event in the same transaction."""
    await INCIDENT.move(tx.conn, inc.id, inc.status, to, values, version=inc.version)
    await timeline(tx, inc.id, event, actor, status=to.value, **data)


async def offer_transition(tx: Tx, offer: Row[Any], to: OfferStatus) -> None:
    """Decide an offer (``to``, as of now) and stop its answer timer. The step that decides it
    writes the incident's timeline event (accepted, offer_declined, offer_expired, or the
    incident's own move when the call is reassigned or closed)."""
    await OFFER.move(tx.conn, offer.id, offer.status, to, {"decided_at": tx.now})
    await cancel_timer(tx, f"offer:{offer.id}:expire")


async def acknowledge_alarms(tx: Tx, *where: ColumnElement[bool], by: int | None) -> list[Row[Any]]:
    """Acknowledge every raised alarm that matches ``where`` (as of now, by ``by``) and return
    their rows; the caller writes what the acknowledgement means (a timeline row, a push)."""
    rows = (
        await tx.conn.execute(
            select(alarms)
            .where(alarms.c.status == A.RAISED.value, *where)
            .order_by(alarms.c.id)
            .with_for_update()
        )
    ).all()
    for r in rows:
        await ALARM.move(
            tx.conn,
            r.id,
            r.status,
            A.ACKNOWLEDGED,
            {"acknowledged_at": tx.now, "acknowledged_by": by},
        )
    return list(rows)
