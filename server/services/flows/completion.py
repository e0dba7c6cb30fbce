"""Completing a booking: the one path from a visit to its service record, proof and ledger
entries, shared by `POST /bookings/{id}/complete` and the caregiver task API.

The booking row is locked first (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's BEGIN
IMMEDIATE serialises writers anyway) and its state is checked inside the same transaction, so
a completion racing a cancellation or a second completion waits for the first and then gets a
clear 409 instead of both succeeding or a 500.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Row, select

from dispatch.geo import GeoPoint
from schemas.services import BookingStatus as B
from schemas.tasks import TaskStatus
from server.auth.principal import Principal, Role
from server.errors import ApiError, not_found
from server.platform import Tx
from server.providers.flows import common as provider_flows
from server.providers.flows import fraud as fraud_flows
from server.registry.guards import elder_for
from server.registry.tables import elders
from server.services import model
from server.services.flows.menu import item_row
from server.services.model import lock_booking
from server.services.out import item_from_row
from server.tasks import model as task_model
from server.welfare import flows as welfare_flows
from server.welfare.tables import service_records
from server.welfare.workdays import business_date

# A visit may start a little before its window and end a little after (traffic, a long bath);
# anything further off is another visit and must be booked as one.
WINDOW_TOLERANCE: Final = timedelta(hours=2)
FUTURE_SLACK: Final = timedelta(minutes=5)  # phone clocks drift


async def live_record(tx: Tx, booking_id: int) -> Row[Any] | None:
    """The booking's service record that still counts (not reversed), if any."""
    return (
        await tx.conn.execute(
            select(service_records.c.id).where(
                service_records.c.booking_id == booking_id, service_records.c.reversed.is_(False)
            )
        )
    ).first()


def check_times(
    *, booking: Any, started_at: datetime, ended_at: datetime, now: datetime, witnessed: bool
) -> None:
    """A record must describe this booking's visit: after the booking existed, near its window,
    and not in the future. Times the server witnessed itself (the caregiver pressed "arrived"
    at the door and "done" now) are the visit that happened, however late: refusing them would
    leave a real visit unrecorded. Early is still checked: hours before its window, it is not
    this booking's visit."""
    if ended_at <= started_at:
        raise ApiError(422, "record.times_invalid", "ended_at must be after started_at")
    if ended_at > now + FUTURE_SLACK:
        raise ApiError(422, "record.in_future", "a service cannot be recorded before it happens")
    if started_at < booking.created_at:
        raise ApiError(422, "record.before_booking", "the visit starts before the booking was made")
    if started_at < booking.window_start - WINDOW_TOLERANCE or (
        not witnessed and ended_at > booking.window_end + WINDOW_TOLERANCE
    ):
        raise ApiError(
            422,
            "record.outside_window",
            "the visit is more than 2 hours outside the booked window; book the visit that happened",
        )


async def complete_booking(
    tx: Tx,
    p: Principal,
    booking_id: int,
    *,
    started_at: datetime,
    ended_at: datetime,
    arrival: GeoPoint | None,
    arrival_accuracy_m: float | None,
    door_code: str | None,
    notes: str,
    secret: str,
    witnessed: bool = False,
) -> Any:
    """Record the visit of a booking (record + proof + ledger) and close the booking and its
    task; returns the service record row. `witnessed`: the times are the server's own (see
    `check_times`)."""
    row = await lock_booking(tx, booking_id)
    if row is None:
        raise not_found("booking")
    task = await task_model.load(tx, row.task_id, lock=False) if row.task_id else None
    cg = task.caregiver_id if task is not None else None
    if p.role is Role.CAREGIVER:
        if cg is None or cg != p.caregiver_id:
            raise not_found("booking")  # another caregiver's task: not revealed
        elder = (await tx.conn.execute(select(elders).where(elders.c.id == row.elder_id))).one()
    else:
        elder = await elder_for(tx.conn, p, row.elder_id)  # 404 for other tenants
    if row.status == B.CANCELLED or (
        row.status == B.COMPLETED and await live_record(tx, booking_id) is not None
    ):
        raise ApiError(409, "booking.not_open", "this booking is already completed or cancelled")
    check_times(
        booking=row, started_at=started_at, ended_at=ended_at, now=tx.now, witnessed=witnessed
    )
    item = item_from_row(await item_row(tx.conn, station_id=row.station_id, code=row.item_code))
    who = cg or p.caregiver_id
    # 持证上岗 and the black list: refused before anything is written
    await provider_flows.check_caregiver(
        tx.conn,
        caregiver_id=who,
        item_name=item.name_zh,
        certificate=item.certificate,
        day=business_date(started_at),
    )
    rec = await welfare_flows.record_service(
        tx,
        booking=row,
        elder=elder,
        item=item,
        caregiver_id=who,
        started_at=started_at,
        ended_at=ended_at,
        arrival=arrival,
        arrival_accuracy_m=arrival_accuracy_m,
        door_code_entered=door_code,
        secret=secret,
        notes=notes,
        actor=p.user_id,
    )
    # a record far shorter than its item, overlapping another, or while the elder is in
    # hospital is held for an officer: not paid until decided
    await fraud_flows.hold_if_suspicious(
        tx, rec, duration_min=int(item.duration_min), actor=p.user_id
    )
    await model.transition(tx, row, B.COMPLETED)
    if task is not None:
        times = {"started_at": started_at, "finished_at": ended_at}
        await task_model.transition(tx, task, TaskStatus.DONE, times)
    return rec
