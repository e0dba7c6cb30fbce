"""Every text the server shows a person, by key, in Chinese and in English.

A text is a key and its parameters (``Text``); it renders in either language, and goes out as
``{"key", "params", "zh", "en"}`` so a page shows the half it wants (and an old client that
reads only the Chinese ``text`` field keeps working). Who reads it matters: the elder is told
"正在为您联系护理员", the family "正在联系护理员", the operator "调度正在寻找护理员".

The dispatcher's reasons are stored as data (``reason_code`` and ``reason_params``, from
``dispatch.emergency.Reason``) beside their Chinese wording, and render from the data here. Some
texts were stored as Chinese strings only (rankings and offers from before the reasons were data,
alarm messages written "中文 / English"); ``reason_text`` and ``alarm_text`` read those back
into keys, so old rows show in English too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from dispatch.emergency import WHY_EN, Reason, parse_reason
from server.services.catalogue import SEED_ITEMS

Lang = Literal["zh", "en"]
Audience = Literal["elder", "family", "operator"]

CATALOGUE: dict[str, tuple[str, str]] = {
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
    # Why the dispatcher ranked a caregiver (dispatch.emergency.Reason, by its code). The Chinese
    # reads exactly as Reason.zh(), the wording stored beside the data.
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
    # Offers.
    "offer.manual": ("人工指派：{reason}", "Assigned by hand: {reason}"),
    "offer.no_answer": ("无应答", "no answer in time"),
    # What a caregiver is doing, on the console's list.
    "current.incident": ("紧急呼叫 {name}", "Emergency call: {name}"),
    "current.task": ("{title} {name}", "{title}: {name}"),
    # Task titles that are not on the service menu.
    "task.meal_delivery": ("送餐上门", "Meal delivery"),
    "task.call_health": ("健康咨询回电", "Health advice call-back"),
    "task.call_service": ("为老服务需求", "Service need"),
    "task.call_family": ("亲情呼叫：联系家属", "Call the family"),
    "task.emergency": ("紧急呼叫", "Emergency call"),
    "task.service": ("服务", "a service"),
    # Pushes to the elder's family.
    "family.call_requested": ("{name}希望您回电", "{name} would like you to call back"),
    "push.binding.confirmed": ("家属绑定已确认", "Your family binding was confirmed"),
    "push.binding.requested": ("有家属申请绑定", "A family member asked to be bound"),
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
    "alarm.not_accepted": ("呼叫已超过90秒无人接单", "Nobody has accepted the call for 90 seconds"),
    "alarm.arrival_outside_geofence": (
        "护理员报到位置距老人{distance}米，超出{limit}米",
        "The caregiver reported arrival {distance} m from the elder (more than {limit} m)",
    ),
    "alarm.outside_circle": (
        "{name}的呼叫位置在服务圈以外，请人工确认",
        "{name}'s call is outside the service circle: please check",
    ),
}

# Menu items and other task titles, Chinese to English (titles are stored in Chinese).
TITLES_EN: dict[str, str] = {i.name_zh: i.name_en for i in SEED_ITEMS}
TITLES_EN.update({CATALOGUE[k][0]: CATALOGUE[k][1] for k in CATALOGUE if k.startswith("task.")})
TASK_KIND_KEYS = {
    "meal_delivery": "task.meal_delivery",
    "call_health": "task.call_health",
    "call_service": "task.call_service",
    "call_family": "task.call_family",
}


@dataclass(frozen=True)
class Text:
    """A key and its parameters; a parameter may itself be a Text or a Label (rendered in the
    same language)."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, lang: Lang) -> str:
        zh, en = CATALOGUE[self.key]
        template = zh if lang == "zh" else en
        values = {
            k: v.render(lang) if isinstance(v, Text | Label) else v for k, v in self.params.items()
        }
        return template.format(**values)

    def out(self) -> dict[str, Any]:
        """The JSON a page gets: key and params for clients with their own catalogue, and both
        renderings for the rest."""
        return {
            "key": self.key,
            "params": {
                k: v.out() if isinstance(v, Text | Label) else v for k, v in self.params.items()
            },
            "zh": self.render("zh"),
            "en": self.render("en"),
        }


