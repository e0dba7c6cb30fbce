"""Every text the server shows a person, by key, in Chinese and in English.

A text is a key and its parameters (``Text``); it renders in either language, and goes out as
``{"key", "params", "zh", "en"}`` so a page shows the half it wants (and an old client that
reads only the Chinese ``text`` field keeps working). Who reads it matters: the elder is told
"正在为您联系护理员", the family "正在联系护理员", the operator "调度正在寻找护理员".

The sentences live in one module per domain beside this one (``help_calls``, ``registry``,
``hotline``, ``services``, ``welfare``, ``errors``), merged here into one catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from dispatch.emergency import Reason
from server.services.catalogue import SEED_ITEMS
from server.texts import (
    console,
    core,
    errors,
    help_calls,
    hotline,
    planning,
    platform,
    programmes,
    providers,
    registry,
    services,
    tasks,
    welfare,
)
from server.texts.core import (
    CATALOGUE,
    TITLES_EN,
    Audience,
    Label,
    Lang,
    Text,
    plain,
    render,
    text,
    title_en,
)

__all__ = [
    "CATALOGUE",
    "Audience",
    "Label",
    "Lang",
    "Text",
    "plain",
    "render",
    "text",
    "title_en",
]

CATALOGUE.update(
    core.merge(
        help_calls.TEXTS,
        registry.TEXTS,
        hotline.TEXTS,
        services.TEXTS,
        welfare.TEXTS,
        providers.TEXTS,
        tasks.TEXTS,
        planning.TEXTS,
        console.TEXTS,
        programmes.TEXTS,
        errors.TEXTS,
        platform.TEXTS,
    )
)

# Menu items and other task titles, Chinese to English (titles are stored in Chinese).
TITLES_EN.update({i.name_zh: i.name_en for i in SEED_ITEMS})
TITLES_EN.update({CATALOGUE[k][0]: CATALOGUE[k][1] for k in CATALOGUE if k.startswith("task.")})
TASK_KIND_KEYS = {
    "meal_delivery": "task.meal_delivery",
    "call_health": "task.call_health",
    "call_service": "task.call_service",
    "call_family": "task.call_family",
}


def title_zh(text: str) -> str:
    return text.split(" / ", 1)[0]


def zh_en(key: str, **params: Any) -> str:
    """A text as one "中文 / English" string, for what is stored or sent that way (a task's
    title and notes, an error message that reads in both)."""
    t = Text(key, params)
    return f"{t.render('zh')} / {t.render('en')}"


# ----- help-call status ---------------------------------------------------------------------


def status_text(
    status: str,
    audience: Audience,
    *,
    name: str | None = None,
    minutes: int | None = None,
    resolution: str | None = None,
    kind: str | None = None,
) -> Text:
    """What a help call's status means to this reader. A call the dispatcher does not handle
    (a family, health or service call: ``kind``) has its own wording while it is open."""
    key = f"status.{audience}.{status}"
    if kind and f"{key}.{kind}" in CATALOGUE:
        key = f"{key}.{kind}"
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


# ----- stored "中文 / English" texts ---------------------------------------------------------


def bilingual(text: str) -> dict[str, Any]:
    """A stored "中文 / English" text as both halves (a plain text is the same in both)."""
    if " / " in text:
        zh, en = text.split(" / ", 1)
        return plain(zh.strip(), en.strip())
    return plain(text)


# ----- reasons ------------------------------------------------------------------------------
# An offer's reason is stored as a code and parameters only: the dispatcher's (a
# dispatch.emergency.Reason: idle, busy_can_break_off, busy_must_finish), the operator's
# ("manual", with the reason they typed), or an offer that lapsed ("no_answer").


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
            work=Label(r.busy_with) if r.busy_with else Text("task.service"),
            finish_min=r.finish_min,
            again=Text("reason.again") if r.travel_min else "",
        )
    said = Text(f"reason.{r.code}", params)
    # asked again though she did not take the call: nobody else can be there in time
    return Text("reason.alone", {"reason": said}) if r.alone else said


def reason_of(code: Any, params: Any) -> Text | None:
    """A stored reason's text, or None where the code and params do not read as one."""
    if code == "manual":
        said = params.get("reason") if isinstance(params, Mapping) else None
        return Text("offer.manual", {"reason": said}) if isinstance(said, str) else None
    if code == "no_answer":
        return Text("offer.no_answer")
    data = Reason.from_data(code, params)
    return dispatch_reason(data) if data is not None else None


def reason_text(reason: str | None, code: Any = None, params: Any = None) -> dict[str, Any]:
    """A reason in both languages: from its code and params where they read as one, else the
    text the caller has (free text a person typed, the same in both), else "reason unknown".
    Nothing is read back out of a Chinese sentence."""
    said = reason_of(code, params) if code is not None else None
    if said is not None:
        return said.out()
    return plain(reason) if reason else Text("reason.unknown").out()


def reason_zh(code: Any, params: Any) -> str:
    """A stored reason in Chinese, as pages that read one language show it ("" if it does
    not read)."""
    said = reason_of(code, params)
    return said.render("zh") if said is not None else ""


def alarm_key(kind: str, params: Mapping[str, Any]) -> str:
    """The catalogue key of an alarm: by its kind (``unreachable:<person>`` is one kind per
    person) and, where the wording differs, its ``variant``."""
    base = f"alarm.{kind.split(':', 1)[0]}"
    variant = params.get("variant")
    key = f"{base}.{variant}" if variant else base
    return key if key in CATALOGUE else base


def alarm_text(kind: str, params: Mapping[str, Any] | None) -> Text:
    """An alarm's text for every reader, from its kind and parameters."""
    values = {k: v for k, v in (params or {}).items() if k != "variant"}
    key = alarm_key(kind, params or {})
    if key not in CATALOGUE:
        return Text("alarm.unknown", {"kind": kind})
    return Text(key, values)


# ----- problems -------------------------------------------------------------------------------

WEEKDAYS: Final = ("一", "二", "三", "四", "五", "六", "日")
WEEKDAYS_EN: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def problem_text(code: str, extra: Mapping[str, Any]) -> Text:
    """A problem's title for every reader, from its code and the answer's own fields (the wait
    of a locked account, the hours a service is offered)."""
    key = f"error.{code}"
    if key not in CATALOGUE:
        for family in ("not_found", "state_conflict", "changed"):
            if code.endswith(f"_{family}"):
                return Text(f"error.{family}")
        return Text("error.unknown", {"code": code})
    params: dict[str, Any] = {}
    template = CATALOGUE[key][0]
    if "{minutes}" in template:
        params["minutes"] = max(1, -(-int(extra.get("retry_after_s") or 60) // 60))
    if "{opens}" in template:
        params["opens"] = extra.get("opens", "")
        params["closes"] = extra.get("closes", "")
        days = sorted(int(d) for d in extra.get("days") or range(7))
        params["days"] = Label(
            "每天" if len(days) == 7 else "每周" + "、".join(WEEKDAYS[d] for d in days),
            "daily" if len(days) == 7 else ", ".join(WEEKDAYS_EN[d] for d in days),
        )
    return Text(key, params)


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
            kind=payload.get("kind"),
        )
    if type_ == "family.call_requested":
        return Text("family.call_requested", {"name": payload.get("elder_name") or ""})
    return None
