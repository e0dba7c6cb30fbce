"""Help calls: their status for each reader, the dispatcher's reasons, offers, alarms."""

from __future__ import annotations

from server.texts.core import Catalogue

TEXTS: Catalogue = {
    # A help call's status, as the elder reads it on the big screen.
    "status.elder.open": (
        "已收到呼叫，正在为您联系护理员",
        "We have your call and are finding a caregiver",
    ),
    "status.elder.offered": ("正在为您联系护理员", "Contacting a caregiver for you"),
    "status.elder.accepted": (
        "{name}正在赶来，约 {minutes} 分钟",
        "{name} is on the way, about {minutes} min",
    ),
    "status.elder.en_route": (
        "{name}正在赶来，约 {minutes} 分钟",
        "{name} is on the way, about {minutes} min",
    ),
    "status.elder.arrived": ("{name}已到达", "{name} has arrived"),
    "status.elder.resolved": ("已处理完毕", "All taken care of"),
    "status.elder.closed": ("呼叫已结束", "The call has ended"),
    # ... as the family reads it (about their elder, not to them).
    "status.family.open": ("已收到呼叫，正在联系护理员", "Call received, finding a caregiver"),
    "status.family.offered": ("正在联系护理员", "Contacting a caregiver"),
    "status.family.accepted": (
        "{name}已接单，约 {minutes} 分钟到达",
        "{name} accepted, there in about {minutes} min",
    ),
    "status.family.en_route": (
        "{name}正在赶来，约 {minutes} 分钟",
        "{name} is on the way, about {minutes} min",
    ),
    "status.family.arrived": ("{name}已到达", "{name} has arrived"),
    "status.family.resolved": ("已处理完毕", "Taken care of"),
    "status.family.closed": ("呼叫已结束", "The call has ended"),
    # ... as the operator reads it on the console.
    "status.operator.open": ("调度正在寻找护理员", "The dispatcher is looking for a caregiver"),
    "status.operator.offered": (
        "已派给{name}，等待接单",
        "Offered to {name}, waiting for acceptance",
    ),
    "status.operator.accepted": (
        "{name}已接单，预计 {minutes} 分钟到达",
        "{name} accepted, ETA {minutes} min",
    ),
    "status.operator.en_route": (
        "{name}在途，预计 {minutes} 分钟到达",
        "{name} on the way, ETA {minutes} min",
    ),
    "status.operator.arrived": ("{name}已到场", "{name} is on scene"),
    "status.operator.resolved": ("{name}已处理完毕", "Resolved by {name}"),
    "status.operator.closed": ("已关闭：{resolution}", "Closed: {resolution}"),
    # Calls the dispatcher does not handle (no caregiver is sent): never worded as if it did.
    "status.elder.open.family": ("已通知家人，请稍候", "Your family has been told; please wait"),
    "status.elder.open.health": (
        "站里已收到，会给您回电",
        "The station has it and will call you back",
    ),
    "status.elder.open.service": (
        "站里已收到，会给您回电",
        "The station has it and will call you back",
    ),
    "status.family.open.family": ("老人希望您回电", "They would like you to call back"),
    "status.family.open.health": (
        "健康咨询，站里会回电",
        "A health question: the station will call back",
    ),
    "status.family.open.service": (
        "服务请求，站里会回电",
        "A service request: the station will call back",
    ),
    "status.operator.open.family": (
        "已通知家人回电（不派护理员）",
        "The family was asked to call back (no caregiver is sent)",
    ),
    "status.operator.open.health": (
        "健康咨询：请回电（不派护理员）",
        "Health question: call back (no caregiver is sent)",
    ),
    "status.operator.open.service": (
        "服务请求：请回电安排（不派护理员）",
        "Service request: call back to arrange it (no caregiver is sent)",
    ),
    # When the caregiver is not known (yet).
    "someone": ("护理员", "The caregiver"),
    "someone.mid": ("护理员", "the caregiver"),
    # Resolutions an operator closes with.
    "resolution.false_alarm": ("误报", "false alarm"),
    "resolution.test_press": ("测试按键", "test press"),
    "resolution.accidental": ("误触", "pressed by accident"),
    "resolution.handled_by_phone": ("电话已处理", "handled by phone"),
    "resolution.duplicate": ("重复呼叫", "duplicate"),
    "resolution.resolved": ("已处理", "resolved"),
    # Why the dispatcher ranked a caregiver (dispatch.emergency.Reason, by its code and params:
    # the only form a ranking or an offer stores).
    "reason.idle": ("空闲，{trip}{aid}", "idle, {trip}{aid}"),
    "reason.busy_can_break_off": (
        "正在{work}（可中断），约{finish_min}分钟后出发，{again}{trip}{aid}",
        "busy with {work} (can break off), leaves in about {finish_min} min, then {trip}{aid}",
    ),
    "reason.busy_must_finish": (
        "正在{work}（不可中断），还需{finish_min}分钟，{again}{trip}{aid}",
        "busy with {work} (cannot break off) for {finish_min} more min, then {trip}{aid}",
    ),
    "reason.trip.walk": ("步行约{minutes}分钟", "{minutes} min on foot"),
    "reason.trip.ebike": ("骑行约{minutes}分钟", "{minutes} min by e-bike"),
    "reason.trip.car": ("驾车约{minutes}分钟", "{minutes} min by car"),
    "reason.close_by": ("已在附近", "already close by"),
    "reason.again": ("再", ""),
    "reason.first_aid": ("，持急救证", "; first-aid certified"),
    "reason.alone": ("{reason}；无其他人能及时赶到", "{reason}; nobody else can be there in time"),
    "reason.unknown": ("原因不明", "reason unknown"),
    # Offers.
    "offer.manual": ("人工指派：{reason}", "Assigned by hand: {reason}"),
    "offer.no_answer": ("无应答", "no answer in time"),
    # What a caregiver is doing, on the console's list.
    "current.incident": ("紧急呼叫 {name}", "Emergency call: {name}"),
    # lent to a neighbouring station: its elder is not this station's to name
    "current.lent": ("支援{station}紧急呼叫", "Lent to {station}: emergency call"),
    "current.task": ("{title} {name}", "{title}: {name}"),
    # What kind of call came in, on the console's ringing card.
    "call.emergency": ("紧急呼叫", "Emergency call"),
    "call.health": ("健康咨询", "Health advice"),
    "call.service": ("为老服务", "Elder service"),
    "call.family": ("亲情呼叫", "Family call"),
    # Call-backs after a test or accidental press (server/incidents/flows/presses.py).
    "press.call_back_not_reached": (
        "只有联系上老人才能判定为测试或误按",
        "only a call-back that reached the elder can close a press as a test or accident",
    ),
    "press.called_back": ("回拨确认：{outcome}", "called back: {outcome}"),
    "press.task": ("回拨确认测试/误按", "call back to confirm a test or accidental press"),
    "press.task_notes": ("关闭时未记录回拨", "closed without a recorded call-back"),
    # Task titles that are not on the service menu.
    "task.meal_delivery": ("送餐上门", "Meal delivery"),
    "task.call_health": ("健康咨询回电", "Health advice call-back"),
    "task.call_service": ("为老服务需求", "Service need"),
    "task.call_family": ("亲情呼叫：联系家属", "Call the family"),
    "task.emergency": ("紧急呼叫", "Emergency call"),
    "task.service": ("服务", "a service"),
    # Pushes to the elder's family.
    "family.call_requested": ("{name}希望您回电", "{name} would like you to call back"),
    # Alarms for the operator, by kind.
    "alarm.no_caregiver": (
        "{name}：没有在岗且可用的护理员，请人工派单",
        "{name}: no caregiver is available, assign by hand",
    ),
    "alarm.no_caregiver.tried": (
        "{name}：所有护理员都已拒绝或超时，请人工派单",
        "{name}: every caregiver declined or did not answer, assign by hand",
    ),
    "alarm.no_caregiver_in_time": (
        "{name}：没有护理员能在20分钟内到达（最快约{minutes}分钟），请启动升级流程",
        "{name}: nobody can arrive within 20 minutes (fastest about {minutes} min), "
        "start the escalation",
    ),
    "alarm.no_arrival_by_deadline": (
        "20分钟已到，护理员仍未到达，请立即处理",
        "20 minutes have passed and no caregiver has arrived: act now",
    ),
    "alarm.no_arrival_by_deadline.unconfirmed": (
        "20分钟已到，护理员仍未到达（报到位置超出范围且未经确认），请立即处理",
        "20 minutes have passed without a confirmed arrival (the check-in was outside the "
        "geofence and is not confirmed): act now",
    ),
    "alarm.not_accepted": (
        "呼叫已超过{seconds}秒无人接单",
        "Nobody has accepted the call for {seconds} seconds",
    ),
    "alarm.not_accepted.chain": (
        "呼叫无人响应，请值班员立即处理",
        "Nobody has taken this call: act now",
    ),
    "alarm.caregiver_deactivated": (
        "护理员{caregiver}已停用：她的呼叫已退回站里并重新派单，请确认",
        "Caregiver {caregiver} was deactivated: her call is back with the station and offered "
        "again; please check",
    ),
    "alarm.arrival_outside_geofence": (
        "护理员报到位置距老人{distance}米，超出{limit}米，请电话确认后点“确认到达”",
        "The caregiver checked in {distance} m from the elder (more than {limit} m): call, "
        "then confirm the arrival",
    ),
    "alarm.outside_circle": (
        "{name}的呼叫位置在服务圈以外，请人工确认",
        "{name}'s call is outside the service circle: please check",
    ),
    "alarm.planning_stalled": (
        "排班计算未能按时完成（{what}），已改用简易计划，请人工核对",
        "Planning did not finish ({what}); a simple fallback plan is in force, please check",
    ),
    "alarm.complaint_overdue": (
        "投诉#{complaint_id}已超过处理期限",
        "Complaint #{complaint_id} is overdue",
    ),
    "alarm.chain_fallback": (
        "该老人的升级链设置无效，已改用站点/默认升级链，请检查设置",
        "This elder's chain settings do not apply: the station's or the default chain is used",
    ),
    "alarm.advise_120": (
        "紧急呼叫：如为急症请立即拨打120并记录",
        "Medical emergency: call 120 now and record it",
    ),
    "alarm.escalation_head": (
        "仍无人响应，请站长介入",
        "Still nobody responsible: station head, step in",
    ),
    "alarm.escalation_exhausted": (
        "升级链已走完且无人负责，请立即人工处理",
        "The chain is exhausted and nobody is responsible: act now",
    ),
    "alarm.unreachable": (
        "无法联系{name}（所有渠道均无回执）",
        "Could not reach {name} (no channel confirmed delivery)",
    ),
    "alarm.unknown": ("告警：{kind}", "Alarm: {kind}"),
}
