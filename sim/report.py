"""report.html: one self-contained page a station head can read (inline CSS and SVG, no
scripts, nothing fetched): the KPI table, the response-time distribution against the
20-minute line, load against staff by hour, a map of late calls with the stations and their
circles, and each caregiver's day as a Gantt bar. Headings in Chinese with English beside.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

from dispatch.geo import GeoPoint
from sim.bound import CallBound
from sim.day import DAY_S, Day
from sim.kpis import Kpis, Spread
from sim.log import WORK, Activity, CallStep, RunLog
from sim.write import clock

COLOURS = {
    Activity.TRAVEL: "#9ecae1",
    Activity.VISIT: "#3182bd",
    Activity.MEAL: "#fdae6b",
    Activity.CALL: "#de2d26",
    Activity.LUNCH: "#c7e9c0",
    Activity.WAIT: "#eeeeee",
}
ACTIVITY_NAMES = {
    Activity.TRAVEL: "路上 travel",
    Activity.VISIT: "上门服务 visit",
    Activity.MEAL: "送餐 meal",
    Activity.CALL: "呼救现场 help call",
    Activity.LUNCH: "午休 lunch",
    Activity.WAIT: "等候 waiting",
}
CSS = """
body{font-family:system-ui,"PingFang SC","Noto Sans CJK SC",sans-serif;margin:2em;color:#222}
h1{font-size:1.5em} h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
table.kpi{border-collapse:collapse} table.kpi td,table.kpi th{padding:.25em .8em;
border-bottom:1px solid #eee;text-align:left} table.kpi td.v{text-align:right;
font-variant-numeric:tabular-nums} table.kpi th.section{background:#f4f4f4}
.note{color:#666;font-size:.9em} svg text{font-size:11px;font-family:inherit}
.bad{color:#b00} .good{color:#070}
"""


def render(day: Day, log: RunLog, kpis: Kpis, call_bounds: Mapping[str, CallBound]) -> str:
    """The whole page as a string."""
    title = f"{day.scenario.name} · {day.date.isoformat()} · {log.policy} · seed {log.seed}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>模拟一天 Simulated day: {escape(title)}</h1>",
        *(f'<p class="note">{escape(n)}</p>' for n in log.notes),
        "<h2>关键指标 Key figures</h2>",
        kpi_table(kpis),
        "<h2>响应时间分布 Response times of real emergencies</h2>",
        response_chart(day, log, call_bounds, kpis.sla_s),
        "<h2>每小时负荷与人手 Load against staff by hour</h2>",
        load_chart(day, log),
        "<h2>迟到呼救地图 Map of late calls</h2>",
        call_map(day, log, call_bounds, kpis.sla_s),
        "<h2>护理员的一天 Each caregiver's day</h2>",
        gantt(day, log),
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(
    day: Day, log: RunLog, kpis: Kpis, call_bounds: Mapping[str, CallBound], path: Path
) -> None:
    path.write_text(render(day, log, kpis, call_bounds), encoding="utf-8")


# ----- the table ----------------------------------------------------------------------


def _num(value: object, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        value = f"{value:.1f}"
    return f"{value}{unit}"


def _mins(s: Spread) -> str:
    if s.n == 0:
        return "–"
    vals = [s.p50, s.p90, s.p99, s.max]
    return " / ".join("–" if v is None else f"{v / 60:.1f}" for v in vals) + f" min (n={s.n})"


def _rows(k: Kpis) -> list[tuple[str, str, str] | str]:
    c, v, m, cv = k.calls, k.visits, k.meals, k.cover
    promise = f"{k.sla_s // 60} 分钟 / {k.sla_s // 60} min"
    team = k.caregivers
    return [
        "呼救 Help calls",
        ("按键与来电", "presses and calls", _num(c.presses)),
        ("真实紧急呼救", "real emergencies", _num(c.real_emergencies)),
        (f"{promise}内到场（可达者）", "on scene in time, % of reachable", _num(c.pct_of_reachable, " %")),
        (f"{promise}内到场", "on scene in time (count / % of all)", f"{c.on_scene_in_time} / {_num(c.pct_of_all, ' %')}"),
        ("响应时间 p50/p90/p99/最大", "response p50/p90/p99/max", _mins(c.response_s)),
        ("迟到（可达者）", "late arrivals (reachable): late / never", f"{c.late_arrivals}: {c.arrived_late} / {c.never_arrived}"),
        ("无法及时到达（另计）", "unreachable, reported apart (in time)", f"{c.unreachable} ({c.unreachable_on_scene_in_time})"),
        ("接单时间 p50/p90/p99/最大", "time to acceptance", _mins(c.time_to_accept_s)),
        ("每次呼救派单数 平均/最多", "offers per call mean / max", f"{_num(c.offers_mean)} / {c.offers_max}"),
        ("升级步骤", "escalations by step", ", ".join(f"{s}: {n}" for s, n in c.escalations.items()) or "–"),
        "上门服务 Visits",
        ("完成 / 总数", "done / booked", f"{v.done} / {v.total}"),
        ("晚于最迟开始时间15分钟以上", "started > 15 min after the latest start", _num(v.late_15)),
        ("未完成及原因", "missed, by reason", _reasons(v.missed, v.missed_by_reason)),
        "送餐 Meals",
        ("送达 / 总数", "delivered / ordered", f"{m.delivered} / {m.total}"),
        ("在午餐时段内送达", "inside the lunch window", _num(m.in_window)),
        ("出厨房后30分钟内送达", "within the limit from the kitchen", _num(m.within_door_limit)),
        ("未送达及原因", "missed, by reason", _reasons(m.missed, m.missed_by_reason)),
        "护理员 Caregivers",
        ("路上时间 合计", "travel, total", f"{sum(x.travel_min for x in team):.0f} min"),
        ("工作时间 合计", "working, total", f"{sum(x.working_min for x in team):.0f} min"),
        ("加班 合计 / 最多", "overtime total / most", f"{sum(x.overtime_min for x in team):.0f} / {max((x.overtime_min for x in team), default=0):.0f} min"),
        "覆盖 Cover",
        ("高风险老人", "high-risk elders", _num(cv.high_risk_elders)),
        (f"有老人{promise}内无人可达的分钟数", "minutes a high-risk elder had nobody in reach", _num(cv.uncovered_minutes)),
        "完整性 Completeness",
        ("每个呼救和任务都有结果", "every call and task has an outcome", _completeness(k)),
    ]  # fmt: skip


def _reasons(n: int, by: Mapping[str, int]) -> str:
    return f"{n}" + (" (" + ", ".join(f"{r}: {k}" for r, k in by.items()) + ")" if by else "")


def _completeness(k: Kpis) -> str:
    c = k.completeness
    if c.ok:
        return '<span class="good">是 yes</span>'
    missing = [*c.calls_without_outcome, *c.tasks_without_outcome, *c.unknown_ids]
    return f'<span class="bad">否 no: {escape(", ".join(missing[:20]))}</span>'


def kpi_table(k: Kpis) -> str:
    out = ['<table class="kpi" id="kpis">']
    for row in _rows(k):
        if isinstance(row, str):
            out.append(f'<tr><th class="section" colspan="3">{escape(row)}</th></tr>')
            continue
        zh, en, value = row
        cell = value if value.startswith("<span") else escape(value)
        out.append(f'<tr><td>{escape(zh)}</td><td>{escape(en)}</td><td class="v">{cell}</td></tr>')
    out.append("</table>")
    return "\n".join(out)


# ----- charts -------------------------------------------------------------------------


def _svg(width: int, height: int, body: Sequence[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {extra}>{escape(text)}</text>'


def _responses(
    day: Day, log: RunLog, call_bounds: Mapping[str, CallBound]
) -> list[tuple[int, bool]]:
    """(seconds to the first arrival, reachable) for every real emergency that had one."""
    arrived = log.first_at(CallStep.ARRIVED)
    out = []
    for c in day.calls:
        if c.real_emergency and c.id in arrived:
            b = call_bounds.get(c.id)
            out.append((arrived[c.id] - c.at_s, b is not None and b.reachable))
    return out


def response_chart(day: Day, log: RunLog, call_bounds: Mapping[str, CallBound], sla_s: int) -> str:
    """A histogram by minute, reachable calls blue, unreachable grey, the promise in red."""
    data = _responses(day, log, call_bounds)
    top_min = max([sla_s // 60 + 10, *(math.ceil(s / 60) + 1 for s, _ in data)])
    bins = [[0, 0] for _ in range(top_min)]
    for s, reachable in data:
        bins[min(top_min - 1, s // 60)][0 if reachable else 1] += 1
    w, h, left, bottom = 760, 240, 40, 30
    bw = (w - left - 10) / top_min
    peak = max([1, *(a + b for a, b in bins)])
    scale = (h - bottom - 20) / peak
    body = []
    for i, (a, b) in enumerate(bins):
        x = left + i * bw
        for n, y0, colour in ((a, 0, "#3182bd"), (b, a, "#aaaaaa")):
            if n:
                y = h - bottom - (y0 + n) * scale
                body.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw - 1:.1f}" height="{n * scale:.1f}" fill="{colour}"/>'
                )
    for m in range(0, top_min + 1, 5):
        body.append(_text(left + m * bw, h - bottom + 14, f"{m}", "middle"))
    body.append(_text(w / 2, h - 4, "分钟 minutes from the press", "middle"))
    body.append(_text(4, 14, f"呼救数 calls (max {peak})"))
    x = left + sla_s / 60 * bw
    body.append(
        f'<line id="sla-line" class="sla-line" x1="{x:.1f}" y1="10" x2="{x:.1f}" y2="{h - bottom}" stroke="#d00" stroke-width="2" stroke-dasharray="5,3"/>'
    )
    body.append(_text(x + 4, 22, f"{sla_s // 60} 分钟 / {sla_s // 60} min", extra='fill="#d00"'))
    if not data:
        body.append(_text(w / 2, h / 2, "没有到场记录 no arrivals recorded", "middle"))
    return _svg(w, h, body, "response-time distribution")  # fmt: skip


def _hourly_work(day: Day, log: RunLog) -> tuple[list[float], list[float], list[int]]:
    """Per hour: caregiver-hours on duty, caregiver-hours working, help calls pressed."""
    duty = [0.0] * 24
    busy = [0.0] * 24
    for c in day.caregivers:
        for s in c.shifts:
            end = min(s.end_s, c.sick_from_s) if c.sick_from_s is not None else s.end_s
            _spread_hours(duty, s.start_s, end)
    for seg in log.segments:
        if seg.activity in WORK:
            _spread_hours(busy, seg.start_s, seg.end_s)
    calls = [0] * 24
    for call in day.calls:
        if call.repeat_of is None:
            calls[min(23, call.at_s // 3600)] += 1
    return duty, busy, calls


def _spread_hours(hours: list[float], start: int, end: int) -> None:
    for h in range(max(0, start // 3600), min(24, math.ceil(end / 3600))):
        hours[h] += max(0, min(end, (h + 1) * 3600) - max(start, h * 3600)) / 3600


def load_chart(day: Day, log: RunLog) -> str:
    """Per hour: staff on duty (light), the part of it working (dark), calls (numbers)."""
    duty, busy, calls = _hourly_work(day, log)
    w, h, left, bottom = 760, 240, 40, 30
    bw = (w - left - 10) / 24
    peak = max([1.0, *duty, *busy])
    scale = (h - bottom - 30) / peak
    body = []
    for i in range(24):
        x = left + i * bw
        for value, colour, inset in ((duty[i], "#c6dbef", 0.0), (busy[i], "#08519c", bw * 0.25)):
            body.append(
                f'<rect x="{x + inset:.1f}" y="{h - bottom - value * scale:.1f}" width="{bw - 2 - 2 * inset:.1f}" height="{value * scale:.1f}" fill="{colour}"/>'
            )
        if calls[i]:
            body.append(
                _text(
                    x + bw / 2,
                    h - bottom - max(duty[i], busy[i]) * scale - 4,
                    str(calls[i]),
                    "middle",
                    'fill="#d00"',
                )
            )
        if i % 3 == 0:
            body.append(_text(x, h - bottom + 14, f"{i:02d}:00"))
    body.append(
        _text(
            4,
            14,
            f"人 caregivers (max {peak:.1f}); 浅 light: 在岗 on duty; 深 dark: 工作 working; 红字 red: 呼救 calls",
        )
    )
    return _svg(w, h, body, "load against staff by hour")  # fmt: skip


def _projector(
    points: Sequence[GeoPoint], w: int, h: int, pad: int
) -> tuple[float, float, float, float]:
    """(lat0, lng0, metres per pixel, cos lat) fitting every point into the box."""
    lat0 = sum(p.lat for p in points) / len(points)
    lng0 = sum(p.lng for p in points) / len(points)
    k = math.cos(math.radians(lat0))
    span_x = max(abs(p.lng - lng0) * 111_195 * k for p in points) * 2 or 1000
    span_y = max(abs(p.lat - lat0) * 111_195 for p in points) * 2 or 1000
    mpp = max(span_x / (w - 2 * pad), span_y / (h - 2 * pad))
    return lat0, lng0, mpp, k


def call_map(day: Day, log: RunLog, call_bounds: Mapping[str, CallBound], sla_s: int) -> str:
    """Stations and their circles; real emergencies in time (green), late (red), never on
    scene (red cross), unreachable (grey ring)."""
    w, h, pad = 760, 520, 30
    pts = [s.location for s in day.stations]
    for s in day.stations:  # the circles' edges must fit too
        r = s.circle_radius_m / 111_195
        pts += [
            GeoPoint(s.location.lat + r, s.location.lng),
            GeoPoint(s.location.lat - r, s.location.lng),
        ]
    pts += [c.location for c in day.calls] + [e.location for e in day.elders]
    lat0, lng0, mpp, k = _projector(pts, w, h, pad)

    def xy(p: GeoPoint) -> tuple[float, float]:
        return (w / 2 + (p.lng - lng0) * 111_195 * k / mpp, h / 2 - (p.lat - lat0) * 111_195 / mpp)

    body = [f'<rect width="{w}" height="{h}" fill="#fafafa"/>']
    body += [  # where the elders live, faintly: a village outside every circle shows
        '<circle cx="{:.1f}" cy="{:.1f}" r="1.2" fill="#bbb"/>'.format(*xy(e.location))
        for e in day.elders
    ]
    for s in day.stations:
        x, y = xy(s.location)
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{s.circle_radius_m / mpp:.1f}" fill="#3182bd" fill-opacity="0.06" stroke="#3182bd" stroke-dasharray="4,3"/>'
        )
        body.append(
            f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" fill="#08519c"/>'
        )
        body.append(_text(x + 8, y - 6, s.name))
    arrived = log.first_at(CallStep.ARRIVED)
    for c in day.calls:
        if c.real_emergency:
            body.append(
                _call_mark(
                    xy(c.location), c.id, arrived.get(c.id), c.at_s, call_bounds.get(c.id), sla_s
                )
            )
    key = "绿 green: 及时 in time · 红 red: 迟到 late · ✕ 未到场 never on scene"
    body.append(_text(pad, h - 22, key))
    key = f"灰圈 grey ring: 无法及时到达 unreachable · 灰点 grey dots: 老人 elders · 1 px ≈ {mpp:.0f} m"
    body.append(_text(pad, h - 8, key))
    return _svg(w, h, body, "map of late calls")  # fmt: skip


def _call_mark(
    at: tuple[float, float],
    call_id: str,
    arrived: int | None,
    pressed: int,
    bound: CallBound | None,
    sla_s: int,
) -> str:
    x, y = at
    tip = f"<title>{escape(call_id)} {clock(pressed)}</title>"
    if bound is not None and not bound.reachable:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="none" stroke="#888" stroke-width="2">{tip}</circle>'
    if arrived is None:
        return (
            f'<g class="never">{tip}<line x1="{x - 5:.1f}" y1="{y - 5:.1f}" x2="{x + 5:.1f}" y2="{y + 5:.1f}" stroke="#d00" stroke-width="2"/>'
            f'<line x1="{x - 5:.1f}" y1="{y + 5:.1f}" x2="{x + 5:.1f}" y2="{y - 5:.1f}" stroke="#d00" stroke-width="2"/></g>'
        )
    colour, r = ("#2ca02c", 3) if arrived - pressed <= sla_s else ("#d00", 6)
    return f'<circle class="call" cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}">{tip}</circle>'  # fmt: skip


def gantt(day: Day, log: RunLog) -> str:
    """One row per caregiver: shifts as the background, activities on top, offline spells
    as a black line beneath, off sick as a red mark."""
    row_h, left, top = 22, 150, 24
    w = 760
    h = top + row_h * len(day.caregivers) + 50
    px = (w - left - 10) / DAY_S
    body = [_text(left + hh * 3600 * px, 16, f"{hh:02d}", "middle") for hh in range(0, 25, 2)]
    for i, c in enumerate(day.caregivers):
        y = top + i * row_h
        body.append(_text(4, y + 14, f"{c.name} ({c.id})"))
        for s in c.shifts:
            fill = "#f0f0f0" if s.on_call else "#e0e0e0"
            body.append(
                f'<rect x="{left + s.start_s * px:.1f}" y="{y}" width="{(s.end_s - s.start_s) * px:.1f}" height="{row_h - 4}" fill="{fill}"/>'
            )
        for seg in log.of_caregiver(c.id):
            tip = f"<title>{escape(ACTIVITY_NAMES[seg.activity])} {escape(seg.ref)} {clock(seg.start_s)}-{clock(seg.end_s)}</title>"
            body.append(
                f'<rect x="{left + seg.start_s * px:.1f}" y="{y + 2}" width="{max(0.5, (seg.end_s - seg.start_s) * px):.1f}" height="{row_h - 8}" fill="{COLOURS[seg.activity]}">{tip}</rect>'
            )
        for a, b in c.offline:
            body.append(
                f'<line x1="{left + a * px:.1f}" y1="{y + row_h - 3}" x2="{left + b * px:.1f}" y2="{y + row_h - 3}" stroke="#000" stroke-width="2"/>'
            )
        if c.sick_from_s is not None:
            x = left + c.sick_from_s * px
            body.append(
                f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + row_h - 4}" stroke="#d00" stroke-width="3"/>'
            )
    body += _legend(h - 34)
    return _svg(w, h, body, "each caregiver's day")  # fmt: skip


def _legend(y: float) -> list[str]:
    """Colour swatches for the activities, then the two marks, on two lines."""
    out, x = [], 4.0
    for activity, colour in COLOURS.items():
        name = ACTIVITY_NAMES[activity]
        out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{colour}"/>')
        out.append(_text(x + 14, y, name))
        x += 14 + 7 * len(name) + 16
    out.append(
        f'<line x1="4" y1="{y + 14:.1f}" x2="18" y2="{y + 14:.1f}" stroke="#000" stroke-width="2"/>'
    )
    out.append(_text(22, y + 18, "手机离线 phone offline"))
    out.append(
        f'<line x1="190" y1="{y + 8:.1f}" x2="190" y2="{y + 20:.1f}" stroke="#d00" stroke-width="3"/>'
    )
    out.append(_text(196, y + 18, "病假 off sick from here; 浅灰 light grey: 夜间值班 on call"))
    return out  # fmt: skip
