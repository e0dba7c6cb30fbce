"""Compatibility: the intake is in server/incidents/flows/intake.py (other domains import it
from here; the lead may drop this module once they import the new path)."""

from __future__ import annotations

from server.incidents.flows.intake import Intake, IntakeResult, open_or_join

__all__ = ["Intake", "IntakeResult", "open_or_join"]
