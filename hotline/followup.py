"""Closing the loop after help: return calls, quarterly return visits, satisfaction, complaints.

- every resolved emergency gets a return-call task due within 24 hours;
- every quarter a random sample of at least 5% of subsidised elders, stratified by station
  (at least one per station that has any), reproducible from a seed such as the quarter's name;
- and of the quarter's services, stratified by provider (服务组织): each provider's services
  get their 5% share, at least one where it has any;
- the satisfaction rate (满意 + 基本满意 over all answers) per provider and per station,
  against the 95% target;
- complaints as tickets with an owner, a deadline and an outcome, moved by a transition table.

Pure: "now" is an argument; the quarter follows Asia/Shanghai.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from schemas.hotline import Answer, ComplaintStatus

__all__ = [
    "Complaint",
    "ComplaintAction",
    "ComplaintStatus",
    "ResolvedEmergency",
    "ReturnCall",
    "SatisfactionAnswer",
    "SatisfactionRate",
    "SUBSIDY_CATEGORIES",
    "SubsidisedElder",
    "is_subsidised",
    "quarter_name",
    "return_call",
    "SampledService",
    "quarter_days",
    "sample_return_visits",
    "sample_services",
    "satisfaction_rates",
    "TransitionError",
    "overdue",
    "transition",
]

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")
RETURN_CALL_WITHIN: Final = timedelta(hours=24)
SAMPLE_FRACTION: Final = 0.05
SATISFACTION_TARGET: Final = 0.95
# The categories on an elder's file that make them subsidised (the return-visit sample's frame).
SUBSIDY_CATEGORIES: Final = frozenset(
    {"三无", "低保", "低保边缘", "特困", "五保", "重点优抚", "伤残军人", "计生困难", "高龄", "百岁"}
)


# --- return calls -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResolvedEmergency:
    """An emergency that was resolved."""

    incident_id: int
    elder_id: int
    station_id: int
    resolved_at: datetime


@dataclass(frozen=True, slots=True)
class ReturnCall:
    """A call back to the elder or family after an emergency; `source_ref` makes it idempotent."""

    elder_id: int
    station_id: int
    due_at: datetime
    source_ref: str
    title: str


def return_call(emergency: ResolvedEmergency, within: timedelta = RETURN_CALL_WITHIN) -> ReturnCall:
    """The return-call task for a resolved emergency."""
    return ReturnCall(
        elder_id=emergency.elder_id,
        station_id=emergency.station_id,
        due_at=emergency.resolved_at + within,
        source_ref=f"return_call:{emergency.incident_id}",
        title="紧急呼叫回访 / Return call after emergency",
    )


# --- the quarterly sample ----------------------------------------------------------------


def quarter_name(at: datetime | date) -> str:
    """The quarter in Asia/Shanghai, e.g. "2026Q4"."""
    d = at.astimezone(SHANGHAI).date() if isinstance(at, datetime) else at
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def quarter_days(name: str) -> tuple[date, date]:
    """The first and last day of a quarter named like "2026Q4"."""
    year, q = int(name[:4]), int(name[5])
    first = date(year, 3 * q - 2, 1)
    after = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return first, after - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SampledService:
    """A service record in the sampling frame, with the provider that delivered it (0: none,
    the station's own staff)."""

    record_id: int
    provider_id: int


@dataclass(frozen=True, slots=True)
class SubsidisedElder:
    """An elder in the sampling frame."""

    elder_id: int
    station_id: int


def is_subsidised(categories: Iterable[str]) -> bool:
    """Whether an elder with these categories on file belongs to the sampling frame."""
    return not SUBSIDY_CATEGORIES.isdisjoint(categories)


def _rng(seed: str, station_id: int) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{station_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _stratified(
    groups: dict[int, list[int]], *, seed: str, fraction: float
) -> dict[int, list[int]]:
    """ceil(fraction × n) of each group, at least one; the same seed, the same draw."""
    if not 0 < fraction <= 1:
        raise ValueError("fraction must be in (0, 1]")
    out: dict[int, list[int]] = {}
    for key in sorted(groups):
        ids = sorted(set(groups[key]))
        k = max(1, math.ceil(fraction * len(ids)))
        out[key] = sorted(_rng(seed, key).sample(ids, k))
    return out


def sample_return_visits(
    elders: Iterable[SubsidisedElder], *, seed: str, fraction: float = SAMPLE_FRACTION
) -> dict[int, list[int]]:
    """Elders to visit per station: ceil(fraction × n) of each station, at least one each.

    The same seed and the same elders give the same sample whatever order they come in.
    """
    by_station: dict[int, list[int]] = defaultdict(list)
    for e in elders:
        by_station[e.station_id].append(e.elder_id)
    return _stratified(by_station, seed=seed, fraction=fraction)


def sample_services(
    services: Iterable[SampledService], *, seed: str, fraction: float = SAMPLE_FRACTION
) -> dict[int, list[int]]:
    """Service records to follow up per provider: ceil(fraction × n) of each provider's, at
    least one where it has any (a small provider is never left out of the sample)."""
    by_provider: dict[int, list[int]] = defaultdict(list)
    for s in services:
        by_provider[s.provider_id].append(s.record_id)
    return _stratified(by_provider, seed=f"services:{seed}", fraction=fraction)


# --- satisfaction -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SatisfactionAnswer:
    """One answer about one service by one provider."""

    provider_id: int
    station_id: int
    answer: Answer


@dataclass(frozen=True, slots=True)
class SatisfactionRate:
    """The rate for one provider or station and whether it meets the target."""

    key: int
    answers: int
    satisfied: int
    rate: float
    meets_target: bool


def _rates(counts: dict[int, list[int]], target: float) -> list[SatisfactionRate]:
    out = []
    for key in sorted(counts):
        total, good = counts[key]
        rate = good / total
        out.append(SatisfactionRate(key, total, good, round(rate, 4), rate >= target))
    return out


def satisfaction_rates(
    answers: Iterable[SatisfactionAnswer], target: float = SATISFACTION_TARGET
) -> tuple[list[SatisfactionRate], list[SatisfactionRate]]:
    """(per provider, per station) rates: (满意 + 基本满意) / all answers."""
    providers: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    stations: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for a in answers:
        good = a.answer is not Answer.DISSATISFIED
        for bucket, key in ((providers, a.provider_id), (stations, a.station_id)):
            bucket[key][0] += 1
            bucket[key][1] += good
    return _rates(providers, target), _rates(stations, target)


# --- complaints ---------------------------------------------------------------------------


class ComplaintAction(StrEnum):
    """What can be done to a ticket."""

    ASSIGN = "assign"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    CLOSE = "close"


TRANSITIONS: Final = {
    (ComplaintStatus.OPEN, ComplaintAction.ASSIGN): ComplaintStatus.ASSIGNED,
    (ComplaintStatus.ASSIGNED, ComplaintAction.ASSIGN): ComplaintStatus.ASSIGNED,
    (ComplaintStatus.ASSIGNED, ComplaintAction.RESOLVE): ComplaintStatus.RESOLVED,
    (ComplaintStatus.RESOLVED, ComplaintAction.REOPEN): ComplaintStatus.ASSIGNED,
    (ComplaintStatus.RESOLVED, ComplaintAction.CLOSE): ComplaintStatus.CLOSED,
}


@dataclass(frozen=True, slots=True)
class Complaint:
    """A complaint ticket."""

    id: int
    elder_id: int
    station_id: int
    text: str
    opened_at: datetime
    deadline: datetime
    status: ComplaintStatus = ComplaintStatus.OPEN
    owner: int | None = None
    outcome: str | None = None
    provider_id: int | None = None

    def overdue(self, now: datetime) -> bool:
        """Past the deadline and not yet resolved."""
        return (
            self.status in (ComplaintStatus.OPEN, ComplaintStatus.ASSIGNED) and now > self.deadline
        )


class TransitionError(ValueError):
    """The action is not allowed from the ticket's status."""


def transition(
    complaint: Complaint,
    action: ComplaintAction,
    *,
    owner: int | None = None,
    outcome: str | None = None,
    deadline: datetime | None = None,
) -> Complaint:
    """Apply one action; raise TransitionError when it does not fit the ticket's status."""
    target = TRANSITIONS.get((complaint.status, action))
    if target is None:
        raise TransitionError(f"cannot {action} a {complaint.status} complaint")
    if action is ComplaintAction.ASSIGN and owner is None:
        raise TransitionError("assign needs an owner")
    if action is ComplaintAction.RESOLVE and not (outcome and outcome.strip()):
        raise TransitionError("resolve needs a written outcome")
    if action is ComplaintAction.REOPEN and deadline is None:
        raise TransitionError("reopen needs a new deadline")
    return replace(
        complaint,
        status=target,
        owner=owner if owner is not None else complaint.owner,
        outcome=outcome.strip() if outcome else complaint.outcome,
        deadline=deadline or complaint.deadline,
    )


def overdue(complaints: Sequence[Complaint], now: datetime) -> list[Complaint]:
    """Tickets past their deadline, oldest deadline first."""
    return sorted((c for c in complaints if c.overdue(now)), key=lambda c: c.deadline)
