"""Bookings: make one (checked against the menu, the elder's other bookings and the subsidy
quota, with its task for the day plan), list them, cancel one, record its visit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Row, select, update

from dispatch.geo import GeoPoint
from schemas.services import BookingIn, BookingOut, BookingStatus, Category, CompleteIn
from schemas.welfare import RecordOut
from server.auth.principal import Principal
from server.errors import ApiError, not_found
from server.geo import CoordSystem, to_store
from server.platform import Platform, Tx, audit, emit
from server.registry.guards import elder_for
from server.registry.tables import elders
from server.services import model
from server.services.bookings import (
    BookingError,
    ElderStatus,
    ExistingBooking,
    Window,
    asap_window,
    check_booking,
    check_cancel,
    quote,
)
from server.services.catalogue import BookableHours, ServiceItem
from server.services.flows.completion import complete_booking
from server.services.flows.menu import item_row
from server.services.out import booking_out, item_from_row
from server.services.tables import bookings
from server.tasks.flows import create_task
from server.tasks.tables import tasks
from server.welfare import flows as welfare_flows
from server.welfare.flows.quota import quota_left

BOOKING_STATUS: Final = {
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

MESSAGES: Final = {
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


def booking_error(errors: Sequence[BookingError], hours: BookableHours | None = None) -> ApiError:
    """The first error as the response, all codes listed; a time the service is not offered
    comes with the hours it is (days 0 = Monday, opens, closes: Asia/Shanghai)."""
    first = errors[0]
    extra: dict[str, Any] = {"codes": [e.value for e in errors]}
    if hours is not None and first is BookingError.OUTSIDE_HOURS:
        extra.update(
            days=sorted(hours.days),
            opens=hours.opens.strftime("%H:%M"),
            closes=hours.closes.strftime("%H:%M"),
        )
    return ApiError(BOOKING_STATUS[first], first.value, MESSAGES[first], **extra)


async def existing_bookings(tx: Tx, *, elder_id: int, around: datetime) -> list[ExistingBooking]:
    """The elder's active bookings near a time (a day either side)."""
    rows = await tx.conn.execute(
        select(
            bookings.c.id, bookings.c.window_start, bookings.c.window_end, bookings.c.status
        ).where(
            bookings.c.elder_id == elder_id,
            bookings.c.status.in_([s.value for s in model.ACTIVE]),
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
) -> Row[Any]:
    """Check and write a booking and its task for the day plan, in the caller's transaction;
    the price quote is stored. ``start`` and ``end`` left out: as soon as possible."""
    row = await item_row(tx.conn, station_id=elder.station_id, code=item_code)
    item = item_from_row(row)
    if item.category is Category.DAY_CARE:
        # day care happens at the station (server/daycare): an enrolment, not a home visit
        raise ApiError(
            409,
            "booking.day_care_is_an_enrolment",
            "day care is attended at the station: enrol the elder for days of the week",
            enrol_at=f"/api/v1/elders/{elder.id}/daycare/enrolments",
        )
    # two bookings for one elder check their slots in turn: lock the elder's row (PostgreSQL;
    # SQLite's BEGIN IMMEDIATE already serialises writers)
    await tx.conn.execute(select(elders.c.id).where(elders.c.id == elder.id).with_for_update())
    window, left = await _checked_window(tx, elder=elder, item=item, start=start, end=end)
    q = quote(item, quota_left_fen=left)
    task_id = await create_task(
        tx,
        station_id=elder.station_id,
        elder_id=elder.id,
        kind="service",
        title=item.name_zh,
        required_skills=[item.skill] if item.skill else [],
        window=(window.start, window.end),
        duration_s=item.duration_min * 60,
        where=(elder.lat, elder.lng),
        source="booking",
        notes=notes,
    )
    booking_id = await model.insert_booking(
        tx,
        {
            "station_id": elder.station_id,
            "elder_id": elder.id,
            "item_id": row.id,
            "item_code": item.code,
            "booked_by": actor,
            "window_start": window.start,
            "window_end": window.end,
            "asap": start is None,
            "notes": notes,
            "price_fen": q.price_fen,
            "quoted_subsidy_fen": q.subsidy_fen,
            "quoted_self_pay_fen": q.self_pay_fen,
            "task_id": task_id,
            "occurrence_key": occurrence_key,
            "created_at": tx.now,
        },
    )
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


async def _checked_window(
    tx: Tx, *, elder: Any, item: ServiceItem, start: datetime | None, end: datetime | None
) -> tuple[Window, int]:
    """The booking's window (the first free one, when none is asked for), checked against the
    item, the elder and their other bookings; and what is left of the elder's quota."""
    elig, _, left, _ = await quota_left(tx.conn, elder=elder, now=tx.now)
    status = ElderStatus(str(elder.id), bool(elder.active), elig.funding_class if elig else "")
    existing = await existing_bookings(tx, elder_id=elder.id, around=start or tx.now)
    window = (
        Window(start, end)
        if start is not None and end is not None
        else asap_window(item=item, now=tx.now, existing=existing)
    )
    if window is None:
        raise booking_error([BookingError.NO_SLOT])
    errors = check_booking(item=item, window=window, elder=status, existing=existing, now=tx.now)
    if errors:
        raise booking_error(errors, item.hours)
    return window, left


async def book(plat: Platform, p: Principal, *, elder_id: int, body: BookingIn) -> BookingOut:
    """The elder, a bound family member or the operator books a service."""
    async with plat.tx() as tx:
        elder = await elder_for(tx.conn, p, elder_id)
        row = await create_booking(
            tx,
            elder=elder,
            item_code=body.item_code,
            start=body.start,
            end=body.end,
            notes=body.notes,
            actor=p.user_id,
        )
        await audit(tx, actor=p.user_id, action="book", object_type="booking", object_id=row.id)
    return booking_out(row)


async def list_bookings(plat: Platform, p: Principal, *, elder_id: int) -> list[BookingOut]:
    """The elder's bookings by start."""
    async with plat.store.read() as conn:
        await elder_for(conn, p, elder_id)
        rows = (
            await conn.execute(
                select(bookings)
                .where(bookings.c.elder_id == elder_id)
                .order_by(bookings.c.window_start)
            )
        ).all()
    return [booking_out(r) for r in rows]


async def cancel(plat: Platform, p: Principal, *, booking_id: int) -> BookingOut:
    """The elder or family until 2 hours before the start; the operator until it is done (a
    visit that started and was broken off is cancelled, not completed)."""
    async with plat.tx() as tx:
        row = await model.lock_booking(tx, booking_id)  # a completion racing this waits, then 409
        if row is None:
            raise not_found("booking")
        await elder_for(tx.conn, p, row.elder_id)  # 404 for other tenants
        err = check_cancel(
            window=Window(row.window_start, row.window_end),
            status=BookingStatus(row.status),
            now=tx.now,
            cutoff=None if p.is_staff() else timedelta(hours=2),
        )
        if err is not None:
            raise booking_error([err])
        await model.transition(tx, row, BookingStatus.CANCELLED)
        await audit(
            tx, actor=p.user_id, action="cancel", object_type="booking", object_id=booking_id
        )
        row = (await tx.conn.execute(select(bookings).where(bookings.c.id == booking_id))).one()
    return booking_out(row)


def arrival_point(body: CompleteIn) -> GeoPoint | None:
    """The arrival fix in the store's coordinate system (GCJ-02)."""
    if body.arrival is None:
        return None
    fix = body.arrival
    lat, lng = to_store(fix.lat, fix.lng, CoordSystem(fix.coord_system.value))
    return GeoPoint(lat, lng)


async def complete(plat: Platform, p: Principal, *, booking_id: int, body: CompleteIn) -> RecordOut:
    """The caregiver (or operator) records the service: record + ledger in one transaction;
    returns the service record as the welfare API shows it."""
    async with plat.tx() as tx:
        rec = await complete_booking(
            tx,
            p,
            booking_id,
            started_at=body.started_at,
            ended_at=body.ended_at,
            arrival=arrival_point(body),
            arrival_accuracy_m=body.arrival.accuracy_m if body.arrival else None,
            door_code=body.door_code,
            notes=body.notes,
            secret=plat.settings.jwt_secret,
        )
    return welfare_flows.record_out(rec)
