"""Store work for the services domain (keyword-only, inside the caller's transaction)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.services import Category
from server.auth.principal import Role
from server.errors import ApiError
from server.platform import Tx, audit, emit
from server.registry.tables import elders
from server.services.bookings import (
    BookingError,
    BookingStatus,
    ElderStatus,
    ExistingBooking,
    Window,
    asap_window,
    check_booking,
    quote,
)
from server.services.catalogue import SEED_ITEMS, BookableHours, ServiceItem
from server.services.meals import DailyMenu, Dish
from server.services.tables import bookings, meal_menus, service_items
from server.tasks.tables import tasks
from server.welfare import service as welfare

# who may book for an elder (each still passes the elder guard)
BOOKERS = (Role.ELDER, Role.FAMILY, Role.OPERATOR)

BOOKING_STATUS = {
    BookingError.NAIVE_TIME: 422,
    BookingError.WINDOW_INVALID: 422,
    BookingError.WINDOW_TOO_SHORT: 422,
    BookingError.IN_THE_PAST: 422,
    BookingError.TOO_FAR_AHEAD: 422,
    BookingError.OUTSIDE_HOURS: 422,
    BookingError.ELDER_INACTIVE: 409,
    BookingError.ITEM_INACTIVE: 409,
    BookingError.CLASS_NOT_ALLOWED: 403,
    BookingError.DOUBLE_BOOKED: 409,
    BookingError.NO_SLOT: 409,
    BookingError.CANCEL_TOO_LATE: 409,
    BookingError.NOT_CANCELLABLE: 409,
}

MESSAGES = {
    BookingError.NAIVE_TIME: "times must carry a time zone",
    BookingError.WINDOW_INVALID: "the window ends before it starts",
    BookingError.WINDOW_TOO_SHORT: "the window is shorter than the service takes",
    BookingError.IN_THE_PAST: "the window starts in the past",
    BookingError.TOO_FAR_AHEAD: "bookings open at most 60 days ahead",
    BookingError.OUTSIDE_HOURS: "the service is not offered at that time",
    BookingError.ELDER_INACTIVE: "the elder's file is not active",
    BookingError.ITEM_INACTIVE: "this service is not offered now",
    BookingError.CLASS_NOT_ALLOWED: "the elder's funding class cannot use this service",
    BookingError.DOUBLE_BOOKED: "the elder already has a booking at that time",
    BookingError.NO_SLOT: "no free slot in the next week",
    BookingError.CANCEL_TOO_LATE: "too late to cancel this booking",
    BookingError.NOT_CANCELLABLE: "this booking can no longer be cancelled",
}


def booking_error(errors: tuple[BookingError, ...] | list[BookingError]) -> ApiError:
    """The first error as the response, all codes listed."""
    first = errors[0]
    return ApiError(
        BOOKING_STATUS[first], first.value, MESSAGES[first], codes=[e.value for e in errors]
    )


class AttrRow:
    """Attribute access over a dict, so the row converters also take values not read back."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _hhmm(t: time) -> str:
    return t.strftime("%H:%M")


def _time(s: str) -> time:
    return time.fromisoformat(s)


def item_from_row(r: Any) -> ServiceItem:
    """A menu row as the pure model."""
    return ServiceItem(
        code=r.code,
        name_zh=r.name_zh,
        name_en=r.name_en,
        category=Category(r.category),
        price_fen=int(r.price_fen),
        duration_min=int(r.duration_min),
        skill=r.skill,
        certificate=r.certificate,
        subsidy_payable=bool(r.subsidy_payable),
        hours=BookableHours(
            frozenset(r.hours["days"]), _time(r.hours["opens"]), _time(r.hours["closes"])
        ),
        allowed_classes=frozenset(r.allowed_classes),
        active=bool(r.active),
    )


def item_values(item: ServiceItem) -> dict[str, Any]:
    """A pure item as row values."""
    return {
        "code": item.code,
        "name_zh": item.name_zh,
        "name_en": item.name_en,
        "category": item.category.value,
        "price_fen": item.price_fen,
        "duration_min": item.duration_min,
        "skill": item.skill,
        "certificate": item.certificate,
        "subsidy_payable": item.subsidy_payable,
        "hours": {
            "days": sorted(item.hours.days),
            "opens": _hhmm(item.hours.opens),
            "closes": _hhmm(item.hours.closes),
        },
        "allowed_classes": sorted(item.allowed_classes),
        "active": item.active,
    }


async def seed_menu_rows(conn: AsyncConnection, *, station_id: int, now: datetime) -> int:
    """Add the seed items the station's menu does not have yet; returns how many were added."""
    have = {
        r.code
        for r in await conn.execute(
            select(service_items.c.code).where(service_items.c.station_id == station_id)
        )
    }
    new = [
        {**item_values(i), "station_id": station_id, "updated_at": now}
        for i in SEED_ITEMS
        if i.code not in have
    ]
    if new:
        await conn.execute(insert(service_items), new)
    return len(new)


async def seed_menu(tx: Tx, *, station_id: int, actor: int) -> int:
    """Seed the menu and audit who did it."""
    added = await seed_menu_rows(tx.conn, station_id=station_id, now=tx.now)
    if added:
        await audit(
            tx,
            actor=actor,
            action="seed_menu",
            object_type="station",
            object_id=station_id,
            detail={"added": added},
        )
    return added


async def item_row(conn: AsyncConnection, *, station_id: int, code: str) -> Any:
    """A station's menu row by code, or 404."""
    row = (
        await conn.execute(
            select(service_items).where(
                service_items.c.station_id == station_id, service_items.c.code == code
            )
        )
    ).first()
    if row is None:
        raise ApiError(404, "service_item_not_found", "no such service on this station's menu")
    return row


