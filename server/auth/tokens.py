"""Short-lived signed access tokens and opaque, rotated refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import jwt

from server.auth.principal import Principal, Role
from server.errors import ApiError

ALGORITHM = "HS256"


def issue_access(p: Principal, *, secret: str, now: datetime, ttl_s: int) -> str:
    claims = {
        "sub": str(p.user_id),
        "role": p.role.value,
        "stn": p.station_id,
        "cg": p.caregiver_id,
        "eld": p.elder_id,
        "sid": p.session_id,
        "ver": p.token_version,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_s)).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_access(token: str, *, secret: str, now: datetime) -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"verify_exp": False, "verify_iat": False, "require": ["sub", "exp"]},
        )
    except jwt.PyJWTError as exc:
        raise ApiError(401, "invalid_token", "access token is not valid") from exc
    # Expiry (and issue time) checked against the injected clock, not the wall clock, so
    # tests and the simulator can move time.
    if int(claims["exp"]) <= int(now.timestamp()):
        raise ApiError(401, "token_expired", "access token has expired")
    return Principal(
        user_id=int(claims["sub"]),
        role=Role(claims["role"]),
        station_id=claims.get("stn"),
        caregiver_id=claims.get("cg"),
        elder_id=claims.get("eld"),
        session_id=claims.get("sid"),
        token_version=int(claims.get("ver") or 0),
        expires_at=int(claims["exp"]),
    )


def new_session_id() -> str:
    return secrets.token_hex(16)


def new_refresh_token() -> tuple[str, str]:
    """Return (token for the client, hash for the store)."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh(token)


def hash_refresh(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
