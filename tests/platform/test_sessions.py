"""Sessions end when they should (issue 12): sign-out, sign-out everywhere, a new password,
an operator's reset, deactivation and a reused refresh token end access at once, over HTTP
and on open sockets; a deactivated caregiver's calls go back to the station."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import WSMsgType
from sqlalchemy import select

from server.auth.tables import users
from server.incidents.tables import alarms, incidents, offers
from server.keys import HUB
from server.push import SESSION_ENDED
from server.store.tables import audit_log
from tests.conftest import BACKENDS
from tests.support.api import PASSWORD, Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def _sign_in(api: Api, login: str, password: str = PASSWORD) -> dict[str, Any]:
    body: dict[str, Any] = await api.call(
        "POST", "/api/v1/auth/login", json={"login": login, "password": password}, expect=200
    )
    return body


async def _me(api: Api, access: str) -> tuple[int, Any]:
    r = await api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access}"})
    return r.status, await r.json()


async def _refresh(api: Api, token: str) -> tuple[int, Any]:
    status, body = await api.call("POST", "/api/v1/auth/refresh", json={"refresh_token": token})
    return status, body


async def _closed(ws: Any, timeout: float = 5.0) -> int | None:
    async def _wait() -> int | None:
        while True:
            msg = await ws.receive()
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
                code: int | None = ws.close_code
                return code

    return await asyncio.wait_for(_wait(), timeout)


async def test_sign_out_ends_this_session_only(api: Api) -> None:
    phone = await _sign_in(api, "cg_a")
    tablet = await _sign_in(api, "cg_a")
    await api.call(
        "POST",
        "/api/v1/auth/logout",
        headers={"Authorization": f"Bearer {phone['access_token']}"},
        expect=204,
    )
    status, body = await _me(api, phone["access_token"])
    assert status == 401 and body["code"] == "session_ended"
    assert (await _refresh(api, phone["refresh_token"]))[0] == 401
    assert (await _me(api, tablet["access_token"]))[0] == 200  # the other device stays


async def test_sign_out_everywhere_ends_every_session(api: Api) -> None:
    phone = await _sign_in(api, "cg_a")
    tablet = await _sign_in(api, "cg_a")
    await api.call(
        "POST",
        "/api/v1/auth/logout-all",
        headers={"Authorization": f"Bearer {phone['access_token']}"},
        expect=204,
    )
    for s in (phone, tablet):
        assert (await _me(api, s["access_token"]))[0] == 401
        assert (await _refresh(api, s["refresh_token"]))[0] == 401
    assert (await _me(api, api.tokens["cg_b"]))[0] == 200  # someone else is untouched


async def test_password_change_needs_the_old_one_and_ends_other_sessions(api: Api) -> None:
    other = await _sign_in(api, "cg_a")
    here = await _sign_in(api, "cg_a")
    auth = {"Authorization": f"Bearer {here['access_token']}"}
    status, body = await api.call(
        "POST",
        "/api/v1/auth/password",
        headers=auth,
        json={"old_password": "not-it", "new_password": "Quiet-river-2041"},
    )
    assert status == 403 and body["code"] == "wrong_password"
    for weak, code in (
        ("12345678", "password_too_common"),
        ("password123", "password_too_common"),
        ("cg_a-2041", "password_like_name"),
        ("short", "password_too_short"),
    ):
        status, body = await api.call(
            "POST",
            "/api/v1/auth/password",
            headers=auth,
            json={"old_password": PASSWORD, "new_password": weak},
        )
        assert status == 422 and body["code"] == code, (weak, body)
    assert (await _me(api, here["access_token"]))[0] == 200  # nothing half-done
    pair = await api.call(
        "POST",
        "/api/v1/auth/password",
        headers=auth,
        json={"old_password": PASSWORD, "new_password": "Quiet-river-2041"},
        expect=200,
    )
    assert (await _me(api, other["access_token"]))[0] == 401
    assert (await _me(api, here["access_token"]))[0] == 401
    assert (await _me(api, pair["access_token"]))[0] == 200
    status, _ = await api.call(
        "POST", "/api/v1/auth/login", json={"login": "cg_a", "password": PASSWORD}
    )
    assert status == 401
    await _sign_in(api, "cg_a", "Quiet-river-2041")


async def test_operator_resets_a_caregivers_password_with_an_audit_row(api: Api) -> None:
    cid = api.ids["cg_a"]
    path = f"/api/v1/caregivers/{cid}/password"
    body = {"new_password": "Morning-tea-7731"}
    status, _ = await api.call("POST", path, "operator2", json=body)
    assert status == 404  # another station's caregiver
    status, _ = await api.call("POST", path, "cg_b", json=body)
    assert status == 403
    await api.call("POST", path, "operator", json=body, expect=204)
    assert (await _me(api, api.tokens["cg_a"]))[0] == 401
    await _sign_in(api, "cg_a", "Morning-tea-7731")
    async with api.platform.store.read() as db:
        rows = (
            await db.execute(
                select(audit_log).where(
                    audit_log.c.action == "password_reset",
                    audit_log.c.object_id == str(api.ids["cg_a_user"]),
                )
            )
        ).all()
    assert len(rows) == 1 and rows[0].actor_user_id == api.ids["operator"]


async def test_reused_refresh_token_revokes_the_whole_family(api: Api) -> None:
    first = await _sign_in(api, "cg_a")
    status, second = await _refresh(api, first["refresh_token"])
    assert status == 200
    # The first token was copied: presented again, it ends the session for everyone.
    status, body = await _refresh(api, first["refresh_token"])
    assert status == 401 and body["code"] == "invalid_refresh_token"
    assert (await _refresh(api, second["refresh_token"]))[0] == 401
    assert (await _me(api, second["access_token"]))[0] == 401
    assert (await _me(api, first["access_token"]))[0] == 401
    assert (await _me(api, api.tokens["cg_a"]))[0] == 200  # another sign-in is its own family


async def test_deactivation_ends_access_and_gives_back_pending_offers(api: Api) -> None:
    await api.set_duty("cg_b", True)
    inc = await api.press(expect=201)
    await api.pump()
    async with api.platform.store.read() as db:
        offered = (await db.execute(select(offers).where(offers.c.incident_id == inc["id"]))).all()
    assert [o.caregiver_id for o in offered] == [api.ids["cg_a"]]
    await api.call(
        "POST", f"/api/v1/caregivers/{api.ids['cg_a']}/deactivate", "operator", expect=200
    )
    status, body = await _me(api, api.tokens["cg_a"])
    assert status == 401 and body["code"] == "session_ended"
    await api.pump()
    async with api.platform.store.read() as db:
        rows = (
            await db.execute(
                select(offers).where(offers.c.incident_id == inc["id"]).order_by(offers.c.id)
            )
        ).all()
    assert [(o.caregiver_id, o.status) for o in rows] == [
        (api.ids["cg_a"], "withdrawn"),
        (api.ids["cg_b"], "offered"),
    ]


async def test_deactivation_hands_an_accepted_call_back_with_an_alarm(api: Api) -> None:
    inc = await api.press(expect=201)
    await api.pump()
    async with api.platform.store.read() as db:
        oid = (
            await db.execute(select(offers.c.id).where(offers.c.incident_id == inc["id"]))
        ).scalar_one()
    await api.call("POST", f"/api/v1/offers/{oid}/accept", "cg_a", expect=200)
    await api.set_duty("cg_b", True)
    await api.call(
        "POST", f"/api/v1/caregivers/{api.ids['cg_a']}/deactivate", "operator", expect=200
    )
    await api.pump()
    async with api.platform.store.read() as db:
        row = (await db.execute(select(incidents).where(incidents.c.id == inc["id"]))).one()
        kinds = (
            await db.execute(select(alarms.c.kind).where(alarms.c.incident_id == inc["id"]))
        ).scalars()
        latest = (
            await db.execute(
                select(offers.c.caregiver_id, offers.c.status)
                .where(offers.c.incident_id == inc["id"])
                .order_by(offers.c.id.desc())
            )
        ).first()
    assert "caregiver_deactivated" in set(kinds)
    assert row.status == "offered"
    assert latest is not None and latest.caregiver_id == api.ids["cg_b"]


async def test_sockets_close_on_sign_out_deactivation_and_expiry(api: Api) -> None:
    mine = await _sign_in(api, "cg_b")
    ws = await api.client.ws_connect(f"/api/v1/ws?token={mine['access_token']}")
    await ws.receive()  # hello
    await api.call(
        "POST",
        "/api/v1/auth/logout",
        headers={"Authorization": f"Bearer {mine['access_token']}"},
        expect=204,
    )
    assert await _closed(ws) == SESSION_ENDED
    # A socket for a session that ended is refused at the door.
    refused = await api.client.get(f"/api/v1/ws?token={mine['access_token']}")
    assert refused.status == 401

    ws = await api.client.ws_connect(f"/api/v1/ws?token={api.tokens['cg_a']}")
    await ws.receive()
    await api.call(
        "POST", f"/api/v1/caregivers/{api.ids['cg_a']}/deactivate", "operator", expect=200
    )
    assert await _closed(ws) == SESSION_ENDED

    ws = await api.client.ws_connect(f"/api/v1/ws?token={api.tokens['operator']}")
    await ws.receive()
    hub = api.client.app[HUB] if api.client.app is not None else None
    assert hub is not None
    assert await hub.revalidate() == 0  # still valid: stays open
    api.clock.advance(api.platform.settings.access_token_ttl_s + 1)
    assert await hub.revalidate() == 1
    assert await _closed(ws) == SESSION_ENDED


async def test_deactivated_account_version_is_kept(api: Api) -> None:
    await api.call(
        "POST", f"/api/v1/caregivers/{api.ids['cg_a']}/deactivate", "operator", expect=200
    )
    async with api.platform.store.read() as db:
        version = (
            await db.execute(
                select(users.c.token_version).where(users.c.id == api.ids["cg_a_user"])
            )
        ).scalar_one()
    assert version >= 1
