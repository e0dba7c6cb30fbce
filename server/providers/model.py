"""The providers domain's statuses, their allowed moves, and the one function each that moves a
row and writes its audit row in the same transaction.

- A contract is active, may be set to end at its period's end (a 不合格 rating), and ends.
- A listing (红黑名单) is active until an officer lifts it (or its period runs out: read-time).
- A fraud hold is held until an officer upholds it (reversed, recovered) or dismisses it.
- A rating is a draft until the officer signs it; a signed rating is final.
- An elder's subsidy stop is active until an officer lifts it.
"""

from __future__ import annotations

from typing import Any, Final

from schemas.providers import ContractStatus as C
from schemas.providers import HoldStatus as H
from schemas.providers import ListingStatus as L
from schemas.providers import RatingStatus as R
from schemas.providers import SubsidyStopStatus as S
from server.machine import Machine
from server.platform import Tx, audit
from server.providers.tables import (
    fraud_holds,
    provider_contracts,
    provider_listings,
    provider_ratings,
    subsidy_stops,
)

CONTRACT_TRANSITIONS: Final[dict[C, frozenset[C]]] = {
    C.ACTIVE: frozenset({C.ENDING, C.ENDED}),
    C.ENDING: frozenset({C.ENDED}),
    C.ENDED: frozenset(),
}
CONTRACT: Final = Machine("contract", provider_contracts, C, CONTRACT_TRANSITIONS)

LISTING_TRANSITIONS: Final[dict[L, frozenset[L]]] = {
    L.ACTIVE: frozenset({L.LIFTED}),
    L.LIFTED: frozenset(),
}
LISTING: Final = Machine("listing", provider_listings, L, LISTING_TRANSITIONS)

HOLD_TRANSITIONS: Final[dict[H, frozenset[H]]] = {
    H.HELD: frozenset({H.UPHELD, H.DISMISSED}),
    H.UPHELD: frozenset(),
    H.DISMISSED: frozenset(),
}
HOLD: Final = Machine("fraud_hold", fraud_holds, H, HOLD_TRANSITIONS)

RATING_TRANSITIONS: Final[dict[R, frozenset[R]]] = {
    R.DRAFT: frozenset({R.SIGNED}),
    R.SIGNED: frozenset(),
}
RATING: Final = Machine("rating", provider_ratings, R, RATING_TRANSITIONS)

STOP_TRANSITIONS: Final[dict[S, frozenset[S]]] = {
    S.ACTIVE: frozenset({S.LIFTED}),
    S.LIFTED: frozenset(),
}
STOP: Final = Machine("subsidy_stop", subsidy_stops, S, STOP_TRANSITIONS)

MACHINES: Final = {
    "contract": CONTRACT,
    "listing": LISTING,
    "fraud_hold": HOLD,
    "rating": RATING,
    "subsidy_stop": STOP,
}


async def transition(
    tx: Tx,
    machine: Machine[Any],
    row: Any,
    to: Any,
    *,
    actor: int | None,
    values: dict[str, Any] | None = None,
    **detail: Any,
) -> None:
    """Move one row of ``machine``'s table to ``to`` and audit it in the same transaction."""
    await machine.move(tx.conn, row.id, row.status, to, values)
    await audit(
        tx,
        actor=actor,
        action=f"{machine.name}_{to.value}",
        object_type=machine.name,
        object_id=row.id,
        detail={"from": row.status, **detail},
    )
