"""The incident's and the offer's states, their allowed moves, and the one function each
that changes state and writes the timeline event in the same transaction."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import insert, select

from schemas.incidents import IncidentStatus as S
from server.errors import ApiError
from server.incidents.tables import incident_events, incidents
from server.machine import Machine
from server.platform import Tx

OPEN_STATES: Final = (S.OPEN, S.OFFERED, S.ACCEPTED, S.EN_ROUTE, S.ARRIVED)
ACTIVE_STATES: Final = tuple(s.value for s in OPEN_STATES)

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


async def timeline(
    tx: Tx, incident_id: int, event: str, actor: int | None = None, **data: Any
) -> None:
    await tx.conn.execute(
        insert(incident_events).values(
            incident_id=incident_id, at=tx.now, kind=event, actor_user_id=actor, data=data
        )
    )


async def load(tx: Tx, incident_id: int, *, lock: bool = True) -> Any:
    stmt = select(incidents).where(incidents.c.id == incident_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await tx.conn.execute(stmt)).first()
    if row is None:
        raise ApiError(404, "incident_not_found", "incident not found")
    return row


async def transition(
    tx: Tx,
    inc: Any,
    to: S,
    event: str,
    actor: int | None = None,
    values: dict[str, Any] | None = None,
    **data: Any,
) -> None:
    """Move an incident to ``to`` and write its timeline event in the same transaction."""
    await INCIDENT.move(tx.conn, inc.id, inc.status, to, values, version=inc.version)
    await timeline(tx, inc.id, event, actor, status=to.value, **data)
