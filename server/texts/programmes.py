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
    "report.title": ("{scope}运营报表（{period}）", "{scope} report ({period})"),
    "report.all": ("全部", "All"),
    "report.level.district": ("区", "District"),
    "report.level.street": ("街道", "Street"),
    "report.level.station": ("服务站", "Station"),
    "report.col.level": ("层级", "Level"),
    "report.col.district": ("区", "District"),
    "report.col.name": ("名称", "Name"),
    "report.col.month": ("月份", "Month"),
    "report.col.calls": ("呼叫数", "Help calls"),
    "report.col.emergencies": ("紧急呼叫", "Emergencies"),
    "report.col.false_alarms": ("误报", "False alarms"),
    "report.col.arrived": ("到达数", "Arrived"),
    "report.col.accept_median_s": ("接单中位数（秒）", "Accepted, median (s)"),
    "report.col.response_median_s": ("到达中位数（秒）", "Arrival, median (s)"),
    "report.col.response_p90_s": ("到达90分位（秒）", "Arrival, 90th pct (s)"),
    "report.col.visits": ("上门服务次数", "Visits"),
    "report.col.elders_visited": ("服务老人数", "Elders visited"),
    "report.col.visit_minutes": ("服务分钟", "Visit minutes"),
    "report.col.meals": ("助餐份数", "Meals"),
    "report.col.meals_delivered": ("送餐份数", "Meals delivered"),
    "report.col.meal_fen": ("餐费（分）", "Meals (fen)"),
    "report.col.service_fen": ("服务金额（分）", "Services (fen)"),
    "report.col.subsidy_fen": ("补贴金额（分）", "Subsidy (fen)"),
    "report.col.self_pay_fen": ("自付金额（分）", "Self-paid (fen)"),
    "report.col.answers": ("满意度回访数", "Satisfaction answers"),
    "report.col.satisfied": ("满意及基本满意", "Satisfied"),
    "report.col.satisfaction": ("满意率", "Satisfaction rate"),
    "report.sheet.by_month": ("分月合计（{period}）", "By month ({period})"),
}
