"""The audit gate: a visit counts for payment only when it is proven — arrival inside the
geofence, the code from the elder's door card or phone, or the elder's confirmation — and the
station's reviewer has passed it. Unproven visits are listed, never paid."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from dispatch.geo import GeoPoint, haversine_m
from schemas.welfare import RecordReview

GEOFENCE_M: Final = 200.0


class ProofKind(StrEnum):
    """Ways a visit is proven."""

    GEOFENCE = "geofence"
    DOOR_CODE = "door_code"
    ELDER_CONFIRMED = "elder_confirmed"
    ATTENDANCE = "attendance"  # day care: checked in and out at the station by its staff


Review = RecordReview  # the station's review of a record (its status, schemas/welfare.py)


class NotPayable(StrEnum):
    """Why a record is not paid (yet)."""

    UNPROVEN = "proof.unproven"
    REVIEW_PENDING = "proof.review_pending"
    REJECTED = "proof.rejected"


@dataclass(frozen=True)
class Evidence:
    """What was captured about one visit (coordinates in the store's system, GCJ-02)."""

    elder_location: GeoPoint | None
    arrival_fix: GeoPoint | None = None
    arrival_accuracy_m: float = 0.0
    door_code_expected: str | None = None
    door_code_entered: str | None = None
    elder_confirmed: bool = False


def visit_code(secret: bytes, elder_id: str, day: date, digits: int = 6) -> str:
    """The day's code shown on the elder's phone (a printed door card uses a fixed code)."""
    mac = hmac.new(secret, f"{elder_id}:{day.isoformat()}".encode(), hashlib.sha256).digest()
    return str(int.from_bytes(mac[:8], "big") % 10**digits).zfill(digits)


def proofs(ev: Evidence, *, radius_m: float = GEOFENCE_M) -> frozenset[ProofKind]:
    """Every kind of proof that holds for this visit."""
    out: set[ProofKind] = set()
    # a fix whose own error circle is wider than the fence proves nothing
    if (
        ev.arrival_fix is not None
        and ev.elder_location is not None
        and ev.arrival_accuracy_m <= radius_m
        and haversine_m(ev.arrival_fix, ev.elder_location) <= radius_m
    ):
        out.add(ProofKind.GEOFENCE)
    if (
        ev.door_code_expected
        and ev.door_code_entered
        and hmac.compare_digest(ev.door_code_expected, ev.door_code_entered.strip())
    ):
        out.add(ProofKind.DOOR_CODE)
    if ev.elder_confirmed:
        out.add(ProofKind.ELDER_CONFIRMED)
    return frozenset(out)


def arrival_checked(ev: Evidence, *, radius_m: float = GEOFENCE_M) -> bool:
    """An arrival check in the fraud sense: geofence or door code (a confirmation alone is not)."""
    return bool(proofs(ev, radius_m=radius_m) & {ProofKind.GEOFENCE, ProofKind.DOOR_CODE})


@dataclass(frozen=True)
class Gate:
    """The audit gate's verdict."""

    payable: bool
    proofs: frozenset[ProofKind]
    reason: NotPayable | None


def verdict(found: frozenset[ProofKind], review: Review) -> Gate:
    """The gate over proofs already established (e.g. as stored with a record)."""
    if review is Review.REJECTED:
        return Gate(False, found, NotPayable.REJECTED)
    if not found:
        return Gate(False, found, NotPayable.UNPROVEN)
    if review is Review.PENDING:
        return Gate(False, found, NotPayable.REVIEW_PENDING)
    return Gate(True, found, None)


def gate(ev: Evidence, review: Review, *, radius_m: float = GEOFENCE_M) -> Gate:
    """Whether a visit counts for payment: proven and reviewed."""
    return verdict(proofs(ev, radius_m=radius_m), review)
