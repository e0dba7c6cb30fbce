"""The reports' outbox consumers and timer handlers."""

from __future__ import annotations

from server.platform import Platform


def register(platform: Platform) -> None:
    """None: a report is computed when it is asked for, from the rows of the period."""
