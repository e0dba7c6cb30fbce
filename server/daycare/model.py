"""An enrolment's and an attendance row's states, their allowed moves, and the functions that
change them.

An enrolment is ``waiting`` while a day it asks for is at capacity and ``enrolled`` once each
has a place (made so, or promoted when a place frees up); it is ``ended`` when the elder leaves.
An attendance row is ``expected`` until the staff check the elder in (``present``) and out
(``left``); word of an absence before check-in makes it ``excused``; the roll call turns a
silent ``expected`` into ``absent`` (and a welfare check). A check-in by mistake may be undone
only by checking out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import insert

from schemas.daycare import AttendanceStatus as A
from schemas.daycare import EnrolmentStatus as E
from server.daycare.tables import daycare_attendance, daycare_enrolments
from server.machine import Machine
from server.platform import Tx, emit

ENROLMENT_TRANSITIONS: Final[dict[E, frozenset[E]]] = {
    E.WAITING: frozenset({E.ENROLLED, E.ENDED}),
    E.ENROLLED: frozenset({E.ENDED}),
    E.ENDED: frozenset(),
}
ENROLMENT: Final = Machine("enrolment", daycare_enrolments, E, ENROLMENT_TRANSITIONS)

ATTENDANCE_TRANSITIONS: Final[dict[A, frozenset[A]]] = {
    A.EXPECTED: frozenset({A.PRESENT, A.EXCUSED, A.ABSENT}),
    A.PRESENT: frozenset({A.LEFT}),
    A.LEFT: frozenset(),
    A.EXCUSED: frozenset({A.PRESENT}),  # came after all
    A.ABSENT: frozenset({A.PRESENT}),  # came late, after the roll call
}
ATTENDANCE: Final = Machine("attendance", daycare_attendance, A, ATTENDANCE_TRANSITIONS)


async def insert_enrolment(tx: Tx, values: Mapping[str, Any], status: E) -> int:
    """Write a new enrolment (``enrolled`` or ``waiting``); returns its id."""
    stmt = (
        insert(daycare_enrolments)
        .values(**values, status=status.value)
        .returning(daycare_enrolments.c.id)
    )
    return int((await tx.conn.execute(stmt)).scalar_one())


async def enrolment_transition(
    tx: Tx, row: Any, to: E, values: Mapping[str, Any] | None = None
) -> None:
    """Move an enrolment (409 if the table forbids it); ``daycare.enrolment`` goes out."""
    if to is E.ENDED:
        values = {"ended_at": tx.now, **(values or {})}
    await ENROLMENT.move(tx.conn, row.id, row.status, to, values)
    await emit(tx, "daycare.enrolment", {"enrolment_id": row.id, "status": to.value})


async def insert_attendance(tx: Tx, values: Mapping[str, Any]) -> int:
    """Write a day's attendance row, ``expected``; returns its id."""
    stmt = (
        insert(daycare_attendance)
        .values(**values, status=A.EXPECTED.value)
        .returning(daycare_attendance.c.id)
    )
    return int((await tx.conn.execute(stmt)).scalar_one())


async def attendance_transition(
    tx: Tx, row: Any, to: A, values: Mapping[str, Any] | None = None
) -> None:
    """Move an attendance row (409 if the table forbids it)."""
    await ATTENDANCE.move(tx.conn, row.id, row.status, to, values)
