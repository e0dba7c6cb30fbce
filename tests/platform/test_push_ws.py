"""Pushes over a real WebSocket: offers arrive, sequence numbers, replay after reconnect."""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from schemas.common import Push
from schemas.pushes import PUSHES
from server.app import create_app
from server.settings import Settings
from server.store.tables import push_messages
from tests.conftest import BACKENDS
from tests.support.api import Api, near


@pytest.fixture
async def live(aiohttp_client: Any, settings: Settings) -> Api:
    """The app with its background relay and timer loops running on the real clock."""
    from server.clock import FakeClock

    clock = FakeClock()
    app = create_app(settings, clock=clock, run_background=True, create_schema=True)
    client: TestClient[web.Request, web.Application] = await aiohttp_client(app)
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
                return dict(body)

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
    await live.call(
        "POST",
        "/api/v1/caregivers/me/location",
        "cg_b",
        json={"location": {"lat": lat, "lng": lng, "coord_system": "gcj02"}},
        expect=200,
    )
    await asyncio.sleep(0.3)
    ws2 = await live.client.ws_connect(
        f"/api/v1/ws?token={live.tokens['operator']}&last_seq={first['seq']}"
    )
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


class Filler(Push):
    """A message that only fills a stream."""

    TYPE: ClassVar[str] = "test.filler"
    i: int


async def _fill(api: Api, recipient: str, n: int) -> None:
    from server.platform import queue_push

    async with api.platform.tx() as tx:
        for i in range(n):
            queue_push(tx, recipient, Filler(i=i))


async def _drain(ws: Any, until_seq: int, timeout: float = 20.0) -> list[int]:
    seqs: list[int] = []

    async def _read() -> None:
        while not seqs or seqs[-1] < until_seq:
            msg = await ws.receive()
            assert msg.type == WSMsgType.TEXT, msg
            body = json.loads(msg.data)
            if "seq" in body:
                seqs.append(body["seq"])

    await asyncio.wait_for(_read(), timeout)
    return seqs


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_replay_after_reconnect_is_not_truncated(live: Api) -> None:
    """More than one page (500) missed while away: all of it comes back, in order."""
    recipient = f"user:{live.ids['cg_b_user']}"
    await _fill(live, recipient, 1203)
    ws = await live.client.ws_connect(f"/api/v1/ws?token={live.tokens['cg_b']}&last_seq=0")
    seqs = await _drain(ws, 1203)
    assert seqs == list(range(1, 1204))
    await ws.close()
    # Resuming mid-way over the socket replays the rest, also past a page.
    await _fill(live, recipient, 20)
    ws = await live.client.ws_connect(f"/api/v1/ws?token={live.tokens['cg_b']}&last_seq=1223")
    await next_of(ws, "hello")
    await ws.send_json({"type": "resume", "last_seq": 100})
    assert await _drain(ws, 1223) == list(range(101, 1224))
    await ws.close()


@pytest.mark.parametrize(
    "frame",
    [
        "[]",
        '{"type": "resume", "last_seq": "abc"}',
        '"ping"',
        "not json",
        '{"type": "resume", "last_seq": -1}',
        '{"type": "resume", "last_seq": 99999999999999999999999}',
        '{"type": "resume", "last_seq": true}',
        '{"type": "dance"}',
        "null",
    ],
)
async def test_a_malformed_client_frame_gets_an_error_and_the_socket_stays(
    live: Api, frame: str
) -> None:
    ws = await live.client.ws_connect(f"/api/v1/ws?token={live.tokens['cg_a']}")
    await next_of(ws, "hello")
    await ws.send_str(frame)
    err = await next_of(ws, "error")
    assert err["code"] in ("malformed_json", "bad_last_seq", "unknown_message")
    await ws.send_bytes(b"\x00\x01")
    assert (await next_of(ws, "error"))["code"] == "binary_not_supported"
    await ws.send_json({"type": "ping"})
    await next_of(ws, "pong")
    inc = await live.press(expect=201)  # and pushes still arrive on it
    offered = await next_of(ws, "task.offered")
    assert offered["payload"]["incident_id"] == inc["id"] and not ws.closed
    await ws.close()


@pytest.fixture
async def beating(aiohttp_client: Any, settings: Settings) -> Api:
    from dataclasses import replace

    from server.clock import FakeClock

    app = create_app(
        replace(settings, ws_heartbeat_s=0.3),
        clock=FakeClock(),
        run_background=True,
        create_schema=True,
    )
    api = Api(await aiohttp_client(app))
    await api.seed()
    return api


