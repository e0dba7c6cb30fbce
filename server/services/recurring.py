"""Recurring bookings: the operator's rules per elder (list, create, change, stop), the weekly
door-knock for elders living alone, and their materialisation into bookings, by hand and by a
durable daily timer per station.

A rule is checked against its item when it is made or changed (its window must hold the
item's duration, on days and inside hours the item is offered), so it cannot quietly fail
every week. Materialising is idempotent: each occurrence has a unique key
(`rr{id}:{date}`, or `rr{id}v{version}:{date}` after a change), and the elder's row is locked
before the key is looked up, so the same rule applied several times at once books each
occurrence once.

The daily timer `services.materialise` (01:00 Shanghai) re-arms itself for the next day and
hands the work to the outbox (`services.materialise_due`), whose handler books the next
`AHEAD_DAYS` days one occurrence per transaction, so one clash never rolls back the others.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Final

from aiohttp import web
from sqlalchemy import insert, or_, select, update

from schemas.services import (
    DoorKnockIn,
    MaterialiseIn,
    RecurrenceIn,
    RecurrenceOut,
    RecurrencePatch,
)
from server.auth.principal import Role
from server.errors import ApiError, not_found
from server.http import int_param, ok, parse, platform, require
from server.platform import Platform, Tx, audit, emit, schedule
from server.registry.guards import elder_for, station_scope
from server.registry.tables import elders, stations
from server.services import service
from server.services.recurrence import RecurrenceError, RecurrenceRule, expand, fits_item
from server.services.tables import bookings, recurrence_rules
from server.tasks.tables import tasks
from server.welfare.calendars import calendar_for
from server.welfare.workdays import SHANGHAI, business_date

AHEAD_DAYS: Final = 14
TIMER: Final = "services.materialise"
DUE_TOPIC: Final = "services.materialise_due"


def rule_of(r: Any) -> RecurrenceRule:
    """A stored rule as the pure model (its id carries the version after a change)."""
    return RecurrenceRule(
        rule_id=f"rr{r.id}" if r.version == 1 else f"rr{r.id}v{r.version}",
        elder_id=str(r.elder_id),
        item_code=r.item_code,
        weekdays=frozenset(r.weekdays),
        start=time.fromisoformat(r.start),
        end=time.fromisoformat(r.end),
        starts_on=r.starts_on,
        until=r.until,
        every_weeks=r.every_weeks,
        skip_non_workdays=r.skip_non_workdays,
        notes=r.notes,
    )


def _out(r: Any) -> RecurrenceOut:
    return RecurrenceOut(
        id=r.id,
        elder_id=r.elder_id,
        item_code=r.item_code,
        weekdays=list(r.weekdays),
        start=r.start,
        end=r.end,
        starts_on=r.starts_on,
        until=r.until,
        every_weeks=r.every_weeks,
        skip_non_workdays=r.skip_non_workdays,
        notes=r.notes,
        active=r.active,
        version=r.version,
    )


async def check_rule(tx: Tx, *, station_id: int, values: dict[str, Any]) -> None:
    """422 unless the rule is well formed and its item can be booked at its times."""
    try:
        rule = RecurrenceRule(
            rule_id="check",
            elder_id="-",
            item_code=values["item_code"],
            weekdays=frozenset(values["weekdays"]),
            start=time.fromisoformat(values["start"]),
            end=time.fromisoformat(values["end"]),
            starts_on=values["starts_on"],
            until=values.get("until"),
            every_weeks=values.get("every_weeks", 1),
        )
    except RecurrenceError as exc:
        raise ApiError(422, "recurrence.invalid", str(exc)) from exc
    item = service.item_from_row(
        await service.item_row(tx.conn, station_id=station_id, code=rule.item_code)
    )
    why = fits_item(
        rule.weekdays,
        rule.start,
        rule.end,
        duration_min=item.duration_min,
        days=item.hours.days,
        opens=item.hours.opens,
        closes=item.hours.closes,
    )
    if why == "recurrence.window_too_short":
        raise ApiError(
            422, why, f"{item.name_zh} takes {item.duration_min} minutes; the window is shorter"
        )
    if why is not None:
        raise ApiError(
            422,
            why,
            f"{item.name_zh} is offered {item.hours.opens:%H:%M}-{item.hours.closes:%H:%M} on "
            f"days {sorted(item.hours.days)} (0 = Monday)",
        )


async def ensure_timer(tx: Tx, *, station_id: int) -> None:
    """The station's daily materialisation timer, next at 01:00 Shanghai (idempotent)."""
    local = tx.now.astimezone(SHANGHAI)
    day = local.date() if local.time() < time(1, 0) else local.date() + timedelta(days=1)
    await schedule_day(tx, station_id=station_id, day=day)


