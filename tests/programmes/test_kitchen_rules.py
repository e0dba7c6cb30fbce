"""The kitchen's rules are data on the station: box capacity per courier trip and the
hot-food limit, set through the station API, read by the lunch routing; bad values refused
with nothing written."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dispatch.routing import SolverParams
from server.planning.flows.meals import _meal_params
from tests.conftest import BACKENDS
from tests.support.api import CENTRE, Api


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_the_kitchen_rules_are_set_per_station(api: Api) -> None:
    s = api.ids["station"]
    kitchen = {
        "name": "红庙中心厨房",
        "location": {"lat": CENTRE[0], "lng": CENTRE[1], "coord_system": "gcj02"},
        "box_capacity": 8,
        "max_minutes_to_door": 25,
    }
    out = await api.call(
        "PATCH", f"/api/v1/stations/{s}", "operator", json={"kitchen": kitchen}, expect=200
    )
    assert (out["kitchen"]["box_capacity"], out["kitchen"]["max_minutes_to_door"]) == (8, 25)
    for bad in ({"box_capacity": 0}, {"box_capacity": 2.5}, {"max_minutes_to_door": 500}):
        status, problem = await api.call(
            "PATCH", f"/api/v1/stations/{s}", "operator", json={"kitchen": {**kitchen, **bad}}
        )
        assert (status, problem["code"]) == (422, "validation_error")
    again = await api.call("GET", f"/api/v1/stations/{s}", "operator", expect=200)
    assert again["kitchen"]["box_capacity"] == 8  # the refusals changed nothing


def test_the_lunch_routing_reads_the_hot_food_limit() -> None:
    st = SimpleNamespace(kitchen={"max_minutes_to_door": 25, "box_capacity": 8}, circle_minutes=15)
    params = _meal_params(st, (11 * 3600, 12 * 3600 + 1800), SolverParams())
    assert params.max_kitchen_to_door_s == 25 * 60
