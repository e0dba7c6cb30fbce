"""The assessment domain's timer: the morning a re-assessment is due, a task for the plan."""

from __future__ import annotations

from typing import Any

from server.assessments import flows
from server.platform import Platform, Tx


async def on_due(plat: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    await flows.on_due(tx, reassessment_id=int(payload["reassessment_id"]))


def register(plat: Platform) -> None:
    """Timer handlers of the assessment domain."""
    plat.on_timer(flows.DUE_TIMER, on_due)
