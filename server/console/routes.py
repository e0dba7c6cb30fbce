"""The operator's console and the phone-sized pages (H5), plus the few read-only JSON views
they need beyond the core API: the live board snapshot, today's figures, a caregiver's day
and an elder's day. Static files live in ``console/`` and are served as they are (no build)."""

from __future__ import annotations

import math
import os
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select

from server.auth.principal import Principal, Role
from server.clock import SHANGHAI
from server.errors import ApiError
from server.http import caller, int_param, ok, platform, require
from server.incidents.model import ACTIVE_STATES
from server.incidents.out import offer_reason
from server.incidents.tables import alarms, incidents, offers
from server.incidents.views import incident_out
from server.registry.guards import elder_for
from server.registry.tables import caregivers, elders, stations
from server.store.tables import push_messages
from server.tasks.tables import tasks
from server.texts import (
    TASK_KIND_KEYS,
    Audience,
    Text,
    alarm_text,
    bilingual,
    plain,
    push_text,
    reason_text,
    status_text,
    title_en,
    title_zh,
)

CONSOLE_DIR = Path(__file__).resolve().parents[2] / "console"

PAGES = {
    "/console": "console.html",
    "/m/elder": "elder.html",
    "/m/family": "family.html",
    "/m/caregiver": "caregiver.html",
}

NO_CACHE = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
# Everything is served from here: no CDN, no inline scripts. Images may come from a tile server.
PAGE_HEADERS = {
    **NO_CACHE,
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: https: http:; connect-src 'self'; frame-ancestors 'self'"
    ),
}
TILE_URL: list[str | None] = [None]  # read once, when the routes are built
ACTIVE_TASK = ("open", "planned", "en_route", "in_progress")
# The station's own phone work about an elder (call-backs, device checks): not a visit or a
# meal, so not on the elder's or the family's "today".
STATION_SIDE = ("return_call", "device")


def _page(filename: str) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        path = CONSOLE_DIR / filename
        if not path.is_file():
            raise ApiError(404, "not_found", "page not installed")
        return web.FileResponse(path, headers=PAGE_HEADERS)

    return handler


ASSETS = CONSOLE_DIR / "assets"
TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".wav": "audio/wav",
    ".json": "application/json",
}


async def _asset(request: web.Request) -> web.StreamResponse:
    """A static file under console/assets (never outside it)."""
    name = request.match_info.get("path", "")
    root = ASSETS.resolve()
    path = (root / name).resolve()
    if root not in path.parents or not path.is_file() or path.suffix not in TYPES:
        raise ApiError(404, "not_found", "no such file")
    return web.FileResponse(path, headers={**NO_CACHE, "Content-Type": TYPES[path.suffix]})


async def _redirect_console(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/console")


# ----- helpers ------------------------------------------------------------------------------


def _station_of(request: web.Request, p: Principal) -> int:
    """The operator's own station; an admin names one (or gets the first)."""
    if p.role is Role.ADMIN:
        raw = request.query.get("station_id")
        if raw:
            try:
                return int(raw)
            except ValueError as exc:
                raise ApiError(422, "bad_station_id", "station_id must be an integer") from exc
        return 0
    if p.station_id is None:
        raise ApiError(403, "forbidden", "no station in scope")
    return p.station_id


async def _station_row(conn: Any, sid: int) -> Any:
    stmt = (
        select(stations).order_by(stations.c.id).limit(1)
        if sid == 0
        else select(stations).where(stations.c.id == sid)
    )
    row = (await conn.execute(stmt)).first()
    if row is None:
        raise ApiError(404, "station_not_found", "station not found")
    return row


def _iso(v: datetime | None) -> str | None:
    return v.isoformat() if v else None


def _day_bounds(now: datetime) -> tuple[datetime, datetime]:
    local = now.astimezone(SHANGHAI)
    start = datetime.combine(local.date(), time(0), tzinfo=SHANGHAI)
    return start, start + timedelta(days=1)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return round(s[lo] + (s[hi] - s[lo]) * (k - lo), 1)


def task_title(kind: str, title: str) -> dict[str, Any]:
    """A task's title in both languages (titles are stored in Chinese, some as "中文 / English")."""
    key = TASK_KIND_KEYS.get(kind)
    if key is not None:
        return Text(key).out()
    return plain(title_zh(title), title_en(title))


def _with_name(title: dict[str, Any], name: str | None) -> dict[str, Any]:
    """ "助浴 王秀英" / "Bathing help: 王秀英"."""
    if not name:
        return title
    return {
        "key": "current.task",
        "params": {"title": title, "name": name},
        "zh": f"{title['zh']} {name}",
        "en": f"{title['en']}: {name}",
    }


def _task_out(t: Any, elder_name: str | None = None) -> dict[str, Any]:
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
        "window_start": _iso(t.window_start),
        "window_end": _iso(t.window_end),
        "planned_start": _iso(t.planned_start),
        "started_at": _iso(t.started_at),
        "finished_at": _iso(t.finished_at),
        "duration_s": t.duration_s,
        "lat": t.lat,
        "lng": t.lng,
        "notes": t.notes,
    }


