"""Sign-in endpoints and the middleware that reads the bearer token."""

from __future__ import annotations

from aiohttp import web

from schemas.auth import (
    MeOut,
    PasswordChange,
    PasswordLogin,
    RefreshRequest,
    TokenPair,
    WeChatLogin,
)
from server.auth import service
from server.auth.tokens import decode_access
from server.auth.wechat import WeChatAuth, WeChatClient
from server.errors import ApiError, Handler
from server.http import PRINCIPAL, caller, client_source, ok, parse, platform
from server.keys import HTTP, PLATFORM
from server.openapi import doc

WECHAT: web.AppKey[WeChatAuth] = web.AppKey("wechat")


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    if token is None and request.path.endswith("/ws"):
        token = request.query.get("token")  # browsers cannot set headers on a WebSocket
    if token:
        p = request.app[PLATFORM]
        principal = decode_access(token, secret=p.settings.jwt_secret, now=p.clock.now())
        # Checked on every request: a signed-out, deactivated or re-linked session ends at
        # once, not when its access token expires.
        async with p.store.read() as db:
            live = await service.session_live(db, principal)
        if not live:
            raise ApiError(401, "session_ended", "this session has ended; sign in again")
        request[PRINCIPAL] = principal
    return await handler(request)


def wechat(app: web.Application) -> WeChatAuth:
    if WECHAT not in app:
        s = app[PLATFORM].settings
        app[WECHAT] = WeChatClient(app[HTTP], s.wechat_base_url, s.wechat_appid, s.wechat_secret)
    return app[WECHAT]


@doc(response=TokenPair, public=True)
async def login(request: web.Request) -> web.Response:
    body = await parse(request, PasswordLogin)
    pair = await service.password_login(
        platform(request), body.login, body.password, client_source(request)
    )
    return ok(pair)


@doc(response=TokenPair, public=True)
async def wechat_login(request: web.Request) -> web.Response:
    body = await parse(request, WeChatLogin)
    pair = await service.wechat_login(
        platform(request), wechat(request.app), body.code, body.link_code
    )
    return ok(pair)


@doc(response=TokenPair, public=True)
async def refresh(request: web.Request) -> web.Response:
    body = await parse(request, RefreshRequest)
    return ok(await service.refresh(platform(request), body.refresh_token))


@doc(status=204)
async def sign_out(request: web.Request) -> web.Response:
    """End this session: its access token, refresh token and open sockets stop at once."""
    await service.sign_out(platform(request), caller(request))
    return web.Response(status=204)


@doc(status=204)
async def sign_out_everywhere(request: web.Request) -> web.Response:
    """End every session of the caller on every device."""
    await service.sign_out_everywhere(platform(request), caller(request))
    return web.Response(status=204)


@doc(response=TokenPair)
async def change_password(request: web.Request) -> web.Response:
    """A new password with the old one; every other session ends, this one gets new tokens."""
    body = await parse(request, PasswordChange)
    pair = await service.change_password(
        platform(request),
        caller(request),
        body.old_password,
        body.new_password,
        client_source(request),
    )
    return ok(pair)


async def me(request: web.Request) -> web.Response:
    p = caller(request)
    return ok(
        MeOut(
            user_id=p.user_id,
            role=p.role.value,
            station_id=p.station_id,
            caregiver_id=p.caregiver_id,
            elder_id=p.elder_id,
        )
    )


def routes() -> list[web.RouteDef]:
    return [
        web.post("/api/v1/auth/login", login),
        web.post("/api/v1/auth/wechat", wechat_login),
        web.post("/api/v1/auth/refresh", refresh),
        web.get("/api/v1/auth/me", me),
        web.post("/api/v1/auth/logout", sign_out),
        web.post("/api/v1/auth/logout-all", sign_out_everywhere),
        web.post("/api/v1/auth/password", change_password),
    ]


def ensure_staff_only(request: web.Request) -> None:
    if not caller(request).is_staff():
        raise ApiError(403, "forbidden", "staff only")
