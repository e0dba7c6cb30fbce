"""Compatibility: welfare's statements import ``settle_meals`` from here; it lives in
``server.services.flows.meals``."""

from __future__ import annotations

from server.services.flows.meals import final_orders, settle_meals

__all__ = ["final_orders", "settle_meals"]
