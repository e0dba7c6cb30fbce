"""The planner's view of a station's day, read from the store: the team on shift, the open
work, the plan in force (the warm start), the elders to keep within reach, and the lunch
rounds that take caregivers' time."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ScalarSelect, and_, or_, select

from dispatch.cover import HighRiskElder
from dispatch.geo import GeoPoint
from dispatch.model import (
    Caregiver,
    DayPlan,
    DaySnapshot,
    PlannedVisit,
    Priority,
    Route,
    Task,
    latest_start_s,
)
from schemas.registry import CareLevel, Living
from schemas.tasks import TaskStatus as S
from server.incidents.flows.snapshot import travel_mode_of
from server.incidents.tables import incidents
from server.planning.model import midnight, secs
from server.planning.out import latest_meal_row, latest_plan_row
from server.platform import Tx
from server.providers.flows.listed import (
    NEW_WORK,
    blocked_caregivers,
    cert_skill,
    certificate_skills,
    unqualified_since,
)
from server.registry.out import skills_of
from server.registry.tables import caregivers, elders, stations
from server.services.tables import bookings, service_items
from server.tasks.model import OPEN_STATES, UNDER_WAY
from server.tasks.tables import tasks

log = logging.getLogger("anxin.planning")

_HHMM = re.compile(r"^(\d{1,2}):(\d\d)$")


def _hhmm(value: object) -> int:
    """Seconds after midnight of an "HH:MM" time (up to 24:00); ValueError for anything else."""
    m = _HHMM.match(value) if isinstance(value, str) else None
    if m is None or int(m.group(2)) >= 60 or int(m.group(1)) * 60 + int(m.group(2)) > 24 * 60:
        raise ValueError(f"not a time of day: {str(value)[:20]!r}")
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60


def _shift(raw: object) -> tuple[int, int, int]:
    """One stored shift as (weekday, start_s, end_s); ValueError when it does not read as one."""
    if not isinstance(raw, dict):
        raise ValueError(f"not an object but {type(raw).__name__}")
    weekday = raw.get("weekday")
    if isinstance(weekday, str) and weekday.isdigit():
        weekday = int(weekday)  # written as text by an old import
    if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
        raise ValueError(f"weekday is {str(weekday)[:20]!r}")
    start, end = _hhmm(raw.get("start")), _hhmm(raw.get("end"))
    if end <= start:
        # The day plan has no overnight shifts; one written that way cannot be planned.
        raise ValueError(f"end {raw.get('end')} is not after start {raw.get('start')}")
    return weekday, start, end


def shifts_on(c: Any, day: date, *, warn: bool = True) -> list[tuple[int, int]]:
    """A caregiver's shifts on ``day`` as (start_s, end_s). The API validates shifts, but old or
    hand-edited rows can hold anything: a shift that does not read is skipped with a warning
    (so is a shifts field that is not a list), and the day is planned with the rest. ``warn``
    off for readers that run on every page load (the planner has said it already)."""
    raw = c.shifts
    if not isinstance(raw, list):
        if raw is not None and warn:
            log.warning(
                "caregiver shifts are not a list; no shifts read",
                extra={"caregiver_id": c.id, "shifts_type": type(raw).__name__},
            )
        return []
    out = []
    for i, item in enumerate(raw):
        try:
            weekday, start, end = _shift(item)
        except ValueError as exc:
            if warn:
                log.warning(
                    "malformed caregiver shift skipped",
                    extra={"caregiver_id": c.id, "shift_index": i, "why": str(exc)},
                )
            continue
        if weekday == day.weekday():
            out.append((start, end))
    return out


async def build_snapshot(tx: Tx, station_id: int, day: date, now: datetime) -> DaySnapshot:
    """The station's team and open work for one local day, as dispatch/ sees it."""
    st = (await tx.conn.execute(select(stations).where(stations.c.id == station_id))).one()
    now_s = max(0, secs(now, day, 0))
    start, end = midnight(day), midnight(day) + timedelta(days=1)
    rows = (
        await tx.conn.execute(
            select(
                tasks,
                elders.c.care_level,
                elders.c.preferred_caregiver_id,
                _certificate_needed().label("certificate"),
            )
            .join(elders, elders.c.id == tasks.c.elder_id, isouter=True)
            .where(
                tasks.c.station_id == station_id,
                # Help calls are inserted by on_accepted; lunch is routed by the meal planner.
                tasks.c.kind.notin_(("emergency", "meal_delivery")),
                tasks.c.status.in_([s.value for s in OPEN_STATES]),
                tasks.c.window_start >= start,
                tasks.c.window_start < end,
            )
        )
    ).all()
    signed = (await unqualified_since(tx.conn)).values()
    cutoff = min(signed) if signed else None  # tasks booked after it need NEW_WORK
    return DaySnapshot(
        station=GeoPoint(st.lat, st.lng),
        caregivers=tuple(await _team(tx, station_id, day, now_s)),
        tasks=tuple(_task(r, day, now, cutoff) for r in rows if r.lat is not None),
        now_s=now_s,
        previous=await previous_plan(tx, station_id, day),
    )


def _certificate_needed() -> ScalarSelect[Any]:
    """The certificate a booked visit's item needs (持证上岗), for each task: a required skill
    of its task in the plan (``cert_skill``); None for tasks that are not a booked item."""
    return (
        select(service_items.c.certificate)
        .join(
            bookings,
            and_(
                service_items.c.station_id == bookings.c.station_id,
                service_items.c.code == bookings.c.item_code,
            ),
        )
        .where(bookings.c.task_id == tasks.c.id)
        .limit(1)
        .scalar_subquery()
    )


