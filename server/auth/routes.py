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
    WeChatWebLogin,
)
from server.auth import service
from server.auth.tokens import decode_access
from server.auth.wechat import Scope, WeChatAuth, WeChatClient, WeChatOAuth, WeChatOAuthClient
from server.errors import ApiError, Handler
from server.http import PRINCIPAL, caller, client_source, ok, parse, platform
from server.keys import HTTP, PLATFORM
from server.openapi import doc

WECHAT: web.AppKey[WeChatAuth] = web.AppKey("wechat")
WECHAT_OAUTH: web.AppKey[WeChatOAuth] = web.AppKey("wechat_oauth")
# The browser's half of the OAuth state (HttpOnly, this site only, for the round trip).
OAUTH_COOKIE = "anxin_wx_oauth"
SCOPES: tuple[Scope, ...] = ("snsapi_base", "snsapi_userinfo")


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
        if not await service.session_live_now(p.store, principal):
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


def wechat_oauth(app: web.Application) -> WeChatOAuth:
    if WECHAT_OAUTH not in app:
        s = app[PLATFORM].settings
        if not (s.wechat_mp_appid and s.wechat_mp_secret):
            raise ApiError(
                503,
                "wechat_oauth_not_configured",
                "sign-in with WeChat is not set up here (ANXIN_WECHAT_MP_APPID); use a password",
            )
        app[WECHAT_OAUTH] = WeChatOAuthClient(
            app[HTTP],
            oauth_url=s.wechat_oauth_url,
            api_url=s.wechat_base_url,
            appid=s.wechat_mp_appid,
            secret=s.wechat_mp_secret,
        )
    return app[WECHAT_OAUTH]


def _origin(request: web.Request) -> str:
    """This site as WeChat must send the browser back to it (ANXIN_PUBLIC_URL behind a proxy)."""
    public = platform(request).settings.public_url
    return public.rstrip("/") if public else f"{request.scheme}://{request.host}"


@doc(public=True, status=302)
async def wechat_authorize(request: web.Request) -> web.StreamResponse:
    """GET /api/v1/auth/wechat/authorize?next=/m/family&scope=snsapi_base — an H5 page inside
    WeChat starts its sign-in here and is sent to WeChat's authorisation page."""
    asked = request.query.get("scope", "snsapi_base")
    scope = next((s for s in SCOPES if s == asked), None)
    if scope is None:
        raise ApiError(422, "bad_scope", "scope is snsapi_base or snsapi_userinfo", field="scope")
    next_path = service.safe_next(request.query.get("next"))
    url, nonce = service.oauth_start(
        platform(request),
        wechat_oauth(request.app),
        origin=_origin(request),
        next_path=next_path,
        scope=scope,
    )
    resp = web.HTTPFound(url)
    resp.set_cookie(
        OAUTH_COOKIE,
        nonce,
        max_age=int(service.OAUTH_STATE_TTL.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=_origin(request).startswith("https://"),
        path="/api/v1/auth/",
    )
    raise resp


@doc(response=TokenPair, public=True)
async def wechat_web_login(request: web.Request) -> web.Response:
    """POST /api/v1/auth/wechat/web {code, state} — the page, back from WeChat, signs in."""
    body = await parse(request, WeChatWebLogin)
    pair = await service.oauth_login(
        platform(request),
        wechat_oauth(request.app),
        code=body.code,
        state=body.state,
        cookie_nonce=request.cookies.get(OAUTH_COOKIE),
        link_code=body.link_code,
    )
    resp = ok(pair)
    resp.del_cookie(OAUTH_COOKIE, path="/api/v1/auth/")
    return resp


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
        web.get("/api/v1/auth/wechat/authorize", wechat_authorize),
        web.post("/api/v1/auth/wechat/web", wechat_web_login),
        web.post("/api/v1/auth/refresh", refresh),
        web.get("/api/v1/auth/me", me),
        web.post("/api/v1/auth/logout", sign_out),
        web.post("/api/v1/auth/logout-all", sign_out_everywhere),
        web.post("/api/v1/auth/password", change_password),
    ]


def ensure_staff_only(request: web.Request) -> None:
    if not caller(request).is_staff():
        raise ApiError(403, "forbidden", "staff only")
