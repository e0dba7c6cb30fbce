"""The people an alert reached answer: the page behind the SMS link (no sign-in: the token is
the proof) and the app's "seen"."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from schemas.hotline import RespondIn
from server.errors import ApiError
from server.hotline.flows import respond
from server.hotline.flows.delivery import alert_of_token
from server.hotline.respond_page import PAGE_HEADERS, PageState, RespondPage, render
from server.http import caller, int_param, ok, parse, platform


def _same_site_only(request: web.Request) -> None:
    """Refuse a form posted from another site (the token alone would do; this is the belt).

    Browsers say where a post comes from in Sec-Fetch-Site; older ones only send Origin,
    which is compared with this host and with ANXIN_PUBLIC_URL (behind a proxy the Host the
    server sees is not the one on the phone).
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        if site == "cross-site":
            raise _cross_site()
        return
    origin = request.headers.get("Origin")
    if origin in (None, "null"):
        return
    public = platform(request).settings.public_url or ""
    allowed = {request.host, urlsplit(public).netloc} - {""}
    if urlsplit(origin).netloc not in allowed:
        raise _cross_site()


def _cross_site() -> ApiError:
    return ApiError(403, "cross_site_post", "this form can only be sent from its own page")


def _page(page: RespondPage, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        text=render(page),
        content_type="text/html",
        charset="utf-8",
        headers=PAGE_HEADERS,
    )


async def respond_link(request: web.Request) -> web.Response:
    """The neighbour's SMS link: accept or decline, no sign-in (the token is the proof).

    A phone's form posts `answer=...` and is sent back to the page (303, so a reload does not
    post again); an app or the IVR bridge may post JSON and gets JSON.
    """
    pf = platform(request)
    alert_id = alert_of_token(pf, request.match_info["token"])
    form = request.content_type == "application/x-www-form-urlencoded"
    if form:
        _same_site_only(request)
        if alert_id is None:
            return _page(RespondPage(PageState.INVALID), 404)
        answer = str((await request.post()).get("answer", ""))
        if answer not in ("accept", "decline"):
            raise ApiError(422, "validation_error", "answer must be accept or decline")
    else:
        if alert_id is None:
            raise ApiError(404, "link_not_found", "this link is not valid")
        answer = (await parse(request, RespondIn)).answer
    try:
        await respond.answer(pf, alert_id, accept=answer == "accept", via="sms_link")
    except ApiError as exc:
        if not form or exc.code not in ("already_answered", "link_expired"):
            raise
        # The phone's page says what happened: the first answer stands, or the call is over.
        state, text = await respond.page_of(pf, alert_id, answer)
        if exc.code == "already_answered":
            state = PageState.ALREADY
        return _page(RespondPage(state, text=text, action=request.path), exc.status)
    if form:
        raise web.HTTPSeeOther(location=f"{request.path}?answered={answer}")
    return ok({"alert_id": alert_id, "answer": answer})


async def respond_link_page(request: web.Request) -> web.Response:
    """The page the SMS link opens: what happened and two large buttons. Opening it answers
    nothing (SMS apps and WeChat fetch links to preview them)."""
    pf = platform(request)
    alert_id = alert_of_token(pf, request.match_info["token"])
    if alert_id is None:
        return _page(RespondPage(PageState.INVALID), 404)
    state, text = await respond.page_of(pf, alert_id, request.query.get("answered"))
    return _page(RespondPage(state, text=text, action=request.path))


async def alert_seen(request: web.Request) -> web.Response:
    """The recipient's app confirms it showed an alert: the push receipt.

    Only the person the alert was for can confirm it: an operator tapping "seen" on a
    daughter's alert proves nothing about the daughter (403 at their own station, 404
    elsewhere, as for anything of another station).
    """
    p = caller(request)
    alert_id = int_param(request, "alert_id")
    seen = await respond.seen(platform(request), p, alert_id)
    return ok({"alert_id": alert_id, "seen": seen})
