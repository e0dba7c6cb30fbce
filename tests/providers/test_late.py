"""Punctuality in the providers' rating uses the planner's rule for a booked window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from server.providers.flows.rating import started_late


def test_a_visit_is_late_once_it_can_no_longer_end_inside_its_window() -> None:
    """The window holds the whole visit (the planner's and the booking service's rule): a
    90-minute bath booked 09:00-12:00 is late from 10:31, not only after 12:00."""
    day = datetime(2025, 3, 3, tzinfo=UTC)

    def visit(start_h: float) -> SimpleNamespace:
        return SimpleNamespace(
            started_at=day + timedelta(hours=start_h),
            window_start=day + timedelta(hours=9),
            window_end=day + timedelta(hours=12),
            duration_min=90,
        )

    assert not started_late(visit(10.5)) and started_late(visit(10.6))
    assert not started_late(SimpleNamespace(window_end=None))  # not booked: never late
