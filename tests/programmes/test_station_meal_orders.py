"""The station's meal orders for a day, for the kitchen and the meals page: every order of
the day with the elder's name, cancelled ones too; another station's operator sees none; a
bad day is a 422 naming it."""

from __future__ import annotations

import pytest

from tests.conftest import BACKENDS
from tests.programmes.test_daycare import MENU, TUE
from tests.support.api import Api
from tests.welfare.support import long_tokens

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def test_the_days_orders_with_names(api: Api) -> None:
    long_tokens(api)
    s = api.ids["station"]
    await api.call("PUT", f"/api/v1/stations/{s}/meal-menus/{TUE}", "operator", json=MENU)
    for elder, mode in (("elder", "delivery"), ("elder_other", "dine_in")):
        body = {"day": TUE, "mode": mode, "dishes": ["rice-set"]}
        await api.call(
            "POST", f"/api/v1/elders/{api.ids[elder]}/meal-orders", "operator", json=body,
            expect=201,
        )  # fmt: skip
    mine = await api.call(
        "GET", f"/api/v1/elders/{api.ids['elder_other']}/meal-orders", "operator", expect=200
    )
    await api.call("POST", f"/api/v1/meal-orders/{mine[0]['id']}/cancel", "operator", expect=200)
    day = await api.call(
        "GET", f"/api/v1/stations/{s}/meal-orders?day={TUE}", "operator", expect=200
    )
    assert sorted((o["elder_name"], o["mode"], o["status"], o["total_fen"]) for o in day) == [
        ("李桂兰", "dine_in", "cancelled", 1000),
        ("王秀英", "delivery", "ordered", 1000),
    ]
    status, _ = await api.call("GET", f"/api/v1/stations/{s}/meal-orders?day={TUE}", "operator2")
    assert status == 404
    status, problem = await api.call("GET", f"/api/v1/stations/{s}/meal-orders?day=x", "operator")
    assert status == 422 and problem["errors"][0]["loc"][-1] == "day"