async def existing_bookings(
    conn: AsyncConnection, *, elder_id: int, around: datetime
) -> list[ExistingBooking]:
    """The elder's active bookings near a time (a day either side)."""
    rows = await conn.execute(
        select(
            bookings.c.id, bookings.c.window_start, bookings.c.window_end, bookings.c.status
        ).where(
            bookings.c.elder_id == elder_id,
            bookings.c.status.in_(("requested", "planned")),
            bookings.c.window_start < around + timedelta(days=8),
            bookings.c.window_end > around - timedelta(days=1),
        )
    )
    return [
        ExistingBooking(str(r.id), Window(r.window_start, r.window_end), BookingStatus(r.status))
        for r in rows
    ]


async def create_booking(
    tx: Tx,
    *,
    elder: Any,
    item_code: str,
    start: datetime | None,
    end: datetime | None,
    notes: str,
    actor: int | None,
    occurrence_key: str | None = None,
) -> Any:
    """Check and write a booking and its task for the day plan; the price quote is stored."""
    row = await item_row(tx.conn, station_id=elder.station_id, code=item_code)
    item = item_from_row(row)
    # two bookings for one elder check their slots in turn: lock the elder's row (PostgreSQL;
    # SQLite's BEGIN IMMEDIATE already serialises writers)
    await tx.conn.execute(select(elders.c.id).where(elders.c.id == elder.id).with_for_update())
    elig, _, left, _ = await welfare.quota_left(tx.conn, elder=elder, now=tx.now)
    status = ElderStatus(str(elder.id), bool(elder.active), elig.funding_class if elig else "")
    existing = await existing_bookings(tx.conn, elder_id=elder.id, around=start or tx.now)
    if start is None or end is None:
        w = asap_window(item=item, now=tx.now, existing=existing)
        if w is None:
            raise booking_error([BookingError.NO_SLOT])
        window = w
    else:
        window = Window(start, end)
    errors = check_booking(item=item, window=window, elder=status, existing=existing, now=tx.now)
    if errors:
        raise booking_error(errors)
    q = quote(item, quota_left_fen=left)
    task_id = (
        await tx.conn.execute(
            insert(tasks)
            .values(
                station_id=elder.station_id,
                elder_id=elder.id,
                kind="service",
                title=item.name_zh,
                status="open",
                priority=1,
                interruptible=True,
                required_skills=[item.skill] if item.skill else [],
                window_start=window.start,
                window_end=window.end,
                duration_s=item.duration_min * 60,
                lat=elder.lat,
                lng=elder.lng,
                source="booking",
                notes=notes,
                created_at=tx.now,
            )
            .returning(tasks.c.id)
        )
    ).scalar_one()
    booking_id = (
        await tx.conn.execute(
            insert(bookings)
            .values(
                station_id=elder.station_id,
                elder_id=elder.id,
                item_id=row.id,
                item_code=item.code,
                booked_by=actor,
                window_start=window.start,
                window_end=window.end,
                asap=start is None,
                notes=notes,
                status="requested",
                price_fen=q.price_fen,
                quoted_subsidy_fen=q.subsidy_fen,
                quoted_self_pay_fen=q.self_pay_fen,
                task_id=task_id,
                occurrence_key=occurrence_key,
                created_at=tx.now,
            )
            .returning(bookings.c.id)
        )
    ).scalar_one()
    await tx.conn.execute(
        update(tasks).where(tasks.c.id == task_id).values(source_ref=f"booking:{booking_id}")
    )
    # the dispatcher re-plans the station's day from the task; the event is its wake-up call
    await emit(
        tx,
        "booking.created",
        {
            "booking_id": booking_id,
            "task_id": task_id,
            "station_id": elder.station_id,
            "elder_id": elder.id,
        },
    )
    return (await tx.conn.execute(select(bookings).where(bookings.c.id == booking_id))).one()


def menu_from_row(r: Any) -> DailyMenu:
    """A stored daily menu as the pure model."""
    return DailyMenu(
        day=r.day,
        dishes=tuple(
            Dish(d["code"], d["name_zh"], int(d["price_fen"]), frozenset(d.get("tags", [])))
            for d in r.dishes
        ),
        cutoff=_time(r.cutoff),
        lunch_opens=_time(r.lunch_opens),
        lunch_closes=_time(r.lunch_closes),
    )


async def menu_row(conn: AsyncConnection, *, station_id: int, day: date) -> Any:
    """The stored menu of a station for a day, or None."""
    return (
        await conn.execute(
            select(meal_menus).where(meal_menus.c.station_id == station_id, meal_menus.c.day == day)
        )
    ).first()


async def sync_booking_status(tx: Tx, *, station_id: int) -> None:
    """Bookings follow their tasks after a day plan: `planned` once the plan gives the task to a
    caregiver, back to `requested` when a later plan leaves it unassigned. Called by the day
    plan's write-back (server/planning.py:store_plan), in its transaction."""
    planned = select(tasks.c.id).where(
        tasks.c.station_id == station_id, tasks.c.status == "planned"
    )
    unplanned = select(tasks.c.id).where(tasks.c.station_id == station_id, tasks.c.status == "open")
    await tx.conn.execute(
        update(bookings)
        .where(
            bookings.c.station_id == station_id,
            bookings.c.status == "requested",
            bookings.c.task_id.in_(planned),
        )
        .values(status="planned")
    )
    await tx.conn.execute(
        update(bookings)
        .where(
            bookings.c.station_id == station_id,
            bookings.c.status == "planned",
            bookings.c.task_id.in_(unplanned),
        )
        .values(status="requested")
    )
