"""WeChat sign-in, two ways behind one adapter each, both ending in an openid:

- the mini-program: exchange a wx.login code through code2Session (``WeChatClient``);
- H5 pages opened inside WeChat: the official account's web authorisation (网页授权,
  ``WeChatOAuthClient``): the page is sent to open.weixin.qq.com/connect/oauth2/authorize
  (scope ``snsapi_base``, silent, or ``snsapi_userinfo``, with the user's consent), comes back
  with ``?code&state``, and the code is exchanged at sns/oauth2/access_token for the openid
  (and, for ``snsapi_userinfo``, sns/userinfo for the nickname).

The session_key and the web access token never leave the server; only the openid is kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import urlencode

import aiohttp

from server.errors import ApiError

log = logging.getLogger("anxin.wechat")


@dataclass(frozen=True)
class WeChatSession:
    openid: str
    unionid: str | None


class WeChatAuth(Protocol):
    async def code2session(self, code: str) -> WeChatSession: ...


Scope = Literal["snsapi_base", "snsapi_userinfo"]


@dataclass(frozen=True)
class WeChatWebUser:
    """Who signed in through the official account's web authorisation."""

    openid: str
    unionid: str | None
    nickname: str | None = None  # snsapi_userinfo only


class WeChatOAuth(Protocol):
    def authorize_url(self, redirect_uri: str, scope: Scope, state: str) -> str: ...

    async def exchange(self, code: str) -> WeChatWebUser: ...


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


class WeChatOAuthClient:
    """The official account's web authorisation, as WeChat documents it:
    GET {oauth}/connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope&state
    #wechat_redirect, then GET {api}/sns/oauth2/access_token?appid&secret&code&grant_type=
    authorization_code, then (snsapi_userinfo) GET {api}/sns/userinfo?access_token&openid&lang.
    """

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        oauth_url: str,
        api_url: str,
        appid: str,
        secret: str,
        timeout_s: float = 5.0,
    ) -> None:
        self._http = http
        self._authorize = oauth_url.rstrip("/") + "/connect/oauth2/authorize"
        self._api = api_url.rstrip("/")
        self._appid = appid
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    def authorize_url(self, redirect_uri: str, scope: Scope, state: str) -> str:
        # The parameters in WeChat's order; the fragment is required by WeChat's page.
        query = urlencode(
            {
                "appid": self._appid,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": scope,
                "state": state,
            }
        )
        return f"{self._authorize}?{query}#wechat_redirect"

    async def _get(self, path: str, params: dict[str, str]) -> object:
        try:
            async with self._http.get(
                self._api + path, params=params, timeout=self._timeout
            ) as resp:
                return await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            log.warning("wechat %s unreachable: %s", path, type(exc).__name__)
            raise ApiError(
                503, "wechat_unavailable", "WeChat sign-in is unavailable, try again"
            ) from exc

    async def exchange(self, code: str) -> WeChatWebUser:
        body = await self._get(
            "/sns/oauth2/access_token",
            {
                "appid": self._appid,
                "secret": self._secret,
                "code": code,
                "grant_type": "authorization_code",
            },
        )
        session = _session_from(body)
        assert isinstance(body, dict)  # _session_from refused anything else
        token, scope = body.get("access_token"), str(body.get("scope") or "")
        if "snsapi_userinfo" not in scope.split(",") or not isinstance(token, str):
            return WeChatWebUser(openid=session.openid, unionid=session.unionid)
        info = await self._get(
            "/sns/userinfo", {"access_token": token, "openid": session.openid, "lang": "zh_CN"}
        )
        nickname = info.get("nickname") if isinstance(info, dict) else None
        if not isinstance(info, dict) or _errcode(info.get("errcode", 0)) != 0:
            log.warning("wechat userinfo refused; signing in with the openid only")
            nickname = None
        return WeChatWebUser(
            openid=session.openid,
            unionid=session.unionid,
            nickname=nickname[:50] if isinstance(nickname, str) and nickname.strip() else None,
        )


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
