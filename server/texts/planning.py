"""Planning: day plans, emergency insertion and lunch routes."""

from __future__ import annotations

from server.texts.core import Catalogue

TEXTS: Catalogue = {}
