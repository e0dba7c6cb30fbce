"""Sign-in: passwords with lockout, WeChat code2Session against a local fake, refresh."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from server.app import create_app
from server.clock import FakeClock
from server.settings import Settings
from tests.support.api import PASSWORD, Api
from tests.support.wechat_fake import FakeWeChat


@pytest.fixture
async def wechat() -> Any:
    fake = FakeWeChat()
    server = TestServer(fake.app())
    await server.start_server()
    yield fake, str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
async def wapi(aiohttp_client: Any, settings: Settings, clock: FakeClock, wechat: Any) -> Api:
    fake, base = wechat
    s = replace(settings, wechat_base_url=base, wechat_appid=fake.appid, wechat_secret=fake.secret)
    client = await aiohttp_client(create_app(s, clock=clock, run_background=False, create_schema=True))
    api = Api(client)
    await api.seed()
    return api


async def test_wrong_password_five_times_locks_account(api: Api) -> None:
    for _ in range(5):
        status, body = await api.call("POST", "/api/v1/auth/login", json={"login": "cg_a", "password": "nope"})
        assert status == 401 and body["code"] == "bad_credentials"
    status, body = await api.call("POST", "/api/v1/auth/login", json={"login": "cg_a", "password": PASSWORD})
    assert status == 423 and body["code"] == "account_locked"
    api.clock.advance(901)
    status, _ = await api.call("POST", "/api/v1/auth/login", json={"login": "cg_a", "password": PASSWORD})
    assert status == 200


async def test_unknown_user_gives_same_error(api: Api) -> None:
    status, body = await api.call("POST", "/api/v1/auth/login", json={"login": "ghost", "password": "x"})
    assert status == 401 and body["code"] == "bad_credentials"


async def test_refresh_rotates_and_old_token_is_spent(api: Api) -> None:
    r = await api.client.post("/api/v1/auth/login", json={"login": "op1", "password": PASSWORD})
    pair = await r.json()
    status, new = await api.call("POST", "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert status == 200 and new["refresh_token"] != pair["refresh_token"]
    status, body = await api.call("POST", "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert status == 401 and body["code"] == "invalid_refresh_token"


async def test_wechat_new_user_becomes_family_without_elders(wapi: Api, wechat: Any) -> None:
    fake, _ = wechat
    code = fake.issue("code-family-1", "openid-fam-1")
    status, body = await wapi.call("POST", "/api/v1/auth/wechat", json={"code": code})
    assert status == 200 and body["role"] == "family"
    assert "session_key" not in str(body)
    wapi.tokens["wx"] = body["access_token"]
    assert await wapi.call("GET", "/api/v1/me/elders", "wx", expect=200) == []
    status, _ = await wapi.call("GET", f"/api/v1/elders/{wapi.ids['elder']}", "wx")
    assert status == 404


async def test_wechat_code_used_twice_is_refused(wapi: Api, wechat: Any) -> None:
    fake, _ = wechat
    code = fake.issue("code-x", "openid-x")
    await wapi.call("POST", "/api/v1/auth/wechat", json={"code": code}, expect=200)
    status, body = await wapi.call("POST", "/api/v1/auth/wechat", json={"code": code})
    assert status == 401 and body["code"] == "wechat_code_invalid"


async def test_wechat_down_is_503_not_500(wapi: Api, wechat: Any) -> None:
    fake, _ = wechat
    fake.down = True
    status, body = await wapi.call("POST", "/api/v1/auth/wechat", json={"code": "whatever"})
    assert status == 502 or status == 503
    assert body["code"] in ("wechat_unavailable", "wechat_error")


async def test_elder_links_wechat_with_station_code(wapi: Api, wechat: Any) -> None:
    fake, _ = wechat
    link = await wapi.call("POST", f"/api/v1/elders/{wapi.ids['elder_other']}/link-code", "operator", expect=201)
    code = fake.issue("code-elder", "openid-elder-2")
    body = await wapi.call("POST", "/api/v1/auth/wechat", json={"code": code, "link_code": link["link_code"]},
                           expect=200)
    assert body["role"] == "elder" and body["elder_id"] == wapi.ids["elder_other"]
    # The link code is single-use.
    code2 = fake.issue("code-elder-again", "openid-someone")
    status, _ = await wapi.call("POST", "/api/v1/auth/wechat", json={"code": code2, "link_code": link["link_code"]})
    assert status == 404


async def test_binding_needs_confirmation(wapi: Api, wechat: Any) -> None:
    fake, _ = wechat
    body = await wapi.call("POST", "/api/v1/auth/wechat", json={"code": fake.issue("c-b", "o-b")}, expect=200)
    wapi.tokens["newfam"] = body["access_token"]
    binding = await wapi.call("POST", "/api/v1/bindings", "newfam",
                              json={"elder_name": "李桂兰", "elder_phone_or_id_last4": "13500000002", "relation": "儿子"},
                              expect=201)
    assert binding["status"] == "pending"
    status, _ = await wapi.call("GET", f"/api/v1/elders/{wapi.ids['elder_other']}", "newfam")
    assert status == 404
    status, _ = await wapi.call("POST", f"/api/v1/bindings/{binding['id']}/confirm", "operator2")
    assert status == 404
    await wapi.call("POST", f"/api/v1/bindings/{binding['id']}/confirm", "operator", expect=200)
    elder = await wapi.call("GET", f"/api/v1/elders/{wapi.ids['elder_other']}", "newfam", expect=200)
    assert elder["masked"] is True and "*" in elder["id_number"]
