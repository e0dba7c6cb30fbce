"""A volunteer task's states and their moves: ``assigned`` → ``done`` (the volunteer reports
the minutes) → ``confirmed`` (by the elder or the station: the hours are earned); an assigned
task may be ``cancelled``. Confirmed is final: a second confirmation changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import insert

from schemas.volunteers import VolunteerTaskStatus as T
from server.machine import Machine
from server.platform import Tx, emit
from server.volunteers.tables import volunteer_tasks

TRANSITIONS: Final[dict[T, frozenset[T]]] = {
    T.ASSIGNED: frozenset({T.DONE, T.CANCELLED}),
    T.DONE: frozenset({T.CONFIRMED}),
    T.CONFIRMED: frozenset(),
    T.CANCELLED: frozenset(),
}
TASK: Final = Machine("volunteer_task", volunteer_tasks, T, TRANSITIONS)


async def insert_task(tx: Tx, values: Mapping[str, Any]) -> int:
    stmt = (
        insert(volunteer_tasks)
        .values(**values, status=T.ASSIGNED.value)
        .returning(volunteer_tasks.c.id)
    )
    return int((await tx.conn.execute(stmt)).scalar_one())


async def transition(tx: Tx, row: Any, to: T, values: Mapping[str, Any] | None = None) -> None:
    await TASK.move(tx.conn, row.id, row.status, to, values)
    if to is T.CONFIRMED:
        await emit(tx, "volunteer.hours", {"task_id": row.id, "volunteer_id": row.volunteer_id})
