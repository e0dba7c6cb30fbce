"""WeChat mini-program sign-in: exchange a wx.login code through code2Session.

The session_key never leaves the server; only the openid is kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from server.errors import ApiError

log = logging.getLogger("anxin.wechat")


@dataclass(frozen=True)
class WeChatSession:
    openid: str
    unionid: str | None


class WeChatAuth(Protocol):
    async def code2session(self, code: str) -> WeChatSession: ...


class WeChatClient:
    """Calls GET {base}/sns/jscode2session as WeChat documents it."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        appid: str,
        secret: str,
        timeout_s: float = 5.0,
    ) -> None:
        self._http = http
        self._url = base_url.rstrip("/") + "/sns/jscode2session"
        self._appid = appid
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def code2session(self, code: str) -> WeChatSession:
        params = {
            "appid": self._appid,
            "secret": self._secret,
            "js_code": code,
            "grant_type": "authorization_code",
        }
        try:
            async with self._http.get(self._url, params=params, timeout=self._timeout) as resp:
                # WeChat answers JSON with a text/plain content type.
                body = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            log.warning("code2session unreachable: %s", type(exc).__name__)
            raise ApiError(
                503, "wechat_unavailable", "WeChat sign-in is unavailable, try again"
            ) from exc
        return _session_from(body)


def _session_from(body: object) -> WeChatSession:
    """Read code2Session's answer defensively: it is another party's JSON, and a proxy or
    an outage page can put anything there. Whatever is not WeChat's documented shape is a
    502 (their side failed), never a crash on ours."""
    if not isinstance(body, dict):
        log.warning("code2session answered %s, not an object", type(body).__name__)
        raise ApiError(502, "wechat_error", "WeChat sign-in failed")
    errcode = _errcode(body.get("errcode", 0))
    if errcode in (40029, 40163):
        raise ApiError(401, "wechat_code_invalid", "the WeChat login code is invalid or used")
    if errcode == 45011:
        raise ApiError(429, "wechat_rate_limited", "too many sign-ins, try again in a minute")
    openid = body.get("openid")
    if errcode != 0 or not isinstance(openid, str) or not 0 < len(openid) <= 64:
        log.warning("code2session error %s", errcode)
        raise ApiError(502, "wechat_error", "WeChat sign-in failed")
    unionid = body.get("unionid")
    return WeChatSession(openid=openid, unionid=unionid if isinstance(unionid, str) else None)


def _errcode(raw: object) -> int | None:
    """WeChat's errcode is an integer (absent or 0 on success); anything else is unknown."""
    if raw is None:
        return 0
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        return int(raw)
    return None
