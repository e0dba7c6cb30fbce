"""The outbound channels use the app's one HTTP session, and a stopped app leaves none open
(and no send half-done)."""

from __future__ import annotations

import asyncio
import gc
import warnings
from dataclasses import replace

from aiohttp import web

from hotline.channels import OutboundMessage, SendResult
from schemas.hotline import Channel
from server.app import create_app
from server.clock import FakeClock
from server.hotline.adapters import HttpSmsAdapter, HttpWeChatAdapter, channels
from server.hotline.flows.delivery import Send, in_background
from server.keys import HTTP, PLATFORM
from server.settings import Settings


async def test_a_stopped_app_leaves_no_http_session_open(
    settings: Settings, clock: FakeClock
) -> None:
    """A deployment with a provider and WeChat configured: the channels are built on the
    app's session, which the app closes at shutdown (aiohttp would warn "Unclosed client
    session" otherwise)."""
    configured = replace(
        settings, hotline_provider_url="http://127.0.0.1:9", wechat_template_id="TEMPLATE"
    )
    app = create_app(configured, clock=clock, run_background=False, create_schema=True)
    runner = web.AppRunner(app)
    await runner.setup()
    platform = app[PLATFORM]
    made = channels(platform)
    sms, wechat = made[Channel.SMS], made[Channel.WECHAT]
    assert isinstance(sms, HttpSmsAdapter) and isinstance(wechat, HttpWeChatAdapter)
    assert sms.session is app[HTTP] and wechat.session is app[HTTP]
    session = sms.session
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await runner.cleanup()
        assert session.closed and platform.http is None
        del made, sms, wechat, session, app, runner, platform
        gc.collect()
    unclosed = [w for w in caught if "Unclosed client session" in str(w.message)]
    assert unclosed == []


async def test_no_channels_while_the_app_is_not_running(settings: Settings) -> None:
    configured = replace(settings, hotline_provider_url="http://127.0.0.1:9")
    app = create_app(configured, run_background=False)
    assert channels(app[PLATFORM]) == {}


class SlowSms:
    channel = Channel.SMS

    def __init__(self) -> None:
        self.done = False

    async def send(self, message: OutboundMessage) -> SendResult:
        await asyncio.sleep(0.05)
        self.done = True
        return SendResult(Channel.SMS, "sms-1")


async def test_sends_in_flight_finish_before_the_app_stops(
    settings: Settings, clock: FakeClock
) -> None:
    app = create_app(settings, clock=clock, run_background=False, create_schema=True)
    runner = web.AppRunner(app)
    await runner.setup()
    sms = SlowSms()
    message = OutboundMessage(Channel.SMS, "13800000001", "x", "alert:1:1")
    in_background(app[PLATFORM], Send(alert_id=1, attempt_id=1, adapter=sms, message=message))
    await runner.cleanup()
    assert sms.done
