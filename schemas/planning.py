"""Requests, responses and pushes of planning: day plans and lunch routes."""

from __future__ import annotations
