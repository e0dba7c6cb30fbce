"""`sim validate`, `sim generate` and `sim schema`: exit codes and what a person reads."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from sim.cli import main
from tests.sim.helpers import tiny

ROOT = Path(__file__).resolve().parents[2]


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_validate_a_good_scenario() -> None:
    """Exit 0 and one line saying what was checked."""
    code, text = run("validate", str(ROOT / "sims" / "canghong.json"))
    assert code == 0 and text.strip().endswith('ok, "仓红社区 demo station", 1 station, 2026-11-23')


def test_validate_a_bad_scenario_names_the_field(tmp_path: Path) -> None:
    """Exit 1, the error with its path, and no traceback."""
    data = tiny()
    data["district"]["stations"][0]["caregivers"] = []
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    code, text = run("validate", str(path))
    assert code == 1
    assert 'error: district.stations[0 "st"].caregivers: a station needs' in text
    assert "Traceback" not in text


def test_warnings_are_printed_and_the_scenario_passes() -> None:
    """The rural township: the village point has two caregivers; still exit 0."""
    code, text = run("validate", str(ROOT / "sims" / "rural-township.json"))
    assert code == 0 and "warning: " in text


def test_generate_writes_the_day(tmp_path: Path) -> None:
    """day.json and one CSV per kind; the help calls' CSV has one row per call."""
    code, text = run(
        "generate", str(ROOT / "sims" / "canghong.json"), "--seed", "4", "--out", str(tmp_path)
    )
    assert code == 0 and "320 elders" in text
    day = json.loads((tmp_path / "day.json").read_text(encoding="utf-8"))
    with (tmp_path / "help_calls.csv").open(encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == len(day["help_calls"])
    assert {p.name for p in tmp_path.iterdir()} >= {"elders.csv", "caregivers.csv", "visits.csv"}


def test_generate_is_repeatable(tmp_path: Path) -> None:
    """The same seed twice: byte-identical files."""
    scenario = str(ROOT / "sims" / "chaoyang-five.json")
    run("generate", scenario, "--seed", "5", "--out", str(tmp_path / "a"))
    run("generate", scenario, "--seed", "5", "--out", str(tmp_path / "b"))
    for f in (tmp_path / "a").iterdir():
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes(), f.name


def test_bad_usage_is_exit_2() -> None:
    """An unknown command: argparse's message, exit 2."""
    assert run("fly")[0] == 2


def test_schema_prints_json() -> None:
    """The JSON Schema, parseable, titled."""
    code, text = run("schema")
    assert code == 0 and json.loads(text)["title"] == "Anxin simulator scenario"
