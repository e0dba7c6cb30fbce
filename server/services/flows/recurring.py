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

from calendar import monthrange
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import Row, insert, or_, select, update

from schemas.registry import Living
from schemas.services import (
    BookingStatus,
    DoorKnockIn,
    FestivalVisitsIn,
    RecurrenceIn,
    RecurrenceOut,
    RecurrencePatch,
)
from server.auth.principal import Principal
from server.errors import ApiError, not_found
from server.platform import Platform, Tx, audit, schedule
from server.registry.guards import elder_for
from server.registry.tables import elders, stations
from server.services import model
from server.services.flows.bookings import create_booking
from server.services.flows.menu import item_row
from server.services.out import item_from_row, rule_out, stored_text
from server.services.recurrence import (
    WEEKLY,
    Occurrence,
    RecurrenceError,
    RecurrenceRule,
    expand,
    fits_item,
)
from server.services.tables import bookings, recurrence_rules
from server.texts import render
from server.welfare.flows.calendars import calendar_for
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
        frequency=r.frequency,
        month_day=r.month_day,
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
            frequency=str(values.get("frequency") or WEEKLY),
            month_day=values.get("month_day"),
        )
    except RecurrenceError as exc:
        raise ApiError(422, "recurrence.invalid", str(exc)) from exc
    item = item_from_row(await item_row(tx.conn, station_id=station_id, code=rule.item_code))
    why = fits_item(
        # a monthly rule falls on any weekday: only its hours are checked here, each date by
        # the booking itself
        rule.weekdays if rule.frequency == WEEKLY else item.hours.days,
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
    """The station's materialisation timer at 01:00 Shanghai on ``day``."""
    await schedule(
        tx,
        TIMER,
        f"{TIMER}:{station_id}:{day.isoformat()}",
        datetime.combine(day, time(1, 0), SHANGHAI),
        {"station_id": station_id, "day": day.isoformat()},
    )


async def _rule_row(tx: Tx, p: Principal, rule_id: int) -> Row[Any]:
    row = (
        await tx.conn.execute(
            select(recurrence_rules).where(recurrence_rules.c.id == rule_id).with_for_update()
        )
    ).first()
    if row is None:
        raise not_found("recurrence_rule")
    await elder_for(tx.conn, p, row.elder_id)  # 404 for other stations
    return row


async def create_rule(
    plat: Platform, p: Principal, *, elder_id: int, body: RecurrenceIn
) -> RecurrenceOut:
    """A new rule for the elder, checked against its item; the daily timer books it."""
    async with plat.tx() as tx:
        elder = await elder_for(tx.conn, p, elder_id)
        rid = await insert_rule(tx, elder=elder, body=body, actor=p.user_id)
        return rule_out(await _reread(tx, rid))


async def insert_rule(tx: Tx, *, elder: Any, body: RecurrenceIn, actor: int | None) -> int:
    """Check and write a rule in the caller's transaction (an accepted service plan writes
    several in one); the station's daily timer is armed."""
    await check_rule(tx, station_id=elder.station_id, values=body.model_dump())
    rid = int(
        (
            await tx.conn.execute(
                insert(recurrence_rules)
                .values(
                    station_id=elder.station_id,
                    elder_id=elder.id,
                    **body.model_dump(),
                    created_by=actor,
                    created_at=tx.now,
                )
                .returning(recurrence_rules.c.id)
            )
        ).scalar_one()
    )
    await ensure_timer(tx, station_id=elder.station_id)
    await audit(tx, actor=actor, action="create", object_type="recurrence_rule", object_id=rid)
    return rid


async def _reread(tx: Tx, rule_id: int) -> Row[Any]:
    return (
        await tx.conn.execute(select(recurrence_rules).where(recurrence_rules.c.id == rule_id))
    ).one()


async def list_elder_rules(plat: Platform, p: Principal, *, elder_id: int) -> list[RecurrenceOut]:
    """The elder's rules, stopped ones too."""
    async with plat.store.read() as conn:
        await elder_for(conn, p, elder_id)
        rows = (
            await conn.execute(
                select(recurrence_rules)
                .where(recurrence_rules.c.elder_id == elder_id)
                .order_by(recurrence_rules.c.id)
            )
        ).all()
    return [rule_out(r) for r in rows]


async def list_station_rules(
    plat: Platform, *, station_id: int, active_only: bool
) -> list[RecurrenceOut]:
    """The station's rules (only those in force, if asked)."""
    conds = [recurrence_rules.c.station_id == station_id]
    if active_only:
        conds.append(recurrence_rules.c.active.is_(True))
    async with plat.store.read() as conn:
        rows = (
            await conn.execute(
                select(recurrence_rules).where(*conds).order_by(recurrence_rules.c.id)
            )
        ).all()
    return [rule_out(r) for r in rows]


async def cancel_future(tx: Tx, row: Any, *, actor: int | None) -> list[int]:
    """Cancel the rule's bookings that have not started yet (and their tasks)."""
    keys = or_(
        bookings.c.occurrence_key.like(f"rr{row.id}:%"),
        bookings.c.occurrence_key.like(f"rr{row.id}v%"),
    )
    future = (
        await tx.conn.execute(
            select(
                bookings.c.id, bookings.c.status, bookings.c.task_id, bookings.c.station_id
            ).where(
                keys,
                bookings.c.status.in_([s.value for s in model.ACTIVE]),
                bookings.c.window_start > tx.now,
            )
        )
    ).all()
    for b in future:
        await model.transition(tx, b, BookingStatus.CANCELLED)
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


async def change_rule(
    plat: Platform, p: Principal, *, rule_id: int, body: RecurrencePatch
) -> dict[str, Any]:
    """Change a rule: the future bookings of the old pattern are cancelled and the new pattern
    is booked at once (the next days) and by the daily timer from then on."""
    changes = body.model_dump(exclude_unset=True)
    async with plat.tx() as tx:
        row = await _rule_row(tx, p, rule_id)
        if not row.active:
            raise ApiError(409, "recurrence.stopped", "this rule was stopped; make a new one")
        await check_rule(tx, station_id=row.station_id, values={**row._asdict(), **changes})
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
    return {
        "rule": rule_out(row).model_dump(mode="json"),
        "cancelled": cancelled,
        "created": created,
        "skipped": skipped,
    }


async def stop_rule(plat: Platform, p: Principal, *, rule_id: int) -> dict[str, Any]:
    """Stop a rule from today: no more bookings, and its bookings not yet started are
    cancelled."""
    async with plat.tx() as tx:
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
        row = await _reread(tx, rule_id)
    return {"rule": rule_out(row).model_dump(mode="json"), "cancelled": cancelled}


DOOR_KNOCK: Final = "door-knock"
FESTIVAL_VISIT: Final = "festival-visit"


async def door_knock_for_the_alone(
    plat: Platform, *, station_id: int, body: DoorKnockIn, actor: int
) -> dict[str, Any]:
    """Give every active elder of the station who lives alone a weekly door-knock rule (once;
    the station's row is locked, so two clicks at once add one rule each, not two)."""
    if body.end <= body.start:
        raise ApiError(422, "recurrence.invalid", "end must be after start")
    pattern = {
        "item_code": DOOR_KNOCK,
        "weekdays": [body.weekday],
        "start": body.start,
        "end": body.end,
        "starts_on": body.starts_on,
    }
    async with plat.tx() as tx:
        await tx.conn.execute(
            select(stations.c.id).where(stations.c.id == station_id).with_for_update()
        )
        await check_rule(tx, station_id=station_id, values=pattern)
        new = await _alone_without_rule(tx, station_id=station_id)
        if new:
            notes = stored_text("recurrence.door_knock")
            await tx.conn.execute(
                insert(recurrence_rules),
                [
                    {
                        "station_id": station_id,
                        "elder_id": e,
                        **pattern,
                        "notes": notes,
                        "created_by": actor,
                        "created_at": tx.now,
                    }
                    for e in new
                ],
            )
            await ensure_timer(tx, station_id=station_id)
        await audit(
            tx,
            actor=actor,
            action="door_knock_rules",
            object_type="station",
            object_id=station_id,
            detail={"added": len(new)},
        )
    return {"added": len(new), "elders": new}


async def festival_visits(
    plat: Platform, *, station_id: int, body: FestivalVisitsIn, actor: int
) -> dict[str, Any]:
    """Give the station's active elders (those in the categories given) a yearly birthday
    visit from their file and a one-day visit for each festival, once: a rule already made
    for the same visit is not made again. All in one transaction."""
    pattern = {"item_code": FESTIVAL_VISIT, "start": body.start, "end": body.end}
    async with plat.tx() as tx:
        await tx.conn.execute(
            select(stations.c.id).where(stations.c.id == station_id).with_for_update()
        )
        await check_rule(
            tx,
            station_id=station_id,
            values={**pattern, "weekdays": [0], "starts_on": body.starts_on},
        )
        rows = (
            await tx.conn.execute(
                select(elders.c.id, elders.c.birth_date, elders.c.categories).where(
                    elders.c.station_id == station_id, elders.c.active.is_(True)
                )
            )
        ).all()
        wanted = set(body.categories)
        chosen = [e for e in rows if not wanted or wanted & set(e.categories or ())]
        have = {
            (r.elder_id, r.notes)
            for r in (
                await tx.conn.execute(
                    select(recurrence_rules.c.elder_id, recurrence_rules.c.notes).where(
                        recurrence_rules.c.station_id == station_id,
                        recurrence_rules.c.item_code == FESTIVAL_VISIT,
                        recurrence_rules.c.active.is_(True),
                    )
                )
            ).all()
        }
        new: list[dict[str, Any]] = []
        for e in chosen:
            if body.birthdays:
                born = date.fromisoformat(e.birth_date)
                notes = stored_text("recurrence.birthday")
                if (e.id, notes) not in have:
                    new.append(
                        {
                            **pattern,
                            "elder_id": e.id,
                            "weekdays": [],
                            "frequency": "yearly",
                            "month_day": born.day,
                            "starts_on": next_anniversary(born, body.starts_on),
                            "until": None,
                            "notes": notes,
                        }
                    )
            for f in body.festivals:
                if f.on < body.starts_on:
                    continue
                notes = stored_text("recurrence.festival", name=f.name_zh, day=f.on.isoformat())
                if (e.id, notes) not in have:
                    new.append(
                        {
                            **pattern,
                            "elder_id": e.id,
                            "weekdays": [f.on.weekday()],
                            "frequency": "weekly",
                            "month_day": None,
                            "starts_on": f.on,
                            "until": f.on,
                            "notes": notes,
                        }
                    )
        if new:
            await tx.conn.execute(
                insert(recurrence_rules),
                [
                    {"station_id": station_id, "created_by": actor, "created_at": tx.now, **v}
                    for v in new
                ],
            )
            await ensure_timer(tx, station_id=station_id)
        await audit(
            tx,
            actor=actor,
            action="festival_visit_rules",
            object_type="station",
            object_id=station_id,
            detail={"added": len(new)},
        )
    return {"added": len(new), "elders": sorted({v["elder_id"] for v in new})}


def next_anniversary(born: date, on_or_after: date) -> date:
    """The first birthday on or after a day (29 February: the 28th in a common year)."""
    for year in (on_or_after.year, on_or_after.year + 1):
        day = min(born.day, monthrange(year, born.month)[1])
        d = date(year, born.month, day)
        if d >= on_or_after:
            return d
    raise AssertionError("unreachable: next year's birthday is always later")


async def _alone_without_rule(tx: Tx, *, station_id: int) -> list[int]:
    """Active elders of the station who live alone and have no door-knock rule in force."""
    alone = await tx.conn.execute(
        select(elders.c.id).where(
            elders.c.station_id == station_id,
            elders.c.active.is_(True),
            elders.c.living == Living.ALONE.value,
        )
    )
    have = await tx.conn.execute(
        select(recurrence_rules.c.elder_id).where(
            recurrence_rules.c.station_id == station_id,
            recurrence_rules.c.item_code == DOOR_KNOCK,
            recurrence_rules.c.active.is_(True),
        )
    )
    known = set(have.scalars().all())
    return [int(e) for e in alone.scalars().all() if e not in known]


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
                booking_id = await _book_occurrence(plat, r, occ, actor=actor)
            except ApiError as exc:
                skipped.append({"occurrence": occ.key, "code": exc.code})
            else:
                if booking_id is not None:
                    created.append(booking_id)
    return created, skipped


async def _book_occurrence(
    plat: Platform, rule: Any, occ: Occurrence, *, actor: int | None
) -> int | None:
    """Book one occurrence in its own transaction; None when it is booked already."""
    async with plat.tx() as tx:
        # lock the elder first: a second run of the same rule waits here, then sees the first
        # one's booking by its key
        elder = (
            await tx.conn.execute(
                select(elders).where(elders.c.id == rule.elder_id).with_for_update()
            )
        ).one()
        booked = select(bookings.c.id).where(bookings.c.occurrence_key == occ.key)
        if (await tx.conn.execute(booked)).first() is not None:
            return None
        row = await create_booking(
            tx,
            elder=elder,
            item_code=occ.item_code,
            start=occ.start,
            end=occ.end,
            notes=rule.notes
            if occ.moved_from is None
            else " ".join(
                filter(
                    None, [rule.notes, render("recurrence.moved", day=occ.moved_from.isoformat())]
                )
            ),
            actor=actor,
            occurrence_key=occ.key,
        )
        return int(row.id)
