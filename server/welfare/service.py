"""The welfare store helpers the services domain calls (bookings, menus and meals check the
elder's quota); they live in ``server.welfare.flows``. Kept under this name until the services
domain imports them from there."""

from __future__ import annotations

from server.welfare.flows.quota import quota_left, write_once
from server.welfare.flows.rulesets import district_of, ruleset_for

__all__ = ["district_of", "quota_left", "ruleset_for", "write_once"]
