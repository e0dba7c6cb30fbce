"""The providers domain's consumers: a black listing re-plans the stations it touched; a\ncontract ends the day after its period."""

from __future__ import annotations

from server.platform import Platform
from server.providers.flows.contracts import END_TIMER, on_end
from server.providers.flows.lists import BLOCKED_TOPIC, on_blocked


def register(platform: Platform) -> None:
    """Outbox consumers of the providers domain."""
    # Solving takes seconds: in the slow lane, never in the way of a help call's dispatch.
    platform.on_event(BLOCKED_TOPIC, on_blocked, slow=True)
    platform.on_timer(END_TIMER, on_end)
