"""The contract's files: the committed JSON Schema is the generated one; every shipped
scenario and the docs' example validate; the menu still matches the seed catalogue."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dispatch.geo import GeoPoint
from server.geo import CoordSystem, to_store
from server.services.catalogue import SEED_ITEMS
from sim.cli import SCHEMA_PATH, schema_text
from sim.coords import to_gcj02
from sim.menu import MENU
from sim.scenario import load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_schema_is_the_generated_one() -> None:
    """docs/sim-scenario.schema.json = `python -m sim schema` (regenerate it when
    schemas/sim.py changes: python -m sim schema --out docs/sim-scenario.schema.json)."""
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text()


@pytest.mark.parametrize("path", sorted((ROOT / "sims").glob("*.json")), ids=lambda p: p.name)
def test_every_shipped_scenario_validates(path: Path) -> None:
    """No errors (warnings are allowed and printed by `sim validate`)."""
    assert load_scenario(path).scenario.name


def test_there_are_three_shipped_scenarios() -> None:
    """The demo station, the five-station district and the rural township."""
    names = sorted(p.stem for p in (ROOT / "sims").glob("*.json"))
    assert names == ["canghong", "chaoyang-five", "rural-township"]


def test_the_docs_example_validates_without_warnings() -> None:
    """The minimal example in docs/sim.md is a complete, clean scenario."""
    text = (ROOT / "docs" / "sim.md").read_text(encoding="utf-8")
    section = text.split("## A minimal example", 1)[1]
    example = re.search(r"```json\n(.*?)\n```", section, re.S)
    assert example is not None
    assert parse_scenario(json.loads(example.group(1))).warnings == ()


def test_the_menu_matches_the_seed_catalogue() -> None:
    """Codes, minutes and skills copied from server/services/catalogue.py are still true."""
    seed = {i.code: (i.duration_min, i.skill) for i in SEED_ITEMS}
    assert {c: (m.minutes, m.skill) for c, m in MENU.items()} == {c: seed[c] for c in MENU}


@pytest.mark.parametrize("point", [(39.9219, 116.4436), (22.54, 114.06), (40.41, 116.81)])
def test_the_coordinate_transform_matches_the_server_s(point: tuple[float, float]) -> None:
    """A scenario's WGS-84 or BD-09 point lands where the server would store it."""
    assert to_gcj02(*point, "wgs84") == GeoPoint(*to_store(*point, CoordSystem.WGS84))
    assert to_gcj02(*point, "bd09") == GeoPoint(*to_store(*point, CoordSystem.BD09))
