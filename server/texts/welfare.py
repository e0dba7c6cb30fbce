"""Welfare: eligibility, the ledger, applications, visit proof, service addresses and statements.

Problems, history notes and ledger memos go out as one string, "中文 / English", as the API has
always given them (``server.welfare.out.both``); the eligibility reasons keep the wording they
have always had, an English gloss included. Statements are Chinese documents: their titles,
column headers and fixed cells are rendered in Chinese (``server.welfare.statements``).
"""

from __future__ import annotations

from server.texts.core import Catalogue

TEXTS: Catalogue = {
    # Why an elder has (or has not) a class: ``rules.Reason`` codes, in the eligibility answer.
    "welfare.reason.no_ruleset": (
        "本区尚未配置补贴规则 / no rule set for this district",
        "no rule set for this district",
    ),
    "welfare.reason.outside_district": (
        "户籍或居住地不在辖区内 (registration or residence outside the district)",
        "registration or residence outside the district",
    ),
    "welfare.reason.subsidy_stopped": (
        "自{since}起停发补贴，服务费用由本人自付 (subsidy stopped: services are self-paid)",
        "subsidy stopped from {since}: every service is self-paid until an officer lifts it",
    ),
    "welfare.reason.highest_wins": (
        "就高不就低，不重复计算: {winner} over {others}",
        "the highest amount wins, amounts never add up: {winner} over {others}",
    ),
    # Problems.
    "welfare.problem.application_not_needed": (
        "无需申请，平台按年龄自动认定",
        "granted automatically, no application",
    ),
    "welfare.problem.elder_has_phone": (
        "这位老人有手机，请在老人手机上查看",
        "the elder's own phone shows the code",
    ),
    "welfare.problem.record_unproven": (
        "无到访证明，不能通过审核",
        "no proof of the visit yet: an arrival in the geofence, the door-card or phone code, "
        "or the elder's confirmation",
    ),
    "welfare.problem.address.too_many_places": (
        "每户服务地址最多2处",
        "at most 2 service addresses per household",
    ),
    "welfare.problem.address.too_many_changes": (
        "每年最多变更2次",
        "at most 2 address changes a year",
    ),
    "welfare.problem.address.unchanged": ("地址未变", "this is already the service address"),
    # An application's history: notes of the rows the system writes (from the row's columns).
    "welfare.event.overdue": ("逾期未办结", "overdue since {due_on}"),
    "welfare.event.due_recomputed": (
        "按正式节假日安排重算",
        "official calendar: {before} → {after}",
    ),
    # Ledger memos.
    "welfare.memo.rejected": ("审核未通过", "rejected: {note}"),
    # Statements: titles, the totals rows, fixed cells, column headers.
    "welfare.sheet.elder_month": (
        "服务记录本 {elder_id} {month}",
        "Service record book {elder_id} {month}",
    ),
    "welfare.sheet.provider_quarter": (
        "服务机构季度结算 {provider_id} {quarter}",
        "Provider settlement {provider_id} {quarter}",
    ),
    "welfare.sheet.unproven": (
        "未核验服务（不予结算） {provider_id} {quarter}",
        "Unproven services (not paid) {provider_id} {quarter}",
    ),
    "welfare.sheet.hours": (
        "工时记录表 {provider_id} {quarter}",
        "Work hours {provider_id} {quarter}",
    ),
    "welfare.sheet.district": (
        "区汇总 {district} {quarter}",
        "District summary {district} {quarter}",
    ),
    "welfare.sheet.quotas": (
        "额度结算 {district} {quarter}",
        "Quota settlement {district} {quarter}",
    ),
    "welfare.sheet.total": ("合计", "Total"),
    "welfare.sheet.total_yuan": ("合计（元）", "Total (yuan)"),
    "welfare.cell.yes": ("是", "yes"),
    "welfare.cell.no": ("否", "no"),
    "welfare.cell.self_paid": ("自费", "self-paid"),
    "welfare.cell.meal": ("助餐 {label}", "Meal {label}"),
    "welfare.col.date": ("日期", "Date"),
    "welfare.col.start": ("开始", "Start"),
    "welfare.col.end": ("结束", "End"),
    "welfare.col.item": ("服务项目", "Service"),
    "welfare.col.caregiver": ("护理员", "Caregiver"),
    "welfare.col.minutes": ("分钟", "Minutes"),
    "welfare.col.price_fen": ("价格(分)", "Price (fen)"),
    "welfare.col.subsidy_fen": ("补贴(分)", "Subsidy (fen)"),
    "welfare.col.self_pay_fen": ("自付(分)", "Self-pay (fen)"),
    "welfare.col.verified": ("已核验", "Verified"),
    "welfare.col.elder_id": ("老人编号", "Elder no."),
    "welfare.col.name": ("姓名", "Name"),
    "welfare.col.services": ("服务次数", "Services"),
    "welfare.col.service_minutes": ("服务分钟", "Service minutes"),
    "welfare.col.subsidy_due_fen": ("应拨补贴(分)", "Subsidy to pay (fen)"),
    "welfare.col.record_id": ("记录号", "Record no."),
    "welfare.col.verified_services": ("已核验次数", "Verified services"),
    "welfare.col.verified_minutes": ("已核验分钟", "Verified minutes"),
    "welfare.col.provider": ("服务机构", "Provider"),
    "welfare.col.elders_served": ("受助老人数", "Elders served"),
    "welfare.col.paid_services": ("已核验服务次数", "Verified services"),
    "welfare.col.unproven_services": ("未核验次数", "Unproven services"),
    "welfare.col.unproven_subsidy_fen": ("未核验补贴(分)", "Unproven subsidy (fen)"),
    "welfare.col.account": ("额度账户", "Quota account"),
    "welfare.col.period": ("期间", "Period"),
    "welfare.col.granted_fen": ("发放(分)", "Granted (fen)"),
    "welfare.col.used_fen": ("使用(分)", "Used (fen)"),
    "welfare.col.expired_fen": ("清零(分)", "Expired (fen)"),
    "welfare.col.carried_fen": ("结转(分)", "Carried (fen)"),
    "welfare.col.next_advance_fen": ("下期预拨(分)", "Next advance (fen)"),
    "welfare.event.notice_ended": ("公示期满无异议", "public notice ended without objection"),
    # The printable notices (公示 and 审批决定书): Chinese documents, as the statements are.
    "notice.print_hint": (
        "按 Ctrl+P 打印（本行不会打印）",
        "Press Ctrl+P to print (this line is not printed)",
    ),
    "notice.public.title": ("{rule}申请公示", "Public notice: applications for {rule}"),
    "notice.public.body": (
        "经{steps}，下列申请人拟享受{rule}，现予以公示。公示期自{first}至{last}，共{days}天。"
        "如有异议，请在公示期内向{station}或{street}实名反映。",
        "After {steps}, the applicant below is to receive {rule}. The notice runs from {first} "
        "to {last} ({days} days). Objections, with your name, to {station} or {street} within "
        "that time.",
    ),
    "notice.col.name": ("申请人", "Applicant"),
    "notice.col.station": ("所属服务站", "Station"),
    "notice.col.rule": ("申请项目", "Applied for"),
    "notice.col.submitted": ("申请日期", "Applied on"),
    "notice.signed": ("{who}", "{who}"),
    "notice.street_office": ("{street}办事处", "{street} office"),
    "notice.district_office": ("{district}民政局", "{district} civil affairs bureau"),
    "notice.decision.title": ("{rule}审批决定书", "Decision on an application for {rule}"),
    "notice.decision.number": (
        "编号：{district}民养〔{year}〕{id}号",
        "No. {district} {year}/{id}",
    ),
    "notice.decision.to": ("{name}：", "To {name}:"),
    "notice.decision.body": (
        "你于{submitted}提出的{rule}申请，经{steps}，现决定如下：",
        "Your application of {submitted} for {rule}, after {steps}, is decided as follows:",
    ),
    "notice.step.community": ("社区初审", "the community's review"),
    "notice.step.street": ("街道复审", "the street's review"),
    "notice.step.public_notice": ("公示{days}天", "a public notice of {days} days"),
    "notice.step.district": ("区民政部门审核", "the district's review"),
    "notice.step.sep": ("、", ", "),
    "notice.decision.approved": ("予以批准，自{on}起享受。", "Approved, from {on}."),
    "notice.decision.refused": ("不予批准。理由：{reason}", "Refused. Reason: {reason}"),
    "notice.decision.appeal": (
        "如对本决定不服，可以自收到本决定书之日起六十日内依法申请行政复议，或者六个月内依法向人民法院提起行政诉讼。",
        "If you disagree, you may apply for administrative review within sixty days of "
        "receiving this decision, or bring an action in a people's court within six months.",
    ),
    "notice.date": ("{y}年{m}月{d}日", "{y}-{m}-{d}"),
}
