"""The incident's states, allowed transitions, and the one function that changes state."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import insert, select, update

from schemas.incidents import IncidentStatus as S
from server.errors import ApiError
from server.incidents.tables import incident_events, incidents
from server.platform import Tx

OPEN_STATES: Final = (S.OPEN, S.OFFERED, S.ACCEPTED, S.EN_ROUTE, S.ARRIVED)
ACTIVE_STATES: Final = tuple(s.value for s in OPEN_STATES)

TRANSITIONS: Final[dict[S, set[S]]] = {
    S.OPEN: {S.OFFERED, S.CLOSED},
    S.OFFERED: {S.ACCEPTED, S.OPEN, S.OFFERED, S.CLOSED},
    S.ACCEPTED: {S.EN_ROUTE, S.ARRIVED, S.OPEN, S.OFFERED, S.CLOSED},
    S.EN_ROUTE: {S.ARRIVED, S.OPEN, S.OFFERED, S.CLOSED},
    S.ARRIVED: {S.RESOLVED, S.CLOSED},
    S.RESOLVED: set(),
    S.CLOSED: set(),
}


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
    current = S(inc.status)
    if to not in TRANSITIONS[current]:
        raise ApiError(
            409,
            "incident_state_conflict",
            f"incident is {current.value}, cannot become {to.value}",
            status_now=current.value,
        )
    res = await tx.conn.execute(
        update(incidents)
        .where(incidents.c.id == inc.id, incidents.c.version == inc.version)
        .values(status=to.value, version=inc.version + 1, **(values or {}))
    )
    if res.rowcount != 1:
        raise ApiError(409, "incident_changed", "incident changed meanwhile; reload and retry")
    await timeline(tx, inc.id, event, actor, status=to.value, **data)
