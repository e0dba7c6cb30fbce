"""What a period report counts, computed from plain rows (no I/O), so that a test can check
every figure against the raw rows it seeded.

A period is a month (``2026-11``) or a quarter (``2026Q4``) of Shanghai dates. A row belongs
to the month of its Shanghai date: a help call by when it was opened, a visit by when it
started, a meal by its day, a satisfaction answer by when it was given. Response times are
seconds from the call's opening to the caregiver's arrival (or acceptance), and the median
and 90th percentile are by nearest rank (an actual call's time, never an interpolation).

The reports have no statuses, so no transition table.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from server.welfare.ledger import month_label, period_bounds

FALSE_ALARMS = frozenset({"false_alarm", "test_press"})


@dataclass(frozen=True)
class Period:
    """A report's period: its label, first and last Shanghai date, and its months."""

    label: str
    first: date
    last: date
    months: tuple[str, ...]


def period_of(label: str) -> Period:
    """``2026-11`` or ``2026Q4`` (already checked against the pattern)."""
    first, last = period_bounds(label)
    months = tuple(
        dict.fromkeys(
            month_label(date(first.year, m, 1)) for m in range(first.month, last.month + 1)
        )
    )
    return Period(label, first, last, months)


@dataclass(frozen=True)
class Call:
    station_id: int
    day: date
    kind: str
    resolution: str | None
    accept_s: int | None
    arrive_s: int | None


@dataclass(frozen=True)
class Visit:
    station_id: int
    day: date
    elder_id: int
    minutes: int
    price_fen: int
    subsidy_fen: int
    self_pay_fen: int


@dataclass(frozen=True)
class Meal:
    station_id: int
    day: date
    mode: str
    total_fen: int


@dataclass(frozen=True)
class Answer:
    """A satisfaction answer: 满意 and 基本满意 count as satisfied, as the hotline counts."""

    station_id: int
    day: date
    satisfied: bool  # 满意 or 基本满意


@dataclass
class Rows:
    """The period's rows of some stations."""

    calls: list[Call] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    meals: list[Meal] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)

    def where(self, stations: set[int], month: str | None = None) -> Rows:
        def keep(r: Call | Visit | Meal | Answer) -> bool:
            return r.station_id in stations and (month is None or month_label(r.day) == month)

        return Rows(
            [r for r in self.calls if keep(r)],
            [r for r in self.visits if keep(r)],
            [r for r in self.meals if keep(r)],
            [r for r in self.answers if keep(r)],
        )


def nearest_rank(values: Sequence[int], p: float) -> int | None:
    """The p-th percentile by nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def _rate(good: int, n: int) -> float | None:
    return round(good / n, 4) if n else None


def kpis(rows: Rows) -> dict[str, int | float | None]:
    """The figures of one group of rows."""
    arrive = [c.arrive_s for c in rows.calls if c.arrive_s is not None]
    accept = [c.accept_s for c in rows.calls if c.accept_s is not None]
    good = sum(a.satisfied for a in rows.answers)
    return {
        "calls": len(rows.calls),
        "emergencies": sum(c.kind == "emergency" for c in rows.calls),
        "false_alarms": sum(c.resolution in FALSE_ALARMS for c in rows.calls),
        "arrived": len(arrive),
        "accept_median_s": nearest_rank(accept, 0.5),
        "response_median_s": nearest_rank(arrive, 0.5),
        "response_p90_s": nearest_rank(arrive, 0.9),
        "visits": len(rows.visits),
        "elders_visited": len({v.elder_id for v in rows.visits}),
        "visit_minutes": sum(v.minutes for v in rows.visits),
        "meals": len(rows.meals),
        "meals_delivered": sum(m.mode == "delivery" for m in rows.meals),
        "meal_fen": sum(m.total_fen for m in rows.meals),
        "service_fen": sum(v.price_fen for v in rows.visits),
        "subsidy_fen": sum(v.subsidy_fen for v in rows.visits),
        "self_pay_fen": sum(v.self_pay_fen for v in rows.visits),
        "answers": len(rows.answers),
        "satisfied": good,
        "satisfaction": _rate(good, len(rows.answers)),
    }


KPI_KEYS: tuple[str, ...] = tuple(kpis(Rows()))


@dataclass(frozen=True)
class Place:
    station_id: int
    name: str
    street: str
    district: str


def groups(places: Iterable[Place]) -> list[tuple[str, str, str, set[int]]]:
    """(level, district, street or station name, station ids) for every station, street and
    district, in district, street, station order; a station with no street is grouped under
    its district only."""
    places = sorted(places, key=lambda p: (p.district, p.street, p.station_id))
    out: list[tuple[str, str, str, set[int]]] = []
    for d in dict.fromkeys(p.district for p in places):
        in_d = [p for p in places if p.district == d]
        out.append(("district", d, "", {p.station_id for p in in_d}))
        for s in dict.fromkeys(p.street for p in in_d if p.street):
            out.append(("street", d, s, {p.station_id for p in in_d if p.street == s}))
        out.extend(("station", d, p.name, {p.station_id}) for p in in_d)
    return out
