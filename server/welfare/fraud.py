"""Fraud signals (虚假记录、倒卖服务券): patterns that a reviewer should look at. They flag,
they never decide: stopping a subsidy or recovering money is a person's call."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Final

from server.welfare.records import ServiceRecord

MAX_CAREGIVER_MINUTES_A_DAY: Final = 600
VOLUME_FACTOR: Final = 3
VOLUME_FLOOR: Final = 20  # below this many records a month nothing is "unusual"


class Signal(StrEnum):
    """Kinds of signal."""

    NO_ARRIVAL_CHECK = "fraud.no_arrival_check"
    CAREGIVER_OVERLAP = "fraud.caregiver_overlap"
    WHILE_IN_HOSPITAL = "fraud.while_in_hospital"
    ELDER_VOLUME = "fraud.unusual_elder_volume"
    CAREGIVER_DAY_TOO_LONG = "fraud.caregiver_day_too_long"


@dataclass(frozen=True)
class Flag:
    """One signal on one or more records."""

    signal: Signal
    record_ids: tuple[str, ...]
    detail: str


@dataclass(frozen=True)
class Stay:
    """A hospital stay of an elder: [admitted, discharged), discharged None while still in."""

    elder_id: str
    admitted: datetime
    discharged: datetime | None = None


def no_arrival_check(records: Iterable[ServiceRecord]) -> list[Flag]:
    """Records without a geofence arrival or door code."""
    return [
        Flag(Signal.NO_ARRIVAL_CHECK, (r.record_id,), f"{r.caregiver_label} at {r.elder_id}")
        for r in records
        if not r.arrival_checked and not r.reversed
    ]


def caregiver_overlaps(records: Iterable[ServiceRecord]) -> list[Flag]:
    """Pairs of records of one caregiver whose times overlap (one person, two places). Records
    with no caregiver (entered by the operator) are nobody's: they never overlap each other."""
    by_cg: dict[str, list[ServiceRecord]] = defaultdict(list)
    for r in records:
        if not r.reversed and r.caregiver_id is not None:
            by_cg[r.caregiver_id].append(r)
    out: list[Flag] = []
    for cg, items in sorted(by_cg.items()):
        items.sort(key=lambda r: (r.started_at, r.record_id))
        for i, a in enumerate(items):
            for b in items[i + 1 :]:
                if b.started_at >= a.ended_at:
                    break
                out.append(
                    Flag(
                        Signal.CAREGIVER_OVERLAP,
                        (a.record_id, b.record_id),
                        f"{cg}: {a.elder_id} and {b.elder_id} at the same time",
                    )
                )
    return out


def while_in_hospital(records: Iterable[ServiceRecord], stays: Iterable[Stay]) -> list[Flag]:
    """Home services recorded while the elder was in hospital."""
    by_elder: dict[str, list[Stay]] = defaultdict(list)
    for s in stays:
        by_elder[s.elder_id].append(s)
    out: list[Flag] = []
    for r in records:
        if r.reversed:
            continue
        for s in by_elder.get(r.elder_id, ()):
            if r.started_at < (
                s.discharged or datetime.max.replace(tzinfo=r.started_at.tzinfo)
            ) and (r.ended_at > s.admitted):
                out.append(
                    Flag(Signal.WHILE_IN_HOSPITAL, (r.record_id,), f"{r.elder_id} in hospital")
                )
                break
    return out


def unusual_volumes(
    records: Sequence[ServiceRecord],
    *,
    factor: int = VOLUME_FACTOR,
    floor: int = VOLUME_FLOOR,
    max_caregiver_minutes: int = MAX_CAREGIVER_MINUTES_A_DAY,
) -> list[Flag]:
    """Elders with far more records than their peers; caregivers with impossible days."""
    live = [r for r in records if not r.reversed]
    per_elder: dict[str, list[str]] = defaultdict(list)
    for r in live:
        per_elder[r.elder_id].append(r.record_id)
    out: list[Flag] = []
    if per_elder:
        median = statistics.median(len(v) for v in per_elder.values())
        limit = max(floor, factor * median)
        for elder, ids in sorted(per_elder.items()):
            if len(ids) > limit:
                out.append(
                    Flag(
                        Signal.ELDER_VOLUME,
                        tuple(sorted(ids)),
                        f"{elder}: {len(ids)} records, peers' median {median}",
                    )
                )
    per_day: dict[tuple[str, date], list[ServiceRecord]] = defaultdict(list)
    for r in live:
        if r.caregiver_id is not None:
            per_day[(r.caregiver_id, r.day)].append(r)
    for (cg, day), items in sorted(per_day.items()):
        minutes = sum(r.minutes for r in items)
        if minutes > max_caregiver_minutes:
            out.append(
                Flag(
                    Signal.CAREGIVER_DAY_TOO_LONG,
                    tuple(sorted(r.record_id for r in items)),
                    f"{cg} on {day.isoformat()}: {minutes} minutes",
                )
            )
    return out


def all_signals(
    records: Sequence[ServiceRecord], stays: Iterable[Stay] = ()
) -> Mapping[Signal, list[Flag]]:
    """Every signal over one period's records, grouped by kind."""
    flags = (
        no_arrival_check(records)
        + caregiver_overlaps(records)
        + while_in_hospital(records, stays)
        + unusual_volumes(records)
    )
    out: dict[Signal, list[Flag]] = defaultdict(list)
    for f in flags:
        out[f.signal].append(f)
    return dict(out)
