"""Welfare's statuses, their allowed moves, and the one function each that changes a status and
writes its event in the same transaction.

- An application (``welfare_applications.status``) goes through three review steps, each a
  status, to approved or refused, with a public notice (公示) between the street and the
  district where the rule set asks for one; every move writes a row of its history
  (``welfare_application_events``), and so does anything else that happens to it.
- A service record's review (``service_records.review``) is pending until the station passes
  or rejects it; every review writes an audit row.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, insert

from schemas.welfare import ApplicationAction as Act
from schemas.welfare import ApplicationStatus as A
from schemas.welfare import RecordReview as R
from server.machine import Machine
from server.platform import Tx, audit
from server.store.types import UtcDateTime
from server.welfare.tables import application_events, applications

# ----- applications ---------------------------------------------------------------------------

STEPS: Final = (A.COMMUNITY, A.STREET, A.DISTRICT)  # in order
OPEN_STATES: Final = tuple(s.value for s in STEPS)
DECIDED: Final = (A.APPROVED, A.REFUSED)

APPLICATION_TRANSITIONS: Final[dict[A, frozenset[A]]] = {
    A.COMMUNITY: frozenset({A.STREET, A.PUBLIC_NOTICE, A.REFUSED}),
    A.STREET: frozenset({A.DISTRICT, A.PUBLIC_NOTICE, A.REFUSED}),
    # the notice ends (or an objection is dismissed): on to the step after the one that
    # posted it (the street or the district); an objection upheld: refused
    A.PUBLIC_NOTICE: frozenset({A.STREET, A.DISTRICT, A.REFUSED}),
    A.DISTRICT: frozenset({A.APPROVED, A.REFUSED}),
    A.APPROVED: frozenset(),
    A.REFUSED: frozenset(),
}
APPLICATION: Final = Machine("application", applications, A, APPLICATION_TRANSITIONS)


def next_step(step: A) -> A:
    """The step after ``step``; passing the district step approves."""
    return STEPS[STEPS.index(step) + 1] if step is not A.DISTRICT else A.APPROVED


async def event(
    tx: Tx,
    app_id: int,
    step: A | str,
    action: Act,
    actor: int | None,
    *,
    note: str = "",
    due_on: date | None = None,
) -> None:
    """One row of an application's history."""
    await tx.conn.execute(
        insert(application_events).values(
            application_id=app_id,
            at=tx.now,
            actor_user_id=actor,
            step=A(step).value,
            action=action.value,
            note=note,
            due_on=due_on,
        )
    )


async def open_application(
    tx: Tx,
    values: dict[str, Any],
    *,
    actor: int | None,
    note: str,
    received: date,
    due: date,
    provisional: bool,
) -> int:
    """A new application at the community step with its papers received on ``received``, and
    its first history row."""
    app_id: int = (
        await tx.conn.execute(
            insert(applications)
            .values(
                **values,
                status=A.COMMUNITY.value,
                step_received_on=received,
                step_due_on=due,
                step_due_provisional=provisional,
            )
            .returning(applications.c.id)
        )
    ).scalar_one()
    await event(tx, app_id, A.COMMUNITY, Act.RECEIVED, actor, note=note, due_on=due)
    return app_id


async def transition(
    tx: Tx,
    app: Any,
    to: A,
    *,
    actor: int | None,
    note: str = "",
    values: dict[str, Any] | None = None,
    due_on: date | None = None,
) -> None:
    """Move an application to ``to`` and write its history row in the same transaction: a step
    entered is ``received`` there (with its due day); approval and refusal are ``passed`` and
    ``refused`` at the step decided."""
    await APPLICATION.move(tx.conn, app.id, app.status, to, values)
    if to in STEPS or to is A.PUBLIC_NOTICE:
        await event(tx, app.id, to, Act.RECEIVED, actor, note=note, due_on=due_on)
    else:
        act = Act.PASSED if to is A.APPROVED else Act.REFUSED
        await event(tx, app.id, app.status, act, actor, note=note)


# ----- a service record's review --------------------------------------------------------------

REVIEW_TRANSITIONS: Final[dict[R, frozenset[R]]] = {
    R.PENDING: frozenset({R.PASSED, R.REJECTED}),
    R.PASSED: frozenset({R.PASSED, R.REJECTED}),  # a passed record may be looked at again
    R.REJECTED: frozenset(),  # a rejection reverses the record: nothing follows
}
# The review is the record's status; the machine reads and writes the ``review`` column under
# that name (the columns a review writes, typed as in server/welfare/tables.py).
_reviews = Table(
    "service_records",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("review", String(10), key="status"),
    Column("reviewed_by", Integer),
    Column("reviewed_at", UtcDateTime),
    Column("reversed", Boolean),
)
REVIEW: Final = Machine("record", _reviews, R, REVIEW_TRANSITIONS)


async def review(tx: Tx, rec: Any, to: R, *, actor: int, **detail: Any) -> None:
    """Move a record's review to ``to`` (a rejection also marks it reversed) and write its
    audit row in the same transaction."""
    values = {
        "reviewed_by": actor,
        "reviewed_at": tx.now,
        "reversed": bool(rec.reversed) or to is R.REJECTED,
    }
    await REVIEW.move(tx.conn, rec.id, rec.review, to, values)
    await audit(
        tx,
        actor=actor,
        action=f"review_{to.value}",
        object_type="service_record",
        object_id=rec.id,
        detail=detail,
    )
