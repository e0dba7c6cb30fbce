"""Every refusal a person reads is in their language: each problem+json answer carries its
title in Chinese and English (``title_i18n``), with the wait of a locked account and the hours
a service is offered."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from server.services.bookings import BookingError
from server.texts import CATALOGUE, problem_text
from server.welfare.addresses import AddressError
from tests.conftest import BACKENDS
from tests.support.api import Api
from tests.welfare.test_api_welfare import setup

ROOT = Path(__file__).resolve().parents[2]


def raised_codes() -> set[str]:
    """Every literal code the server raises an ApiError or writes a problem with."""
    codes: set[str] = set()
    for path in (ROOT / "server").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or len(node.args) < 3:
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            code = node.args[1]
            if name in ("ApiError", "problem") and isinstance(code, ast.Constant):
                codes.add(str(code.value))
    return codes | {e.value for e in BookingError} | {e.value for e in AddressError}


def test_every_code_the_server_raises_has_a_title_in_both_languages() -> None:
    missing = sorted(c for c in raised_codes() if f"error.{c}" not in CATALOGUE)
    generic = [c for c in missing if c.endswith(("_not_found", "_state_conflict", "_changed"))]
    assert sorted(set(missing) - set(generic)) == []
    for code in raised_codes():
        text = problem_text(code, {"retry_after_s": 61, "opens": "08:00", "closes": "18:00"})
        assert text.render("zh") and text.render("en")
        assert text.key != "error.unknown", code


pytestmark_api = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


@pytestmark_api
async def test_wrong_password_and_lockout_say_so_with_the_wait(api: Api) -> None:
    bad = {"login": "op1", "password": "wrong-password"}
    status, problem = await api.call("POST", "/api/v1/auth/login", json=bad)
    assert status == 401 and problem["title_i18n"]["zh"] == "账号或密码不对"
    assert problem["title_i18n"]["en"] == "Wrong username or password"
    for _ in range(10):
        status, problem = await api.call("POST", "/api/v1/auth/login", json=bad)
        if status == 423:
            break
    assert status == 423, problem
    minutes = -(-problem["retry_after_s"] // 60)
    assert problem["title_i18n"]["zh"] == f"密码错误次数太多，请 {minutes} 分钟后再试"
    assert problem["title_i18n"]["params"] == {"minutes": minutes}


@pytestmark_api
async def test_a_time_a_service_is_not_offered_is_refused_with_its_hours(api: Api) -> None:
    await setup(api)
    late = {
        "item_code": "bath-help",
        "start": "2026-11-24T20:00:00+08:00",
        "end": "2026-11-24T22:00:00+08:00",
    }
    status, problem = await api.call(
        "POST", f"/api/v1/elders/{api.ids['elder']}/bookings", "family", json=late
    )
    assert (status, problem["code"]) == (422, "booking.outside_hours")
    assert (problem["opens"], problem["closes"]) == ("08:00", "18:00")
    assert "08:00–18:00" in problem["title_i18n"]["zh"]
    assert "08:00–18:00" in problem["title_i18n"]["en"]


@pytestmark_api
async def test_a_problem_without_its_own_text_still_reads_in_both_languages(api: Api) -> None:
    status, problem = await api.call("GET", "/api/v1/incidents/999999", "operator")
    assert status == 404
    assert problem["title_i18n"]["zh"] and problem["title_i18n"]["en"]
