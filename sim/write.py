"""Files a person reads: a run's kpis.json, calls.csv and tasks.csv, and a generated day
(day.json and one CSV per kind of thing) for `sim generate`.

Clock times in the CSVs are local HH:MM:SS; durations are seconds or minutes as the column
says. Empty cells mean "did not happen".
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sim.bound import CallBound
from sim.day import Day, HelpCall
from sim.kpis import Kpis
from sim.log import CALL_ENDS, CallRecord, CallStep, RunLog, TaskKind, TaskRecord, TaskStep


def clock(seconds: int | None) -> str:
    """HH:MM:SS after local midnight; "" for None."""
    if seconds is None:
        return ""
    s = int(seconds)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def write_csv(path: Path, rows: Sequence[Mapping[str, object]], columns: Sequence[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(columns))
        w.writeheader()
        for row in rows:
            w.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})


def write_kpis(kpis: Kpis, path: Path) -> None:
    path.write_text(json.dumps(kpis.as_dict(), ensure_ascii=False, indent=2) + "\n", "utf-8")


CALL_COLUMNS = (
    "call", "station", "elder", "type", "via", "outcome", "repeat_of", "real_emergency",
    "pressed", "first_offer", "offers", "offered_to", "accepted", "accepted_by", "en_route",
    "arrived", "response_s", "in_time", "bound_s", "reachable", "resolved", "escalations",
    "ended", "end_detail",
)  # fmt: skip


def call_rows(
    day: Day, log: RunLog, call_bounds: Mapping[str, CallBound]
) -> list[dict[str, object]]:
    """One row per call of the day (see CALL_COLUMNS)."""
    by_call: dict[str, list[CallRecord]] = {c.id: [] for c in day.calls}
    for r in log.calls:
        by_call.setdefault(r.call_id, []).append(r)
    sla = day.scenario.policy.sla_s
    return [_call_row(c, by_call[c.id], call_bounds.get(c.id), sla) for c in day.calls]


def _call_row(
    c: HelpCall, recs: Sequence[CallRecord], b: CallBound | None, sla_s: int
) -> dict[str, object]:
    def first(step: CallStep) -> CallRecord | None:
        return next((r for r in recs if r.step is step), None)

    def at(step: CallStep) -> str:
        r = first(step)
        return clock(r.at_s) if r is not None else ""

    offers = [r for r in recs if r.step is CallStep.OFFERED]
    accepted, arrived = first(CallStep.ACCEPTED), first(CallStep.ARRIVED)
    end = next((r for r in reversed(recs) if r.step in CALL_ENDS), None)
    response = arrived.at_s - c.at_s if arrived is not None else None
    return {
        "call": c.id,
        "station": c.station_id,
        "elder": c.elder_id,
        "type": c.type.value,
        "via": c.via,
        "outcome": c.outcome.value,
        "repeat_of": c.repeat_of,
        "real_emergency": int(c.real_emergency),
        "pressed": clock(c.at_s),
        "first_offer": clock(offers[0].at_s) if offers else "",
        "offers": len(offers),
        "offered_to": ";".join(r.caregiver_id or "" for r in offers),
        "accepted": at(CallStep.ACCEPTED),
        "accepted_by": accepted.caregiver_id if accepted else "",
        "en_route": at(CallStep.EN_ROUTE),
        "arrived": at(CallStep.ARRIVED),
        "response_s": response,
        "in_time": "" if response is None else int(response <= sla_s),
        "bound_s": b.bound_s if b else None,
        "reachable": int(b.reachable) if b else "",
        "resolved": at(CallStep.RESOLVED),
        "escalations": ";".join(
            f"{r.detail}@{clock(r.at_s)}" for r in recs if r.step is CallStep.ESCALATED
        ),
        "ended": end.step.value if end else "",
        "end_detail": end.detail if end else "",
    }


def write_calls(day: Day, log: RunLog, call_bounds: Mapping[str, CallBound], path: Path) -> None:
    write_csv(path, call_rows(day, log, call_bounds), CALL_COLUMNS)


TASK_COLUMNS = (
    "task", "kind", "station", "elder", "item", "window_start", "window_end", "caregiver",
    "planned", "replanned", "started", "picked_up", "done", "late_min", "minutes_from_kitchen",
    "in_window", "outcome", "reason",
)  # fmt: skip


def task_rows(day: Day, log: RunLog) -> list[dict[str, object]]:
    """One row per visit and meal of the day (see TASK_COLUMNS)."""
    recs: dict[str, list[TaskRecord]] = {}
    for r in log.tasks:
        recs.setdefault(r.task_id, []).append(r)
    rows = []
    for v in day.visits:
        row = _task_row(v.id, TaskKind.VISIT, recs.get(v.id, []))
        started = _at(recs.get(v.id, []), TaskStep.STARTED)
        row |= {
            "station": v.station_id,
            "elder": v.elder_id,
            "item": v.item,
            "window_start": clock(v.window_start_s),
            "window_end": clock(v.window_end_s),
            "late_min": None
            if started is None
            else max(0, round((started - v.latest_start_s) / 60)),
        }
        rows.append(row)
    for m in day.meals:
        row = _task_row(m.id, TaskKind.MEAL, recs.get(m.id, []))
        k = day.station_by_id[m.station_id].kitchen
        done, left = (
            _at(recs.get(m.id, []), TaskStep.DONE),
            _at(recs.get(m.id, []), TaskStep.PICKED_UP, last=True),
        )
        row |= {"station": m.station_id, "elder": m.elder_id, "item": "meal-delivery"}
        if k is not None:
            row |= {"window_start": clock(k.lunch_opens_s), "window_end": clock(k.lunch_closes_s)}
            if done is not None:
                row["in_window"] = int(k.lunch_opens_s <= done <= k.lunch_closes_s)
        if done is not None and left is not None:
            row["minutes_from_kitchen"] = round((done - left) / 60, 1)
        rows.append(row)
    return rows


def _at(recs: Sequence[TaskRecord], step: TaskStep, last: bool = False) -> int | None:
    times = [r.at_s for r in recs if r.step is step]
    return (times[-1] if last else times[0]) if times else None


def _task_row(task_id: str, kind: TaskKind, recs: Sequence[TaskRecord]) -> dict[str, object]:
    planned = [r for r in recs if r.step is TaskStep.PLANNED]
    end = next((r for r in reversed(recs) if r.step in (TaskStep.DONE, TaskStep.MISSED)), None)
    who = next((r.caregiver_id for r in reversed(recs) if r.caregiver_id), None)
    return {
        "task": task_id,
        "kind": kind.value,
        "caregiver": who,
        "planned": clock(planned[0].planned_s) if planned else "",
        "replanned": clock(planned[-1].planned_s) if len(planned) > 1 else "",
        "started": clock(_at(recs, TaskStep.STARTED)),
        "picked_up": clock(_at(recs, TaskStep.PICKED_UP, last=True)),
        "done": clock(_at(recs, TaskStep.DONE)),
        "outcome": end.step.value if end else "",
        "reason": end.detail if end is not None and end.step is TaskStep.MISSED else "",
    }


def write_tasks(day: Day, log: RunLog, path: Path) -> None:
    write_csv(path, task_rows(day, log), TASK_COLUMNS)


# ----- a generated day ----------------------------------------------------------------


def _plain(value: object) -> object:
    """Dataclass values as JSON: points as [lat, lng], sets sorted, enums as their values."""
    if isinstance(value, dict):
        if set(value) == {"lat", "lng"}:
            return [round(float(value["lat"]), 6), round(float(value["lng"]), 6)]
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted(str(v) for v in value)
    return value


def _records(items: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        row = asdict(item)
        if "answers" in row:  # behaviour parameters, not the day's data
            row.pop("answers")
        out.append({k: _plain(v) for k, v in row.items()})
    return out


def write_day(day: Day, out: Path) -> list[Path]:
    """day.json (everything) and a CSV per kind (stations, elders, caregivers, visits,
    meals, help_calls) into `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    parts = {
        "stations": _records(day.stations),
        "elders": _records(day.elders),
        "caregivers": _records(day.caregivers),
        "visits": _records(day.visits),
        "meals": _records(day.meals),
        "help_calls": _records(day.calls),
    }
    whole = {"scenario": day.scenario.name, "date": day.date.isoformat(), "seed": day.seed, **parts}
    files = [out / "day.json"]
    files[0].write_text(
        json.dumps(whole, ensure_ascii=False, indent=1, default=str) + "\n", "utf-8"
    )
    for name, rows in parts.items():
        path = out / f"{name}.csv"
        flat = [{k: _cell(k, v) for k, v in r.items()} for r in rows]
        write_csv(path, flat, list(rows[0]) if rows else ["id"])
        files.append(path)
    return files


# Times of day among the Day's fields (the other "_s" fields are durations).
CLOCK_FIELDS = frozenset(
    {"at_s", "window_start_s", "window_end_s", "opens_s", "closes_s", "sick_from_s"}
    | {"cutoff_s", "ready_s", "lunch_opens_s", "lunch_closes_s"}
)


def _cell(key: str, value: object) -> object:
    if isinstance(value, list) and len(value) == 2 and all(isinstance(x, float) for x in value):
        return f"{value[0]:.6f},{value[1]:.6f}"
    if key == "shifts" and isinstance(value, list):
        return ";".join(
            f"{clock(s['start_s'])[:5]}-{clock(s['end_s'])[:5]}"
            + (" on call" if s["on_call"] else "")
            for s in value
        )
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return ";".join(value)
    if key == "offline" and isinstance(value, list):
        return ";".join(f"{clock(a)}-{clock(b)}" for a, b in value)
    if key in CLOCK_FIELDS and isinstance(value, int):
        return clock(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value
