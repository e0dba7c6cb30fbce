"""Hotline services over the store: the care record for 120, devices and presses, the sweep
that turns silent devices and unseen elders into tasks, return calls and visits, satisfaction
and complaints. Keyword-only; each call is one transaction."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, delete, func, insert, literal, select, update

from hotline.care_record import CareProfile, Contact, render_for_120
from hotline.cti import DEFAULT_WINDOW as REPLAY_WINDOW
from hotline.devices import (
    DeviceReading,
    ElderActivity,
    ScheduledVisit,
    evaluate_devices,
    missed_visits,
    select_welfare_checks,
)
from hotline.followup import (
    Complaint,
    ComplaintAction,
    ComplaintStatus,
    ResolvedEmergency,
    SatisfactionAnswer,
    SubsidisedElder,
    TransitionError,
    quarter_name,
    return_call,
    sample_return_visits,
    satisfaction_rates,
    transition,
)
from hotline.roster import DutyRole, on_duty
from schemas.hotline import Answer
from schemas.incidents import CallType
from server.auth.tables import refresh_tokens, users
from server.clock import SHANGHAI
from server.errors import ApiError
from server.hotline.calls import StoreNonceCache
from server.hotline.chain import slot_of
from server.hotline.settings import DEFAULTS as DEFAULT_SETTINGS
from server.hotline.settings import all_settings
from server.hotline.tables import complaints, devices, hotline_calls, roster, satisfaction
from server.hotline.task_rows import insert_new, task_row
from server.incidents.alarms import acknowledge_alarms, raise_alarm
from server.incidents.intake import Intake, IntakeResult, open_or_join
from server.incidents.model import timeline
from server.incidents.presses import FALSE_ALARMS
from server.incidents.tables import alarms, incidents
from server.platform import Platform, Tx, audit, schedule
from server.registry.tables import caregivers, elders
from server.services.tables import bookings
from server.store.tables import timers
from server.tasks.tables import tasks

SUBSIDY_CATEGORIES = frozenset(
    {"三无", "低保", "低保边缘", "特困", "五保", "重点优抚", "伤残军人", "计生困难", "高龄", "百岁"}
)


async def _incident_in_scope(
    tx: Tx, incident_id: int, station_id: int | None, is_admin: bool
) -> Any:
    inc = (await tx.conn.execute(select(incidents).where(incidents.c.id == incident_id))).first()
    if inc is None or (not is_admin and inc.station_id != station_id):
        raise ApiError(404, "incident_not_found", "incident not found")
    return inc


def _birth(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _lines(text: str) -> tuple[str, ...]:
    return tuple(
        x.strip() for x in text.replace("；", "\n").replace(";", "\n").splitlines() if x.strip()
    )


async def disclose_care_record(
    platform: Platform,
    *,
    incident_id: int,
    station_id: int | None,
    is_admin: bool,
    user_id: int,
    recipient: str,
    reason: str,
) -> str:
    """The care record as text for 120; the disclosure is audited and on the timeline."""
    async with platform.tx() as tx:
        inc = await _incident_in_scope(tx, incident_id, station_id, is_admin)
        e = (await tx.conn.execute(select(elders).where(elders.c.id == inc.elder_id))).one()
        access = "；".join(
            x for x in (e.access_notes, f"钥匙：{e.key_holder}" if e.key_holder else "") if x
        )
        profile = CareProfile(
            name=e.name,
            sex={"F": "女", "M": "男"}.get(e.sex, e.sex),
            birth_date=_birth(e.birth_date),
            address=e.address,
            access=access,
            conditions=_lines(e.health_notes),
            medicines=_lines(e.medicines),
            care_level=e.care_level,
            contacts=tuple(
                Contact(str(c.get("name", "")), str(c.get("relation", "")), str(c.get("phone", "")))
                for c in sorted(e.contacts or [], key=lambda c: c.get("order", 99))
            ),
            lives_alone=e.living == "alone",
        )
        text = render_for_120(profile, today=tx.now.astimezone(SHANGHAI).date())
        # PIPL art. 13(1)4 allows this without consent; the log records who, to whom and why.
        await audit(
            tx,
            actor=user_id,
            action="disclose_120",
            object_type="elder",
            object_id=e.id,
            detail={
                "incident_id": incident_id,
                "recipient": recipient,
                "reason": reason,
                "legal_basis": "PIPL 13(1)4",
                "chars": len(text),
            },
        )
        await timeline(
            tx, incident_id, "care_record_disclosed", user_id, recipient=recipient, reason=reason
        )
        return text


async def record_called_120(
    platform: Platform,
    *,
    incident_id: int,
    station_id: int | None,
    is_admin: bool,
    user_id: int,
    note: str,
) -> None:
    """The operator called 120: on the timeline, and the advice alarm is settled."""
    async with platform.tx() as tx:
        inc = await _incident_in_scope(tx, incident_id, station_id, is_admin)
        await timeline(tx, inc.id, "called_120", user_id, note=note)
        await acknowledge_alarms(
            tx, alarms.c.incident_id == inc.id, alarms.c.kind == "advise_120", by=user_id
        )


# --- devices -------------------------------------------------------------------------------


async def register_device(
    platform: Platform,
    *,
    station_id: int | None,
    is_admin: bool,
    device_id: str,
    elder_id: int,
    model: str,
) -> dict[str, Any]:
    """Register a device to an elder of the operator's station."""
    async with platform.tx() as tx:
        e = (await tx.conn.execute(select(elders).where(elders.c.id == elder_id))).first()
        if e is None or (not is_admin and e.station_id != station_id):
            raise ApiError(404, "elder_not_found", "elder not found")
        await ensure_sweep_scheduled(tx)
        existing = (
            await tx.conn.execute(select(devices).where(devices.c.device_id == device_id))
        ).first()
        if existing is not None and existing.elder_id != elder_id:
            raise ApiError(409, "device_taken", "this device is registered to another elder")
        if existing is None:
            await tx.conn.execute(
                insert(devices).values(
                    device_id=device_id,
                    elder_id=elder_id,
                    station_id=e.station_id,
                    model=model,
                    registered_at=tx.now,
                )
            )
        return {"device_id": device_id, "elder_id": elder_id, "station_id": e.station_id}


