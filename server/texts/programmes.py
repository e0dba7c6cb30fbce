"""The programmes beside help calls and visits: day care (日间托老), capability assessment,
volunteers, and the schedules the seeds ask for (monthly, birthday and festival visits)."""

from __future__ import annotations

from server.texts.core import Catalogue

TEXTS: Catalogue = {
    "task.daycare_welfare_check": ("日托未到访视", "Day-care no-show welfare check"),
    "recurrence.birthday": ("生日探访", "birthday visit"),
    "recurrence.festival": ("{name}探访（{day}）", "festival visit: {name} ({day})"),
    "recurrence.moved": ("原定{day}，遇节假日顺延", "due {day}, moved to the next working day"),
    "task.assessment_due": ("能力复评", "Capability re-assessment"),
    "assessment.due_note": (
        "{name}需要复评（{reason}），请于{day}前完成",
        "{name} needs a re-assessment ({reason}) by {day}",
    ),
    "assessment.plan_note": ("能力评估#{id}服务计划", "service plan of assessment #{id}"),
    "hotline.relation.volunteer": ("志愿者", "volunteer"),
    "daycare.lunch_note": ("日间托老午餐", "Day-care lunch"),
    "daycare.no_show_note": (
        "{name}今日日间托老未到且未请假，请电话联系或上门查看",
        "{name} did not come to day care today and sent no word: call or visit",
    ),
}
