"""The console's serialisers: rows of every domain to the JSON the pages draw, each text in
its reader's wording and in both languages."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from schemas.incidents import IncidentStatus as IS
from server.auth.principal import Principal, Role
from server.clock import SHANGHAI
from server.incidents.model import ACTIVE_STATES
from server.incidents.out import nobody_else, offer_reason
from server.texts import (
    TASK_KIND_KEYS,
    Audience,
    Lang,
    Text,
    alarm_text,
    bilingual,
    plain,
    push_text,
    reason_text,
    render,
    status_text,
    title_en,
    title_zh,
)

# Closed without anyone needing to be there: not judged against the 20 minutes.
NOT_JUDGED: Final = ("false_alarm", "test_press", "accidental", "duplicate", "handled_by_phone")
FALSE_ALARMS: Final = ("false_alarm", "test_press", "accidental")
VISIT_KINDS: Final = ("visit", "service", "check")
BINDING_PUSHES: Final = ("binding.confirmed", "binding.requested")


def iso(v: datetime | None) -> str | None:
    """A time as the pages read it (ISO 8601), or None."""
    return v.isoformat() if v else None


def pct(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (linear between ranks), to a tenth; None without values."""
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return round(s[lo] + (s[hi] - s[lo]) * (k - lo), 1)


def audience(p: Principal) -> Audience:
    """Whose wording a caller reads: the elder's, the family's, or the operator's."""
    return "elder" if p.role is Role.ELDER else "family" if p.role is Role.FAMILY else "operator"


# ----- tasks --------------------------------------------------------------------------------


def task_title(kind: str, title: str) -> dict[str, Any]:
    """A task's title in both languages (titles are stored in Chinese, some as "中文 / English")."""
    key = TASK_KIND_KEYS.get(kind)
    if key is not None:
        return Text(key).out()
    return plain(title_zh(title), title_en(title))


def with_name(title: dict[str, Any], name: str | None) -> dict[str, Any]:
    """ "助浴 王秀英" / "Bathing help: 王秀英" (the title as it is, capital and all)."""
    if not name:
        return title
    return {
        "key": "current.task",
        "params": {"title": title, "name": name},
        "zh": render("current.task", "zh", title=title["zh"], name=name),
        "en": render("current.task", "en", title=title["en"], name=name),
    }


def task_out(t: Any, elder_name: str | None = None) -> dict[str, Any]:
    """A task on a caregiver's or an elder's day."""
    return {
        "id": t.id,
        "kind": t.kind,
        "title": t.title,
        "title_i18n": task_title(t.kind, t.title),
        "status": t.status,
        "priority": t.priority,
        "elder_id": t.elder_id,
        "elder_name": elder_name,
        "caregiver_id": t.caregiver_id,
        "window_start": iso(t.window_start),
        "window_end": iso(t.window_end),
        "planned_start": iso(t.planned_start),
        "started_at": iso(t.started_at),
        "finished_at": iso(t.finished_at),
        "duration_s": t.duration_s,
        "lat": t.lat,
        "lng": t.lng,
        "notes": t.notes,
    }


def task_order(t: Any) -> tuple[Any, ...]:
    """Route order: planned (or window) start, unplanned last."""
    when = t.planned_start or t.window_start
    return (when is None, when or datetime.max.replace(tzinfo=SHANGHAI), t.id)


def next_out(t: Any) -> dict[str, Any] | None:
    """A caregiver's next task, with the elder's name."""
    if t is None:
        return None
    title = with_name(task_title(t.kind, t.title), t.elder_name)
    return {
        "id": t.id,
        "title": title["zh"],
        "title_i18n": title,
        "at": iso(t.planned_start or t.window_start),
    }


# ----- caregivers on the board --------------------------------------------------------------


def _current(
    kind: str, id_: int, title: dict[str, Any], status: str, **more: Any
) -> dict[str, Any]:
    return {
        "type": kind,
        "id": id_,
        "title": title["zh"],
        "title_i18n": title,
        "status": status,
        **more,
    }


def _call_title(call: Any, home: int) -> dict[str, Any]:
    """A call she is on or offered: the elder by name at her own station; at a neighbour's
    that lent her, only that station (its elders are not this station's to see)."""
    if call.station_id != home:
        return Text("current.lent", {"station": call.at}).out()
    return Text("current.incident", {"name": call.elder_name}).out()