async def _device(tx: Tx, device_id: str) -> Any:
    d = (await tx.conn.execute(select(devices).where(devices.c.device_id == device_id))).first()
    if d is None or not d.active:
        raise ApiError(404, "device_not_found", "device not found")
    return d


async def _fresh(tx: Tx, nonce: str) -> bool:
    """Remember a device request; False when it was seen within the replay window."""
    now = tx.now
    return await StoreNonceCache(tx).remember(
        f"device:{nonce}"[:160], expires_at=now + 2 * REPLAY_WINDOW, now=now
    )


async def heartbeat(
    platform: Platform, *, device_id: str, battery_pct: int | None, nonce: str
) -> bool:
    """A device's sign of life; False when it was a replay (nothing changed)."""
    async with platform.tx() as tx:
        d = await _device(tx, device_id)
        if not await _fresh(tx, nonce):
            return False
        values: dict[str, Any] = {"last_heartbeat_at": tx.now}
        if battery_pct is not None:
            values["battery_pct"] = battery_pct
        await tx.conn.execute(update(devices).where(devices.c.id == d.id).values(**values))
        return True


async def device_press(
    platform: Platform, *, device_id: str, kind: CallType, nonce: str
) -> IntakeResult | None:
    """A press on a device goes through the one intake path (repeats join the open incident);
    None when the request was a replay."""
    async with platform.tx() as tx:
        d = await _device(tx, device_id)
        if not await _fresh(tx, nonce):
            return None
        await tx.conn.execute(
            update(devices).where(devices.c.id == d.id).values(last_heartbeat_at=tx.now)
        )
        return await open_or_join(
            platform,
            tx,
            Intake(
                elder_id=d.elder_id,
                kind=kind,
                source="device",
                reporter_user_id=None,
                note=f"设备 {device_id}",
            ),
        )


