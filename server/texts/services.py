"""Services: the menu, bookings, meals and recurring rules."""

from __future__ import annotations

from server.texts.core import Catalogue

TEXTS: Catalogue = {
    # A meal order as a statement line and a ledger memo: the dishes and how it was served.
    "meal.mode.delivery": ("送餐", "delivery"),
    "meal.mode.dine_in": ("堂食", "dine-in"),
    "meal.line": ("{dishes}（{mode}）", "{dishes} ({mode})"),
    "meal.memo": ("助餐 {day} {line}", "Meals {day} {line}"),
    # Problems.
    "meal.too_late_to_cancel": ("订餐已截止，不能取消", "past the cut-off: the kitchen is cooking"),
    # The notes of the weekly door-knock rule made for elders living alone.
    "recurrence.door_knock": ("爱心敲门", "weekly door-knock"),
}
