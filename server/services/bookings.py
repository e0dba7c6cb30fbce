"""Booking checks, pure: a request, the item, the elder and the elder's other bookings in;
a tuple of stable error codes out (empty means the booking may be made)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from schemas.services import BookingStatus as BookingStatus  # the API's, named here too
from server.services.catalogue import ServiceItem
from server.welfare.ledger import PriceSplit, split_price
from server.welfare.workdays import SHANGHAI

DEFAULT_CANCEL_CUTOFF: Final = timedelta(hours=2)
MAX_AHEAD: Final = timedelta(days=60)
ASAP_HORIZON: Final = timedelta(days=7)


class BookingError(StrEnum):
    """Stable machine codes; the API maps them to problem+json responses."""

    NAIVE_TIME = "booking.naive_time"
    WINDOW_INVALID = "booking.window_invalid"
    WINDOW_TOO_SHORT = "booking.window_too_short"
    IN_THE_PAST = "booking.in_the_past"
    TOO_FAR_AHEAD = "booking.too_far_ahead"
    OUTSIDE_HOURS = "booking.outside_hours"
    ELDER_INACTIVE = "booking.elder_inactive"
    ITEM_INACTIVE = "booking.item_inactive"
    CLASS_NOT_ALLOWED = "booking.class_not_allowed"
    DOUBLE_BOOKED = "booking.double_booked"
    NO_SLOT = "booking.no_slot"
    CANCEL_TOO_LATE = "booking.cancel_too_late"
    NOT_CANCELLABLE = "booking.not_cancellable"


ACTIVE_STATUSES: Final = frozenset({BookingStatus.REQUESTED, BookingStatus.PLANNED})


@dataclass(frozen=True)
class Window:
    """A half-open interval [start, end) of aware instants."""

    start: datetime
    end: datetime

    def overlaps(self, other: Window) -> bool:
        """Whether two windows share any instant."""
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class ElderStatus:
    """What the checks need to know about the elder."""

    elder_id: str
    active: bool
    funding_class: str


@dataclass(frozen=True)
class ExistingBooking:
    """Another booking of the same elder."""

    booking_id: str
    window: Window
    status: BookingStatus


def check_booking(
    *,
    item: ServiceItem,
    window: Window,
    elder: ElderStatus,
    existing: Iterable[ExistingBooking],
    now: datetime,
    max_ahead: timedelta = MAX_AHEAD,
) -> tuple[BookingError, ...]:
    """All reasons why this booking cannot be made; empty when it can."""
    if window.start.tzinfo is None or window.end.tzinfo is None or now.tzinfo is None:
        return (BookingError.NAIVE_TIME,)
    errors: list[BookingError] = []
    if not elder.active:
        errors.append(BookingError.ELDER_INACTIVE)
    if not item.active:
        errors.append(BookingError.ITEM_INACTIVE)
    if not item.usable_by(elder.funding_class):
        errors.append(BookingError.CLASS_NOT_ALLOWED)
    if window.end <= window.start:
        return (*errors, BookingError.WINDOW_INVALID)
    if window.end - window.start < timedelta(minutes=item.duration_min):
        errors.append(BookingError.WINDOW_TOO_SHORT)
    if window.start < now:
        errors.append(BookingError.IN_THE_PAST)
    elif window.start - now > max_ahead:
        errors.append(BookingError.TOO_FAR_AHEAD)
    if not item.hours.contains(window.start, window.end):
        errors.append(BookingError.OUTSIDE_HOURS)
    if any(b.status in ACTIVE_STATUSES and b.window.overlaps(window) for b in existing):
        errors.append(BookingError.DOUBLE_BOOKED)
    return tuple(errors)


def asap_window(
    *, item: ServiceItem, now: datetime, existing: Iterable[ExistingBooking] = ()
) -> Window | None:
    """'As soon as possible': the earliest free window of the item's duration inside its hours,
    on a 15-minute grid, within a week; None if there is none."""
    taken = [b.window for b in existing if b.status in ACTIVE_STATUSES]
    length = timedelta(minutes=item.duration_min)
    local = now.astimezone(SHANGHAI)
    step = timedelta(minutes=15)
    # the next quarter hour from now, in local time
    start = local.replace(second=0, microsecond=0) + timedelta(minutes=-local.minute % 15)
    if start < local:
        start += step
    horizon = local + ASAP_HORIZON
    while start < horizon:
        candidate = Window(start, start + length)
        if item.hours.contains(candidate.start, candidate.end) and not any(
            candidate.overlaps(w) for w in taken
        ):
            return candidate
        start += step
    return None


def check_cancel(
    *,
    window: Window,
    status: BookingStatus,
    now: datetime,
    cutoff: timedelta | None = DEFAULT_CANCEL_CUTOFF,
) -> BookingError | None:
    """Whether a booking may still be cancelled: the elder or family up to `cutoff` before the
    start; `cutoff=None` (the operator) while it is not done, even after it started."""
    if status not in ACTIVE_STATUSES:
        return BookingError.NOT_CANCELLABLE
    if cutoff is not None and now > window.start - cutoff:
        return BookingError.CANCEL_TOO_LATE
    return None


@dataclass(frozen=True)
class Quote:
    """What the elder sees before booking: price, what the subsidy covers, what they pay."""

    item_code: str
    price_fen: int
    subsidy_fen: int
    self_pay_fen: int
    quota_left_fen: int


def quote(item: ServiceItem, *, quota_left_fen: int) -> Quote:
    """Price, subsidy cover and self-pay for one item against what is left of the quota."""
    split: PriceSplit = split_price(
        item.price_fen, max(0, quota_left_fen), subsidy_payable=item.subsidy_payable
    )
    return Quote(item.code, split.price_fen, split.subsidy_fen, split.self_pay_fen, quota_left_fen)