def _doing(
    inc: Any, task: Any, offer: Any, home: int
) -> tuple[str | None, dict[str, Any] | None, Any]:
    """What a caregiver of station ``home`` is doing now: (status, current, eta) — their
    incident, else their task; an offer waiting for an answer matters more than either."""
    status, current, eta = None, None, None
    if inc is not None:
        status = "serving" if inc.status == IS.ARRIVED else "travelling"
        current = _current("incident", inc.id, _call_title(inc, home), inc.status)
        current |= _lent(inc, home)
        eta = iso(inc.eta_at) if inc.status != IS.ARRIVED else None
    elif task is not None:
        status = "serving" if task.status == "in_progress" else "travelling"
        title = with_name(task_title(task.kind, task.title), task.elder_name)
        current = _current("task", task.id, title, task.status)
    if offer is not None and inc is None:
        # An offer waiting for an answer is what matters most about this caregiver now.
        status = "offered"
        current = _current(
            "offer",
            offer.incident_id,
            _call_title(offer, home),
            "offered",
            expires_at=iso(offer.expires_at),
            task=current,
            **_lent(offer, home),
        )
    return status, current, eta


def _lent(call: Any, home: int) -> dict[str, Any]:
    """Where she is lent to, when the call is a neighbouring station's."""
    return (
        {"lent_to": {"station_id": call.station_id, "name": call.at}}
        if call.station_id != home
        else {}
    )


def caregiver_card(c: Any, inc: Any, offer: Any, mine: Sequence[Any]) -> dict[str, Any]:
    """One caregiver on the board: where, doing what, what next (``mine``: their open tasks
    of the day in route order)."""
    task = next((t for t in mine if t.status in ("in_progress", "en_route")), None)
    upcoming = [t for t in mine if t is not task and t.status in ("open", "planned")]
    status, current, eta = _doing(inc, task, offer, c.station_id)
    return {
        "id": c.id,
        "name": c.name,
        "on_duty": c.on_duty,
        "status": status or ("idle" if c.on_duty else "off_duty"),
        "travel_mode": c.travel_mode,
        "skills": list(c.skills),
        "location": {"lat": c.lat, "lng": c.lng} if c.lat is not None else None,
        "located_at": iso(c.located_at),
        "current": current,
        "eta_at": eta,
        "next": next_out(upcoming[0] if upcoming else None),
        "tasks_left": len(upcoming),
    }


# ----- today's figures ----------------------------------------------------------------------


def _call_figures(rows: Sequence[Any], now: datetime, sla_s: int) -> dict[str, Any]:
    """Help calls of the day: how many, how fast accepted and on scene."""
    by_kind: dict[str, int] = {}
    for r in rows:
        by_kind[r.kind] = by_kind.get(r.kind, 0) + 1
    emergencies = [r for r in rows if r.kind == "emergency"]
    to_accept = [
        (r.accepted_at - r.opened_at).total_seconds() for r in emergencies if r.accepted_at
    ]
    to_arrive = [(r.arrived_at - r.opened_at).total_seconds() for r in emergencies if r.arrived_at]
    # On scene within 20 minutes, among emergencies that either arrived or whose deadline passed
    # (false alarms closed before the deadline are not counted).
    judged = [
        r
        for r in emergencies
        if r.arrived_at is not None
        or (r.deadline_at is not None and r.deadline_at <= now and r.resolution not in NOT_JUDGED)
    ]
    in_time = [
        r
        for r in judged
        if r.arrived_at is not None and (r.arrived_at - r.opened_at).total_seconds() <= sla_s
    ]
    return {
        "calls": len(rows),
        "by_kind": by_kind,
        "emergencies": len(emergencies),
        "open": sum(1 for r in rows if r.status in ACTIVE_STATES),
        "false_alarms": sum(1 for r in rows if r.resolution in FALSE_ALARMS),
        "accept_median_s": pct(to_accept, 0.5),
        "accept_p90_s": pct(to_accept, 0.9),
        "arrive_median_s": pct(to_arrive, 0.5),
        "arrive_p90_s": pct(to_arrive, 0.9),
        "on_scene_in_time": len(in_time),
        "on_scene_judged": len(judged),
        "on_scene_share": round(len(in_time) / len(judged), 3) if judged else None,
    }


