"""Compatibility: presses are in server/incidents/flows/presses.py (other domains import
``server.incidents.presses`` and its names from here)."""

from __future__ import annotations

from server.incidents.flows.presses import (
    CLOSES_AS,
    FALSE_ALARMS,
    NEEDS_CALL_BACK,
    link_repeat,
    on_incident_closed,
    recent_false_alarm,
    record_call_back,
)

__all__ = [
    "CLOSES_AS",
    "FALSE_ALARMS",
    "NEEDS_CALL_BACK",
    "link_repeat",
    "on_incident_closed",
    "recent_false_alarm",
    "record_call_back",
]
