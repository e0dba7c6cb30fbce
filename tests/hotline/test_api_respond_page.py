"""The SMS link opened on a phone: a page with two large buttons, a plain form, no sign-in."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from sqlalchemy import select

from server.hotline.flows.delivery import respond_token
from server.hotline.tables import alerts
from tests.conftest import BACKENDS
from tests.hotline.support import no_caregiver_accepts, settle
from tests.support.api import Api
from tests.support.hotline_fakes import FakeProvider

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def neighbour_link(api: Api, provider: FakeProvider) -> tuple[int, str]:
    """A no-caregiver emergency; the neighbour does not answer the phone and gets the SMS."""
    inc = await no_caregiver_accepts(api)
    provider.behave("voice", "no_answer")
    await api.advance(90)
    await settle(api, provider)
    async with api.platform.store.read() as conn:
        alert_id = (
            await conn.execute(select(alerts.c.id).where(alerts.c.person == "neighbour:0"))
        ).scalar_one()
    [sms] = [m for m in provider.sent if m.channel == "sms" and m.to == "13722223333"]
    link = re.search(r"https?://\S+", sms.body["text"])
    assert link is not None
    path = "/" + link.group(0).split("/", 3)[3]
    assert path == f"/api/v1/hotline/respond/{respond_token(api.platform, alert_id)}"
    return int(inc["id"]), path


async def chain_status(api: Api, iid: int) -> str:
    chain = await api.call("GET", f"/api/v1/hotline/incidents/{iid}/chain", "operator", expect=200)
    return str(chain["status"])


async def test_tapping_the_link_opens_a_page_and_answers_nothing(
    api: Api, provider: FakeProvider
) -> None:
    iid, path = await neighbour_link(api, provider)
    r = await api.client.get(path)
    page = await r.text()
    assert r.status == 200 and r.content_type == "text/html"
    assert "我去看看" in page and "I'm going" in page and "我去不了" in page and "I can't" in page
    assert '<form method="post"' in page and "<script" not in page
    assert "王秀英" in page  # what happened, from the alert text
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert "form-action 'self'" in r.headers["Content-Security-Policy"]
    assert await chain_status(api, iid) == "running"  # a link preview must not answer


ADDRESS = "红庙北里3号楼2单元401"


async def test_the_link_is_answered_once_and_shows_the_address_after_accept(
    api: Api, provider: FakeProvider
) -> None:
    iid, path = await neighbour_link(api, provider)
    [sms] = [m for m in provider.sent if m.channel == "sms" and m.to == "13722223333"]
    assert ADDRESS not in sms.body["text"]  # the SMS does not carry the address
    before = await (await api.client.get(path)).text()
    assert "王秀英" in before and ADDRESS not in before
    r = await api.client.post(path, data={"answer": "accept"}, allow_redirects=False)
    assert r.status == 303 and r.headers["Location"].startswith(path)
    assert await chain_status(api, iid) == "paused"
    after = await (await api.client.get(r.headers["Location"])).text()
    assert ADDRESS in after  # going: now the address
    assert "<button" not in after  # answered once: no buttons
    # A later different answer is refused, and the page says the first one stands.
    r = await api.client.post(path, data={"answer": "decline"}, allow_redirects=False)
    page = await r.text()
    assert r.status == 409 and "不能更改" in page and "<button" not in page
    status, body = await api.call("POST", path, json={"answer": "decline"})
    assert status == 409 and body["code"] == "already_answered" and body["answer"] == "accept"
    await api.call("POST", path, json={"answer": "accept"}, expect=200)  # the same: fine
    await settle(api, provider)
    assert await chain_status(api, iid) == "paused"


async def test_the_link_expires_with_its_call(api: Api, provider: FakeProvider) -> None:
    iid, path = await neighbour_link(api, provider)
    await api.call(
        "POST",
        f"/api/v1/incidents/{iid}/close",
        "operator",
        json={"resolution": "handled_by_phone", "notes": "老人回电说没事"},
        expect=200,
    )
    status, body = await api.call("POST", path, json={"answer": "accept"})
    assert status == 410 and body["code"] == "link_expired"
    r = await api.client.post(path, data={"answer": "accept"}, allow_redirects=False)
    assert r.status == 410 and "已处理完毕" in await r.text()


async def test_the_link_expires_after_a_day(api: Api, provider: FakeProvider) -> None:
    _, path = await neighbour_link(api, provider)
    api.clock.advance(24 * 3600 + 1)
    status, body = await api.call("POST", path, json={"answer": "accept"})
    assert status == 410 and body["code"] == "link_expired"


@pytest.mark.parametrize("token", ["١٢.abc", "²³.abc", "9" * 40 + ".abc", "1." + "a" * 300])
async def test_odd_tokens_are_404_never_500(api: Api, token: str) -> None:
    r = await api.client.get(f"/api/v1/hotline/respond/{token}")
    assert r.status == 404
    r = await api.client.post(f"/api/v1/hotline/respond/{token}", json={"answer": "accept"})
    assert r.status == 404 and (await r.json())["code"] == "link_not_found"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example"},  # an older browser without Sec-Fetch-Site
    ],
)
async def test_a_post_from_another_site_is_refused(
    api: Api, provider: FakeProvider, headers: dict[str, str]
) -> None:
    iid, path = await neighbour_link(api, provider)
    r = await api.client.post(
        path, data={"answer": "accept"}, headers=headers, allow_redirects=False
    )
    assert r.status == 403
    assert await chain_status(api, iid) == "running"


async def test_a_post_from_the_public_address_behind_a_proxy_is_accepted(
    api: Api, provider: FakeProvider
) -> None:
    api.platform.settings = replace(api.platform.settings, public_url="https://anxin.example.cn")
    iid, path = await neighbour_link(api, provider)
    r = await api.client.post(
        path,
        data={"answer": "accept"},
        headers={"Origin": "https://anxin.example.cn"},
        allow_redirects=False,
    )
    assert r.status == 303
    assert await chain_status(api, iid) == "paused"


async def test_a_forged_link_shows_a_page_not_a_stack(api: Api, provider: FakeProvider) -> None:
    r = await api.client.get("/api/v1/hotline/respond/1.forged")
    assert r.status == 404 and "链接无效" in await r.text()
    r = await api.client.post("/api/v1/hotline/respond/1.forged", data={"answer": "accept"})
    assert r.status == 404


async def test_the_page_says_when_the_call_is_over(api: Api, provider: FakeProvider) -> None:
    iid, path = await neighbour_link(api, provider)
    await api.call(
        "POST",
        f"/api/v1/incidents/{iid}/close",
        "operator",
        json={"resolution": "handled_by_phone", "notes": "老人回电说没事"},
        expect=200,
    )
    page = await (await api.client.get(path)).text()
    assert "已处理完毕" in page and "<button" not in page