def _task_figures(day_tasks: Sequence[Any]) -> dict[str, Any]:
    """Meals and visits of the day: how many, how many done (meals: on time)."""
    meals = [t for t in day_tasks if t.kind == "meal_delivery"]
    meals_done = [t for t in meals if t.status == "done"]
    meals_on_time = [
        t for t in meals_done if t.finished_at and t.window_end and t.finished_at <= t.window_end
    ]
    visits = [t for t in day_tasks if t.kind in VISIT_KINDS]
    return {
        "meals": len(meals),
        "meals_done": len(meals_done),
        "meals_on_time": len(meals_on_time),
        "visits": len(visits),
        "visits_done": sum(1 for t in visits if t.status == "done"),
    }


def _hours(
    start: datetime,
    rows: Sequence[Any],
    day_tasks: Sequence[Any],
    shifts: dict[int, list[tuple[int, int]]],
) -> list[dict[str, int]]:
    """Hour by hour: calls, calls and tasks due, caregivers on shift."""
    hours = []
    for h in range(24):
        h0 = start + timedelta(hours=h)
        h1 = h0 + timedelta(hours=1)
        calls = sum(1 for r in rows if h0 <= r.opened_at < h1)
        load = calls + sum(
            1
            for t in day_tasks
            if t.window_start and h0 <= t.window_start < h1 and t.status != "cancelled"
        )
        staff = sum(1 for c in shifts if any(a <= h * 3600 < b for a, b in shifts[c]))
        hours.append({"hour": h, "calls": calls, "load": load, "staff": staff})
    return hours


def today_out(
    *,
    start: datetime,
    now: datetime,
    sla_s: int,
    calls: Sequence[Any],
    day_tasks: Sequence[Any],
    caregivers: Sequence[Any],
    shifts: dict[int, list[tuple[int, int]]],
    cover: dict[str, Any] | None,
) -> dict[str, Any]:
    """Today's figures for the station's board."""
    return {
        "date": start.date().isoformat(),
        **_call_figures(calls, now, sla_s),
        **_task_figures(day_tasks),
        "caregivers_on_duty": sum(1 for c in caregivers if c.on_duty),
        "caregivers": len(caregivers),
        "hours": _hours(start, calls, day_tasks, shifts),
        # Emergency cover of today's plan in force (the planner's figure): minutes in which
        # some high-risk elder had nobody within 20 minutes; None before a plan has it.
        "cover_gap_min": cover.get("uncovered_minutes") if cover else None,
        "cover_elder_min": cover.get("elder_minutes") if cover else None,
        "cover_elders": cover.get("elders") if cover else None,
    }


# ----- incidents, offers, alarms ------------------------------------------------------------


def offer_out(r: Any) -> dict[str, Any]:
    """An incident's pending offer, with the dispatcher's reason as data."""
    return {
        "offer_id": r.id,
        "caregiver_id": r.caregiver_id,
        "caregiver_name": r.caregiver_name,
        "expires_at": iso(r.expires_at),
        "eta_s": r.eta_s,
        "manual": r.manual,
        **offer_reason(r),
    }


def _reason(d: dict[str, Any]) -> dict[str, Any]:
    return reason_text(d.get("reason"), d.get("reason_code"), d.get("reason_params"))


