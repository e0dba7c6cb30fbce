"""Helpers for the welfare and services API tests."""

from __future__ import annotations

from datetime import timedelta

import jwt

from server.auth.tokens import ALGORITHM, decode_access, issue_access
from tests.support.api import Api


def long_tokens(api: Api) -> None:
    """Re-sign every seeded token to live 60 days from a day before the fake clock's start.

    The tests move the fake clock by days; PyJWT checks `iat` against the wall clock, so a
    token issued at a fake time ahead of the real one would be refused (and the default test
    tokens live 6 hours).
    """
    secret = api.platform.settings.jwt_secret
    start = api.clock.now() - timedelta(days=1)
    for who, token in list(api.tokens.items()):
        claims = jwt.decode(token, options={"verify_signature": False})
        p = decode_access(
            jwt.encode(claims, secret, algorithm=ALGORITHM), secret=secret, now=api.clock.now()
        )
        api.tokens[who] = issue_access(p, secret=secret, now=start, ttl_s=60 * 24 * 3600)
