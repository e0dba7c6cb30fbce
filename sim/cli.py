"""The simulator's pure command line (`python -m sim ...`; also `anxin sim validate|generate|schema`).

    sim validate SCENARIO.json                 check a scenario; errors name field and row
    sim generate SCENARIO.json --seed N --out DIR
                                               draw the day and write it as JSON and CSV
    sim schema [--out FILE]                    the scenario's JSON Schema

Exit codes: 0 done (warnings are printed), 1 the scenario cannot run, 2 bad usage.
`run` and `compare` need the real system: they are `anxin sim ...` (simrun/cli.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from sim.bound import bounds
from sim.day import Day
from sim.generate import generate
from sim.scenario import Loaded, Problem, ScenarioError, json_schema, load_scenario
from sim.write import write_day

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "docs" / "sim-scenario.schema.json"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sim", description="Anxin's district-day simulator")
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check a scenario file")
    v.add_argument("scenario", type=Path)
    g = sub.add_parser("generate", help="draw the day of a scenario and write it out")
    g.add_argument("scenario", type=Path)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--out", type=Path, required=True, help="a directory (created)")
    s = sub.add_parser("schema", help="write the scenario's JSON Schema")
    s.add_argument("--out", type=Path, default=None, help="default: print it")
    return p


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run one command; returns the exit code (never raises for a bad scenario)."""
    stdout, stderr = out or sys.stdout, out or sys.stderr
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage (or the help)
        return 0 if exc.code in (0, None) else 2
    if args.command == "schema":
        return _schema(args.out, stdout)
    try:
        loaded = load_scenario(args.scenario)
    except ScenarioError as exc:
        print(exc.text(), file=stderr)
        return 1
    _warnings(loaded.warnings, stdout)
    if args.command == "validate":
        print(f"{loaded.source}: ok, {_scenario_line(loaded)}", file=stdout)
        return 0
    if args.seed < 0:
        print("--seed must be >= 0", file=stderr)
        return 2
    day = generate(loaded.scenario, args.seed)
    files = write_day(day, args.out)
    print(summary(day), file=stdout)
    print("wrote " + ", ".join(str(f) for f in files), file=stdout)
    return 0


def _warnings(warnings: Sequence[Problem], out: TextIO) -> None:
    for w in warnings:
        print(str(w), file=out)


def _scenario_line(loaded: Loaded) -> str:
    s = loaded.scenario
    n = len(s.district.stations)
    return f'"{s.name}", {n} station{"s" if n != 1 else ""}, {s.start_date.isoformat()}'


def summary(day: Day) -> str:
    """What the day holds, in one paragraph."""
    real = [c for c in day.calls if c.real_emergency]
    b = bounds(day)
    unreachable = sum(1 for c in real if not b[c.id].reachable)
    high = sum(1 for e in day.elders if e.high_risk)
    return (
        f"{day.scenario.name}, {day.date.isoformat()}, seed {day.seed}: "
        f"{len(day.stations)} station(s), {len(day.elders)} elders ({high} high-risk), "
        f"{len(day.caregivers)} caregivers, {len(day.visits)} visits, {len(day.meals)} meals, "
        f"{len(day.calls)} presses ({len(real)} real emergencies, {unreachable} unreachable "
        f"by the bound)"
    )


def _schema(path: Path | None, out: TextIO) -> int:
    text = schema_text()
    if path is None:
        out.write(text)
    else:
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}", file=out)
    return 0


def schema_text() -> str:
    """The committed docs/sim-scenario.schema.json, exactly."""
    return json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n"
