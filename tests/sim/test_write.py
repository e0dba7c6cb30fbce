"""The files a run writes: kpis.json, calls.csv and tasks.csv."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sim.bound import bounds
from sim.kpis import compute
from sim.log import Recorder, TaskKind, TaskStep
from sim.write import clock, write_calls, write_kpis, write_tasks
from tests.sim.helpers import arrivals, day_of, four_calls, tiny


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_clock_times() -> None:
    """Seconds after midnight as HH:MM:SS; None as an empty cell."""
    assert (clock(36_061), clock(None)) == ("10:01:01", "")


def test_calls_csv_has_a_row_per_call_with_its_times(tmp_path: Path) -> None:
    """On scene after 8, 19, 25 and 30 minutes: responses, in-time flags and reachability."""
    day = four_calls()
    log = arrivals(day, {"H0001": 8, "H0002": 19, "H0003": 25, "H0004": 30})
    write_calls(day, log, bounds(day), tmp_path / "calls.csv")
    got = [
        (r["call"], r["arrived"], r["response_s"], r["in_time"], r["reachable"])
        for r in rows(tmp_path / "calls.csv")
    ]
    assert got == [
        ("H0001", "09:08:00", "480", "1", "1"),
        ("H0002", "10:19:00", "1140", "1", "1"),
        ("H0003", "11:25:00", "1500", "0", "1"),
        ("H0004", "12:30:00", "1800", "0", "0"),
    ]


def test_tasks_csv_has_lateness_and_minutes_from_the_kitchen(tmp_path: Path) -> None:
    """A visit started 20 minutes after its latest start (a 60-minute chat booked 09:00-11:00
    started at 10:20) and a meal 25 minutes from the kitchen."""
    data = tiny()
    data["district"]["stations"][0]["kitchen"] = {"name": "厨房"}
    data["bookings"] = {
        "kind": "list",
        "rows": [{"elder": "E1", "item": "chat", "start": "09:00", "end": "11:00"}],
    }
    data["meals"] = {"kind": "list", "rows": [{"elder": "E2"}]}
    day = day_of(data)
    rec = Recorder()
    rec.task("V0001", TaskKind.VISIT, 36_000 + 1200, TaskStep.STARTED, "st.1")
    rec.task("V0001", TaskKind.VISIT, 36_000 + 4800, TaskStep.DONE, "st.1")
    rec.task("M0001", TaskKind.MEAL, 39_600, TaskStep.PICKED_UP, "st.2")
    rec.task("M0001", TaskKind.MEAL, 39_600 + 1500, TaskStep.DONE, "st.2")
    write_tasks(day, rec.freeze("hand", 1), tmp_path / "tasks.csv")
    visit, meal = rows(tmp_path / "tasks.csv")
    assert (visit["late_min"], visit["outcome"], visit["caregiver"]) == ("20", "done", "st.1")
    assert (meal["minutes_from_kitchen"], meal["in_window"]) == ("25.0", "1")


def test_kpis_json_is_the_kpis(tmp_path: Path) -> None:
    """kpis.json parses back to the same figures, with completeness spelt out."""
    day = four_calls()
    log = arrivals(day, {"H0001": 8, "H0002": 19, "H0003": 25, "H0004": 30})
    k = compute(day, log, bounds(day))
    write_kpis(k, tmp_path / "kpis.json")
    back = json.loads((tmp_path / "kpis.json").read_text(encoding="utf-8"))
    assert back["calls"]["pct_of_reachable"] == 66.67 and back["completeness"]["ok"] is True