def texts(
    d: dict[str, Any], audience: Audience, offer: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An incident as this reader should read it: its status in their wording (``status_text``
    in Chinese, ``status_text_i18n`` in both), and every stored reason and message in both."""
    name = (
        offer["caregiver_name"] if d["status"] == IS.OFFERED and offer else d.get("caregiver_name")
    )
    t = status_text(
        d["status"],
        audience,
        name=name,
        minutes=d.get("eta_minutes"),
        resolution=d.get("resolution"),
        kind=d.get("kind"),
    ).out()
    d["status_text"], d["status_text_i18n"] = t["zh"], t
    for c in d.get("candidates") or []:
        c["reason_i18n"] = _reason(c)
    for e in d.get("timeline") or []:
        data = e.get("data") or {}
        if isinstance(data.get("reason"), str):
            data["reason_i18n"] = _reason(data)
        if isinstance(data.get("alarm"), str):
            said = alarm_text(data["alarm"], data.get("params"))
            data["message"], data["message_i18n"] = said.render("zh"), said.out()
    if offer is not None:
        offer["reason_i18n"] = _reason(offer)
    return d


def alarm_out(a: Any) -> dict[str, Any]:
    """An alarm on the board, in both languages."""
    return {
        "id": a.id,
        "incident_id": a.incident_id,
        "kind": a.kind,
        "message": alarm_text(a.kind, a.params).render("zh"),
        "message_i18n": alarm_text(a.kind, a.params).out(),
        "raised_at": iso(a.raised_at),
    }


# ----- stations, elders, caregivers' own pages ----------------------------------------------


def station_card(st: Any) -> dict[str, Any]:
    """The station the board is centred on."""
    return {
        "id": st.id,
        "name": st.name,
        "address": st.address,
        "center": {"lat": st.lat, "lng": st.lng},
        "radius_m": st.circle_radius_m,
        "circle_minutes": st.circle_minutes,
        "kitchen": st.kitchen,
        "phone": st.phone,
    }


def elder_pin(e: Any) -> dict[str, Any]:
    """An elder on the board's map."""
    return {
        "id": e.id,
        "name": e.name,
        "lat": e.lat,
        "lng": e.lng,
        "high_risk": e.high_risk,
        "care_level": e.care_level,
        "living": e.living,
    }


def elder_brief(e: Any) -> dict[str, Any]:
    """What an operator needs about the elder beside an incident."""
    return {
        "id": e.id,
        "name": e.name,
        "address": e.address,
        "access_notes": e.access_notes,
        "care_level": e.care_level,
        "living": e.living,
        "high_risk": e.high_risk,
        "health_notes": e.health_notes,
    }


def offered_to_me(o: Any) -> dict[str, Any]:
    """An offer on the caregiver's own page: where to, and until when to answer."""
    return {
        "id": o.id,
        "incident_id": o.incident_id,
        "kind": o.kind,
        "elder_name": o.elder_name,
        "address": o.address,
        "access_notes": o.access_notes,
        "lat": o.lat,
        "lng": o.lng,
        "eta_s": o.eta_s,
        "offered_at": iso(o.offered_at),
        "expires_at": iso(o.expires_at),
        "deadline_at": iso(o.deadline_at),
        # asked again: nobody else can be there in time (dispatch.emergency.ask_again)
        "nobody_else": nobody_else(o.reason_params),
    }


# ----- notifications ------------------------------------------------------------------------


def notification_text(type_: str, payload: dict[str, Any], who: Audience) -> dict[str, Any]:
    """Rows written before pushes carried ``text_i18n``: render them now."""
    t = push_text(type_, payload, who)
    if t is not None:
        return t.out()
    if type_ in BINDING_PUSHES:
        return Text(f"push.{type_}").out()
    return bilingual(str(payload.get("text") or ""))


def notification_out(r: Any, who: Audience) -> dict[str, Any]:
    """One pushed message a person reads, with its text in both languages."""
    payload = r.payload or {}
    text = payload.get("text_i18n") or notification_text(r.type, payload, who)
    return {
        "seq": r.seq,
        "type": r.type,
        "at": iso(r.created_at),
        "incident_id": payload.get("incident_id"),
        "status": payload.get("status"),
        "text": text["zh"],
        "text_i18n": text,
    }


def first_start_page() -> str:
    """The console of a database with no station: what to run, in Chinese then English."""
    from html import escape

    from server.texts.console import FIRST_START_COMMANDS

    def part(lang: Lang) -> str:
        steps = "".join(
            f"<h2>{escape(render(key, lang))}</h2><pre>{escape(cmd)}</pre>"
            for key, cmd in FIRST_START_COMMANDS.items()
        )
        return (
            f'<section lang="{"zh-CN" if lang == "zh" else "en"}">'
            f"<h1>{escape(render('first_start.heading', lang))}</h1>"
            f"<p>{escape(render('first_start.lead', lang))}</p>{steps}"
            f"<p>{escape(render('first_start.demo', lang))}</p></section>"
        )

    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(render('first_start.title', 'zh'))}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;"
        "padding:0 1rem;line-height:1.6;color:#1b2330}pre{background:#f3f5f8;padding:.75rem;"
        "overflow-x:auto;border-radius:6px}section+section{margin-top:3rem;border-top:1px solid"
        ' #dde2ea;padding-top:1rem}</style></head><body id="first-start">'
        f"{part('zh')}{part('en')}</body></html>"
    )
