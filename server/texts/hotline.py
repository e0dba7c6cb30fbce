"""The hotline: calls, the escalation chain, alerts and follow-up."""

from __future__ import annotations

from server.texts.core import Catalogue

TEXTS: Catalogue = {
    "sms.station_alarm": ("【安心】服务站告警：{alarm}", "[Anxin] Station alarm: {alarm}"),
    # Who a caller or a person the chain calls is to the elder (stored as said in Chinese).
    "hotline.relation.self": ("本人", "self"),
    "hotline.relation.home_line": ("家中座机", "home line"),
    "hotline.match.elsewhere": ("在其他站登记的老人", "registered at another station"),
    "hotline.relation.family": ("家属", "family"),
    "hotline.relation.neighbour": ("邻居", "neighbour"),
    "hotline.relation.doctor": ("家庭医生", "family doctor"),
    "hotline.relation.duty": ("值班员", "operator on duty"),
    "hotline.relation.head": ("站长", "station head"),
    # The chain's steps, as the console's "escalation.step" says them.
    "hotline.step.operator_alarm": ("电话通知值班员", "calling the operator on duty"),
    "hotline.step.neighbour_call": ("联系签约邻居", "calling the neighbour"),
    "hotline.step.family_call": ("联系家属", "calling the family"),
    "hotline.step.head_alarm": ("通知站长", "alerting the station head"),
    "hotline.step.doctor_call": ("联系家庭医生", "calling the family doctor"),
    "hotline.step.line": ("{title}：{detail}", "{title}: {detail}"),
    "hotline.step.nobody": ("无可联系人", "nobody on file"),
    # Responsibility taken or given back.
    "hotline.ack.going": ("{name}已确认前往", "{name} is taking care of it"),
    "hotline.ack.operator": (
        "{name}已确认告警，不再通知站长",
        "{name} acknowledged: the head is not called",
    ),
    "hotline.withdrawn": ("{name}无法前往，继续升级", "{name} cannot go: escalating"),
    # What the neighbour, the family and the doctor receive (SMS, voice, app).
    "hotline.sms.emergency": (
        "【安心】{name}（{address}）发出紧急呼叫，护理员尚未到达。请尽快前往或回电{phone}。",
        "[Anxin] {name} ({address}) called for help and no caregiver has arrived yet. "
        "Please go, or call {phone}.",
    ),
    "hotline.the_station": ("服务站", "the station"),
    "hotline.address_after_accept": (
        "点链接确认前往后显示地址",
        "address shown once you say you go",
    ),
    "hotline.sms.link": ("{text} 能去请点：{link}", "{text} If you can go, tap: {link}"),
    # Tasks the hotline makes, and why it cancels one.
    "hotline.task.missed_call": ("未接来电回拨 {caller}", "call back a missed call"),
    "hotline.task.quarterly_visit": ("{quarter} 季度回访", "quarterly return visit"),
    "hotline.task.service_visit": (
        "{quarter} 服务回访：{item}（记录 #{record}）",
        "{quarter} return visit about a service: {item} (record #{record})",
    ),
    "hotline.task.answered_after_all": (
        "来电已接听（事件迟到）",
        "the call was answered after all",
    ),
    "hotline.task.visit_recorded": ("敲门已补录", "the visit was recorded after all"),
    "hotline.device_note": ("设备 {device_id}", "device {device_id}"),
    # The page behind the SMS link.
    "hotline.page.title": ("安心 · 紧急呼叫", "Anxin emergency"),
    "hotline.page.heading": ("安心 · 紧急呼叫", "Anxin · emergency call"),
    "hotline.page.ask": ("请告诉服务站您能否前往。", "Please tell the station whether you can go."),
    "hotline.page.going": (
        "谢谢！服务站已知道您正在前往。如果去不了，请直接打电话给服务站。",
        "Thank you: the station knows you are on your way. If you cannot go after all, "
        "please phone the station.",
    ),
    "hotline.page.declined": (
        "已告诉服务站您去不了，我们会联系其他人。",
        "The station knows you cannot go and is calling someone else.",
    ),
    "hotline.page.over": ("这次呼叫已处理完毕，谢谢您。", "This call has been handled. Thank you."),
    "hotline.page.already": (
        "您已经回答过了，不能更改。如有变化，请直接打电话给服务站。",
        "You have already answered; it cannot be changed here. Please phone the station.",
    ),
    "hotline.page.invalid": (
        "链接无效或已过期，请直接致电服务站。",
        "This link is not valid: please call the station.",
    ),
    "hotline.page.accept": ("我去看看", "I'm going"),
    "hotline.page.decline": ("我去不了", "I can't"),
}