async def schedule_day(tx: Tx, *, station_id: int, day: date) -> None:
    await schedule(
        tx,
        TIMER,
        f"{TIMER}:{station_id}:{day.isoformat()}",
        datetime.combine(day, time(1, 0), SHANGHAI),
        {"station_id": station_id, "day": day.isoformat()},
    )


async def _rule_row(tx: Tx, p: Any, rule_id: int) -> Any:
    row = (
        await tx.conn.execute(
            select(recurrence_rules).where(recurrence_rules.c.id == rule_id).with_for_update()
        )
    ).first()
    if row is None:
        raise not_found("recurrence_rule")
    await elder_for(tx.conn, p, row.elder_id)  # 404 for other stations
    return row


async def create_recurrence(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    eid = int_param(request, "elder_id")
    body = await parse(request, RecurrenceIn)
    async with platform(request).tx() as tx:
        elder = await elder_for(tx.conn, p, eid)
        await check_rule(tx, station_id=elder.station_id, values=body.model_dump())
        rid = (
            await tx.conn.execute(
                insert(recurrence_rules)
                .values(
                    station_id=elder.station_id,
                    elder_id=eid,
                    **body.model_dump(),
                    created_by=p.user_id,
                    created_at=tx.now,
                )
                .returning(recurrence_rules.c.id)
            )
        ).scalar_one()
        await ensure_timer(tx, station_id=elder.station_id)
        await audit(
            tx, actor=p.user_id, action="create", object_type="recurrence_rule", object_id=rid
        )
        row = (
            await tx.conn.execute(select(recurrence_rules).where(recurrence_rules.c.id == rid))
        ).one()
    return ok(_out(row), 201)


async def list_elder_rules(request: web.Request) -> web.Response:
    p = require(request, *service.BOOKERS)
    eid = int_param(request, "elder_id")
    async with platform(request).store.read() as conn:
        await elder_for(conn, p, eid)
        rows = (
            await conn.execute(
                select(recurrence_rules)
                .where(recurrence_rules.c.elder_id == eid)
                .order_by(recurrence_rules.c.id)
            )
        ).all()
    return ok([_out(r) for r in rows])


async def list_station_rules(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    active_only = request.query.get("active") in ("1", "true")
    conds = [recurrence_rules.c.station_id == sid]
    if active_only:
        conds.append(recurrence_rules.c.active.is_(True))
    async with platform(request).store.read() as conn:
        rows = (
            await conn.execute(
                select(recurrence_rules).where(*conds).order_by(recurrence_rules.c.id)
            )
        ).all()
    return ok([_out(r) for r in rows])


async def cancel_future(tx: Tx, row: Any, *, actor: int | None) -> list[int]:
    """Cancel the rule's bookings that have not started yet (and their tasks)."""
    keys = or_(
        bookings.c.occurrence_key.like(f"rr{row.id}:%"),
        bookings.c.occurrence_key.like(f"rr{row.id}v%"),
    )
    future = (
        await tx.conn.execute(
            select(bookings.c.id, bookings.c.task_id).where(
                keys,
                bookings.c.status.in_(("requested", "planned")),
                bookings.c.window_start > tx.now,
            )
        )
    ).all()
    for b in future:
        await tx.conn.execute(
            update(bookings)
            .where(bookings.c.id == b.id)
            .values(status="cancelled", cancelled_at=tx.now)
        )
        if b.task_id:
            await tx.conn.execute(
                update(tasks).where(tasks.c.id == b.task_id).values(status="cancelled")
            )
        await emit(
            tx,
            "booking.cancelled",
            {"booking_id": b.id, "task_id": b.task_id, "station_id": row.station_id},
        )
    if future:
        await audit(
            tx,
            actor=actor,
            action="cancel_rule_bookings",
            object_type="recurrence_rule",
            object_id=row.id,
            detail={"bookings": [b.id for b in future]},
        )
    return [b.id for b in future]


async def patch_rule(request: web.Request) -> web.Response:
    """Change a rule: the future bookings of the old pattern are cancelled and the new pattern
    is booked at once (the next days) and by the daily timer from then on."""
    p = require(request, Role.OPERATOR)
    rule_id = int_param(request, "rule_id")
    body = await parse(request, RecurrencePatch)
    changes = body.model_dump(exclude_unset=True)
    plat = platform(request)
    async with plat.tx() as tx:
        row = await _rule_row(tx, p, rule_id)
        if not row.active:
            raise ApiError(409, "recurrence.stopped", "this rule was stopped; make a new one")
        merged = {**row._asdict(), **changes}
        await check_rule(tx, station_id=row.station_id, values=merged)
        cancelled = await cancel_future(tx, row, actor=p.user_id)
        await tx.conn.execute(
            update(recurrence_rules)
            .where(recurrence_rules.c.id == rule_id)
            .values(**changes, version=row.version + 1)
        )
        await audit(
            tx,
            actor=p.user_id,
            action="update",
            object_type="recurrence_rule",
            object_id=rule_id,
            detail={"fields": sorted(changes), "cancelled": cancelled},
        )
    created, skipped = await materialise_station(
        plat, station_id=row.station_id, days=AHEAD_DAYS, actor=p.user_id, rule_id=rule_id
    )
    async with plat.store.read() as conn:
        row = (
            await conn.execute(select(recurrence_rules).where(recurrence_rules.c.id == rule_id))
        ).one()
    return ok(
        {
            "rule": _out(row).model_dump(mode="json"),
            "cancelled": cancelled,
            "created": created,
            "skipped": skipped,
        }
    )


async def stop_rule(request: web.Request) -> web.Response:
    """Stop a rule from today: no more bookings, and its bookings not yet started are
    cancelled."""
    p = require(request, Role.OPERATOR)
    rule_id = int_param(request, "rule_id")
    async with platform(request).tx() as tx:
        row = await _rule_row(tx, p, rule_id)
        cancelled = await cancel_future(tx, row, actor=p.user_id) if row.active else []
        today = business_date(tx.now)
        await tx.conn.execute(
            update(recurrence_rules)
            .where(recurrence_rules.c.id == rule_id)
            .values(active=False, until=min(row.until or today, today))
        )
        await audit(
            tx,
            actor=p.user_id,
            action="stop",
            object_type="recurrence_rule",
            object_id=rule_id,
            detail={"cancelled": cancelled},
        )
        row = (
            await tx.conn.execute(select(recurrence_rules).where(recurrence_rules.c.id == rule_id))
        ).one()
    return ok({"rule": _out(row).model_dump(mode="json"), "cancelled": cancelled})


async def door_knock_for_the_alone(request: web.Request) -> web.Response:
    """Give every active elder of the station who lives alone a weekly door-knock rule (once;
    the station's row is locked, so two clicks at once add one rule each, not two)."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    body = await parse(request, DoorKnockIn)
    if body.end <= body.start:
        raise ApiError(422, "recurrence.invalid", "end must be after start")
    async with platform(request).tx() as tx:
        await tx.conn.execute(select(stations.c.id).where(stations.c.id == sid).with_for_update())
        await check_rule(
            tx,
            station_id=sid,
            values={
                "item_code": "door-knock",
                "weekdays": [body.weekday],
                "start": body.start,
                "end": body.end,
                "starts_on": body.starts_on,
            },
        )
        alone = (
            (
                await tx.conn.execute(
                    select(elders.c.id).where(
                        elders.c.station_id == sid,
                        elders.c.active.is_(True),
                        elders.c.living == "alone",
                    )
                )
            )
            .scalars()
            .all()
        )
        have = set(
            (
                await tx.conn.execute(
                    select(recurrence_rules.c.elder_id).where(
                        recurrence_rules.c.station_id == sid,
                        recurrence_rules.c.item_code == "door-knock",
                        recurrence_rules.c.active.is_(True),
                    )
                )
            )
            .scalars()
            .all()
        )
        new = [e for e in alone if e not in have]
        if new:
            await tx.conn.execute(
                insert(recurrence_rules),
                [
                    {
                        "station_id": sid,
                        "elder_id": e,
                        "item_code": "door-knock",
                        "weekdays": [body.weekday],
                        "start": body.start,
                        "end": body.end,
                        "starts_on": body.starts_on,
                        "notes": "爱心敲门 / weekly door-knock",
                        "created_by": p.user_id,
                        "created_at": tx.now,
                    }
                    for e in new
                ],
            )
            await ensure_timer(tx, station_id=sid)
        await audit(
            tx,
            actor=p.user_id,
            action="door_knock_rules",
            object_type="station",
            object_id=sid,
            detail={"added": len(new)},
        )
    return ok({"added": len(new), "elders": new})


async def materialise_station(
    plat: Platform,
    *,
    station_id: int,
    days: int,
    actor: int | None,
    rule_id: int | None = None,
) -> tuple[list[int], list[dict[str, str]]]:
    """Book the station's active rules for today and the next `days` days, one occurrence per
    transaction; returns the new booking ids and the occurrences skipped with their codes."""
    conds = [recurrence_rules.c.station_id == station_id, recurrence_rules.c.active.is_(True)]
    if rule_id is not None:
        conds.append(recurrence_rules.c.id == rule_id)
    async with plat.store.read() as conn:
        rules = (await conn.execute(select(recurrence_rules).where(*conds))).all()
        cal = await calendar_for(conn)  # published years, the package, then the fallback
    today = business_date(plat.clock.now())
    created: list[int] = []
    skipped: list[dict[str, str]] = []
    for r in rules:
        for occ in expand(
            rule_of(r), today, today + timedelta(days=days), is_workday=cal.is_workday
        ):
            try:
                async with plat.tx() as tx:
                    # lock the elder first: a second run of the same rule waits here, then sees
                    # the first one's booking by its key
                    elder = (
                        await tx.conn.execute(
                            select(elders).where(elders.c.id == r.elder_id).with_for_update()
                        )
                    ).one()
                    if (
                        await tx.conn.execute(
                            select(bookings.c.id).where(bookings.c.occurrence_key == occ.key)
                        )
                    ).first() is not None:
                        continue
                    row = await service.create_booking(
                        tx,
                        elder=elder,
                        item_code=occ.item_code,
                        start=occ.start,
                        end=occ.end,
                        notes=r.notes,
                        actor=actor,
                        occurrence_key=occ.key,
                    )
                    created.append(row.id)
            except ApiError as exc:
                skipped.append({"occurrence": occ.key, "code": exc.code})
    return created, skipped


async def materialise(request: web.Request) -> web.Response:
    """Turn the station's recurring rules into bookings for the next days now (idempotent; the
    daily timer does the same every night)."""
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    body = await parse(request, MaterialiseIn)
    created, skipped = await materialise_station(
        platform(request), station_id=sid, days=body.days, actor=p.user_id
    )
    return ok({"created": created, "skipped": skipped})


async def on_materialise_timer(plat: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """01:00 each day: re-arm for tomorrow, and hand today's run to the outbox (its handler
    needs its own transactions, one per occurrence)."""
    sid, day = int(payload["station_id"]), date.fromisoformat(payload["day"])
    await schedule_day(tx, station_id=sid, day=day + timedelta(days=1))
    await emit(tx, DUE_TOPIC, {"station_id": sid, "days": AHEAD_DAYS})


async def on_materialise_due(plat: Platform, payload: dict[str, Any]) -> None:
    await materialise_station(
        plat, station_id=int(payload["station_id"]), days=int(payload["days"]), actor=None
    )


def routes() -> list[web.RouteDef]:
    return [
        web.post("/api/v1/elders/{elder_id}/recurring-bookings", create_recurrence),
        web.get("/api/v1/elders/{elder_id}/recurring-bookings", list_elder_rules),
        web.get("/api/v1/stations/{station_id}/recurring-bookings", list_station_rules),
        web.patch("/api/v1/recurring-bookings/{rule_id}", patch_rule),
        web.post("/api/v1/recurring-bookings/{rule_id}/stop", stop_rule),
        web.post("/api/v1/stations/{station_id}/recurring-bookings/materialise", materialise),
        web.post(
            "/api/v1/stations/{station_id}/recurring-bookings/door-knock", door_knock_for_the_alone
        ),
    ]
