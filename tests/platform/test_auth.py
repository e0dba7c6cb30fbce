"""Sign-in: passwords with lockout, WeChat code2Session against a local fake, refresh."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from server.app import create_app
from server.clock import FakeClock
from server.settings import Settings
from tests.conftest import BACKENDS
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
    client = await aiohttp_client(
        create_app(s, clock=clock, run_background=False, create_schema=True)
    )
    api = Api(client)
    await api.seed()
    return api


async def test_wrong_password_five_times_locks_account(api: Api) -> None:
    for _ in range(5):
        status, body = await api.call(
            "POST", "/api/v1/auth/login", json={"login": "cg_a", "password": "nope"}
        )
        assert status == 401 and body["code"] == "bad_credentials"
    status, body = await api.call(
        "POST", "/api/v1/auth/login", json={"login": "cg_a", "password": PASSWORD}
    )
    assert status == 423 and body["code"] == "account_locked"
    api.clock.advance(901)
    status, _ = await api.call(
        "POST", "/api/v1/auth/login", json={"login": "cg_a", "password": PASSWORD}
    )
    assert status == 200


async def test_unknown_user_gives_same_error(api: Api) -> None:
    status, body = await api.call(
        "POST", "/api/v1/auth/login", json={"login": "ghost", "password": "x"}
    )
    assert status == 401 and body["code"] == "bad_credentials"


async def test_refresh_rotates_and_old_token_is_spent(api: Api) -> None:
    r = await api.client.post("/api/v1/auth/login", json={"login": "op1", "password": PASSWORD})
    pair = await r.json()
    status, new = await api.call(
        "POST", "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert status == 200 and new["refresh_token"] != pair["refresh_token"]
    status, body = await api.call(
        "POST", "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
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
    link = await wapi.call(
        "POST", f"/api/v1/elders/{wapi.ids['elder_other']}/link-code", "operator", expect=201
    )
    code = fake.issue("code-elder", "openid-elder-2")
    body = await wapi.call(
        "POST",
        "/api/v1/auth/wechat",
        json={"code": code, "link_code": link["link_code"]},
        expect=200,
    )
    assert body["role"] == "elder" and body["elder_id"] == wapi.ids["elder_other"]
    # The link code is single-use.
    code2 = fake.issue("code-elder-again", "openid-someone")
    status, _ = await wapi.call(
        "POST", "/api/v1/auth/wechat", json={"code": code2, "link_code": link["link_code"]}
    )
    assert status == 404


async def test_binding_needs_confirmation(wapi: Api, wechat: Any) -> None:
    fake, _ = wechat
    body = await wapi.call(
        "POST", "/api/v1/auth/wechat", json={"code": fake.issue("c-b", "o-b")}, expect=200
    )
    wapi.tokens["newfam"] = body["access_token"]
    binding = await wapi.call(
        "POST",
        "/api/v1/bindings",
        "newfam",
        json={"elder_name": "李桂兰", "elder_phone_or_id_last4": "13500000002", "relation": "儿子"},
        expect=201,
    )
    assert binding["status"] == "pending"
    status, _ = await wapi.call("GET", f"/api/v1/elders/{wapi.ids['elder_other']}", "newfam")
    assert status == 404
    status, _ = await wapi.call("POST", f"/api/v1/bindings/{binding['id']}/confirm", "operator2")
    assert status == 404
    await wapi.call("POST", f"/api/v1/bindings/{binding['id']}/confirm", "operator", expect=200)
    elder = await wapi.call(
        "GET", f"/api/v1/elders/{wapi.ids['elder_other']}", "newfam", expect=200
    )
    assert elder["masked"] is True and "*" in elder["id_number"]


@pytest.fixture
async def odd_wechat(aiohttp_client: Any, settings: Settings, clock: FakeClock) -> Any:
    """A code2Session endpoint that answers whatever text the test sets."""
    from aiohttp import web

    answer = {"text": "{}"}

    async def handle(request: web.Request) -> web.Response:
        return web.Response(text=answer["text"], content_type="text/plain")

    app = web.Application()
    app.router.add_get("/sns/jscode2session", handle)
    server = TestServer(app)
    await server.start_server()
    s = replace(settings, wechat_base_url=str(server.make_url("")).rstrip("/"))
    client = await aiohttp_client(
        create_app(s, clock=clock, run_background=False, create_schema=True)
    )
    yield Api(client), answer
    await server.close()


@pytest.mark.parametrize(
    "text,status,code",
    [
        ("[]", 502, "wechat_error"),
        ('"ok"', 502, "wechat_error"),
        ("42", 502, "wechat_error"),
        ("null", 502, "wechat_error"),
        ('{"errcode": "abc"}', 502, "wechat_error"),
        ('{"errcode": {"x": 1}, "openid": "o1"}', 502, "wechat_error"),
        ('{"errcode": 1.5, "openid": "o1"}', 502, "wechat_error"),
        ('{"errcode": "40029"}', 401, "wechat_code_invalid"),
        ('{"openid": 12345}', 502, "wechat_error"),
        ('{"openid": ["o"]}', 502, "wechat_error"),
        ('{"openid": ""}', 502, "wechat_error"),
        ("<html>gateway</html>", 503, "wechat_unavailable"),
    ],
)
async def test_odd_code2session_answers_are_clear_errors(
    odd_wechat: Any, text: str, status: int, code: str
) -> None:
    api, answer = odd_wechat
    answer["text"] = text
    got, body = await api.call("POST", "/api/v1/auth/wechat", json={"code": "c-odd"})
    assert (got, body["code"]) == (status, code), body


async def test_odd_unionid_is_ignored(odd_wechat: Any) -> None:
    api, answer = odd_wechat
    answer["text"] = '{"openid": "o-union", "unionid": 7}'
    body = await api.call("POST", "/api/v1/auth/wechat", json={"code": "c-u"}, expect=200)
    assert body["role"] == "family"


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_one_wechat_cannot_link_two_elders(wapi: Api, wechat: Any) -> None:
    fake, _ = wechat
    first = await wapi.call(
        "POST", f"/api/v1/elders/{wapi.ids['elder_other']}/link-code", "operator", expect=201
    )
    await wapi.call(
        "POST",
        "/api/v1/auth/wechat",
        expect=200,
        json={"code": fake.issue("c-1", "openid-grandma"), "link_code": first["link_code"]},
    )
    # The same phone with a second elder's code (the elder already has an account)...
    second = await wapi.call(
        "POST", f"/api/v1/elders/{wapi.ids['elder']}/link-code", "operator", expect=201
    )
    status, body = await wapi.call(
        "POST",
        "/api/v1/auth/wechat",
        json={"code": fake.issue("c-2", "openid-grandma"), "link_code": second["link_code"]},
    )
    assert status == 409 and body["code"] == "wechat_linked_to_another_elder"
    # ...and with a code for an elder who has no account yet.
    async with wapi.platform.store.begin() as conn:
        from sqlalchemy import update

        from server.registry.tables import elders

        await conn.execute(
            update(elders).where(elders.c.id == wapi.ids["elder_s2"]).values(link_code="LINKS2AA")
        )
    status, body = await wapi.call(
        "POST",
        "/api/v1/auth/wechat",
        json={"code": fake.issue("c-3", "openid-grandma"), "link_code": "LINKS2AA"},
    )
    assert status == 409 and body["code"] == "wechat_linked_to_another_elder"
    # Nothing was half-written: she still signs in as the first elder, the codes still work.
    again = await wapi.call(
        "POST",
        "/api/v1/auth/wechat",
        json={"code": fake.issue("c-4", "openid-grandma")},
        expect=200,
    )
    assert again["elder_id"] == wapi.ids["elder_other"]


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_a_new_phone_takes_over_and_the_old_one_is_signed_out(wapi: Api, wechat: Any) -> None:
    fake, _ = wechat
    code = await wapi.call(
        "POST", f"/api/v1/elders/{wapi.ids['elder_other']}/link-code", "operator", expect=201
    )
    old = await wapi.call(
        "POST",
        "/api/v1/auth/wechat",
        expect=200,
        json={"code": fake.issue("c-old", "openid-old-phone"), "link_code": code["link_code"]},
    )
    code = await wapi.call(
        "POST", f"/api/v1/elders/{wapi.ids['elder_other']}/link-code", "operator", expect=201
    )
    new = await wapi.call(
        "POST",
        "/api/v1/auth/wechat",
        expect=200,
        json={"code": fake.issue("c-new", "openid-new-phone"), "link_code": code["link_code"]},
    )
    assert new["elder_id"] == wapi.ids["elder_other"] == old["elder_id"]
    status, body = await wapi.call(
        "POST", "/api/v1/auth/refresh", json={"refresh_token": old["refresh_token"]}
    )
    assert status == 401
    # The old phone's access token stops at once, not when it expires (issue 12).
    r = await wapi.client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {old['access_token']}"}
    )
    assert r.status == 401 and (await r.json())["code"] == "session_ended"
    r = await wapi.client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {new['access_token']}"}
    )
    assert r.status == 200
    # The same phone using a fresh code again is fine (nothing changes).
    code = await wapi.call(
        "POST", f"/api/v1/elders/{wapi.ids['elder_other']}/link-code", "operator", expect=201
    )
    await wapi.call(
        "POST",
        "/api/v1/auth/wechat",
        expect=200,
        json={"code": fake.issue("c-same", "openid-new-phone"), "link_code": code["link_code"]},
    )


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
@pytest.mark.postgres
async def test_parallel_wrong_guesses_all_count(api: Api) -> None:
    """Ten guesses at once on PostgreSQL: each is counted, so the account locks."""
    import asyncio

    answers = await asyncio.gather(
        *(
            api.call("POST", "/api/v1/auth/login", json={"login": "cg_a", "password": f"guess-{i}"})
            for i in range(10)
        )
    )
    assert {s for s, _ in answers} <= {401, 423}
    status, body = await api.call(
        "POST", "/api/v1/auth/login", json={"login": "cg_a", "password": PASSWORD}
    )
    assert status == 423 and body["code"] == "account_locked"


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_link_codes_have_64_bits_and_expire_after_a_day(wapi: Api, wechat: Any) -> None:
    fake, _ = wechat
    path = f"/api/v1/elders/{wapi.ids['elder_other']}/link-code"
    code = await wapi.call("POST", path, "operator", expect=201)
    assert len(code["link_code"]) == 16 and int(code["link_code"], 16) >= 0
    assert code["expires_at"] is not None
    wapi.clock.advance(24 * 3600 + 1)
    status, body = await wapi.call(
        "POST",
        "/api/v1/auth/wechat",
        json={"code": fake.issue("c-late", "openid-late"), "link_code": code["link_code"]},
    )
    assert status == 404 and body["code"] == "link_code_not_found"
    await wapi.login("operator")  # the operator's own token expired meanwhile
    fresh = await wapi.call("POST", path, "operator", expect=201)
    await wapi.call(
        "POST",
        "/api/v1/auth/wechat",
        expect=200,
        json={"code": fake.issue("c-ok", "openid-late"), "link_code": fresh["link_code"]},
    )
