"""A local fake of the SMS, voice and WeChat providers, for tests and the demo.

It speaks the same HTTP as the adapters in `server/hotline/adapters.py` (the protocol is
`hotline/channels.py`'s), records every send, and posts
signed delivery receipts back to the callback URL. Each channel can be told how to behave:

- ``ok``: take the message and post a ``delivered`` (voice: ``answered``) receipt,
- ``press:<digit>``: voice only, the callee answers and presses a digit,
- ``fail``: answer HTTP 500,
- ``timeout``: hold the request longer than any client waits,
- ``silent``: take the message, return a send id, and never post a receipt,
- ``no_answer`` / ``rejected``: take it, then post that negative receipt.

    fake = FakeProvider(receipt_secret=b"s")
    base_url = await fake.start()
    fake.behave("sms", "silent")
    ...
    await fake.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from hotline.cti import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

__all__ = ["FakeProvider", "SentMessage"]


@dataclass(frozen=True, slots=True)
class SentMessage:
    """What the fake received."""

    channel: str
    send_id: str
    to: str
    body: dict[str, Any]


@dataclass
class FakeProvider:
    """The provider side of SMS, voice and WeChat on one local port."""

    receipt_secret: bytes = b"fake-provider-secret"
    wechat_callback_url: str | None = None
    receipt_delay: float = 0.0
    clock: Callable[[], float] = time.time  # the receipt's signed timestamp
    behaviour: dict[str, str] = field(
        default_factory=lambda: {"sms": "ok", "voice": "ok", "wechat": "ok"}
    )
    sent: list[SentMessage] = field(default_factory=list)
    receipts_posted: list[dict[str, Any]] = field(default_factory=list)
    tokens_issued: int = 0
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _closing: asyncio.Event = field(default_factory=asyncio.Event)

    def behave(self, channel: str, mode: str) -> None:
        """Tell one channel how to behave from now on."""
        if channel not in self.behaviour:
            raise ValueError(f"unknown channel {channel}")
        self.behaviour[channel] = mode

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 picks a free port); return the base URL."""
        app = web.Application()
        app.router.add_post("/sms/send", self._sms)
        app.router.add_post("/voice/call", self._voice)
        app.router.add_post("/cgi-bin/message/subscribe/send", self._wechat)
        app.router.add_get("/cgi-bin/token", self._token)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self._session = aiohttp.ClientSession()
        bound = self._runner.addresses[0][1]
        return f"http://{host}:{bound}"

    async def close(self) -> None:
        """Stop serving, cancel pending receipts, close the client session."""
        self._closing.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def settle(self) -> None:
        """Wait until every receipt scheduled so far has been posted."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def to(self, number: str) -> list[SentMessage]:
        """Messages sent to one recipient."""
        return [m for m in self.sent if m.to == number]

    async def _take(self, channel: str, request: web.Request, to_key: str) -> web.Response:
        mode = self.behaviour[channel]
        if mode == "fail":
            return web.json_response({"error": "provider down"}, status=500)
        if mode == "timeout":
            # Hold the request until the client gives up or the fake closes.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), 3600)
            return web.json_response({"error": "too late"}, status=504)
        body = await request.json()
        send_id = f"{channel}-{next(self._ids)}"
        self.sent.append(SentMessage(channel, send_id, str(body.get(to_key, "")), body))
        callback = body.get("callback_url") or self.wechat_callback_url
        receipt = self._receipt_for(channel, mode, send_id)
        if receipt is not None and body.get("reference"):
            receipt["reference"] = str(body["reference"])
        if receipt is not None and callback:
            task = asyncio.create_task(self._post_receipt(str(callback), receipt))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if channel == "wechat":
            return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": send_id})
        return web.json_response({"send_id": send_id})

    def _receipt_for(self, channel: str, mode: str, send_id: str) -> dict[str, Any] | None:
        if mode == "silent":
            return None
        if mode.startswith("press:"):
            return {"send_id": send_id, "status": "pressed", "digits": mode.split(":", 1)[1]}
        if mode in ("no_answer", "rejected", "failed"):
            return {"send_id": send_id, "status": mode}
        return {"send_id": send_id, "status": "answered" if channel == "voice" else "delivered"}

    async def _post_receipt(self, url: str, receipt: dict[str, Any]) -> None:
        if self.receipt_delay:
            await asyncio.sleep(self.receipt_delay)
        body = json.dumps(receipt).encode()
        ts = str(int(self.clock()))
        assert self._session is not None
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: ts,
            SIGNATURE_HEADER: sign(self.receipt_secret, ts, body),
        }
        try:
            async with self._session.post(url, data=body, headers=headers) as resp:
                await resp.read()
                self.receipts_posted.append({**receipt, "http_status": resp.status})
        except aiohttp.ClientError:
            self.receipts_posted.append({**receipt, "http_status": None})

    async def _token(self, request: web.Request) -> web.Response:
        self.tokens_issued += 1
        if request.query.get("grant_type") != "client_credential" or not request.query.get("appid"):
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
        return web.json_response({"access_token": f"tok-{self.tokens_issued}", "expires_in": 7200})

    async def _sms(self, request: web.Request) -> web.Response:
        return await self._take("sms", request, "to")

    async def _voice(self, request: web.Request) -> web.Response:
        return await self._take("voice", request, "to")

    async def _wechat(self, request: web.Request) -> web.Response:
        if not request.query.get("access_token", "").startswith("tok-"):
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        return await self._take("wechat", request, "touser")
