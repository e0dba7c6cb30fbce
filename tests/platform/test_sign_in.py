"""Sign-in reveals nothing and cannot be used to lock a real user out (issue 12): the same
answer and the same work for an unknown login, a deactivated account and a wrong password;
lockout per login and source address, growing, told in minutes, seen by the operators."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

import server.auth.service as service
from server.auth.passwords import verify_password
from server.auth.tables import users
from server.store.tables import audit_log, push_messages
from tests.conftest import BACKENDS
from tests.support.api import PASSWORD, Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def _try(api: Api, login: str, password: str, source: str) -> tuple[int, Any, Any]:
    r = await api.client.post(
        "/api/v1/auth/login",
        json={"login": login, "password": password},
        headers={"X-Forwarded-For": source},
    )
    return r.status, await r.json(), r.headers


async def test_unknown_inactive_and_wrong_get_the_same_answer_after_the_same_work(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str | None] = []
    real = verify_password

    def counted(stored: str | None, password: str) -> bool:
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(service, "verify_password", counted)
    async with api.platform.store.begin() as conn:
        await conn.execute(update(users).where(users.c.username == "cg_b").values(active=False))
    answers = []
    for login, password in (("ghost", "x-guess-1"), ("cg_a", "x-guess-1"), ("cg_b", PASSWORD)):
        status, body, _ = await _try(api, login, password, "203.0.113.9")
        answers.append((status, body))
    assert len(calls) == 3  # one argon2 verify each, known or not, active or not
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 401 and answers[0][1]["code"] == "bad_credentials"


async def test_a_guesser_locks_only_their_own_address_and_waits_longer_each_time(
    api: Api,
) -> None:
    for _ in range(5):
        status, _, _ = await _try(api, "op1", "guess-guess", "198.51.100.7")
        assert status == 401
    status, body, headers = await _try(api, "op1", PASSWORD, "198.51.100.7")
    assert status == 423 and body["code"] == "account_locked"
    assert body["retry_after_s"] == 901 and body["minutes"] == 16
    assert "16 minutes" in body["title"] and headers["Retry-After"] == "901"
    # The real operator at her own desk is not locked out by a stranger's guesses.
    status, _, _ = await _try(api, "op1", PASSWORD, "192.0.2.50")
    assert status == 200
    # The next lockout from that address is twice as long.
    api.clock.advance(901)
    for _ in range(5):
        await _try(api, "op1", "guess-guess", "198.51.100.7")
    status, body, _ = await _try(api, "op1", PASSWORD, "198.51.100.7")
    assert status == 423 and body["retry_after_s"] == 1801


async def test_an_unknown_login_locks_like_a_real_one(api: Api) -> None:
    for login in ("op1", "nobody-here"):
        for _ in range(5):
            await _try(api, login, "guess-guess", "198.51.100.8")
    known = await _try(api, "op1", "guess-guess", "198.51.100.8")
    unknown = await _try(api, "nobody-here", "guess-guess", "198.51.100.8")
    assert known[0] == unknown[0] == 423
    assert known[1] == unknown[1]


async def test_operators_see_a_lockout_and_it_is_audited(api: Api) -> None:
    for _ in range(5):
        await _try(api, "cg_a", "guess-guess", "198.51.100.9")
    async with api.platform.store.read() as db:
        pushed = (
            await db.execute(
                select(push_messages.c.payload).where(
                    push_messages.c.recipient == f"user:{api.ids['operator']}",
                    push_messages.c.type == "auth.sign_in_locked",
                )
            )
        ).scalars()
        other = (
            await db.execute(
                select(push_messages.c.id).where(
                    push_messages.c.recipient == f"user:{api.ids['operator2']}",
                    push_messages.c.type == "auth.sign_in_locked",
                )
            )
        ).first()
        audited = (
            await db.execute(select(audit_log.c.detail).where(audit_log.c.action == "lockout"))
        ).scalars()
        payloads = list(pushed)
        details = list(audited)
    assert [(p["user_id"], p["source"], p["seconds"]) for p in payloads] == [
        (api.ids["cg_a_user"], "198.51.100.9", 900)
    ]
    assert other is None  # another station's operator is not told
    assert details == [{"source": "198.51.100.9", "seconds": 900}]


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("12345678", "password_too_common"),
        ("woaini1314", "password_too_common"),
        ("sunli-2041", "password_like_name"),  # the login
        ("13700001111x", "password_like_name"),  # the phone
        ("aaaaaaaaaa", "password_too_common"),
    ],
)
async def test_new_accounts_refuse_common_and_own_name_passwords(
    api: Api, password: str, code: str
) -> None:
    body = {
        "station_id": api.ids["station"],
        "name": "孙丽",
        "phone": "13700001111",
        "username": "sunli",
        "password": password,
        "skills": ["first_aid"],
    }
    status, answer = await api.call("POST", "/api/v1/caregivers", "operator", json=body)
    assert status == 422 and answer["code"] == code
    page = await api.call("GET", "/api/v1/caregivers?q=孙丽", "operator", expect=200)
    assert page["total"] == 0  # nothing half-written
    body["password"] = "Lantern-field-58"
    await api.call("POST", "/api/v1/caregivers", "operator", json=body, expect=201)
