"""Services: the menu, bookings, meals and the caregiver's tasks."""

from __future__ import annotations

from server.texts.core import Catalogue

TEXTS: Catalogue = {}