def _task_order(t: Any) -> tuple[Any, ...]:
    when = t.planned_start or t.window_start
    return (when is None, when or datetime.max.replace(tzinfo=SHANGHAI), t.id)


async def _caregivers_view(conn: Any, sid: int, now: datetime) -> list[dict[str, Any]]:
    cgs = (
        await conn.execute(
            select(caregivers)
            .where(caregivers.c.station_id == sid, caregivers.c.active.is_(True))
            .order_by(caregivers.c.id)
        )
    ).all()
    start, end = _day_bounds(now)
    live = (
        await conn.execute(
            select(incidents, elders.c.name.label("elder_name"))
            .join(elders, elders.c.id == incidents.c.elder_id)
            .where(
                incidents.c.station_id == sid,
                incidents.c.caregiver_id.is_not(None),
                incidents.c.status.in_(("accepted", "en_route", "arrived")),
            )
        )
    ).all()
    day_tasks = (
        await conn.execute(
            select(tasks, elders.c.name.label("elder_name"))
            .outerjoin(elders, elders.c.id == tasks.c.elder_id)
            .where(
                tasks.c.station_id == sid,
                tasks.c.caregiver_id.is_not(None),
                tasks.c.status.in_(ACTIVE_TASK),
                (tasks.c.window_start.is_(None)) | (tasks.c.window_start < end),
            )
        )
    ).all()
    pending = (
        await conn.execute(
            select(
                offers.c.caregiver_id,
                offers.c.incident_id,
                offers.c.expires_at,
                elders.c.name.label("elder_name"),
            )
            .join(incidents, incidents.c.id == offers.c.incident_id)
            .join(elders, elders.c.id == incidents.c.elder_id)
            .where(incidents.c.station_id == sid, offers.c.status == "offered")
        )
    ).all()
    out = []
    for c in cgs:
        inc = next((i for i in live if i.caregiver_id == c.id), None)
        offer = next((o for o in pending if o.caregiver_id == c.id), None)
        mine = sorted((t for t in day_tasks if t.caregiver_id == c.id), key=_task_order)
        current_task = next((t for t in mine if t.status in ("in_progress", "en_route")), None)
        upcoming = [t for t in mine if t is not current_task and t.status in ("open", "planned")]
        status = "off_duty" if not c.on_duty else "idle"
        current = None
        eta = None
        if inc is not None:
            status = "serving" if inc.status == "arrived" else "travelling"
            title = Text("current.incident", {"name": inc.elder_name}).out()
            current = {
                "type": "incident",
                "id": inc.id,
                "title": title["zh"],
                "title_i18n": title,
                "status": inc.status,
            }
            eta = _iso(inc.eta_at) if inc.status != "arrived" else None
        elif current_task is not None:
            status = "serving" if current_task.status == "in_progress" else "travelling"
            title = _with_name(
                task_title(current_task.kind, current_task.title), current_task.elder_name
            )
            current = {
                "type": "task",
                "id": current_task.id,
                "title": title["zh"],
                "title_i18n": title,
                "status": current_task.status,
            }
        if offer is not None and inc is None:
            # An offer waiting for an answer is what matters most about this caregiver now.
            status = "offered"
            title = Text("current.incident", {"name": offer.elder_name}).out()
            current = {
                "type": "offer",
                "id": offer.incident_id,
                "title": title["zh"],
                "title_i18n": title,
                "status": "offered",
                "expires_at": _iso(offer.expires_at),
                "task": current,
            }
        nxt = upcoming[0] if upcoming else None
        out.append(
            {
                "id": c.id,
                "name": c.name,
                "on_duty": c.on_duty,
                "status": status,
                "travel_mode": c.travel_mode,
                "skills": list(c.skills),
                "location": {"lat": c.lat, "lng": c.lng} if c.lat is not None else None,
                "located_at": _iso(c.located_at),
                "current": current,
                "eta_at": eta,
                "next": _next_out(nxt),
                "tasks_left": len(upcoming),
            }
        )
    return out


