"""Compatibility: the dispatcher is in server/incidents/flows/dispatch.py and its snapshot
(travel model, travel modes) in flows/snapshot.py; other domains import these from here."""

from __future__ import annotations

from server.incidents.flows.dispatch import dispatch_incident
from server.incidents.flows.snapshot import point_of, travel_mode_of, travel_model

__all__ = ["dispatch_incident", "point_of", "travel_mode_of", "travel_model"]
