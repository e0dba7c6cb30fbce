"""schemathesis over the OpenAPI document, bounded: for every operation a few generated
requests as each role (and anonymous); none may answer 5xx (issue 12)."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
import schemathesis
from schemathesis.core import NotSet
from schemathesis.core.result import Ok
from sqlalchemy import delete, update

from server.auth.tables import login_failures, users
from tests.conftest import BACKENDS
from tests.support.api import _HASH, PASSWORD, Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

# Another party's outage (WeChat is not reachable from the tests) is a 502/503 by design.
# 502/503 that are not the server's fault: WeChat down, or a station that has not set up the
# official account's sign-in (the page offers the password form instead).
UPSTREAM = ("wechat_unavailable", "wechat_error", "wechat_oauth_not_configured")
# Operations that can end someone's session: everyone signs in again after one succeeds.
ENDS_SESSIONS = ("logout", "password", "deactivate", "/wechat")
EXAMPLES = 3  # per operation and role: bounded so CI stays quick
ROLES = (None, "admin", "operator", "cg_a", "elder", "family")


def _cases(doc: dict[str, Any]) -> list[Any]:
    schema = schemathesis.openapi.from_dict(doc)
    out: list[Any] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # .example() outside @given is what we want here
        for found in schema.get_all_operations():
            assert isinstance(found, Ok), found  # the document is valid (test_openapi checks)
            op = found.ok()
            strategy = op.as_strategy()
            out.extend(strategy.example() for _ in range(EXAMPLES))
    return out


async def _sign_in(api: Api, who: str) -> None:
    """Sign in again (a generated request may have signed out, changed a password or
    deactivated the account: put it back first)."""
    login = {"operator": "op1"}.get(who, who)
    r = await api.client.post("/api/v1/auth/login", json={"login": login, "password": PASSWORD})
    if r.status != 200:
        async with api.platform.store.begin() as conn:
            await conn.execute(
                update(users)
                .where(users.c.username == login)
                .values(password_hash=_HASH, active=True)
            )
            await conn.execute(delete(login_failures))
    await api.login(who)


async def test_generated_requests_never_get_a_server_error(api: Api) -> None:
    doc = await api.call("GET", "/api/openapi.json", expect=200)
    failures = []
    cases = _cases(doc)
    stale = set(ROLES) - {None}
    for case in cases:
        if case.formatted_path.endswith("/ws"):
            continue  # an upgrade, not a request
        for who in ROLES:
            if who is not None and who in stale:
                await _sign_in(api, who)  # a generated sign-out must not end the run
                stale.discard(who)
            headers = {k: str(v) for k, v in (case.headers or {}).items()}
            headers.pop("Authorization", None)
            if who is not None:
                headers.update(api.h(who))
            body = None if isinstance(case.body, NotSet) else case.body
            r = await api.client.request(
                case.method,
                case.formatted_path,
                params={k: str(v) for k, v in (case.query or {}).items()},
                data=json.dumps(body) if body is not None else None,
                headers={"Content-Type": "application/json", **headers},
            )
            text = await r.text()
            if r.status < 300 and any(w in case.formatted_path for w in ENDS_SESSIONS):
                stale = set(ROLES) - {None}
            upstream = r.status in (502, 503) and any(c in text for c in UPSTREAM)
            if r.status >= 500 and not upstream:
                failures.append(
                    f"{who} {case.method} {case.formatted_path} {case.query} {body!r}: "
                    f"{r.status} {text[:200]}"
                )
    assert failures == [], "\n".join(failures)
    assert len(cases) > 300
