"""The status tables of tasks, bookings and meal orders, read as tables: every status is
listed, a finished thing stays finished, and a move the table does not allow is refused
with a 409 that names both states."""

from __future__ import annotations

import pytest

from schemas.services import BookingStatus, MealOrderStatus
from schemas.tasks import TaskStatus
from server.errors import ApiError
from server.services.model import BOOKING, MEAL_ORDER
from server.tasks.model import PLANNABLE, TASK


@pytest.mark.parametrize(
    ("current", "to"),
    [
        (TaskStatus.CANCELLED, TaskStatus.DONE),
        (TaskStatus.DONE, TaskStatus.OPEN),
        (TaskStatus.IN_PROGRESS, TaskStatus.PLANNED),
        (TaskStatus.EN_ROUTE, TaskStatus.OPEN),
    ],
)
def test_a_task_does_not_go_back(current: TaskStatus, to: TaskStatus) -> None:
    """A re-plan never takes a task from the caregiver who set off, nor reopens a closed one."""
    with pytest.raises(ApiError) as err:
        TASK.check(current, to)
    assert (err.value.status, err.value.code) == (409, "task_state_conflict")
    assert err.value.extra == {"status_now": current.value}


def test_a_plan_moves_only_open_and_planned_tasks() -> None:
    """plan() and unplan() write open or planned tasks only, and may write either as either."""
    assert set(PLANNABLE) == {TaskStatus.OPEN, TaskStatus.PLANNED}
    assert all(TASK.allows(a, b) for a in PLANNABLE for b in PLANNABLE)


def test_a_retried_step_is_allowed() -> None:
    """Setting off or arriving twice (a flaky network) is a move to the same state."""
    assert TASK.allows(TaskStatus.EN_ROUTE, TaskStatus.EN_ROUTE)
    assert TASK.allows(TaskStatus.IN_PROGRESS, TaskStatus.IN_PROGRESS)


def test_a_booking_follows_its_task_and_ends_once() -> None:
    """Requested and planned swap with each plan; cancelled is final; completed may only be
    recorded again (after its service record was reversed)."""
    assert BOOKING.allows(BookingStatus.REQUESTED, BookingStatus.PLANNED)
    assert BOOKING.allows(BookingStatus.PLANNED, BookingStatus.REQUESTED)
    assert BOOKING.allows(BookingStatus.COMPLETED, BookingStatus.COMPLETED)
    assert not any(BOOKING.allows(BookingStatus.CANCELLED, s) for s in BookingStatus)
    assert not BOOKING.allows(BookingStatus.COMPLETED, BookingStatus.CANCELLED)


def test_a_meal_order_is_cancelled_only_before_it_is_out() -> None:
    assert MEAL_ORDER.allows(MealOrderStatus.ORDERED, MealOrderStatus.CANCELLED)
    assert not MEAL_ORDER.allows(MealOrderStatus.DELIVERING, MealOrderStatus.CANCELLED)
    assert MEAL_ORDER.allows(MealOrderStatus.DELIVERING, MealOrderStatus.DELIVERED)
    with pytest.raises(ApiError) as err:
        MEAL_ORDER.check(MealOrderStatus.DELIVERED, MealOrderStatus.CANCELLED)
    assert err.value.code == "meal_order_state_conflict"
