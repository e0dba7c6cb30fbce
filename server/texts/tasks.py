"""Tasks: the caregiver's visits, meal deliveries and call-backs."""

from __future__ import annotations

from server.texts.core import Catalogue

TEXTS: Catalogue = {}
