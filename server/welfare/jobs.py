"""The welfare domain's timers: overdue application reviews, the end of a public notice and
the period close."""

from __future__ import annotations

from server.platform import Platform
from server.welfare.flows import applications, calendars, notice, quota, rulesets


def register(plat: Platform) -> None:
    """Timer handlers of the welfare domain."""
    plat.on_timer(calendars.OVERDUE_TIMER, applications.on_overdue)
    plat.on_timer(rulesets.CLOSE_TIMER, quota.on_period_close)
    plat.on_timer(notice.NOTICE_TIMER, notice.on_notice_end)
