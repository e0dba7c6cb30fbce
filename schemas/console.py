"""Responses and pushes of the console and the phone pages."""

from __future__ import annotations
