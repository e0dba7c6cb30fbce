"""The outbound channels that do I/O: SMS, voice and WeChat over HTTP, and app pushes.

Each adapter is a ``hotline.channels.ChannelAdapter``: it sends one message and answers the
provider's send id, or raises ``ChannelError``. What goes over the wire is built and read by
the pure protocol functions in ``hotline/channels.py``; only the HTTP is here.

The process's channels come from the settings (``ANXIN_HOTLINE_PROVIDER_URL`` for SMS and
voice, ``ANXIN_WECHAT_TEMPLATE_ID`` for WeChat) over the app's HTTP session, which the app
opens and closes in its cleanup_ctx (``Platform.http``). Tests give their own with
``use_channels``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp

from hotline.channels import (
    ChannelAdapter,
    ChannelError,
    OutboundMessage,
    SendResult,
    parse_token,
    send_id_of,
    sms_request,
    voice_request,
    wechat_request,
)
from schemas.hotline import Channel
from server.platform import Platform, Slot

__all__ = [
    "AppPushAdapter",
    "HttpSmsAdapter",
    "HttpVoiceAdapter",
    "HttpWeChatAdapter",
    "Outbound",
    "WeChatAccessToken",
    "channels",
    "outbound",
    "use_channels",
]

DEFAULT_HTTP_TIMEOUT: Final = 5.0
MAX_CONCURRENT_SENDS: Final = 8


def _join(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


async def _post_json(
    session: aiohttp.ClientSession,
    url: str,
    body: Mapping[str, Any],
    *,
    seconds: float,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    try:
        async with session.post(
            url,
            json=dict(body),
            headers=dict(headers or {}),
            timeout=aiohttp.ClientTimeout(total=seconds),
        ) as resp:
            if resp.status >= 400:
                raise ChannelError(f"provider answered HTTP {resp.status}")
            data = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        if isinstance(exc, ChannelError):
            raise
        raise ChannelError(f"provider unreachable: {type(exc).__name__}") from exc
    if not isinstance(data, dict):
        raise ChannelError("provider answered something other than a JSON object")
    return data


@dataclass
class HttpSmsAdapter:
    """SMS through a provider: POST {base}/sms/send → {"send_id": ...}; receipts to callback."""

    session: aiohttp.ClientSession
    base_url: str
    api_key: str
    callback_url: str
    timeout: float = DEFAULT_HTTP_TIMEOUT
    channel: Channel = Channel.SMS

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one SMS."""
        data = await _post_json(
            self.session,
            _join(self.base_url, "/sms/send"),
            sms_request(message, self.callback_url),
            seconds=self.timeout,
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        return SendResult(self.channel, send_id_of(data, "send_id"))


@dataclass
class HttpVoiceAdapter:
    """A text-to-speech call with an IVR: "press 1 to accept, 2 if you cannot"."""

    session: aiohttp.ClientSession
    base_url: str
    api_key: str
    callback_url: str
    timeout: float = DEFAULT_HTTP_TIMEOUT
    channel: Channel = Channel.VOICE

    async def send(self, message: OutboundMessage) -> SendResult:
        """Place one call."""
        data = await _post_json(
            self.session,
            _join(self.base_url, "/voice/call"),
            voice_request(message, self.callback_url),
            seconds=self.timeout,
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        return SendResult(self.channel, send_id_of(data, "send_id"))


@dataclass
class HttpWeChatAdapter:
    """WeChat subscribe message: POST /cgi-bin/message/subscribe/send?access_token=...

    WeChat answers {"errcode": 0, "msgid": ...}; the send event arrives later at the
    server URL configured with WeChat (the fake posts it to `callback_url`).
    """

    session: aiohttp.ClientSession
    base_url: str
    template_id: str
    access_token: Callable[[], Awaitable[str]]
    page: str = "pages/incident/index"
    timeout: float = DEFAULT_HTTP_TIMEOUT
    channel: Channel = Channel.WECHAT

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one subscribe message to an openid."""
        token = await self.access_token()
        data = await _post_json(
            self.session,
            _join(self.base_url, f"/cgi-bin/message/subscribe/send?access_token={token}"),
            wechat_request(message, self.template_id, self.page),
            seconds=self.timeout,
        )
        if data.get("errcode", 0) != 0:
            raise ChannelError(f"wechat errcode {data.get('errcode')}: {data.get('errmsg')}")
        return SendResult(self.channel, send_id_of(data, "msgid"))


@dataclass
class WeChatAccessToken:
    """WeChat's access token (GET /cgi-bin/token), cached until shortly before it expires."""

    session: aiohttp.ClientSession
    base_url: str
    appid: str
    secret: str
    clock: Callable[[], float]
    timeout: float = DEFAULT_HTTP_TIMEOUT
    _token: str | None = None
    _expires: float = 0.0

    async def __call__(self) -> str:
        """A valid token, fetched when the cached one is (nearly) expired."""
        now = self.clock()
        if self._token is not None and now < self._expires:
            return self._token
        url = _join(
            self.base_url,
            f"/cgi-bin/token?grant_type=client_credential&appid={self.appid}&secret={self.secret}",
        )
        try:
            async with self.session.get(
                url, timeout=aiohttp.ClientTimeout(total=self.timeout)
            ) as r:
                data = await r.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ChannelError(f"wechat token unavailable: {type(exc).__name__}") from exc
        self._token, self._expires = parse_token(data, now)
        return self._token


@dataclass
class AppPushAdapter:
    """App push through the platform's push service; receipts come from the client's ack."""

    push: Callable[[str, Mapping[str, str]], Awaitable[str]]
    channel: Channel = Channel.APP_PUSH

    async def send(self, message: OutboundMessage) -> SendResult:
        """Push one message to a user's devices."""
        try:
            send_id = await self.push(
                message.to, {"text": message.text, "reference": message.reference, **message.params}
            )
        except Exception as exc:  # the push service is an outside system here
            raise ChannelError(f"push failed: {type(exc).__name__}") from exc
        return SendResult(self.channel, send_id)


# --- the process's channels ------------------------------------------------------------------


@dataclass
class Outbound:
    """One process's outbound state: channels given by a test (else from the settings), the
    WeChat token cache, and the sends in flight (at most MAX_CONCURRENT_SENDS at once)."""

    given: Mapping[Channel, ChannelAdapter] | None = None
    token: WeChatAccessToken | None = None
    sending: set[asyncio.Task[None]] = field(default_factory=set)
    slots: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(MAX_CONCURRENT_SENDS)
    )


_OUTBOUND: Final[Slot[Outbound]] = Slot("hotline.outbound", Outbound)


def outbound(platform: Platform) -> Outbound:
    """The process's outbound state (made on first use)."""
    return platform.get(_OUTBOUND)


def use_channels(platform: Platform, given: Mapping[Channel, ChannelAdapter]) -> None:
    """Send through these adapters instead of the configured ones (tests, the demo)."""
    outbound(platform).given = dict(given)


def channels(platform: Platform) -> Mapping[Channel, ChannelAdapter]:
    """The outbound channels this process can send on now."""
    state = outbound(platform)
    if state.given is not None:
        return dict(state.given)
    session, s = platform.http, platform.settings
    if session is None:
        return {}  # the app is not running: nothing can go out
    out: dict[Channel, ChannelAdapter] = {}
    if s.hotline_provider_url:
        base, key, callback = s.hotline_provider_url, s.hotline_provider_key, s.hotline_callback_url
        out[Channel.SMS] = HttpSmsAdapter(session, base, key, callback)
        out[Channel.VOICE] = HttpVoiceAdapter(session, base, key, callback)
    if s.wechat_template_id:
        if state.token is None or state.token.session is not session:
            state.token = WeChatAccessToken(
                session,
                s.wechat_base_url,
                s.wechat_appid,
                s.wechat_secret,
                lambda: platform.clock.now().timestamp(),
            )
        out[Channel.WECHAT] = HttpWeChatAdapter(
            session, s.wechat_base_url, s.wechat_template_id, state.token
        )
    return out
