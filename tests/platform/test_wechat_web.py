"""H5 sign-in inside WeChat through the official account's web authorisation, against a
local fake that speaks WeChat's protocol (tests/support/wechat_fake.py): the page is sent to
/connect/oauth2/authorize, comes back with ?code&state, and the code becomes an openid at
/sns/oauth2/access_token (and a nickname at /sns/userinfo for snsapi_userinfo)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from sqlalchemy import select

from server.app import create_app
from server.auth.tables import users
from server.clock import FakeClock
from server.settings import Settings
from tests.conftest import BACKENDS
from tests.support.api import Api
from tests.support.wechat_fake import FakeWeChat, running

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
async def wechat() -> AsyncIterator[tuple[FakeWeChat, str]]:
    fake = FakeWeChat()
    async with running(fake) as base:
        yield fake, base


@pytest.fixture
async def wapi(
    aiohttp_client: Any, settings: Settings, clock: FakeClock, wechat: tuple[FakeWeChat, str]
) -> Api:
    fake, base = wechat
    s = replace(
        settings,
        wechat_base_url=base,
        wechat_oauth_url=base,
        wechat_mp_appid=fake.mp_appid,
        wechat_mp_secret=fake.mp_secret,
    )
    client = await aiohttp_client(
        create_app(s, clock=clock, run_background=False, create_schema=True)
    )
    api = Api(client)
    await api.seed()
    return api


async def _to_wechat_and_back(
    wapi: Api, next_path: str = "/m/family", scope: str = "snsapi_base"
) -> tuple[str, str, str]:
    """The page starts the sign-in; WeChat's page sends the browser back. Returns (where it
    came back to, code, state)."""
    r = await wapi.client.get(
        f"/api/v1/auth/wechat/authorize?next={next_path}&scope={scope}", allow_redirects=False
    )
    assert r.status == 302, await r.text()
    to_wechat = r.headers["Location"]
    assert to_wechat.endswith("#wechat_redirect")
    async with aiohttp.ClientSession() as browser:
        back = await browser.get(to_wechat.split("#")[0], allow_redirects=False)
        assert back.status == 302, await back.text()
        location = back.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    return location, query["code"][0], query["state"][0]


async def test_an_h5_page_signs_in_through_the_official_account(
    wapi: Api, wechat: tuple[FakeWeChat, str]
) -> None:
    fake, base = wechat
    location, code, state = await _to_wechat_and_back(wapi)
    (asked,) = fake.authorize_queries
    assert asked["appid"] == fake.mp_appid and asked["response_type"] == "code"
    assert asked["scope"] == "snsapi_base" and asked["state"] == state
    page = urlsplit(location)
    assert (page.hostname, page.path) == ("127.0.0.1", "/m/family")  # back to the page
    status, body = await wapi.call(
        "POST", "/api/v1/auth/wechat/web", json={"code": code, "state": state}
    )
    assert status == 200 and body["role"] == "family", body
    me = await wapi.client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert (await me.json())["role"] == "family"
    # The same WeChat user again: the same account, not a second one.
    _, code2, state2 = await _to_wechat_and_back(wapi)
    again = await wapi.call(
        "POST", "/api/v1/auth/wechat/web", json={"code": code2, "state": state2}, expect=200
    )
    assert again["role"] == "family"
    async with wapi.platform.store.read() as conn:
        rows = (
            await conn.execute(
                select(users).where(users.c.wechat_openid == f"mp:{fake.web_openid}")
            )
        ).all()
    assert len(rows) == 1 and rows[0].display_name == "微信用户"


async def test_snsapi_userinfo_names_the_new_account(
    wapi: Api, wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = wechat
    fake.web_openid = "o-with-name"
    _, code, state = await _to_wechat_and_back(wapi, scope="snsapi_userinfo")
    await wapi.call(
        "POST", "/api/v1/auth/wechat/web", json={"code": code, "state": state}, expect=200
    )
    async with wapi.platform.store.read() as conn:
        user = (
            await conn.execute(select(users).where(users.c.wechat_openid == "mp:o-with-name"))
        ).one()
    assert user.display_name == fake.web_nickname


async def test_what_is_refused(wapi: Api, wechat: tuple[FakeWeChat, str]) -> None:
    fake, _ = wechat
    # Another site as the page to come back to, or an unknown scope.
    for query, code in (
        ("next=https://evil.example/&scope=snsapi_base", "bad_next"),
        ("next=//evil.example/&scope=snsapi_base", "bad_next"),
        ("next=/m/family&scope=snsapi_login", "bad_scope"),
    ):
        r = await wapi.client.get(f"/api/v1/auth/wechat/authorize?{query}", allow_redirects=False)
        assert r.status == 422 and (await r.json())["code"] == code
    _, code, state = await _to_wechat_and_back(wapi)
    # A forged state, then the same code twice.
    status, body = await wapi.call(
        "POST", "/api/v1/auth/wechat/web", json={"code": code, "state": state[:-2] + "xx"}
    )
    assert (status, body["code"]) == (400, "oauth_state_invalid")
    await wapi.call(
        "POST", "/api/v1/auth/wechat/web", json={"code": code, "state": state}, expect=200
    )
    # The same answer again: its state was spent with the sign-in (the cookie is gone).
    status, body = await wapi.call(
        "POST", "/api/v1/auth/wechat/web", json={"code": code, "state": state}
    )
    assert (status, body["code"]) == (400, "oauth_state_invalid")
    # A used code with a fresh state: WeChat refuses it.
    _, _, fresh_state = await _to_wechat_and_back(wapi)
    status, body = await wapi.call(
        "POST", "/api/v1/auth/wechat/web", json={"code": code, "state": fresh_state}
    )
    assert (status, body["code"]) == (401, "wechat_code_invalid")
    # Ten minutes later the state has expired.
    _, code, state = await _to_wechat_and_back(wapi)
    wapi.clock.advance(601)
    status, body = await wapi.call(
        "POST", "/api/v1/auth/wechat/web", json={"code": code, "state": state}
    )
    assert (status, body["code"]) == (400, "oauth_state_expired")
    # A code and state from another browser (no cookie here) are refused.
    _, code, state = await _to_wechat_and_back(wapi)
    wapi.client.session.cookie_jar.clear()
    status, body = await wapi.call(
        "POST", "/api/v1/auth/wechat/web", json={"code": code, "state": state}
    )
    assert (status, body["code"]) == (400, "oauth_state_invalid")
    # WeChat down: 503, not 500.
    _, code, state = await _to_wechat_and_back(wapi)
    fake.down = True
    status, body = await wapi.call(
        "POST", "/api/v1/auth/wechat/web", json={"code": code, "state": state}
    )
    assert status in (502, 503) and body["code"] in ("wechat_unavailable", "wechat_error")


async def test_without_an_official_account_it_says_so(api: Api) -> None:
    r = await api.client.get("/api/v1/auth/wechat/authorize?next=/m/family", allow_redirects=False)
    assert r.status == 503 and (await r.json())["code"] == "wechat_oauth_not_configured"
