"""The volunteer domain's outbox consumers and timers: none yet."""

from __future__ import annotations

from server.platform import Platform


def register(plat: Platform) -> None:
    """Outbox consumers and timer handlers of the volunteer domain: none yet."""
