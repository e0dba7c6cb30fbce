"""A local server that plays WeChat's side, as WeChat speaks it (JSON with a text/plain type):

- the mini-program's code2Session: GET /sns/jscode2session?appid&secret&js_code&grant_type;
- the official account's web authorisation (网页授权) for H5 pages:
  GET /connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope&state (the page
  WeChat shows; here the user agrees at once and is sent to redirect_uri?code&state),
  GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code and
  GET /sns/userinfo?access_token&openid&lang (snsapi_userinfo only).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class FakeWeChat:
    appid: str = "wx-test-app"
    secret: str = "wx-test-secret"
    codes: dict[str, str] = field(default_factory=dict)  # code -> openid
    used: set[str] = field(default_factory=set)
    calls: int = 0
    down: bool = False
    # The official account: its own app id and secret, who is signed in to WeChat in the
    # browser, and the web access tokens handed out (token -> (openid, scope)).
    mp_appid: str = "wx-test-mp"
    mp_secret: str = "wx-test-mp-secret"
    web_openid: str = "o-web-user"
    web_nickname: str = "微信用户小王"
    web_codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (openid, scope)
    web_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)
    authorize_queries: list[dict[str, str]] = field(default_factory=list)

    def issue(self, code: str, openid: str) -> str:
        self.codes[code] = openid
        return code

    async def handle(self, request: web.Request) -> web.Response:
        self.calls += 1
        if self.down:
            return web.Response(status=502, text="bad gateway")
        q = request.query
        if q.get("appid") != self.appid or q.get("secret") != self.secret:
            return self._reply({"errcode": 40125, "errmsg": "invalid appsecret"})
        if q.get("grant_type") != "authorization_code":
            return self._reply({"errcode": 40002, "errmsg": "invalid grant_type"})
        code = q.get("js_code", "")
        if code not in self.codes or code in self.used:
            return self._reply({"errcode": 40029, "errmsg": "invalid code"})
        self.used.add(code)
        return self._reply(
            {
                "openid": self.codes[code],
                "session_key": "c2Vzc2lvbi1rZXk=",
                "errcode": 0,
                "errmsg": "ok",
            }
        )

    async def authorize(self, request: web.Request) -> web.Response:
        """WeChat's authorisation page: a wrong app id or scope is an error page; otherwise
        the user (already agreed) goes back to redirect_uri with a fresh code and the state."""
        q = dict(request.query)
        self.authorize_queries.append(q)
        if q.get("appid") != self.mp_appid:
            return web.Response(status=200, text="10003 redirect_uri域名与后台配置不一致")
        if q.get("response_type") != "code" or q.get("scope") not in (
            "snsapi_base",
            "snsapi_userinfo",
        ):
            return web.Response(status=200, text="10005 scope参数错误或没有scope权限")
        code = secrets.token_hex(8)
        self.web_codes[code] = (self.web_openid, q["scope"])
        sep = "&" if "?" in q["redirect_uri"] else "?"
        raise web.HTTPFound(
            q["redirect_uri"] + sep + urlencode({"code": code, "state": q.get("state", "")})
        )

    async def web_access_token(self, request: web.Request) -> web.Response:
        if self.down:
            return web.Response(status=502, text="bad gateway")
        q = request.query
        if q.get("appid") != self.mp_appid or q.get("secret") != self.mp_secret:
            return self._reply({"errcode": 40125, "errmsg": "invalid appsecret"})
        if q.get("grant_type") != "authorization_code":
            return self._reply({"errcode": 40002, "errmsg": "invalid grant_type"})
        code = q.get("code", "")
        if code in self.used:
            return self._reply({"errcode": 40163, "errmsg": "code been used"})
        if code not in self.web_codes:
            return self._reply({"errcode": 40029, "errmsg": "invalid code"})
        self.used.add(code)
        openid, scope = self.web_codes[code]
        token = secrets.token_hex(16)
        self.web_tokens[token] = (openid, scope)
        return self._reply(
            {
                "access_token": token,
                "expires_in": 7200,
                "refresh_token": secrets.token_hex(16),
                "openid": openid,
                "scope": scope,
                "is_snapshotuser": 0,
            }
        )

    async def userinfo(self, request: web.Request) -> web.Response:
        q = request.query
        held = self.web_tokens.get(q.get("access_token", ""))
        if held is None or held[0] != q.get("openid"):
            return self._reply({"errcode": 40001, "errmsg": "invalid credential"})
        if held[1] != "snsapi_userinfo":
            return self._reply({"errcode": 48001, "errmsg": "api unauthorized"})
        return self._reply(
            {
                "openid": held[0],
                "nickname": self.web_nickname,
                "sex": 0,
                "province": "",
                "city": "",
                "country": "",
                "headimgurl": "",
                "privilege": [],
            }
        )

    @staticmethod
    def _reply(body: dict[str, object]) -> web.Response:
        return web.Response(text=json.dumps(body, ensure_ascii=False), content_type="text/plain")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/sns/jscode2session", self.handle)
        app.router.add_get("/connect/oauth2/authorize", self.authorize)
        app.router.add_get("/sns/oauth2/access_token", self.web_access_token)
        app.router.add_get("/sns/userinfo", self.userinfo)
        return app


@asynccontextmanager
async def running(fake: FakeWeChat) -> AsyncIterator[str]:
    """The fake on a local port; yields its base URL (for both the API and the OAuth page)."""
    server = TestServer(fake.app())
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
