"""Compatibility: names other domains import from here (welfare's demo, the demo day). New
code imports them from ``server.services.flows`` and ``server.services.model``."""

from __future__ import annotations

from server.services.flows.bookings import create_booking
from server.services.flows.menu import seed_menu_rows
from server.services.model import follow_tasks as sync_booking_status

__all__ = ["create_booking", "seed_menu_rows", "sync_booking_status"]
