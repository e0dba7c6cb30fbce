"""The family binding's states, their allowed moves, and the one function that changes a
binding's state and writes its audit row in the same transaction."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import insert

from schemas.registry import BindingStatus as S
from server.machine import Machine
from server.platform import Tx, audit
from server.registry.tables import family_bindings

TRANSITIONS: Final[dict[S, frozenset[S]]] = {
    S.PENDING: frozenset({S.CONFIRMED, S.REVOKED}),
    S.CONFIRMED: frozenset({S.REVOKED}),
    S.REVOKED: frozenset({S.PENDING}),  # asked for again
}
BINDING: Final = Machine("binding", family_bindings, S, TRANSITIONS)
# The audit row's action for each state a binding enters.
ACTIONS: Final[dict[S, str]] = {
    S.PENDING: "request_binding",
    S.CONFIRMED: "confirm_binding",
    S.REVOKED: "revoke_binding",
}


async def open_binding(tx: Tx, *, family_user_id: int, elder_id: int, relation: str) -> int:
    """A new binding, pending until the elder or the station confirms it; audited as asked."""
    bid = (
        await tx.conn.execute(
            insert(family_bindings)
            .values(
                family_user_id=family_user_id,
                elder_id=elder_id,
                relation=relation,
                status=S.PENDING.value,
                requested_at=tx.now,
            )
            .returning(family_bindings.c.id)
        )
    ).scalar_one()
    await audit(
        tx,
        actor=family_user_id,
        action=ACTIONS[S.PENDING],
        object_type="binding",
        object_id=bid,
    )
    return int(bid)


async def transition(
    tx: Tx, row: Any, to: S, *, actor: int | None, values: dict[str, Any] | None = None
) -> None:
    """Move a binding to ``to`` (with ``values``) and write its audit row, or refuse with 409."""
    await BINDING.move(tx.conn, row.id, row.status, to, values)
    await audit(tx, actor=actor, action=ACTIONS[to], object_type="binding", object_id=row.id)
