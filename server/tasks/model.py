"""A task's states, their allowed moves, and the functions that change them.

A task is made ``open``; a day plan (or lunch routing) gives it to a caregiver (``planned``)
and a later plan may take it back (``open``); the caregiver sets off (``en_route``), arrives
(``in_progress``) and finishes (``done``); a booking cancelled or a call answered after all
cancels it. ``transition()`` moves one task and, when an action is named, writes the audit
row in the same transaction; ``plan()`` and ``unplan()`` are a plan's write-back, which
leaves a task alone that has moved on meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, insert, select, update

from schemas.tasks import TaskStatus as S
from server import steps
from server.machine import Machine
from server.platform import Tx, audit
from server.tasks.tables import tasks

OPEN_STATES: Final = (S.OPEN, S.PLANNED, S.EN_ROUTE, S.IN_PROGRESS)  # not done, not cancelled
PLANNABLE: Final = (S.OPEN, S.PLANNED)  # a plan may still give it to someone, or take it back
UNDER_WAY: Final = (S.EN_ROUTE, S.IN_PROGRESS)  # the caregiver is on it: pinned in a re-plan

TRANSITIONS: Final[dict[S, frozenset[S]]] = {
    # a re-plan writes every open or planned task again, moved or not
    S.OPEN: frozenset({S.OPEN, S.PLANNED, S.EN_ROUTE, S.IN_PROGRESS, S.DONE, S.CANCELLED}),
    S.PLANNED: frozenset({S.OPEN, S.PLANNED, S.EN_ROUTE, S.IN_PROGRESS, S.DONE, S.CANCELLED}),
    # a retried "set off" or "arrived" from a flaky network changes nothing
    S.EN_ROUTE: frozenset({S.EN_ROUTE, S.IN_PROGRESS, S.DONE, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.IN_PROGRESS, S.DONE, S.CANCELLED}),
    # a booking's visit recorded again after its service record was reversed
    S.DONE: frozenset({S.DONE}),
    S.CANCELLED: frozenset(),
}
TASK: Final = Machine("task", tasks, S, TRANSITIONS)
assert all(TASK.allows(a, b) for a in PLANNABLE for b in PLANNABLE)  # plan() and unplan()


async def load(tx: Tx, task_id: int, *, lock: bool = True) -> Row[Any] | None:
    """The task row (locked until commit unless ``lock`` is off), or None."""
    stmt = select(tasks).where(tasks.c.id == task_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await tx.conn.execute(stmt)).first()


async def transition(
    tx: Tx,
    row: Any,
    to: S,
    values: Mapping[str, Any] | None = None,
    *,
    actor: int | None = None,
    action: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Move a task to ``to`` (409 if the table forbids it), and audit ``action`` if named."""
    await TASK.move(tx.conn, row.id, row.status, to, values)
    step = steps.current()  # a phone's late step: its device time and marker, audited
    if step is not None and step.when.device_time is not None:
        detail = {**(detail or {}), **step.when.marker()}
    if action is not None:
        await audit(
            tx, actor=actor, action=action, object_type="task", object_id=row.id, detail=detail
        )


async def insert_task(tx: Tx, values: Mapping[str, Any]) -> int:
    """Write a new task, ``open``; returns its id."""
    stmt = insert(tasks).values(**values, status=S.OPEN.value).returning(tasks.c.id)
    return int((await tx.conn.execute(stmt)).scalar_one())


async def plan(tx: Tx, task_id: int, *, caregiver_id: int, planned_start: datetime) -> None:
    """A plan's write-back: an open or planned task goes to a caregiver at a time (a task
    under way, done or cancelled meanwhile is left as it is)."""
    await _replanned(tx, task_id, S.PLANNED, caregiver_id=caregiver_id, planned_start=planned_start)


async def unplan(tx: Tx, task_id: int) -> None:
    """A plan's write-back: an open or planned task the plan left out is nobody's."""
    await _replanned(tx, task_id, S.OPEN, caregiver_id=None, planned_start=None)


async def _replanned(tx: Tx, task_id: int, to: S, **values: Any) -> None:
    await tx.conn.execute(
        update(tasks)
        .where(tasks.c.id == task_id, tasks.c.status.in_([s.value for s in PLANNABLE]))
        .values(status=to.value, **values)
    )
