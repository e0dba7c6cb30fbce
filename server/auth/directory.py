"""What sign-in needs to know about people that the platform does not keep itself.

A user's caregiver record, an elder's record and the elders' one-time link codes belong to
the registry, a domain the platform may not import. Sign-in asks through this interface; the
registry installs its implementation on the platform when its jobs are registered
(``server.registry.jobs.register``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from server.platform import Platform, Slot


@dataclass(frozen=True)
class Roles:
    """Who a user is beyond their account: a caregiver, an elder (and the elder's station)."""

    caregiver_id: int | None = None
    elder_id: int | None = None
    elder_station_id: int | None = None


@dataclass(frozen=True)
class LinkableElder:
    """An active elder a link code was issued for."""

    id: int
    name: str
    station_id: int
    user_id: int | None


class Directory(Protocol):
    """The registry's answers to sign-in, inside sign-in's transaction."""

    async def roles(self, conn: AsyncConnection, user_id: int) -> Roles:
        """The user's caregiver and elder records, if any."""
        ...

    async def elder_by_link_code(
        self, conn: AsyncConnection, code: str, now: datetime
    ) -> LinkableElder | None:
        """The active elder this link code was issued for, if any and not expired."""
        ...

    async def spend_link_code(
        self, conn: AsyncConnection, elder_id: int, *, user_id: int | None = None
    ) -> None:
        """Clear the elder's link code; with ``user_id``, the elder now signs in as that user."""
        ...


DIRECTORY: Final[Slot[Directory]] = Slot("auth.directory")


def install(platform: Platform, directory: Directory) -> None:
    """Let sign-in ask ``directory`` (the registry calls this once, at start)."""
    platform.put(DIRECTORY, directory)


def directory_of(platform: Platform) -> Directory:
    """The installed directory; without one, nobody can sign in."""
    try:
        return platform.get(DIRECTORY)
    except LookupError:
        raise RuntimeError(
            "no sign-in directory installed (server.registry.jobs.register)"
        ) from None
