"""Compatibility: welfare's demo imports ``recurring.ensure_timer`` from here; recurring rules
live in ``server.services.flows.recurring``."""

from __future__ import annotations

from server.services.flows.recurring import (
    AHEAD_DAYS,
    DUE_TOPIC,
    TIMER,
    ensure_timer,
    materialise_station,
)

__all__ = ["AHEAD_DAYS", "DUE_TOPIC", "TIMER", "ensure_timer", "materialise_station"]
