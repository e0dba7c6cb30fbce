"""Welfare: eligibility, the ledger, applications and statements."""

from __future__ import annotations

from server.texts.core import Catalogue

TEXTS: Catalogue = {}
