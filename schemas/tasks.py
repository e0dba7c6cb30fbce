"""Requests, responses and pushes of tasks: the caregiver's visits and steps."""

from __future__ import annotations