async def test_server_sends_heartbeats_and_drops_a_silent_client(beating: Api) -> None:
    """The server pings; a client that never answers (a phone gone dark) is dropped, so
    its socket does not linger in the hub."""
    from server.keys import HUB

    ws = await beating.client.ws_connect(
        f"/api/v1/ws?token={beating.tokens['cg_a']}", autoping=False
    )
    hub = beating.client.app[HUB]
    hello = json.loads((await asyncio.wait_for(ws.receive(), 3)).data)
    assert hello["type"] == "hello" and hub.count == 1
    ping = await asyncio.wait_for(ws.receive(), 3)
    assert ping.type == WSMsgType.PING

    # Not answering: the server gives up on the socket.
    async def closed() -> None:
        while True:
            msg = await ws.receive()
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING, WSMsgType.ERROR):
                return

    await asyncio.wait_for(closed(), 5)
    for _ in range(50):
        if hub.count == 0:
            break
        await asyncio.sleep(0.05)
    assert hub.count == 0


async def test_a_client_that_answers_pings_stays_connected(beating: Api) -> None:
    # A reading client answers the server's pings (aiohttp's autoping, as a browser does).
    ws = await beating.client.ws_connect(f"/api/v1/ws?token={beating.tokens['cg_a']}")
    await next_of(ws, "hello")
    with pytest.raises(TimeoutError):
        await next_of(ws, "never", timeout=1.5)  # several heartbeats while reading
    assert not ws.closed
    await ws.send_json({"type": "ping"})
    await next_of(ws, "pong")
    await ws.close()


async def test_every_push_type_is_in_the_openapi_document(api: Api) -> None:
    """The WebSocket operation lists each pushed type's envelope, its payload a component."""
    doc = await api.call("GET", "/api/openapi.json", expect=200)
    messages = doc["paths"]["/api/v1/ws"]["get"]["x-push-messages"]
    types = [m["properties"]["type"]["const"] for m in messages["oneOf"]]
    assert types == sorted(PUSHES) and messages["discriminator"] == {"propertyName": "type"}
    assert {"task.offered", "incident.status", "alarm.raised", "offer.expired"} <= set(types)
    for m in messages["oneOf"]:
        name = m["properties"]["payload"]["$ref"].rsplit("/", 1)[1]
        assert name == PUSHES[m["properties"]["type"]["const"]].__name__
        assert name in doc["components"]["schemas"]


async def _asked_again(api: Api) -> dict[str, Any]:
    """Step the clock (the dispatcher retries every 30 s) until cg_a is offered the call."""
    for _ in range(20):
        offers = await api.call("GET", "/api/v1/offers", "cg_a", expect=200)
        if offers:
            return dict(offers[0])
        await api.advance(30)
    raise AssertionError("cg_a was never asked again")


async def test_pushed_payloads_read_as_their_models(api: Api) -> None:
    """A help call from press to resolution, with a decline, an expiry, an alarm and a
    flagged arrival: every message of a typed kind reads back as its model (no field more,
    none missing), and times keep their offset as pages have always read them."""
    await api.set_duty("cg_b", False)
    inc = await api.press(expect=201)
    await api.pump()
    [offer] = await api.call("GET", "/api/v1/offers", "cg_a", expect=200)
    await api.call("POST", f"/api/v1/offers/{offer['id']}/decline", "cg_a", expect=200)
    await _asked_again(api)
    await api.advance(api.platform.settings.offer_timeout_s + 1)  # no answer in time
    offer = await _asked_again(api)
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200)
    far, near_by = near(5000), near(0)
    for at in (far, near_by):
        await api.call(
            "POST",
            f"/api/v1/incidents/{inc['id']}/arrive",
            "cg_a",
            json={"location": {"lat": at[0], "lng": at[1], "coord_system": "gcj02"}},
            expect=200,
        )
    await api.call(
        "POST",
        f"/api/v1/incidents/{inc['id']}/resolve",
        "cg_a",
        json={"notes": "已处理"},
        expect=200,
    )
    async with api.platform.store.read() as conn:
        rows = (await conn.execute(select(push_messages))).all()
    seen = {r.type for r in rows if r.type in PUSHES}
    for r in rows:
        if r.type in PUSHES:
            PUSHES[r.type].model_validate(r.payload)
    assert {
        "incident.opened",
        "task.offered",
        "offer.declined",
        "offer.expired",
        "alarm.raised",
        "incident.arrival_flagged",
        "incident.arrived",
        "incident.resolved",
        "incident.status",
    } <= seen
    offered = next(r.payload for r in rows if r.type == "task.offered")
    assert offered["expires_at"].endswith("+00:00")
