"""A service record (服务记录): what a caregiver did for an elder, as statements and fraud checks see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from server.welfare.workdays import business_date


@dataclass(frozen=True)
class ServiceRecord:
    """One completed service, with its money split and whether it counts for payment."""

    record_id: str
    elder_id: str
    elder_name: str
    provider_id: str  # the organisation paid for it (a station or contracted provider)
    caregiver_id: str | None  # None: recorded by the operator, no caregiver on it
    item_code: str
    item_name: str
    started_at: datetime  # aware
    ended_at: datetime
    price_fen: int
    subsidy_fen: int
    self_pay_fen: int
    district: str = ""
    arrival_checked: bool = False  # geofence arrival or door code
    payable: bool = False  # proven and passed review
    reversed: bool = False

    def __post_init__(self) -> None:
        for name in ("price_fen", "subsidy_fen", "self_pay_fen"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer of fen")
        if self.subsidy_fen + self.self_pay_fen != self.price_fen:
            raise ValueError("subsidy + self-pay must equal the price")
        if self.started_at.tzinfo is None or self.ended_at < self.started_at:
            raise ValueError("times must be aware and ordered")

    @property
    def caregiver_label(self) -> str:
        """The caregiver as statements print it ("-" for an operator-recorded visit)."""
        return self.caregiver_id or "-"

    @property
    def minutes(self) -> int:
        """Whole minutes of service."""
        return int((self.ended_at - self.started_at).total_seconds() // 60)

    @property
    def day(self) -> date:
        """The Shanghai business date of the service."""
        return business_date(self.started_at)