def _next_out(t: Any) -> dict[str, Any] | None:
    if t is None:
        return None
    title = _with_name(task_title(t.kind, t.title), t.elder_name)
    return {
        "id": t.id,
        "title": title["zh"],
        "title_i18n": title,
        "at": _iso(t.planned_start or t.window_start),
    }


async def _today(conn: Any, sid: int, now: datetime, sla_s: int) -> dict[str, Any]:
    start, end = _day_bounds(now)
    rows = (
        await conn.execute(
            select(incidents).where(
                incidents.c.station_id == sid,
                incidents.c.opened_at >= start,
                incidents.c.opened_at < end,
            )
        )
    ).all()
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
        or (
            r.deadline_at is not None
            and r.deadline_at <= now
            and r.resolution
            not in ("false_alarm", "test_press", "accidental", "duplicate", "handled_by_phone")
        )
    ]
    in_time = [
        r
        for r in judged
        if r.arrived_at is not None and (r.arrived_at - r.opened_at).total_seconds() <= sla_s
    ]
    day_tasks = (
        await conn.execute(
            select(tasks).where(
                tasks.c.station_id == sid, tasks.c.window_start >= start, tasks.c.window_start < end
            )
        )
    ).all()
    meals = [t for t in day_tasks if t.kind == "meal_delivery"]
    meals_done = [t for t in meals if t.status == "done"]
    meals_on_time = [
        t for t in meals_done if t.finished_at and t.window_end and t.finished_at <= t.window_end
    ]
    visits = [t for t in day_tasks if t.kind in ("visit", "service", "check")]
    visits_done = [t for t in visits if t.status == "done"]
    cgs = (
        await conn.execute(
            select(caregivers).where(caregivers.c.station_id == sid, caregivers.c.active.is_(True))
        )
    ).all()
    local_day = start.date()
    # Rows read defensively (server/planning.py:shifts_on): an odd shift is skipped, not a 500.
    from server.planning.flows import shifts_on

    shifts = {c.id: shifts_on(c, local_day, warn=False) for c in cgs}
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
    cover = await _cover(conn, sid, local_day.isoformat())
    return {
        "date": local_day.isoformat(),
        "calls": len(rows),
        "by_kind": by_kind,
        "emergencies": len(emergencies),
        "open": sum(1 for r in rows if r.status in ACTIVE_STATES),
        "false_alarms": sum(
            1 for r in rows if r.resolution in ("false_alarm", "test_press", "accidental")
        ),
        "accept_median_s": _pct(to_accept, 0.5),
        "accept_p90_s": _pct(to_accept, 0.9),
        "arrive_median_s": _pct(to_arrive, 0.5),
        "arrive_p90_s": _pct(to_arrive, 0.9),
        "on_scene_in_time": len(in_time),
        "on_scene_judged": len(judged),
        "on_scene_share": round(len(in_time) / len(judged), 3) if judged else None,
        "meals": len(meals),
        "meals_done": len(meals_done),
        "meals_on_time": len(meals_on_time),
        "visits": len(visits),
        "visits_done": len(visits_done),
        "caregivers_on_duty": sum(1 for c in cgs if c.on_duty),
        "caregivers": len(cgs),
        "hours": hours,
        # Emergency cover of today's plan in force (the planner's figure): minutes in which
        # some high-risk elder had nobody within 20 minutes; None before a plan has it.
        "cover_gap_min": cover.get("uncovered_minutes") if cover else None,
        "cover_elder_min": cover.get("elder_minutes") if cover else None,
        "cover_elders": cover.get("elders") if cover else None,
    }


