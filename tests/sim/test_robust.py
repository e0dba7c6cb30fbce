"""Never a traceback: every field of a scenario replaced by odd values gives either a
scenario that generates a day, or a ScenarioError naming a path."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from sim.generate import generate
from sim.scenario import ScenarioError, parse_scenario
from tests.sim.helpers import tiny

ODD: tuple[Any, ...] = (None, -1, 0, 1e300, "", "x", [], {}, True, "25:00")


def richer() -> dict[str, Any]:
    """tiny(), plus a kitchen, generated work, a process and disruptions to bend."""
    data = tiny()
    data["district"]["stations"][0]["kitchen"] = {
        "name": "厨房",
        "lunch": {"opens": "11:00", "closes": "12:30"},
    }
    data["bookings"] = {"kind": "generate", "count": 5, "window_minutes": 120}
    data["meals"] = {"kind": "generate", "count": 1}
    data["calls"] = {"kind": "generate", "rate_per_1000_per_hour": [0] * 8 + [50] * 9 + [0] * 7}
    data["disruptions"] = [
        {"kind": "sick", "caregiver": "st.1", "at": "10:00"},
        {"kind": "surge", "start": "12:00", "end": "13:00", "factor": 2},
    ]
    return data


def leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaves(v, (*path, k))
    elif isinstance(node, list) and node:
        yield from leaves(node[0], (*path, 0))
    else:
        yield path


def bent(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(richer())
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


CASES = [(p, v) for p in leaves(richer()) for v in ODD]


@pytest.mark.parametrize(("path", "value"), CASES, ids=lambda x: repr(x)[:30])
def test_an_odd_value_is_refused_or_runs(path: tuple[Any, ...], value: Any) -> None:
    """Each leaf of the scenario set to None, -1, 0, a huge number, "", "x", [], {}, true
    or "25:00"."""
    try:
        loaded = parse_scenario(bent(path, value))
    except ScenarioError as exc:
        assert exc.errors and all(p.path for p in exc.errors)
        return
    assert generate(loaded.scenario, 1).caregivers
