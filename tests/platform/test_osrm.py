"""Road times from a local server that speaks OSRM's table protocol; great-circle when it fails."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.app import create_app
from server.settings import Settings
from tests.support.api import Api


class FakeOsrm:
    """GET /table/v1/{profile}/{lng,lat;...}?sources=..&destinations=..&annotations=duration"""

    def __init__(self) -> None:
        self.slow_from: set[str] = set()  # "lng,lat" prefixes whose roads are jammed
        self.fail = False
        self.requests = 0

    async def table(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.fail:
            return web.json_response({"code": "InvalidQuery", "message": "boom"}, status=400)
        coords = request.match_info["coords"].split(";")
        src = [int(i) for i in request.query["sources"].split(";")]
        dst = [int(i) for i in request.query["destinations"].split(";")]
        rows = [[3600.0 if coords[i][:8] in self.slow_from else 120.0 for _ in dst] for i in src]
        return web.json_response({"code": "Ok", "durations": rows})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/table/v1/{profile}/{coords}", self.table)
        return app


@pytest.fixture
async def osrm() -> Any:
    fake = FakeOsrm()
    server = TestServer(fake.app())
    await server.start_server()
    yield fake, str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
async def oapi(aiohttp_client: Any, settings: Settings, clock: Any, osrm: Any) -> Api:
    _, url = osrm
    app = create_app(
        replace(settings, osrm_url=url), clock=clock, run_background=False, create_schema=True
    )
    api = Api(await aiohttp_client(app))
    await api.seed()
    return api


async def test_road_times_decide_who_goes(oapi: Api, osrm: Any) -> None:
    """A is nearer as the crow flies but stuck in traffic; the road service says B."""
    fake, _ = osrm
    async with oapi.platform.store.read() as conn:
        from sqlalchemy import select

        from server.registry.tables import caregivers

        a = (
            await conn.execute(select(caregivers).where(caregivers.c.id == oapi.ids["cg_a"]))
        ).one()
    fake.slow_from.add(f"{a.lng:.6f}"[:8])
    await oapi.press(expect=201)
    await oapi.pump()
    assert fake.requests >= 1
    assert len(await oapi.call("GET", "/api/v1/offers", "cg_b", expect=200)) == 1
    assert await oapi.call("GET", "/api/v1/offers", "cg_a", expect=200) == []


async def test_falls_back_to_great_circle(oapi: Api, osrm: Any) -> None:
    fake, _ = osrm
    fake.fail = True
    await oapi.press(expect=201)
    await oapi.pump()
    assert len(await oapi.call("GET", "/api/v1/offers", "cg_a", expect=200)) == 1


async def test_day_plans_use_road_times_too(oapi: Api, osrm: Any) -> None:
    """With a road service configured the day plan rides on its times (every leg 120 s of
    road + 120 s at the door), fetched once before the solve; it used to plan on great-circle."""
    from tests.platform.test_planning import setup_day

    fake, _ = osrm
    await setup_day(oapi)
    before = fake.requests
    plan = await oapi.call(
        "POST",
        f"/api/v1/stations/{oapi.ids['station']}/plans",
        "operator",
        json={"time_limit_s": 1},
        expect=201,
    )
    assert fake.requests > before
    legs = [v["travel_s"] for r in plan["routes"] for v in r["visits"]]
    assert legs and all(leg == 240 for leg in legs)


async def test_day_plans_fall_back_to_great_circle(oapi: Api, osrm: Any) -> None:
    """The road service fails: the day is still planned, on great-circle times."""
    from tests.platform.test_planning import setup_day

    fake, _ = osrm
    fake.fail = True
    ids = await setup_day(oapi)
    plan = await oapi.call(
        "POST",
        f"/api/v1/stations/{oapi.ids['station']}/plans",
        "operator",
        json={"time_limit_s": 1},
        expect=201,
    )
    planned = {v["task_id"] for r in plan["routes"] for v in r["visits"]}
    assert planned == {str(ids["bath"]), str(ids["nurse"])}
    assert all(v["travel_s"] != 240 for r in plan["routes"] for v in r["visits"])
