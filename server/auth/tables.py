"""Sign-in: users (every person who signs in) and their refresh tokens."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from server.store.meta import metadata
from server.store.tables import id_column
from server.store.types import UtcDateTime

_id = id_column


users = Table(
    "users",
    metadata,
    _id(),
    Column("role", String(16), nullable=False),  # operator, caregiver, elder, family, admin
    Column("username", String(64), nullable=True, unique=True),
    Column("phone", String(11), nullable=True, unique=True),
    Column("display_name", String(50), nullable=False),
    Column("password_hash", String(200), nullable=True),
    Column("wechat_openid", String(64), nullable=True, unique=True),
    Column("station_id", ForeignKey("stations.id"), nullable=True),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("active", Boolean, nullable=False, server_default="1"),
    # Raised to end every session at once (sign-out everywhere, a new password, deactivation,
    # a re-linked phone): an access token carrying an older version is refused.
    Column("token_version", Integer, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime, nullable=False),
)
# Every intake's pushes go to the station's operators and the admins: read by role, not by
# scanning every elder's and family member's account.
Index("ix_users_role_station", users.c.role, users.c.station_id)
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    _id(),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    # One sign-in and every token rotated from it: a session. It lives while one of its
    # tokens is unrevoked; sign-out or a reused token revokes them all.
    Column("family", String(32), nullable=False, index=True, server_default=""),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

# Failed sign-ins per login (as typed, known or not) and source address: a guesser from one
# address locks only that pair, never the real user at her own phone. Each lockout is twice
# as long as the one before (reset by a successful sign-in).
login_failures = Table(
    "login_failures",
    metadata,
    _id(),
    Column("login", String(64), nullable=False),
    Column("source", String(64), nullable=False),
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("lockouts", Integer, nullable=False, server_default="0"),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("last_at", UtcDateTime, nullable=False),
    UniqueConstraint("login", "source"),
)
