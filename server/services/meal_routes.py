"""Compatibility: the demo day imports ``on_meal_cutoff`` from here; it lives in
``server.services.jobs``."""

from __future__ import annotations

from server.services.jobs import on_meal_cutoff

__all__ = ["on_meal_cutoff"]
