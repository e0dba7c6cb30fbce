"""Moved to ``server.hotline.flows.settings``; kept for ``server.incidents.presses``."""

from server.hotline.flows.settings import DEFAULTS, StationSettings, settings_for

__all__ = ["DEFAULTS", "StationSettings", "settings_for"]
