"""A local server that plays WeChat's side of code2Session, as WeChat speaks it:
GET /sns/jscode2session?appid&secret&js_code&grant_type → JSON with a text/plain type."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class FakeWeChat:
    appid: str = "wx-test-app"
    secret: str = "wx-test-secret"
    codes: dict[str, str] = field(default_factory=dict)  # code -> openid
    used: set[str] = field(default_factory=set)
    calls: int = 0
    down: bool = False

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

    @staticmethod
    def _reply(body: dict[str, object]) -> web.Response:
        import json

        return web.Response(text=json.dumps(body), content_type="text/plain")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/sns/jscode2session", self.handle)
        return app
