"""The working-day calendar in force, which the services domain's recurring rules read; it
lives in ``server.welfare.flows.calendars``. Kept under this name until the services domain
imports it from there."""

from __future__ import annotations

from server.welfare.flows.calendars import calendar_for

__all__ = ["calendar_for"]
