"""Overload degrades in order: with every place taken, the help button is still answered,
other requests wait a moment and are then told to come back (503 with Retry-After, nothing
done), and bulk work (heartbeats, exports) is the first turned away."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import make_mocked_request

from server.admission import GATE, Gate, Lane, lane_of
from tests.hotline.support import post_signed
from tests.support.api import Api


@pytest.mark.parametrize(
    ("method", "path", "lane"),
    [
        ("POST", "/api/v1/help-calls", Lane.HELP),
        ("POST", "/api/v1/hotline/devices/BTN-1/press", Lane.HELP),
        ("POST", "/api/v1/hotline/cti/events", Lane.HELP),
        ("POST", "/api/v1/offers/7/accept", Lane.HELP),
        ("POST", "/api/v1/incidents/7/arrive", Lane.HELP),
        ("POST", "/api/v1/hotline/respond/abc", Lane.HELP),
        ("POST", "/api/v1/hotline/devices/BTN-1/heartbeat", Lane.BULK),
        ("GET", "/api/v1/elders/3/statements/2026-11.csv", Lane.BULK),
        ("GET", "/api/v1/districts/d1/summaries/2026Q4.xlsx", Lane.BULK),
        ("GET", "/api/v1/console/board", Lane.NORMAL),
        ("POST", "/api/v1/elders", Lane.NORMAL),
        ("GET", "/api/v1/ws", Lane.STREAM),
    ],
)
def test_each_request_has_its_lane(method: str, path: str, lane: Lane) -> None:
    assert lane_of(make_mocked_request(method, path)) is lane


def _gate(api: Api) -> Gate:
    app = api.client.app
    assert app is not None
    gate = Gate(limit=2, bulk_limit=1, wait_s=0.2)
    app[GATE] = gate
    return gate


async def _register_device(api: Api) -> None:
    await api.call(
        "POST",
        "/api/v1/hotline/devices",
        "operator",
        json={"device_id": "BTN-0001", "elder_id": api.ids["elder"]},
        expect=201,
    )


async def test_a_full_house_still_answers_the_help_button(api: Api) -> None:
    await _register_device(api)
    gate = _gate(api)
    async with gate.place(Lane.NORMAL), gate.place(Lane.NORMAL):  # two slow reports in flight
        await api.press(expect=201)
        status, _ = await post_signed(
            api, "/api/v1/hotline/devices/BTN-0001/press", {"device_id": "BTN-0001"}
        )
        assert status in (200, 201)
        r = await api.client.get(
            "/api/v1/console/board", headers={"Authorization": f"Bearer {api.tokens['operator']}"}
        )
        assert r.status == 503
        assert r.headers["Retry-After"] == "2"
        assert (await r.json())["code"] == "overloaded"
    await api.call("GET", "/api/v1/console/board", "operator", expect=200)  # places freed
    text = await api.call("GET", "/metrics", expect=200)
    assert 'anxin_requests_turned_away_total{lane="normal"} 1.0' in text


async def test_bulk_goes_first_and_a_waiting_request_gets_the_freed_place(api: Api) -> None:
    await _register_device(api)
    gate = _gate(api)
    async with gate.place(Lane.BULK):  # a statement export in flight: bulk's share is taken
        status, body = await post_signed(
            api,
            "/api/v1/hotline/devices/BTN-0001/heartbeat",
            {"device_id": "BTN-0001", "battery_pct": 80},
        )
        assert (status, body["code"]) == (503, "overloaded")
        await api.call("GET", "/api/v1/console/board", "operator", expect=200)
    held = gate.place(Lane.NORMAL)
    await held.__aenter__()
    await gate.place(Lane.NORMAL).__aenter__()  # full now
    waiting = asyncio.create_task(api.call("GET", "/api/v1/console/board", "operator", expect=200))
    await asyncio.sleep(0.05)
    await held.__aexit__(None, None, None)  # one report ends inside the wait: the board gets in
    await waiting
