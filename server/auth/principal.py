"""Who is calling, and what they may see."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    OPERATOR = "operator"
    CAREGIVER = "caregiver"
    ELDER = "elder"
    FAMILY = "family"
    ADMIN = "admin"
    # welfare reviewers, scoped to their street or district (server/welfare/officers.py)
    STREET_OFFICER = "street_officer"
    DISTRICT_OFFICER = "district_officer"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, decoded from an access token."""

    user_id: int
    role: Role
    station_id: int | None
    caregiver_id: int | None = None
    elder_id: int | None = None
    # The session (refresh-token family) and the user's token version the access token was
    # issued under, and when it expires (epoch seconds): checked on every request and socket.
    session_id: str | None = None
    token_version: int = 0
    expires_at: int = 0

    @property
    def push_recipient(self) -> str:
        return f"user:{self.user_id}"

    def is_staff(self) -> bool:
        return self.role in (Role.OPERATOR, Role.ADMIN)


# `anxin admin ...` on the server itself: an administrator without an account (user id 0),
# recorded in the audit log with no actor.
COMMAND_LINE = Principal(user_id=0, role=Role.ADMIN, station_id=None)
