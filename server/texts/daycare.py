"""Day care (日间托老) and the programmes beside it: capability assessment, volunteers."""

from __future__ import annotations

from server.texts.core import Catalogue

TEXTS: Catalogue = {
    "task.daycare_welfare_check": ("日托未到访视", "Day-care no-show welfare check"),
    "daycare.lunch_note": ("日间托老午餐", "Day-care lunch"),
    "daycare.no_show_note": (
        "{name}今日日间托老未到且未请假，请电话联系或上门查看",
        "{name} did not come to day care today and sent no word: call or visit",
    ),
}