async def _team(tx: Tx, station_id: int, day: date, now_s: int) -> list[Caregiver]:
    """The station's caregivers on shift that day, with their lunch rounds as busy time."""
    busy = await meal_rounds(tx, station_id, day)
    rows = await tx.conn.execute(
        select(caregivers).where(
            caregivers.c.station_id == station_id, caregivers.c.active.is_(True)
        )
    )
    blocked = await blocked_caregivers(tx.conn, day)
    unqualified = await unqualified_since(tx.conn)
    team = []
    for c in rows.all():
        if c.id in blocked:
            continue  # black-listed (or her provider is): no new work
        shifts = shifts_on(c, day)
        if not shifts:
            continue
        loc = GeoPoint(c.lat, c.lng) if c.lat is not None and c.on_duty else None
        team.append(
            Caregiver(
                caregiver_id=c.id,
                name=c.name,
                shift_start_s=min(a for a, _ in shifts),
                shift_end_s=max(b for _, b in shifts),
                skills=skills_of(c.skills)
                | certificate_skills(c.certificates, day)
                | (frozenset() if c.provider_id in unqualified else {NEW_WORK}),
                home=GeoPoint(c.home_lat, c.home_lng) if c.home_lat is not None else None,
                mode=travel_mode_of(c.travel_mode),
                location=loc,
                available_from_s=now_s if loc is not None else None,
                # The contract is the roster: no longer than today's shifts add up to (a split
                # shift's gap is not working time).
                max_work_s=sum(b - a for a, b in shifts),
                busy=busy.get(c.id, ()),
            )
        )
    return team


def _task(r: Any, day: date, now: datetime, cutoff: datetime | None = None) -> Task:
    prio = Priority(min(max(int(r.priority), 1), 4))
    duration = int(r.duration_s)
    if r.status == S.IN_PROGRESS and r.started_at is not None:
        # Only what is left of work already under way.
        duration = max(60, duration - int((now - r.started_at).total_seconds()))
    if r.care_level == CareLevel.DEPENDENT:
        prio = max(prio, Priority.ESSENTIAL)
    pinned = r.caregiver_id if r.status in UNDER_WAY else None
    earliest = secs(r.window_start, day, 8 * 3600)
    return Task(
        task_id=str(r.id),
        elder_id=r.elder_id or 0,
        location=GeoPoint(r.lat, r.lng),
        earliest_s=earliest,
        # The window holds the whole task (as the booking service books it): it must end by
        # the window's end, so it starts at the latest its length before.
        latest_s=latest_start_s(earliest, secs(r.window_end, day, 18 * 3600), int(r.duration_s)),
        duration_s=duration,
        required_skills=frozenset(r.required_skills)
        | ({cert_skill(r.certificate)} if r.certificate else set())
        | ({NEW_WORK} if cutoff is not None and r.created_at > cutoff else set()),
        priority=prio,
        preferred_caregiver=r.preferred_caregiver_id,
        pinned_to=pinned,
        interruptible=bool(r.interruptible),
        label=r.title,
    )


async def previous_plan(tx: Tx, station_id: int, day: date) -> DayPlan | None:
    row = await latest_plan_row(tx.conn, station_id=station_id, day=day.isoformat())
    if row is None:
        return None
    routes = tuple(
        Route(
            caregiver_id=r["caregiver_id"],
            start_s=r["start_s"],
            end_s=r["end_s"],
            travel_s=r["travel_s"],
            visits=tuple(PlannedVisit(**v) for v in r["visits"]),
        )
        for r in row.summary["routes"]
    )
    return DayPlan(routes=routes, unassigned=(), travel_s=row.travel_s, objective=0, seconds=0.0)


async def high_risk_elders(tx: Tx, station_id: int, now: datetime) -> list[HighRiskElder]:
    """Elders to keep within reach: flagged high-risk, living alone and dependent, or with a
    help call in the last 7 days."""
    recent = select(incidents.c.elder_id).where(
        incidents.c.station_id == station_id, incidents.c.opened_at >= now - timedelta(days=7)
    )
    rows = (
        await tx.conn.execute(
            select(
                elders.c.id,
                elders.c.lat,
                elders.c.lng,
                elders.c.high_risk,
                elders.c.living,
                elders.c.care_level,
            ).where(
                elders.c.station_id == station_id,
                elders.c.active.is_(True),
                or_(
                    elders.c.high_risk.is_(True),
                    (elders.c.living == Living.ALONE.value)
                    & (elders.c.care_level != CareLevel.SELF_CARE.value),
                    elders.c.id.in_(recent),
                ),
            )
        )
    ).all()
    out = []
    for r in rows:
        why = (
            "flagged"
            if r.high_risk
            else "alone_dependent"
            if r.living == "alone"
            else "recent_call"
        )
        out.append(HighRiskElder(r.id, GeoPoint(r.lat, r.lng), why))
    return out


async def meal_rounds(tx: Tx, station_id: int, day: date) -> dict[int, tuple[tuple[int, int], ...]]:
    """Per caregiver, the time their lunch round takes (from the meal plan in force)."""
    row = await latest_meal_row(tx.conn, station_id=station_id, day=day.isoformat())
    out: dict[int, tuple[tuple[int, int], ...]] = {}
    for r in row.summary["routes"] if row is not None else []:
        if r["stops"]:
            out[int(r["courier_id"])] = ((int(r["start_s"]), int(r["end_s"])),)
    return out
