"""What a period report counts, computed from plain rows (no I/O), so that a test can check
every figure against the raw rows it seeded.

A period is a month (``2026-11``) or a quarter (``2026Q4``) of Shanghai dates. A row belongs
to the month of its Shanghai date: a help call by when it was opened, a visit by when it
started, a meal by its day, a satisfaction answer by when it was given. Response times are
seconds from the call's opening to the caregiver's arrival (or acceptance), and the median
and 90th percentile are by nearest rank (an actual call's time, never an interpolation).

The care programmes: a day-care day by its date, an assessment by when it was scored, a
volunteer's confirmed task by when it was confirmed, a time-bank entry by when it was written.
Some figures are a count on the period's last day rather than a sum over it: the elders
enrolled in day care and waiting for a place, and the re-assessments overdue (due by then and
not done by then). A month of a quarter counts them on its own last day.

The reports have no statuses, so no transition table.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from typing import TypeVar

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


@dataclass(frozen=True)
class Event:
    """A dated row of the care programmes, one shape for four kinds of row:

    - a day-care day: ``kind`` its status (``present``/``left`` attended, ``absent`` gone
      without notice);
    - a scored assessment: ``kind`` ``scored``, ``n`` its level (0-4);
    - a volunteer's confirmed task: ``kind`` ``confirmed``, ``n`` its minutes, ``who`` the
      volunteer;
    - a time-bank entry of a volunteer's account: ``kind`` ``earned`` or ``spent``, ``n`` its
      minutes (> 0).
    """

    station_id: int
    day: date
    kind: str
    n: int = 0
    who: int = 0


@dataclass(frozen=True)
class Enrolment:
    """A day-care enrolment: the Shanghai days it was made and ended (None while open)."""

    station_id: int
    elder_id: int
    status: str  # waiting, enrolled, ended
    made_on: date
    ended_on: date | None


@dataclass(frozen=True)
class Reassessment:
    """A re-assessment due (not cancelled) and the day the assessment that did it was scored."""

    station_id: int
    due_on: date
    done_on: date | None


_Stock = TypeVar("_Stock", Enrolment, Reassessment)
Dated = Call | Visit | Meal | Answer | Event


@dataclass
class Rows:
    """The period's rows of some stations. ``span`` is the period's first and last day; the
    enrolments and re-assessments are all those made by its end, counted as of ``span[1]``."""

    calls: list[Call] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    meals: list[Meal] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    attendance: list[Event] = field(default_factory=list)
    enrolments: list[Enrolment] = field(default_factory=list)
    assessed: list[Event] = field(default_factory=list)
    reassessments: list[Reassessment] = field(default_factory=list)
    work: list[Event] = field(default_factory=list)
    movements: list[Event] = field(default_factory=list)
    span: tuple[date, date] = (date.min, date.max)

    def merged(self, other: Rows) -> Rows:
        """These rows and the other's, over this span."""
        lists = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        return Rows(**{**lists, "span": self.span})

    def where(self, stations: set[int], month: str | None = None) -> Rows:
        def keep(r: Dated) -> bool:
            return r.station_id in stations and (month is None or month_label(r.day) == month)

        def mine(rows: list[_Stock]) -> list[_Stock]:
            return [r for r in rows if r.station_id in stations]

        span = self.span if month is None else period_bounds(month)
        return Rows(
            [r for r in self.calls if keep(r)],
            [r for r in self.visits if keep(r)],
            [r for r in self.meals if keep(r)],
            [r for r in self.answers if keep(r)],
            [r for r in self.attendance if keep(r)],
            mine(self.enrolments),
            [r for r in self.assessed if keep(r)],
            mine(self.reassessments),
            [r for r in self.work if keep(r)],
            [r for r in self.movements if keep(r)],
            span,
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
        **_programmes(rows),
    }


LEVELS = range(5)  # the scale's levels, 0 能力完好 … 4 能力完全丧失


def _programmes(rows: Rows) -> dict[str, int | float | None]:
    """Day care, assessments and volunteers; the stock figures as of the period's last day."""
    first, last = rows.span
    open_then = [
        e for e in rows.enrolments
        if e.made_on <= last and (e.ended_on is None or e.ended_on > last)
    ]  # fmt: skip
    levels = [a.n for a in rows.assessed]
    due = [r for r in rows.reassessments if r.due_on <= last]
    return {
        "daycare_days": sum(a.kind in ("present", "left") for a in rows.attendance),
        "daycare_absences": sum(a.kind == "absent" for a in rows.attendance),
        "daycare_enrolled": len({e.elder_id for e in open_then if e.status != "waiting"}),
        "daycare_waiting": len({e.elder_id for e in open_then if e.status == "waiting"}),
        "assessments": len(levels),
        **{f"assessed_l{n}": levels.count(n) for n in LEVELS},
        "reassessments_due": sum(r.due_on >= first for r in due),
        "reassessments_overdue": sum(r.done_on is None or r.done_on > last for r in due),
        "volunteer_minutes": sum(w.n for w in rows.work),
        "volunteers_active": len({w.who for w in rows.work}),
        "timebank_earned_min": sum(m.n for m in rows.movements if m.kind == "earned"),
        "timebank_spent_min": sum(m.n for m in rows.movements if m.kind == "spent"),
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
