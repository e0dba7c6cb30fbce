"""Outbound channels (server/hotline/adapters.py) against the local fake provider, and the
pure push → SMS → voice fallback (hotline/channels.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hotline.channels import (
    Attempt,
    ChannelError,
    DecisionKind,
    FallbackPolicy,
    OutboundMessage,
    Receipt,
    ReceiptStatus,
    decide,
    parse_receipt,
)
from hotline.cti import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from schemas.hotline import Channel
from server.hotline.adapters import (
    AppPushAdapter,
    HttpSmsAdapter,
    HttpVoiceAdapter,
    HttpWeChatAdapter,
    WeChatAccessToken,
)
from tests.support.hotline_fakes import FakeProvider

T0 = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
POLICY = FallbackPolicy()
SECRET = b"receipts"


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def receipt(send_id: str, status: ReceiptStatus, at: float = 5) -> Receipt:
    return Receipt(send_id, status, s(at))


# --- the policy -------------------------------------------------------------------------


def test_first_send_goes_to_app_push() -> None:
    d = decide(POLICY, [], T0)
    assert d.kind is DecisionKind.SEND and d.channel is Channel.APP_PUSH


def test_a_receipt_proves_delivery() -> None:
    attempts = [Attempt(Channel.APP_PUSH, T0, "p1", (receipt("p1", ReceiptStatus.DELIVERED),))]
    d = decide(POLICY, attempts, s(10))
    assert d.kind is DecisionKind.DELIVERED and d.proof is not None


def test_taken_without_receipt_waits_then_falls_back() -> None:
    """The provider said "sent" and nothing more: not trusted."""
    attempts = [Attempt(Channel.APP_PUSH, T0, "p1")]
    waiting = decide(POLICY, attempts, s(10))
    assert waiting.kind is DecisionKind.WAIT and waiting.at == s(30)
    moved = decide(POLICY, attempts, s(30))
    assert moved.kind is DecisionKind.SEND and moved.channel is Channel.SMS


def test_full_fallback_push_sms_voice_then_exhausted() -> None:
    attempts = [
        Attempt(Channel.APP_PUSH, T0, "p1"),
        Attempt(Channel.SMS, s(30), "s1"),
    ]
    assert decide(POLICY, attempts, s(90)).channel is Channel.VOICE
    attempts.append(
        Attempt(Channel.VOICE, s(90), "v1", (receipt("v1", ReceiptStatus.NO_ANSWER, 120),))
    )
    assert decide(POLICY, attempts, s(121)).kind is DecisionKind.EXHAUSTED


def test_a_failed_receipt_moves_on_without_waiting() -> None:
    attempts = [Attempt(Channel.SMS, T0, "s1", (receipt("s1", ReceiptStatus.FAILED, 2),))]
    d = decide(FallbackPolicy(order=(Channel.SMS, Channel.VOICE)), attempts, s(3))
    assert d.kind is DecisionKind.SEND and d.channel is Channel.VOICE


def test_a_send_error_is_retried_once_on_the_same_channel() -> None:
    attempts = [Attempt(Channel.SMS, T0, None)]
    policy = FallbackPolicy(order=(Channel.SMS, Channel.VOICE))
    assert decide(policy, attempts, s(1)).channel is Channel.SMS
    attempts.append(Attempt(Channel.SMS, s(1), None))
    assert decide(policy, attempts, s(2)).channel is Channel.VOICE


def test_a_receipt_for_another_send_proves_nothing() -> None:
    attempts = [Attempt(Channel.SMS, T0, "s1", (receipt("s-forged", ReceiptStatus.DELIVERED),))]
    assert decide(POLICY, attempts, s(5)).kind is DecisionKind.WAIT


def test_an_earlier_channel_receipt_arriving_late_still_counts() -> None:
    attempts = [
        Attempt(Channel.APP_PUSH, T0, "p1", (receipt("p1", ReceiptStatus.READ, 45),)),
        Attempt(Channel.SMS, s(30), "s1"),
    ]
    d = decide(POLICY, attempts, s(50))
    assert d.kind is DecisionKind.DELIVERED and d.channel is Channel.APP_PUSH


def test_policy_validates_itself() -> None:
    with pytest.raises(ValueError):
        FallbackPolicy(order=())
    with pytest.raises(ValueError):
        FallbackPolicy(receipt_timeout={Channel.SMS: timedelta(seconds=1)})


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"send_id": "x", "status": "lost"},
        {"send_id": "x", "status": "pressed", "digits": "one"},
    ],
)
def test_bad_receipts_are_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        parse_receipt(payload, at=T0)


# --- adapters against the fake ------------------------------------------------------------


class Receiver:
    """Our callback endpoint: verifies the signature and keeps the receipts."""

    def __init__(self) -> None:
        self.receipts: list[Receipt] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        verify_signature(
            secrets=(SECRET,),
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            signature=request.headers.get(SIGNATURE_HEADER),
            body=body,
            now=datetime.now(UTC),
        )
        self.receipts.append(parse_receipt(json.loads(body), at=datetime.now(UTC)))
        return web.json_response({"ok": True})


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    r = Receiver()
    app = web.Application()
    app.router.add_post("/receipts", r.handle)
    server = TestServer(app)
    await server.start_server()
    yield r, str(server.make_url("/receipts"))
    await server.close()


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeProvider, str]]:
    provider = FakeProvider(receipt_secret=SECRET)
    base = await provider.start()
    yield provider, base
    await provider.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


MSG = OutboundMessage(
    Channel.SMS, "13800000001", "王秀英老人呼救，请速回电", "inc-1:neighbour_call:0:1"
)


async def test_sms_send_and_receipt(
    fake: tuple[FakeProvider, str], receiver: tuple[Receiver, str], session: aiohttp.ClientSession
) -> None:
    provider, base = fake
    r, callback = receiver
    result = await HttpSmsAdapter(session, base, "key", callback).send(MSG)
    await provider.settle()
    assert provider.to("13800000001")[0].send_id == result.send_id
    assert [(x.send_id, x.status) for x in r.receipts] == [
        (result.send_id, ReceiptStatus.DELIVERED)
    ]


async def test_voice_ivr_press_1(
    fake: tuple[FakeProvider, str], receiver: tuple[Receiver, str], session: aiohttp.ClientSession
) -> None:
    provider, base = fake
    r, callback = receiver
    provider.behave("voice", "press:1")
    result = await HttpVoiceAdapter(session, base, "key", callback).send(MSG)
    await provider.settle()
    assert "请按1" in provider.sent[0].body["tts"]
    assert r.receipts[0].send_id == result.send_id
    assert r.receipts[0].status is ReceiptStatus.PRESSED and r.receipts[0].digits == "1"


async def test_failing_provider_raises_channel_error(
    fake: tuple[FakeProvider, str], session: aiohttp.ClientSession
) -> None:
    provider, base = fake
    provider.behave("sms", "fail")
    with pytest.raises(ChannelError):
        await HttpSmsAdapter(session, base, "key", "http://127.0.0.1:9/x").send(MSG)


async def test_timing_out_provider_raises_channel_error(
    fake: tuple[FakeProvider, str], session: aiohttp.ClientSession
) -> None:
    provider, base = fake
    provider.behave("voice", "timeout")
    with pytest.raises(ChannelError):
        await HttpVoiceAdapter(session, base, "key", "http://127.0.0.1:9/x", timeout=0.2).send(MSG)


async def test_unreachable_provider_raises_channel_error(session: aiohttp.ClientSession) -> None:
    with pytest.raises(ChannelError):
        await HttpSmsAdapter(session, "http://127.0.0.1:9", "key", "http://x", timeout=1).send(MSG)


async def test_silent_provider_sends_no_receipt_so_policy_falls_back(
    fake: tuple[FakeProvider, str], receiver: tuple[Receiver, str], session: aiohttp.ClientSession
) -> None:
    provider, base = fake
    r, callback = receiver
    provider.behave("sms", "silent")
    result = await HttpSmsAdapter(session, base, "key", callback).send(MSG)
    await provider.settle()
    assert r.receipts == []
    policy = FallbackPolicy(order=(Channel.SMS, Channel.VOICE))
    d = decide(policy, [Attempt(Channel.SMS, T0, result.send_id)], s(61))
    assert d.kind is DecisionKind.SEND and d.channel is Channel.VOICE


async def test_wechat_subscribe_message(
    receiver: tuple[Receiver, str], session: aiohttp.ClientSession
) -> None:
    r, callback = receiver
    provider = FakeProvider(receipt_secret=SECRET, wechat_callback_url=callback)
    base = await provider.start()
    try:
        token = WeChatAccessToken(session, base, "wx-app", "app-secret", clock=lambda: 1000.0)
        adapter = HttpWeChatAdapter(session, base, "TEMPLATE", token)
        result = await adapter.send(
            OutboundMessage(
                Channel.WECHAT, "openid-son", "母亲呼救", "ref", params={"time2": "10:00"}
            )
        )
        await adapter.send(OutboundMessage(Channel.WECHAT, "openid-son", "再次提醒", "ref2"))
        await provider.settle()
        body = provider.sent[0].body
        assert body["touser"] == "openid-son" and body["data"]["time2"] == {"value": "10:00"}
        assert r.receipts[0].send_id == result.send_id
        assert provider.tokens_issued == 1  # the token is cached
    finally:
        await provider.close()


async def test_wechat_token_is_refreshed_before_it_expires(session: aiohttp.ClientSession) -> None:
    provider = FakeProvider()
    base = await provider.start()
    now = [1000.0]
    try:
        token = WeChatAccessToken(session, base, "wx-app", "s", clock=lambda: now[0])
        first = await token()
        assert await token() == first
        now[0] += 6900  # 7,200 s minus the 300 s margin has passed
        assert await token() != first and provider.tokens_issued == 2
    finally:
        await provider.close()


async def test_wechat_refusal_is_a_channel_error(
    fake: tuple[FakeProvider, str], session: aiohttp.ClientSession
) -> None:
    _, base = fake

    async def stale() -> str:
        return "expired-token"

    with pytest.raises(ChannelError):
        await HttpWeChatAdapter(session, base, "T", stale).send(
            OutboundMessage(Channel.WECHAT, "openid", "x", "ref")
        )


async def test_app_push_adapter_wraps_errors() -> None:
    async def broken(user: str, payload: Any) -> str:
        raise RuntimeError("socket gone")

    with pytest.raises(ChannelError):
        await AppPushAdapter(broken).send(MSG)

    async def works(user: str, payload: Any) -> str:
        return f"push-{user}"

    assert (await AppPushAdapter(works).send(MSG)).send_id == "push-13800000001"
