"""The console and the phone pages: panels, labels and notifications."""

from __future__ import annotations

from server.texts.core import Catalogue

TEXTS: Catalogue = {}
