"""The driver: small days replayed through the real system, with answers known in advance."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from sim.bound import bounds
from sim.day import Day
from sim.kpis import compute
from sim.log import CallStep, RunLog
from simrun.cli import main, write_run
from simrun.driver import simulate
from tests.sim.helpers import day_of, near, tiny

FIXED = {"median_s": 10, "p90_s": 10}


def run(day: Day, policy: str) -> RunLog:
    return asyncio.run(simulate(day, policy))


def sure(data: dict[str, Any]) -> dict[str, Any]:
    """Everyone answers at once and always accepts; sets off at once."""
    b = data["behaviour"]
    b["answers"] = {"accept": 1.0, "decline": 0.0, "accept_delay": FIXED}
    b["depart_delay"] = FIXED
    b["on_scene"] = {"median_s": 600, "p90_s": 600}
    b["operator_callback"] = FIXED
    return data


def steps_of(log: RunLog, call: str) -> list[CallStep]:
    return [r.step for r in log.of_call(call)]


def bath_day() -> Day:
    """王芳 (the only one who may bathe) is at a bath 300 m from 张 when 张 presses at 09:30;
    李敏 is at the station 2 km away and free. The bath cannot be broken off: 王芳 could only
    come after it (an hour later); 李敏 rides there in about 12 minutes."""
    data = sure(tiny())
    st = data["district"]["stations"][0]
    st["caregivers"] = [
        {
            "name": "王芳",
            "skills": ["bathing", "first_aid"],
            "home": near(north_m=2300),
            "shifts": [{"start": "08:00", "end": "17:00"}],
        },
        {"name": "李敏", "shifts": [{"start": "08:00", "end": "17:00"}]},
    ]
    data["elders"]["rows"] = [
        {"id": "E1", "location": near(north_m=2000)},
        {"id": "E2", "location": near(north_m=2300)},
    ]
    data["bookings"] = {
        "kind": "list",
        "rows": [{"elder": "E2", "item": "bath-help", "start": "09:00", "end": "10:30"}],
    }
    data["calls"]["rows"] = [{"elder": "E1", "at": "09:30"}]
    return day_of(data)


@pytest.mark.slow
def test_a_bath_that_cannot_be_broken_off_makes_greedy_late_but_not_anxin() -> None:
    day = bath_day()
    b = bounds(day)
    assert b["H0001"].reachable
    greedy, anxin = run(day, "greedy"), run(day, "anxin")
    g, a = compute(day, greedy, b).calls, compute(day, anxin, b).calls
    # greedy rang the nearest, who had to finish the bath first
    assert [r.caregiver_id for r in greedy.of_call("H0001") if r.step is CallStep.ACCEPTED] == [
        "st.1"
    ]
    assert g.late_arrivals == 1 and g.on_scene_in_time == 0
    # anxin sent the free one from the station, on scene well within 20 minutes
    assert [r.caregiver_id for r in anxin.of_call("H0001") if r.step is CallStep.ACCEPTED] == [
        "st.2"
    ]
    assert a.late_arrivals == 0 and a.on_scene_in_time == 1
    assert a.response_s.max is not None and a.response_s.max <= 20 * 60
    # the bath was finished in both, and every call and task has an outcome
    for log in (greedy, anxin):
        k = compute(day, log, b)
        assert k.visits.done == 1
        assert k.completeness.ok, k.completeness


@pytest.mark.slow
def test_a_caregiver_who_never_answers_leaves_it_to_the_escalation_chain() -> None:
    data = sure(tiny())
    data["district"]["stations"][0]["caregivers"] = [
        {
            "name": "王芳",
            "shifts": [{"start": "08:00", "end": "17:00"}],
            "answers": {"accept": 0.0, "decline": 0.0},
        }
    ]
    day = day_of(data)
    log = run(day, "anxin")
    steps = steps_of(log, "H0001")
    assert CallStep.OFFERED in steps
    assert CallStep.TIMED_OUT in steps  # the offer lapsed unanswered
    assert CallStep.ACCEPTED not in steps and CallStep.ARRIVED not in steps
    assert CallStep.ESCALATED in steps  # the chain acted
    k = compute(day, log, bounds(day))
    assert k.calls.never_arrived == 1
    assert sum(k.calls.escalations.values()) >= 1
    assert k.completeness.ok  # the open call is recorded as such, not dropped


@pytest.mark.slow
def test_every_call_unreachable_is_reported_apart() -> None:
    data = sure(tiny())
    data["elders"]["rows"] = [{"id": "E1", "location": near(north_m=9000)}]
    data["calls"]["rows"] = [{"elder": "E1", "at": "10:00"}, {"elder": "E1", "at": "14:00"}]
    day = day_of(data)
    b = bounds(day)
    assert not any(x.reachable for x in b.values())
    k = compute(day, run(day, "anxin"), b).calls
    assert k.real_emergencies == 2 and k.reachable == 0 and k.unreachable == 2
    assert k.pct_of_reachable is None and k.late_arrivals == 0
    assert k.unreachable_response_s.n == 2  # they were still attended, late


def test_same_seed_same_files_and_the_report_renders(tmp_path: Path) -> None:
    data = sure(tiny())
    data["calls"]["rows"] = [
        {"elder": "E1", "at": "09:00"},
        {"elder": "E2", "at": "11:00", "type": "health"},
        {"elder": "E2", "at": "13:00", "false_alarm": True},
    ]
    day = day_of(data)
    first, second = tmp_path / "a", tmp_path / "b"
    write_run(day, run(day, "anxin"), first)
    k = write_run(day, run(day, "anxin"), second)
    for name in ("calls.csv", "tasks.csv", "kpis.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert k.completeness.ok
    html = (first / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html and "H0001" in (first / "calls.csv").read_text(encoding="utf-8")
    kpis = json.loads((first / "kpis.json").read_text(encoding="utf-8"))
    assert kpis["calls"]["presses"] == 3


def test_sim_run_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(sure(tiny())), encoding="utf-8")
    out = tmp_path / "out"
    code = main(["run", str(path), "--seed", "3", "--policy", "greedy", "--out", str(out)])
    assert code == 0
    assert {p.name for p in out.iterdir()} >= {"kpis.json", "calls.csv", "tasks.csv", "report.html"}
    assert "greedy, seed 3" in capsys.readouterr().out


def test_sim_run_refuses_a_bad_scenario_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tiny()
    data["district"]["stations"][0]["caregivers"] = []
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 1
    assert "caregivers" in capsys.readouterr().err
    assert main(["run", str(path), "--seed", "-1"]) in (1, 2)


@pytest.mark.slow
def test_compare_runs_both_policies_on_the_same_seeds(tmp_path: Path) -> None:
    from simrun.cli import compare
    from tests.sim.helpers import scenario

    text, data = compare(scenario(sure(tiny())), [1, 2])
    head = text.splitlines()[1]
    assert "anxin" in head and "greedy" in head and "bound" in head
    assert "calls.pct_of_reachable" in text
    policies = data["policies"]
    assert isinstance(policies, dict)
    assert policies["anxin"]["calls.real_emergencies"]["n"] == 2


@pytest.mark.slow
def test_compare_in_parallel_gives_the_serial_answer(tmp_path: Path) -> None:
    """Two seeds × two policies in two processes, each on its own store: the same table and
    data as one after the other (the per-run CPU aside)."""
    from simrun.cli import compare
    from tests.sim.helpers import scenario

    data = sure(tiny())
    data["calls"]["rows"].append({"elder": "E2", "at": "11:00"})
    scn = scenario(data)
    serial = compare(scn, [1, 2], progress=False)
    parallel = compare(scn, [1, 2], jobs=2, progress=False, runs_out=tmp_path / "runs")
    assert parallel[0] == serial[0]
    # each run's files, to read a compare's late calls one by one, as `sim run` writes them
    for name in ("anxin-1", "anxin-2", "greedy-1", "greedy-2"):
        got = {f.name for f in (tmp_path / "runs" / name).iterdir()}
        assert {"kpis.json", "calls.csv", "tasks.csv", "report.html", "log.jsonl"} <= got
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert (
        main(
            ["run", str(path), "--seed", "2", "--policy", "greedy", "--out", str(tmp_path / "one")]
        )
        == 0
    )
    one = (tmp_path / "one" / "calls.csv").read_text(encoding="utf-8")
    assert (tmp_path / "runs" / "greedy-2" / "calls.csv").read_text(encoding="utf-8") == one
    assert {**parallel[1], "cpu_s": None} == {**serial[1], "cpu_s": None}
    assert main(["compare", str(path), "--seeds", "1", "--jobs", "0"]) == 2


@pytest.mark.slow
def test_the_bath_day_on_postgresql_as_on_sqlite() -> None:
    from tests.support.backends import fresh_pg_database, missing, postgres_url

    admin = postgres_url()
    if admin is None:
        missing("PostgreSQL")
    day = bath_day()

    async def on_postgres() -> RunLog:
        async with fresh_pg_database(admin, with_schema=False) as url:
            return await simulate(day, "anxin", database_url=url)

    pg, lite = asyncio.run(on_postgres()), run(day, "anxin")
    assert pg.calls == lite.calls and pg.tasks == lite.tasks


@pytest.mark.slow
def test_a_caregiver_whose_list_is_done_rides_back_to_base() -> None:
    """Her one visit, 2.5 km out, ends before noon; she rides back to the station, where a
    call from next door at 14:00 finds her: on scene in minutes, not in the time it takes
    from where her visit was."""
    data = sure(tiny())
    data["district"]["stations"][0]["caregivers"] = [
        {
            "name": "王芳",
            "skills": ["housekeeping", "first_aid"],
            "shifts": [{"start": "08:00", "end": "17:00"}],
        }
    ]
    data["elders"]["rows"] = [
        {"id": "E1", "location": near(east_m=100)},
        {"id": "E2", "location": near(north_m=2500)},
    ]
    data["bookings"] = {
        "kind": "list",
        "rows": [{"elder": "E2", "item": "shopping", "start": "09:00", "end": "11:00"}],
    }
    data["calls"]["rows"] = [{"elder": "E1", "at": "14:00"}]
    day = day_of(data)
    log = run(day, "anxin")
    base = day.caregiver_by_id["st.1"].base
    home = [s for s in log.of_caregiver("st.1") if s.ref == "base"]
    # back from the visit before the call, and back from the call after it
    assert [s.place for s in home] == [base, base]
    assert 9 * 3600 < home[0].end_s < 14 * 3600 < home[1].start_s
    k = compute(day, log, bounds(day))
    assert k.visits.done == 1
    assert k.calls.on_scene_in_time == 1
    assert k.calls.response_s.max is not None and k.calls.response_s.max < 5 * 60


def one_caregiver_far_call(shifts: list[dict[str, Any]], calls: list[dict[str, str]]) -> Day:
    """王芳 alone (home 200 m west of the station), no visits; E1 4 km north (about 23
    minutes away by e-bike), E2 100 m east of the station (under 3 minutes). Woken at home
    she leaves after 10 s, like everyone here."""
    data = sure(tiny())
    data["behaviour"]["on_call_depart_delay"] = FIXED
    data["district"]["stations"][0]["caregivers"] = [
        {"name": "王芳", "home": near(east_m=-200), "shifts": shifts}
    ]
    data["elders"]["rows"] = [
        {"id": "E1", "location": near(north_m=4000)},
        {"id": "E2", "location": near(east_m=100)},
    ]
    data["calls"]["rows"] = calls
    return day_of(data)


@pytest.mark.slow
def test_on_night_call_she_rides_home_after_a_call() -> None:
    """On call from 17:00. A call 4 km out at 18:00 is over by about 18:35; she rides home,
    so a call next to the station at 20:00 finds her 300 m away, not 4 km."""
    day = one_caregiver_far_call(
        [{"start": "08:00", "end": "17:00"}, {"start": "17:00", "end": "08:00", "on_call": True}],
        [{"elder": "E1", "at": "18:00"}, {"elder": "E2", "at": "20:00"}],
    )
    log = run(day, "anxin")
    home = day.caregiver_by_id["st.1"].base
    rides = [s for s in log.of_caregiver("st.1") if s.ref == "base"]
    # home after the first call, before the second; and home again after the second
    assert [s.place for s in rides] == [home, home]
    assert rides[0].start_s > 18 * 3600 and rides[0].end_s < 20 * 3600 < rides[1].start_s
    k = compute(day, log, bounds(day))
    arrived = {r.call_id: r.at_s for r in log.calls if r.step is CallStep.ARRIVED}
    assert arrived["H0002"] - 20 * 3600 < 5 * 60
    assert k.completeness.ok


@pytest.mark.slow
def test_a_new_stretch_of_duty_starts_at_her_base() -> None:
    """08:00-10:00 and 13:00-17:00. A call 4 km out at 09:30 keeps her there past 10:00
    (no ride back on duty); at 13:00 she starts from home, so a call next to the station at
    13:10 is on scene in minutes (riding back from 4 km out, she would be 20 minutes away)."""
    day = one_caregiver_far_call(
        [{"start": "08:00", "end": "10:00"}, {"start": "13:00", "end": "17:00"}],
        [{"elder": "E1", "at": "09:30"}, {"elder": "E2", "at": "13:10"}],
    )
    log = run(day, "greedy")
    arrived = {r.call_id: r.at_s for r in log.calls if r.step is CallStep.ARRIVED}
    assert arrived["H0001"] > 9 * 3600 + 50 * 60  # 4 km: over 20 minutes
    assert arrived["H0002"] - (13 * 3600 + 10 * 60) < 5 * 60
    assert compute(day, log, bounds(day)).completeness.ok
