"""Typed keys for what lives on the aiohttp application."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import ClientSession, web

if TYPE_CHECKING:
    from server.metrics import Metrics
    from server.platform import Platform
    from server.push import PushHub

PLATFORM: web.AppKey[Platform] = web.AppKey("platform")
HUB: web.AppKey[PushHub] = web.AppKey("hub")
HTTP: web.AppKey[ClientSession] = web.AppKey("http")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
