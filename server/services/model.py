"""A booking's and a meal order's states, their allowed moves, and the functions that change
them.

A booking is ``requested``; it is ``planned`` while a day plan gives its task to a caregiver
(``follow_tasks``, in the plan's transaction) and back to ``requested`` when a later plan
leaves it out; the visit makes it ``completed`` (again, after its service record was
reversed), or it is ``cancelled`` with its task. A meal order is ``ordered`` until the
cut-off (``cancelled`` before it); a delivery order then travels with its delivery task
(``delivering``) until the task is done (``delivered``).

A recurring rule has no status: it is ``active`` until stopped, and each change bumps its
``version`` (see ``server/services/flows/recurring.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import Row, insert, select, update

from schemas.services import BookingStatus as B
from schemas.services import MealOrderStatus as M
from schemas.tasks import TaskStatus
from server.machine import Machine
from server.platform import Tx, audit, emit
from server.services.tables import bookings, meal_orders
from server.tasks import model as task_model
from server.tasks.tables import tasks

ACTIVE: Final = (B.REQUESTED, B.PLANNED)  # may still be planned, cancelled or completed

BOOKING_TRANSITIONS: Final[dict[B, frozenset[B]]] = {
    B.REQUESTED: frozenset({B.PLANNED, B.COMPLETED, B.CANCELLED}),
    B.PLANNED: frozenset({B.REQUESTED, B.COMPLETED, B.CANCELLED}),
    B.COMPLETED: frozenset({B.COMPLETED}),  # recorded again after the record was reversed
    B.CANCELLED: frozenset(),
}
BOOKING: Final = Machine("booking", bookings, B, BOOKING_TRANSITIONS)

MEAL_TRANSITIONS: Final[dict[M, frozenset[M]]] = {
    M.ORDERED: frozenset({M.CANCELLED, M.DELIVERING}),
    M.DELIVERING: frozenset({M.DELIVERED}),
    M.DELIVERED: frozenset(),
    M.CANCELLED: frozenset(),
}
MEAL_ORDER: Final = Machine("meal_order", meal_orders, M, MEAL_TRANSITIONS)
SETTLED: Final = (M.ORDERED, M.DELIVERING, M.DELIVERED)  # what the elder pays for, once final


# ----- bookings -------------------------------------------------------------------------------


async def lock_booking(tx: Tx, booking_id: int) -> Row[Any] | None:
    """The booking row, locked until commit (None if there is none)."""
    return (
        await tx.conn.execute(select(bookings).where(bookings.c.id == booking_id).with_for_update())
    ).first()


async def insert_booking(tx: Tx, values: Mapping[str, Any]) -> int:
    """Write a new booking, ``requested``; returns its id."""
    stmt = insert(bookings).values(**values, status=B.REQUESTED.value).returning(bookings.c.id)
    return int((await tx.conn.execute(stmt)).scalar_one())


async def transition(tx: Tx, booking: Any, to: B, values: Mapping[str, Any] | None = None) -> None:
    """Move a booking to ``to`` (409 if the table forbids it). A cancelled booking cancels its
    task and goes to the outbox as ``booking.cancelled`` (the planner drops the visit)."""
    if to is B.CANCELLED:
        values = {"cancelled_at": tx.now, **(values or {})}
    await BOOKING.move(tx.conn, booking.id, booking.status, to, values)
    if to is not B.CANCELLED:
        return
    if booking.task_id:
        task = await task_model.load(tx, booking.task_id)
        if task is not None:
            await task_model.transition(tx, task, TaskStatus.CANCELLED)
    await emit(
        tx,
        "booking.cancelled",
        {"booking_id": booking.id, "task_id": booking.task_id, "station_id": booking.station_id},
    )


async def follow_tasks(tx: Tx, *, station_id: int) -> None:
    """Bookings follow their tasks after a day plan: ``planned`` once the plan gives the task to
    a caregiver, back to ``requested`` when a later plan leaves it unassigned. Called by the
    day plan's write-back (``server.planning.flows.store``), in its transaction."""
    for frm, to, task_status in (
        (B.REQUESTED, B.PLANNED, TaskStatus.PLANNED),
        (B.PLANNED, B.REQUESTED, TaskStatus.OPEN),
    ):
        BOOKING.check(frm, to)
        of_tasks = select(tasks.c.id).where(
            tasks.c.station_id == station_id, tasks.c.status == task_status.value
        )
        await tx.conn.execute(
            update(bookings)
            .where(
                bookings.c.station_id == station_id,
                bookings.c.status == frm.value,
                bookings.c.task_id.in_(of_tasks),
            )
            .values(status=to.value)
        )


# ----- meal orders ----------------------------------------------------------------------------


async def insert_meal_order(tx: Tx, values: Mapping[str, Any]) -> int:
    """Write a new meal order, ``ordered``; returns its id."""
    stmt = insert(meal_orders).values(**values, status=M.ORDERED.value).returning(meal_orders.c.id)
    return int((await tx.conn.execute(stmt)).scalar_one())


async def meal_transition(
    tx: Tx,
    order: Any,
    to: M,
    values: Mapping[str, Any] | None = None,
    *,
    actor: int | None = None,
) -> None:
    """Move a meal order to ``to`` (409 if the table forbids it); a cancellation by a person is
    audited."""
    if to is M.CANCELLED:
        values = {"cancelled_at": tx.now, **(values or {})}
    await MEAL_ORDER.move(tx.conn, order.id, order.status, to, values)
    if to is M.CANCELLED and actor is not None:
        await audit(tx, actor=actor, action="cancel", object_type="meal_order", object_id=order.id)


async def delivered(tx: Tx, *, task_id: int) -> None:
    """The delivery task is done: its orders on the way are delivered."""
    rows = await tx.conn.execute(
        select(meal_orders.c.id, meal_orders.c.status).where(
            meal_orders.c.task_id == task_id, meal_orders.c.status == M.DELIVERING.value
        )
    )
    for order in rows.all():
        await meal_transition(tx, order, M.DELIVERED)