@dataclass(frozen=True)
class Label:
    """A stored Chinese label inside a text (what a caregiver is busy with): English where it is
    a known title, inside an English sentence ("busy with bathing help")."""

    zh: str

    def render(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else _label_en(self.zh)

    def out(self) -> dict[str, Any]:
        return plain(self.zh, _label_en(self.zh))


def plain(zh: str, en: str | None = None) -> dict[str, Any]:
    """A text without a key (free text typed by a person, or a name): the same in both."""
    return {"key": None, "params": {}, "zh": zh, "en": zh if en is None else en}


def title_en(zh: str) -> str:
    """A task title or work label in English, where it is a known one."""
    if " / " in zh:
        return zh.split(" / ", 1)[1]
    return TITLES_EN.get(zh, zh)


def _label_en(zh: str) -> str:
    """A work label inside an English sentence: "busy with bathing help"."""
    en = title_en(zh)
    return en[:1].lower() + en[1:] if en[:1].isascii() else en


def title_zh(text: str) -> str:
    return text.split(" / ", 1)[0]


# ----- help-call status ---------------------------------------------------------------------


def status_text(
    status: str,
    audience: Audience,
    *,
    name: str | None = None,
    minutes: int | None = None,
    resolution: str | None = None,
) -> Text:
    """What a help call's status means to this reader."""
    key = f"status.{audience}.{status}"
    if key not in CATALOGUE:
        key = f"status.{audience}.open"
    params: dict[str, Any] = {}
    if "{name}" in CATALOGUE[key][0]:
        # "护理员正在赶来" opens a sentence; mid-sentence English wants "the caregiver".
        starts = CATALOGUE[key][1].startswith("{name}")
        params["name"] = name or Text("someone" if starts else "someone.mid")
    if "{minutes}" in CATALOGUE[key][0]:
        params["minutes"] = max(1, minutes or 1)
    if "{resolution}" in CATALOGUE[key][0]:
        res = f"resolution.{resolution or 'resolved'}"
        params["resolution"] = Text(res) if res in CATALOGUE else (resolution or "")
    return Text(key, params)


# ----- stored Chinese texts read back -------------------------------------------------------


def bilingual(text: str) -> dict[str, Any]:
    """A stored "中文 / English" text as both halves (a plain text is the same in both)."""
    if " / " in text:
        zh, en = text.split(" / ", 1)
        return plain(zh.strip(), en.strip())
    return plain(text)


def dispatch_reason(r: Reason) -> Text:
    """The dispatcher's reason for a candidate, from its data."""
    trip = (
        Text(f"reason.trip.{r.mode.value}", {"minutes": r.travel_min})
        if r.travel_min
        else Text("reason.close_by")
    )
    params: dict[str, Any] = {"trip": trip, "aid": Text("reason.first_aid") if r.first_aid else ""}
    if r.code != "idle":
        params.update(
            work=Label(r.busy_with or ""),
            finish_min=r.finish_min,
            again=Text("reason.again") if r.travel_min else "",
        )
    return Text(f"reason.{r.code}", params)


def reason_text(reason: str | None, code: Any = None, params: Any = None) -> dict[str, Any]:
    """A dispatcher's or operator's reason in both languages: from the stored code and params
    where there are (readable) ones, else from the stored text."""
    data = Reason.from_data(code, params) if code is not None else None
    if data is not None:
        return dispatch_reason(data).out()
    reason = reason or ""
    if reason.startswith("人工指派："):
        return Text("offer.manual", {"reason": reason[len("人工指派：") :]}).out()
    # Rankings and offers stored before the reasons were data: read the Chinese back, and
    # keep it as stored (it may be an earlier wording).
    parsed = parse_reason(reason)
    if parsed is not None:
        return {**dispatch_reason(parsed).out(), "zh": reason}
    if reason in WHY_EN:
        return plain(reason, WHY_EN[reason])
    return bilingual(reason)


_ALARM_PARAMS = {
    "no_caregiver_in_time": re.compile(r"^(?P<name>.+?)：.*最快约(?P<minutes>\d+)分钟"),
    "no_caregiver": re.compile(r"^(?P<name>.+?)："),
    "arrival_outside_geofence": re.compile(r"距老人(?P<distance>\d+)米，超出(?P<limit>\d+)米"),
    "outside_circle": re.compile(r"^(?P<name>.+?)的呼叫位置"),
}


def alarm_text(kind: str, message: str) -> dict[str, Any]:
    """An alarm's message in both languages: by its kind where the message's details can be
    read back, else the stored "中文 / English" halves."""
    zh = title_zh(message)
    key = f"alarm.{kind}"
    if kind == "no_caregiver" and "拒绝或超时" in zh:
        key = "alarm.no_caregiver.tried"
    pattern = _ALARM_PARAMS.get(kind)
    if key in CATALOGUE:
        m = pattern.search(zh) if pattern is not None else None
        if pattern is None or m is not None:
            params = m.groupdict() if m is not None else {}
            t = Text(key, params)
            if t.render("zh") == zh:
                return t.out()
            return {**t.out(), "zh": zh}
    return bilingual(message)


# ----- pushes ---------------------------------------------------------------------------------


def push_text(type_: str, payload: Mapping[str, Any], audience: Audience) -> Text | None:
    """The text a pushed message carries for this reader, if it carries one."""
    if type_ == "incident.status":
        return status_text(
            str(payload.get("status", "open")),
            audience,
            name=payload.get("caregiver_name"),
            minutes=payload.get("eta_minutes"),
            resolution=payload.get("resolution"),
        )
    if type_ == "family.call_requested":
        return Text("family.call_requested", {"name": payload.get("elder_name") or ""})
    return None


def with_text(type_: str, payload: dict[str, Any], audience: Audience) -> dict[str, Any]:
    """The payload with ``text`` (Chinese, as old clients read it) and ``text_i18n``."""
    t = push_text(type_, payload, audience)
    if t is None:
        return payload
    return {**payload, "text": t.render("zh"), "text_i18n": t.out()}
