"""The services domain's timers and events: the meal cut-off and recurring bookings."""

from __future__ import annotations

from server.platform import Platform
from server.services import recurring
from server.services.meal_routes import on_meal_cutoff


def register(plat: Platform) -> None:
    """Timer handlers of the services domain."""
    plat.on_timer("meals.cutoff", on_meal_cutoff)
    plat.on_timer(recurring.TIMER, recurring.on_materialise_timer)
    plat.on_event(recurring.DUE_TOPIC, recurring.on_materialise_due)
