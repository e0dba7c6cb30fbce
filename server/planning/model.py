"""What a plan is: a row per planning, the latest of a station's day in force.

A day plan has no status, so it has no transition table: it is made once and never changes;
the next planning writes a new row. What it has is a ``trigger`` (why it was made: the
operator asked, a help call was inserted, and ``:fallback`` when the solver stalled and a
solver-free plan stands in). The statuses a plan changes are its tasks' (``open`` ↔
``planned``, through ``server.tasks.model.plan``/``unplan``) and, following them, their
bookings' (``server.services.model.follow_tasks``). A lunch routing (``meal_plans``) is the
same: a row per routing, no status.

Times in a plan are seconds after local (Asia/Shanghai) midnight of its day.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Final

from server.clock import SHANGHAI

OPERATOR: Final = "operator"  # an operator asked (POST /stations/{id}/plans)
BLACK_LIST: Final = "black_list"  # a black listing took caregivers off the day (providers)
FALLBACK: Final = ":fallback"  # appended when the solver stalled


def emergency(incident_id: int) -> str:
    """The trigger of a help call's insertion."""
    return f"emergency:{incident_id}"


def fallback(trigger: str) -> str:
    """The trigger of the solver-free plan that stands in for ``trigger``'s."""
    return f"{trigger}{FALLBACK}"


def midnight(day: date) -> datetime:
    """Local midnight at the start of ``day``: second 0 of its plan."""
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


def secs(at: datetime | None, day: date, default: int) -> int:
    """``at`` as seconds after the day's local midnight (``default`` when there is none)."""
    if at is None:
        return default
    return int((at.astimezone(SHANGHAI) - midnight(day)).total_seconds())
