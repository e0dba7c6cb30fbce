"""Pushes over a real WebSocket: offers arrive, sequence numbers, replay after reconnect."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.settings import Settings
from tests.support.api import Api, near


@pytest.fixture
async def live(aiohttp_client: Any, settings: Settings) -> Api:
    """The app with its background relay and timer loops running on the real clock."""
    from server.clock import FakeClock

    clock = FakeClock()
    app = create_app(settings, clock=clock, run_background=True, create_schema=True)
    client: TestClient = await aiohttp_client(app)
    api = Api(client)
    await api.seed()
    return api


async def next_of(ws: Any, type_: str, timeout: float = 5.0) -> dict[str, Any]:
    async def _read() -> dict[str, Any]:
        while True:
            msg = await ws.receive()
            assert msg.type == WSMsgType.TEXT, msg
            body = json.loads(msg.data)
            if body.get("type") == type_:
                return body
    return await asyncio.wait_for(_read(), timeout)


async def test_offer_arrives_on_caregiver_socket(live: Api) -> None:
    ws = await live.client.ws_connect(f"/api/v1/ws?token={live.tokens['cg_a']}")
    hello = await next_of(ws, "hello")
    assert hello["resume_from"] == 0
    inc = await live.press(expect=201)
    offered = await next_of(ws, "task.offered")
    assert offered["payload"]["incident_id"] == inc["id"]
    assert offered["payload"]["elder_name"] == "王秀英"
    assert offered["seq"] >= 1
    await ws.close()


async def test_elder_sees_caregiver_coming(live: Api) -> None:
    ws = await live.client.ws_connect(f"/api/v1/ws?token={live.tokens['elder']}")
    await next_of(ws, "hello")
    await live.press(expect=201)
    for _ in range(50):
        offers = await live.call("GET", "/api/v1/offers", "cg_a", expect=200)
        if offers:
            break
        await asyncio.sleep(0.05)
    await live.call("POST", f"/api/v1/offers/{offers[0]['id']}/accept", "cg_a", expect=200)
    while True:
        status = await next_of(ws, "incident.status")
        if status["payload"]["status"] == "accepted":
            break
    assert status["payload"]["caregiver_name"] == "王芳"
    assert "正在赶来" in status["payload"]["text"]
    await ws.close()


async def test_reconnect_replays_missed_messages_in_order(live: Api) -> None:
    ws = await live.client.ws_connect(f"/api/v1/ws?token={live.tokens['operator']}")
    await next_of(ws, "hello")
    await live.press(expect=201)
    first = await next_of(ws, "incident.opened")
    await ws.close()
    # While the operator is away, more happens.
    lat, lng = near(50)
    await live.press("family", elder_id=live.ids["elder"], expect=200)
    await live.call("POST", "/api/v1/caregivers/me/location", "cg_b",
                    json={"location": {"lat": lat, "lng": lng, "coord_system": "gcj02"}}, expect=200)
    await asyncio.sleep(0.3)
    ws2 = await live.client.ws_connect(f"/api/v1/ws?token={live.tokens['operator']}&last_seq={first['seq']}")
    hello = await next_of(ws2, "hello")
    assert hello["resume_from"] == first["seq"]
    seqs: list[int] = []
    types: list[str] = []
    while True:
        try:
            msg = await asyncio.wait_for(ws2.receive(), 1.0)
        except TimeoutError:
            break
        body = json.loads(msg.data)
        seqs.append(body["seq"])
        types.append(body["type"])
    assert seqs == list(range(first["seq"] + 1, first["seq"] + 1 + len(seqs)))
    assert "incident.joined" in types and "caregiver.location" in types
    await ws2.close()


async def test_socket_needs_a_valid_token(live: Api) -> None:
    r = await live.client.get("/api/v1/ws?token=nonsense")
    assert r.status == 401
    r = await live.client.get("/api/v1/ws")
    assert r.status == 401


async def test_each_user_gets_only_their_own_stream(live: Api) -> None:
    ws = await live.client.ws_connect(f"/api/v1/ws?token={live.tokens['operator2']}")
    await next_of(ws, "hello")
    await live.press(expect=201)
    with pytest.raises(TimeoutError):
        await next_of(ws, "incident.opened", timeout=0.8)
    await ws.close()


