"""The planner's consumers: insert an accepted help call, route lunch at the cut-off."""

from __future__ import annotations

from server.planning.flows.day import on_accepted
from server.planning.flows.meals import on_meals_closed
from server.platform import Platform


def register(platform: Platform) -> None:
    """Outbox consumers of planning."""
    # Solving takes seconds: in the slow lane, never in the way of a help call's dispatch.
    platform.on_event("incident.accepted", on_accepted, slow=True)
    platform.on_event("meals.closed", on_meals_closed, slow=True)
