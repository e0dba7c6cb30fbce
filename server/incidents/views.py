"""Compatibility: the serialisers are in server/incidents/out.py (the console imports
``incident_out`` from here)."""

from __future__ import annotations

from server.incidents.out import incident_out

__all__ = ["incident_out"]