SWEEP_TIMER = "hotline.sweep"
SWEEP_EVERY = timedelta(minutes=15)


async def ensure_sweep_scheduled(tx: Tx) -> None:
    """Keep one pending sweep timer (idempotent: the ref names the quarter-hour it runs at)."""

    pending = (
        await tx.conn.execute(
            select(timers.c.id).where(timers.c.kind == SWEEP_TIMER, timers.c.state == "pending")
        )
    ).first()
    if pending is None:
        step = int(SWEEP_EVERY.total_seconds())
        due = datetime.fromtimestamp((int(tx.now.timestamp()) // step + 1) * step, tz=tx.now.tzinfo)
        await schedule(tx, SWEEP_TIMER, f"hotline:sweep:{due.isoformat()}", due, {})


async def on_sweep_timer(platform: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """Timer: sweep every station, then schedule the next sweep."""
    await sweep_in(tx, station_id=None)
    await ensure_sweep_scheduled(tx)


async def sweep(
    platform: Platform, *, station_id: int | None, silent_minutes: float = 30
) -> dict[str, int]:
    """Silent and low-battery devices, unseen elders living alone and missed door-knock
    visits become tasks (once each)."""
    async with platform.tx() as tx:
        await ensure_sweep_scheduled(tx)
        return await sweep_in(tx, station_id=station_id, silent_minutes=silent_minutes)


# A door-knock visit missed longer ago than this is history, not a task any more.
MISSED_VISIT_LOOKBACK = timedelta(days=14)
DOOR_KNOCK = "door-knock"


async def sweep_in(tx: Tx, *, station_id: int | None, silent_minutes: float = 30) -> dict[str, int]:
    """The sweep inside the caller's transaction: a few set-based queries whatever the number
    of elders (it runs every quarter hour over every station)."""
    cond_d: Any = devices.c.active.is_(True)
    if station_id is not None:
        cond_d &= devices.c.station_id == station_id
    readings = [
        DeviceReading(
            r.device_id,
            r.elder_id,
            r.station_id,
            r.registered_at,
            r.last_heartbeat_at,
            r.battery_pct,
            timedelta(minutes=silent_minutes),
        )
        for r in (await tx.conn.execute(select(devices).where(cond_d))).all()
    ]
    device_rows = [
        task_row(
            tx,
            station_id=issue.station_id,
            elder_id=issue.elder_id,
            kind="device",
            title=issue.title,
            ref=issue.source_ref,
            due=tx.now + timedelta(hours=4),
        )
        for issue in evaluate_devices(readings, tx.now)
    ]
    return {
        "device_tasks": await insert_new(tx, device_rows),
        "welfare_checks": await insert_new(tx, await _welfare_rows(tx, station_id)),
        "missed_visits": await insert_new(tx, await _missed_visit_rows(tx, station_id)),
    }


def _latest(column: Any, *where: Any) -> Any:
    return select(func.max(column)).where(*where).scalar_subquery()


async def _welfare_rows(tx: Tx, station_id: int | None) -> list[dict[str, Any]]:
    """Check tasks for elders living alone who have not been seen for their station's time.

    Seen: a visit (any task finished at the elder's), a call from or about them, a help call
    or a booking they made in the app, or signing in to the app (every sign-in and every
    token refresh is a row in refresh_tokens: the app refreshes its 15-minute token while in
    use, so this is app activity without a write per request).
    """
    cond: Any = (elders.c.active.is_(True)) & (elders.c.living == "alone")
    if station_id is not None:
        cond &= elders.c.station_id == station_id
    rows = (
        await tx.conn.execute(
            select(
                elders.c.id,
                elders.c.station_id,
                elders.c.lat,
                elders.c.lng,
                _latest(tasks.c.finished_at, tasks.c.elder_id == elders.c.id).label("last_visit"),
                _latest(hotline_calls.c.created_at, hotline_calls.c.elder_id == elders.c.id).label(
                    "last_call"
                ),
                _latest(incidents.c.opened_at, incidents.c.elder_id == elders.c.id).label(
                    "last_request"
                ),
                _latest(
                    bookings.c.created_at,
                    bookings.c.elder_id == elders.c.id,
                    bookings.c.booked_by == elders.c.user_id,
                ).label("last_booking"),
                _latest(
                    refresh_tokens.c.created_at, refresh_tokens.c.user_id == elders.c.user_id
                ).label("last_sign_in"),
            ).where(cond)
        )
    ).all()
    configured = await all_settings(tx.conn)
    by_station: dict[int, list[ElderActivity]] = {}
    where: dict[int, tuple[Any, Any]] = {}
    for r in rows:
        app = [t for t in (r.last_request, r.last_booking, r.last_sign_in) if t is not None]
        by_station.setdefault(int(r.station_id), []).append(
            ElderActivity(
                r.id,
                r.station_id,
                True,
                last_visit_at=r.last_visit,
                last_app_at=max(app) if app else None,
                last_call_at=r.last_call,
            )
        )
        where[int(r.id)] = (r.lat, r.lng)
    out: list[dict[str, Any]] = []
    for sid, activity in by_station.items():
        hours = configured.get(sid, DEFAULT_SETTINGS).welfare_not_seen_hours
        for check in select_welfare_checks(activity, tx.now, not_seen_for=timedelta(hours=hours)):
            lat, lng = where[check.elder_id]
            out.append(
                task_row(
                    tx,
                    station_id=check.station_id,
                    elder_id=check.elder_id,
                    kind="check",
                    title=check.title,
                    ref=check.source_ref,
                    due=tx.now + timedelta(hours=24),
                    lat=lat,
                    lng=lng,
                )
            )
    return out


async def _missed_visit_rows(tx: Tx, station_id: int | None) -> list[dict[str, Any]]:
    """Door-knock visits (爱心敲门) whose window has ended without the visit being recorded.

    A visit recorded late (after its task was made) cancels the task, if nobody started it.
    """
    recent = bookings.c.window_end > tx.now - MISSED_VISIT_LOOKBACK
    cond: Any = (bookings.c.item_code == DOOR_KNOCK) & recent
    if station_id is not None:
        cond &= bookings.c.station_id == station_id
    done_late = (
        select(literal("missed_visit:") + cast(bookings.c.id, String))
        .where(cond, bookings.c.status == "completed")
        .scalar_subquery()
    )
    await tx.conn.execute(
        update(tasks)
        .where(tasks.c.source_ref.in_(done_late), tasks.c.status == "open")
        .values(status="cancelled", notes="敲门已补录 / the visit was recorded after all")
    )
    rows = (
        await tx.conn.execute(
            select(
                bookings.c.id,
                bookings.c.elder_id,
                bookings.c.station_id,
                bookings.c.window_end,
                elders.c.lat,
                elders.c.lng,
            )
            .join(elders, elders.c.id == bookings.c.elder_id)
            .where(
                cond,
                bookings.c.status.in_(("requested", "planned")),
                bookings.c.window_end <= tx.now,
            )
        )
    ).all()
    visits = [ScheduledVisit(r.id, r.elder_id, r.station_id, r.window_end) for r in rows]
    where = {r.elder_id: (r.lat, r.lng) for r in rows}
    return [
        task_row(
            tx,
            station_id=c.station_id,
            elder_id=c.elder_id,
            kind="visit",
            title=c.title,
            ref=c.source_ref,
            due=tx.now + timedelta(hours=24),
            priority=3,
            lat=where[c.elder_id][0],
            lng=where[c.elder_id][1],
        )
        for c in missed_visits(visits, tx.now, grace=timedelta(0))
    ]


# --- follow-up --------------------------------------------------------------------------------


async def on_incident_resolved(platform: Platform, payload: dict[str, Any]) -> None:
    """Outbox: a resolved emergency gets a return call within 24 hours (once)."""
    if payload.get("kind") != "emergency":
        return
    async with platform.tx() as tx:
        inc = (
            await tx.conn.execute(select(incidents).where(incidents.c.id == payload["incident_id"]))
        ).first()
        if inc is None:
            return
        if inc.resolution in FALSE_ALARMS:
            # The caregiver was there and found a test press or a false alarm: the elder has
            # been seen and spoken to; a return call would only repeat that.
            await timeline(tx, inc.id, "return_call_skipped", None, resolution=inc.resolution)
            return
        call = return_call(
            ResolvedEmergency(inc.id, inc.elder_id, inc.station_id, inc.resolved_at or tx.now)
        )
        row = task_row(
            tx,
            station_id=call.station_id,
            elder_id=call.elder_id,
            kind="return_call",
            title=call.title,
            ref=call.source_ref,
            due=call.due_at,
        )
        await insert_new(tx, [row])


async def draw_sample(
    platform: Platform, *, station_id: int | None, quarter: str | None
) -> dict[str, Any]:
    """The quarter's return-visit sample as visit tasks; the quarter's name is the seed."""
    async with platform.tx() as tx:
        name = quarter or quarter_name(tx.now)
        cond: Any = elders.c.active.is_(True)
        if station_id is not None:
            cond &= elders.c.station_id == station_id
        rows = (
            await tx.conn.execute(
                select(
                    elders.c.id,
                    elders.c.station_id,
                    elders.c.categories,
                    elders.c.lat,
                    elders.c.lng,
                ).where(cond)
            )
        ).all()
        frame = [
            SubsidisedElder(r.id, r.station_id)
            for r in rows
            if SUBSIDY_CATEGORIES & set(r.categories or ())
        ]
        sample = sample_return_visits(frame, seed=name)
        where = {r.id: (r.lat, r.lng) for r in rows}
        due = tx.now + timedelta(days=30)
        visits = [
            task_row(
                tx,
                station_id=sid,
                elder_id=eid,
                kind="visit",
                title=f"{name} 季度回访 / quarterly return visit",
                ref=f"return_visit:{name}:{eid}",
                due=due,
                priority=1,
                lat=where[eid][0],
                lng=where[eid][1],
            )
            for sid, ids in sample.items()
            for eid in ids
        ]
        created = await insert_new(tx, visits)
        return {
            "quarter": name,
            "frame": len(frame),
            "sampled": sum(len(v) for v in sample.values()),
            "created": created,
            "by_station": {str(k): v for k, v in sample.items()},
        }


async def record_satisfaction(
    platform: Platform,
    *,
    station_id: int | None,
    is_admin: bool,
    user_id: int,
    elder_id: int,
    answer: Answer,
    provider_id: int | None,
    incident_id: int | None,
    channel: str,
    comment: str,
) -> int:
    """Store one answer."""
    async with platform.tx() as tx:
        e = (await tx.conn.execute(select(elders).where(elders.c.id == elder_id))).first()
        if e is None or (not is_admin and e.station_id != station_id):
            raise ApiError(404, "elder_not_found", "elder not found")
        if provider_id is not None:
            await _provider_of_station(tx, provider_id, int(e.station_id))
        if incident_id is not None:
            inc = (
                await tx.conn.execute(
                    select(incidents.c.elder_id).where(incidents.c.id == incident_id)
                )
            ).first()
            if inc is None or inc.elder_id != elder_id:
                raise ApiError(
                    422,
                    "unknown_incident",
                    "no such incident of this elder",
                    field="incident_id",
                )
        return int(
            (
                await tx.conn.execute(
                    insert(satisfaction)
                    .values(
                        station_id=e.station_id,
                        elder_id=elder_id,
                        provider_id=provider_id,
                        incident_id=incident_id,
                        answer=answer.value,
                        channel=channel,
                        comment=comment,
                        recorded_by=user_id,
                        at=tx.now,
                    )
                    .returning(satisfaction.c.id)
                )
            ).scalar_one()
        )


async def _provider_of_station(tx: Tx, provider_id: int, station_id: int) -> None:
    """A provider (caregiver) named in a request must be one of the elder's station."""
    row = (
        await tx.conn.execute(select(caregivers.c.station_id).where(caregivers.c.id == provider_id))
    ).first()
    if row is None or row.station_id != station_id:
        raise ApiError(
            422, "unknown_provider", "no such provider at this station", field="provider_id"
        )


async def _staff_of_station(tx: Tx, user_id: int, station_id: int) -> None:
    """A complaint's owner is staff of the complaint's station (an operator or caregiver)."""
    row = (
        await tx.conn.execute(
            select(users.c.role, users.c.station_id, users.c.active).where(users.c.id == user_id)
        )
    ).first()
    if (
        row is None
        or not row.active
        or row.role not in ("operator", "caregiver")
        or row.station_id != station_id
    ):
        raise ApiError(
            422,
            "owner_not_staff",
            "the owner must be an active operator or caregiver of this station",
            field="owner_user_id",
        )


async def satisfaction_report(platform: Platform, *, station_id: int | None) -> dict[str, Any]:
    """Rates per provider and per station against the 95% target."""
    async with platform.store.read() as conn:
        cond: Any = satisfaction.c.id.is_not(None)
        if station_id is not None:
            cond &= satisfaction.c.station_id == station_id
        rows = (await conn.execute(select(satisfaction).where(cond))).all()
    providers, stations_ = satisfaction_rates(
        SatisfactionAnswer(r.provider_id or 0, r.station_id, Answer(r.answer)) for r in rows
    )
    return {
        "target": 0.95,
        "providers": [vars_of(r) for r in providers],
        "stations": [vars_of(r) for r in stations_],
    }


def vars_of(r: Any) -> dict[str, Any]:
    """A rate as JSON."""
    return {
        "key": r.key,
        "answers": r.answers,
        "satisfied": r.satisfied,
        "rate": r.rate,
        "meets_target": r.meets_target,
    }


def _complaint_of(row: Any) -> Complaint:
    return Complaint(
        row.id,
        row.elder_id,
        row.station_id,
        row.text,
        row.opened_at,
        row.deadline,
        ComplaintStatus(row.status),
        row.owner_user_id,
        row.outcome,
        row.provider_id,
    )


def complaint_out(c: Complaint, now: datetime) -> dict[str, Any]:
    """A ticket as JSON."""
    return {
        "id": c.id,
        "elder_id": c.elder_id,
        "station_id": c.station_id,
        "text": c.text,
        "status": c.status.value,
        "owner_user_id": c.owner,
        "deadline": c.deadline.isoformat(),
        "outcome": c.outcome,
        "provider_id": c.provider_id,
        "overdue": c.overdue(now),
    }


async def open_complaint(
    platform: Platform,
    *,
    station_id: int | None,
    is_admin: bool,
    elder_id: int,
    text: str,
    provider_id: int | None,
    deadline_hours: int,
) -> dict[str, Any]:
    """Open a ticket with a deadline; a timer alarms the station if it is still open then."""

    async with platform.tx() as tx:
        e = (await tx.conn.execute(select(elders).where(elders.c.id == elder_id))).first()
        if e is None or (not is_admin and e.station_id != station_id):
            raise ApiError(404, "elder_not_found", "elder not found")
        if provider_id is not None:
            await _provider_of_station(tx, provider_id, int(e.station_id))
        deadline = tx.now + timedelta(hours=deadline_hours)
        cid = int(
            (
                await tx.conn.execute(
                    insert(complaints)
                    .values(
                        station_id=e.station_id,
                        elder_id=elder_id,
                        provider_id=provider_id,
                        text=text,
                        status="open",
                        deadline=deadline,
                        opened_at=tx.now,
                        updated_at=tx.now,
                    )
                    .returning(complaints.c.id)
                )
            ).scalar_one()
        )
        await schedule(
            tx,
            "hotline.complaint_deadline",
            f"complaint:{cid}:deadline:0",
            deadline,
            {"complaint_id": cid},
        )
        row = (await tx.conn.execute(select(complaints).where(complaints.c.id == cid))).one()
        return complaint_out(_complaint_of(row), tx.now)


async def move_complaint(
    platform: Platform,
    *,
    complaint_id: int,
    station_id: int | None,
    is_admin: bool,
    action: ComplaintAction,
    owner: int | None,
    outcome: str | None,
    deadline_hours: int | None,
) -> dict[str, Any]:
    """Apply one action to a ticket through the transition table."""

    async with platform.tx() as tx:
        row = (
            await tx.conn.execute(
                select(complaints).where(complaints.c.id == complaint_id).with_for_update()
            )
        ).first()
        if row is None or (not is_admin and row.station_id != station_id):
            raise ApiError(404, "complaint_not_found", "complaint not found")
        deadline = tx.now + timedelta(hours=deadline_hours) if deadline_hours else None
        if action is ComplaintAction.ASSIGN and owner is not None:
            await _staff_of_station(tx, owner, int(row.station_id))
        try:
            new = transition(
                _complaint_of(row), action, owner=owner, outcome=outcome, deadline=deadline
            )
        except TransitionError as exc:
            raise ApiError(409, "complaint_state_conflict", str(exc)) from None
        await tx.conn.execute(
            update(complaints)
            .where(complaints.c.id == complaint_id)
            .values(
                status=new.status.value,
                owner_user_id=new.owner,
                outcome=new.outcome,
                deadline=new.deadline,
                updated_at=tx.now,
            )
        )
        if action is ComplaintAction.REOPEN:
            await schedule(
                tx,
                "hotline.complaint_deadline",
                f"complaint:{complaint_id}:deadline:{new.deadline.isoformat()}",
                new.deadline,
                {"complaint_id": complaint_id},
            )
        return complaint_out(new, tx.now)


async def on_complaint_deadline(platform: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """Timer: a complaint still open at its deadline alarms the station."""
    row = (
        await tx.conn.execute(select(complaints).where(complaints.c.id == payload["complaint_id"]))
    ).first()
    if row is not None and _complaint_of(row).overdue(tx.now + timedelta(seconds=1)):
        await raise_alarm(
            tx,
            row.station_id,
            None,
            "complaint_overdue",
            {"complaint_id": row.id},
        )


# --- the duty roster ----------------------------------------------------------------------------


async def replace_roster(
    platform: Platform, *, station_id: int, slots: list[dict[str, Any]]
) -> None:
    """Replace a station's roster in one transaction."""

    async with platform.tx() as tx:
        await tx.conn.execute(delete(roster).where(roster.c.station_id == station_id))
        for s in slots:
            await tx.conn.execute(insert(roster).values(station_id=station_id, **s))


async def get_roster(platform: Platform, *, station_id: int) -> dict[str, Any]:
    """The roster and who is on duty at this moment."""

    async with platform.store.read() as conn:
        rows = (
            await conn.execute(
                select(roster).where(roster.c.station_id == station_id).order_by(roster.c.id)
            )
        ).all()
    now = platform.clock.now()
    slots = [slot_of(r) for r in rows]
    duty = {s.person for role in DutyRole for s in on_duty(slots, now, role)}
    return {
        "slots": [
            {
                "person": s.person,
                "role": s.role.value,
                "name": s.name,
                "phone": s.phone,
                "weekdays": sorted(s.weekdays),
                "start": s.start.isoformat("minutes"),
                "end": s.end.isoformat("minutes"),
                "on_duty_now": s.person in duty,
            }
            for s in slots
        ]
    }
