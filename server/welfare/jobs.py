"""The welfare domain's timers: overdue application reviews and the period close."""

from __future__ import annotations

from server.platform import Platform
from server.welfare.applications import on_application_overdue
from server.welfare.flows import on_period_close


def register(plat: Platform) -> None:
    """Timer handlers of the welfare domain."""
    plat.on_timer("welfare.application_overdue", on_application_overdue)
    plat.on_timer("welfare.period_close", on_period_close)