async def _cover(conn: Any, sid: int, day: str) -> dict[str, Any] | None:
    from server.planning.tables import day_plans

    row = (
        await conn.execute(
            select(day_plans.c.summary)
            .where(day_plans.c.station_id == sid, day_plans.c.day == day)
            .order_by(day_plans.c.id.desc())
            .limit(1)
        )
    ).first()
    cover = row.summary.get("cover") if row is not None and isinstance(row.summary, dict) else None
    return cover if isinstance(cover, dict) else None


async def _pending_offers(conn: Any, incident_ids: list[int]) -> dict[int, dict[str, Any]]:
    if not incident_ids:
        return {}
    rows = (
        await conn.execute(
            select(offers, caregivers.c.name.label("caregiver_name"))
            .join(caregivers, caregivers.c.id == offers.c.caregiver_id)
            .where(offers.c.incident_id.in_(incident_ids), offers.c.status == "offered")
        )
    ).all()
    return {
        r.incident_id: {
            "offer_id": r.id,
            "caregiver_id": r.caregiver_id,
            "caregiver_name": r.caregiver_name,
            "expires_at": _iso(r.expires_at),
            "eta_s": r.eta_s,
            "manual": r.manual,
            **offer_reason(r),
        }
        for r in rows
    }


def _texts(
    d: dict[str, Any], audience: Audience, offer: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An incident as this reader should read it: its status in their wording (``status_text``
    in Chinese, ``status_text_i18n`` in both), and every stored reason and message in both."""
    name = (
        offer["caregiver_name"] if d["status"] == "offered" and offer else d.get("caregiver_name")
    )
    t = status_text(
        d["status"],
        audience,
        name=name,
        minutes=d.get("eta_minutes"),
        resolution=d.get("resolution"),
    ).out()
    d["status_text"], d["status_text_i18n"] = t["zh"], t
    for c in d.get("candidates") or []:
        c["reason_i18n"] = reason_text(
            c.get("reason"), c.get("reason_code"), c.get("reason_params")
        )
    for e in d.get("timeline") or []:
        data = e.get("data") or {}
        if isinstance(data.get("reason"), str):
            data["reason_i18n"] = reason_text(
                data["reason"], data.get("reason_code"), data.get("reason_params")
            )
        if isinstance(data.get("alarm"), str):
            said = alarm_text(data["alarm"], data.get("params"))
            data["message"], data["message_i18n"] = said.render("zh"), said.out()
    if offer is not None:
        offer["reason_i18n"] = reason_text(
            offer.get("reason"), offer.get("reason_code"), offer.get("reason_params")
        )
    return d


def _alarm_out(a: Any) -> dict[str, Any]:
    return {
        "id": a.id,
        "incident_id": a.incident_id,
        "kind": a.kind,
        "message": alarm_text(a.kind, a.params).render("zh"),
        "message_i18n": alarm_text(a.kind, a.params).out(),
        "raised_at": _iso(a.raised_at),
    }


def _audience(p: Principal) -> Audience:
    return "elder" if p.role is Role.ELDER else "family" if p.role is Role.FAMILY else "operator"


# ----- JSON views ---------------------------------------------------------------------------


async def incident_view(request: web.Request) -> web.Response:
    """The operator's view of one incident: timeline, candidates and the pending offer."""
    p = require(request, Role.OPERATOR)
    iid = int_param(request, "incident_id")
    pf = platform(request)
    async with pf.store.read() as conn:
        row = (await conn.execute(select(incidents).where(incidents.c.id == iid))).first()
        if row is None or (p.role is not Role.ADMIN and row.station_id != p.station_id):
            raise ApiError(404, "incident_not_found", "incident not found")
        out = (
            await incident_out(conn, row, pf.clock.now(), with_timeline=True, with_candidates=True)
        ).model_dump(mode="json")
        out["offer"] = (await _pending_offers(conn, [iid])).get(iid)
        _texts(out, "operator", out["offer"])
        e = (await conn.execute(select(elders).where(elders.c.id == row.elder_id))).one()
        out["elder"] = {
            "id": e.id,
            "name": e.name,
            "address": e.address,
            "access_notes": e.access_notes,
            "care_level": e.care_level,
            "living": e.living,
            "high_risk": e.high_risk,
            "health_notes": e.health_notes,
        }
    return ok(out)


async def board(request: web.Request) -> web.Response:
    """Everything the live board draws, in one snapshot (reloaded on every (re)connect)."""
    p = require(request, Role.OPERATOR)
    pf = platform(request)
    async with pf.store.read() as conn:
        st = await _station_row(conn, _station_of(request, p))
        now = pf.clock.now()
        eld = (
            await conn.execute(
                select(
                    elders.c.id,
                    elders.c.name,
                    elders.c.lat,
                    elders.c.lng,
                    elders.c.high_risk,
                    elders.c.care_level,
                    elders.c.living,
                )
                .where(elders.c.station_id == st.id, elders.c.active.is_(True))
                .order_by(elders.c.id)
            )
        ).all()
        inc_rows = (
            await conn.execute(
                select(incidents)
                .where(incidents.c.station_id == st.id, incidents.c.status.in_(ACTIVE_STATES))
                .order_by(incidents.c.opened_at)
            )
        ).all()
        incs = [(await incident_out(conn, r, now)).model_dump(mode="json") for r in inc_rows]
        pending = await _pending_offers(conn, [r.id for r in inc_rows])
        for i in incs:
            i["offer"] = pending.get(i["id"])
            _texts(i, "operator", i["offer"])
        alarm_rows = (
            await conn.execute(
                select(alarms)
                .where(alarms.c.station_id == st.id, alarms.c.acknowledged_at.is_(None))
                .order_by(alarms.c.id)
            )
        ).all()
        cg = await _caregivers_view(conn, st.id, now)
        today = await _today(conn, st.id, now, pf.settings.sla_s)
    return ok(
        {
            "now": now.isoformat(),
            "sla_s": pf.settings.sla_s,
            # Raster tiles for deployments that have a tile server ({z}/{x}/{y}, GCJ-02 for Chinese
            # providers); without one the map is drawn from data alone.
            "map": {"tile_url": TILE_URL[0]},
            "station": {
                "id": st.id,
                "name": st.name,
                "address": st.address,
                "center": {"lat": st.lat, "lng": st.lng},
                "radius_m": st.circle_radius_m,
                "circle_minutes": st.circle_minutes,
                "kitchen": st.kitchen,
                "phone": st.phone,
            },
            "elders": [
                {
                    "id": e.id,
                    "name": e.name,
                    "lat": e.lat,
                    "lng": e.lng,
                    "high_risk": e.high_risk,
                    "care_level": e.care_level,
                    "living": e.living,
                }
                for e in eld
            ],
            "caregivers": cg,
            "incidents": incs,
            "alarms": [_alarm_out(a) for a in alarm_rows],
            "today": today,
        }
    )


async def today(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    pf = platform(request)
    async with pf.store.read() as conn:
        st = await _station_row(conn, _station_of(request, p))
        return ok(await _today(conn, st.id, pf.clock.now(), pf.settings.sla_s))


async def caregivers_view(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    pf = platform(request)
    async with pf.store.read() as conn:
        st = await _station_row(conn, _station_of(request, p))
        return ok(await _caregivers_view(conn, st.id, pf.clock.now()))


async def my_day(request: web.Request) -> web.Response:
    """A caregiver's day: their live incident(s) and today's tasks in route order."""
    p = require(request, Role.CAREGIVER)
    if p.caregiver_id is None:
        raise ApiError(403, "forbidden", "caregivers only")
    pf = platform(request)
    async with pf.store.read() as conn:
        now = pf.clock.now()
        start, end = _day_bounds(now)
        me = (await conn.execute(select(caregivers).where(caregivers.c.id == p.caregiver_id))).one()
        inc_rows = (
            await conn.execute(
                select(incidents)
                .where(
                    incidents.c.caregiver_id == p.caregiver_id,
                    incidents.c.status.in_(("accepted", "en_route", "arrived")),
                )
                .order_by(incidents.c.id)
            )
        ).all()
        incs = []
        for r in inc_rows:
            out = (await incident_out(conn, r, now)).model_dump(mode="json")
            e = (
                await conn.execute(
                    select(elders.c.address, elders.c.access_notes).where(elders.c.id == r.elder_id)
                )
            ).one()
            out["address"], out["access_notes"] = e.address, e.access_notes
            out["elder_location"] = {"lat": r.lat, "lng": r.lng}
            incs.append(out)
        offer_rows = (
            await conn.execute(
                select(
                    offers,
                    incidents.c.kind,
                    incidents.c.lat,
                    incidents.c.lng,
                    incidents.c.deadline_at,
                    elders.c.name.label("elder_name"),
                    elders.c.address,
                    elders.c.access_notes,
                )
                .join(incidents, incidents.c.id == offers.c.incident_id)
                .join(elders, elders.c.id == incidents.c.elder_id)
                .where(offers.c.caregiver_id == p.caregiver_id, offers.c.status == "offered")
                .order_by(offers.c.id)
            )
        ).all()
        pending = [
            {
                "id": o.id,
                "incident_id": o.incident_id,
                "kind": o.kind,
                "elder_name": o.elder_name,
                "address": o.address,
                "access_notes": o.access_notes,
                "lat": o.lat,
                "lng": o.lng,
                "eta_s": o.eta_s,
                "offered_at": _iso(o.offered_at),
                "expires_at": _iso(o.expires_at),
                "deadline_at": _iso(o.deadline_at),
            }
            for o in offer_rows
        ]
        rows = (
            await conn.execute(
                select(tasks, elders.c.name.label("elder_name"), elders.c.address.label("address"))
                .outerjoin(elders, elders.c.id == tasks.c.elder_id)
                .where(
                    tasks.c.caregiver_id == p.caregiver_id,
                    ((tasks.c.window_start >= start) & (tasks.c.window_start < end))
                    | tasks.c.status.in_(("en_route", "in_progress")),
                )
            )
        ).all()
        items = []
        for t in sorted(rows, key=_task_order):
            d = _task_out(t, t.elder_name)
            d["address"] = t.address
            items.append(d)
    return ok(
        {
            "caregiver": {
                "id": me.id,
                "name": me.name,
                "on_duty": me.on_duty,
                "travel_mode": me.travel_mode,
            },
            "now": now.isoformat(),
            "offers": pending,
            "incidents": incs,
            "tasks": items,
        }
    )


async def elder_day(request: web.Request) -> web.Response:
    """An elder's day (visits, meals) and open calls, for the elder or a bound family member."""
    p = caller(request)
    eid = int_param(request, "elder_id")
    pf = platform(request)
    async with pf.store.read() as conn:
        if p.role is Role.ELDER:
            if p.elder_id != eid:
                raise ApiError(404, "elder_not_found", "elder not found")
            e = (await conn.execute(select(elders).where(elders.c.id == eid))).one()
        elif p.role is Role.CAREGIVER:
            raise ApiError(404, "elder_not_found", "elder not found")
        else:
            e = await elder_for(conn, p, eid)
        now = pf.clock.now()
        start, end = _day_bounds(now)
        rows = (
            await conn.execute(
                select(tasks, caregivers.c.name.label("caregiver_name"))
                .outerjoin(caregivers, caregivers.c.id == tasks.c.caregiver_id)
                .where(
                    tasks.c.elder_id == eid,
                    tasks.c.window_start >= start,
                    tasks.c.window_start < end,
                    tasks.c.status != "cancelled",
                    tasks.c.kind.notin_(STATION_SIDE),
                )
            )
        ).all()
        inc_rows = (
            await conn.execute(
                select(incidents)
                .where(incidents.c.elder_id == eid, incidents.c.status.in_(ACTIVE_STATES))
                .order_by(incidents.c.id.desc())
            )
        ).all()
        who = _audience(p)
        incs = [
            _texts((await incident_out(conn, r, now)).model_dump(mode="json"), who)
            for r in inc_rows
        ]
        recent_rows = (
            await conn.execute(
                select(incidents)
                .where(incidents.c.elder_id == eid)
                .order_by(incidents.c.id.desc())
                .limit(10)
            )
        ).all()
        recent = [
            _texts((await incident_out(conn, r, now)).model_dump(mode="json"), who)
            for r in recent_rows
        ]
    items = []
    for t in sorted(rows, key=_task_order):
        d = _task_out(t)
        d["caregiver_name"] = t.caregiver_name
        items.append(d)
    return ok(
        {
            "now": now.isoformat(),
            "elder": {"id": e.id, "name": e.name},
            "tasks": items,
            "open_incidents": incs,
            "recent_incidents": recent,
        }
    )


NOTIFICATION_TYPES = (
    "incident.status",
    "family.call_requested",
    "binding.confirmed",
    "binding.requested",
)


async def my_notifications(request: web.Request) -> web.Response:
    """GET /api/v1/me/notifications?limit=N — the signed-in user's recent pushes that a person
    reads (newest first), each with its text in both languages: the history survives a new
    phone or a cleared browser, because it is the server's own push record."""
    p = caller(request)
    try:
        limit = max(1, min(100, int(request.query.get("limit", "30"))))
    except ValueError as exc:
        raise ApiError(422, "bad_limit", "limit must be an integer") from exc
    pf = platform(request)
    async with pf.store.read() as conn:
        rows = (
            await conn.execute(
                select(push_messages)
                .where(
                    push_messages.c.recipient == p.push_recipient,
                    push_messages.c.type.in_(NOTIFICATION_TYPES),
                )
                .order_by(push_messages.c.seq.desc())
                .limit(limit)
            )
        ).all()
    who = _audience(p)
    items = []
    for r in rows:
        payload = r.payload or {}
        text = payload.get("text_i18n") or _notification_text(r.type, payload, who)
        items.append(
            {
                "seq": r.seq,
                "type": r.type,
                "at": _iso(r.created_at),
                "incident_id": payload.get("incident_id"),
                "status": payload.get("status"),
                "text": text["zh"],
                "text_i18n": text,
            }
        )
    return ok({"items": items})


def _notification_text(type_: str, payload: dict[str, Any], who: Audience) -> dict[str, Any]:
    """Rows written before pushes carried ``text_i18n``: render them now."""
    t = push_text(type_, payload, who)
    if t is not None:
        return t.out()
    if type_ in ("binding.confirmed", "binding.requested"):
        return Text(f"push.{type_}").out()
    return bilingual(str(payload.get("text") or ""))


def routes() -> list[web.RouteDef]:
    TILE_URL[0] = os.environ.get("ANXIN_CONSOLE_TILE_URL") or None
    out: list[web.RouteDef] = [web.get(path, _page(name)) for path, name in PAGES.items()]
    out += [
        web.get("/console/", _redirect_console),
        web.get("/console/assets/{path:.+}", _asset),
        web.get("/api/v1/console/board", board),
        web.get("/api/v1/console/incidents/{incident_id}", incident_view),
        web.get("/api/v1/console/today", today),
        web.get("/api/v1/console/caregivers", caregivers_view),
        web.get("/api/v1/console/my-day", my_day),
        web.get("/api/v1/console/elders/{elder_id}/day", elder_day),
        web.get("/api/v1/me/notifications", my_notifications),
    ]
    return out
