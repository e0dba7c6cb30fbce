"""Tasks's outbox consumers and timer handlers."""

from __future__ import annotations

from server.platform import Platform


def register(platform: Platform) -> None:
    """Outbox consumers and timer handlers of tasks: none yet."""
