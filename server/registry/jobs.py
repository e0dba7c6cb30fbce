"""The registry's outbox consumers and timer handlers, and what it lends the platform."""

from __future__ import annotations

from server.auth.directory import install
from server.platform import Platform
from server.registry.accounts import RegistryDirectory


def register(platform: Platform) -> None:
    """No outbox consumers or timers yet; sign-in asks the registry who a user is."""
    install(platform, RegistryDirectory())
