"""Compatibility: alarms are raised in server/incidents/flows/alarms.py (other domains import
``raise_alarm`` from here); their status table is in server/incidents/model.py."""

from __future__ import annotations

from server.incidents.flows.alarms import raise_alarm
from server.incidents.model import acknowledge_alarms

__all__ = ["acknowledge_alarms", "raise_alarm"]
