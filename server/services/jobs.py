"""The services domain's timers and events: the meal cut-off and recurring bookings."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from server.platform import Platform, Tx, emit
from server.services.flows import meals, recurring


async def on_meal_cutoff(plat: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """At cut-off: close the day's orders and turn delivery orders into delivery tasks."""
    await meals.close_orders(
        tx, station_id=int(payload["station_id"]), day=date.fromisoformat(payload["day"])
    )


async def on_materialise_timer(plat: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """01:00 each day: re-arm for tomorrow, and hand today's run to the outbox (its handler
    needs its own transactions, one per occurrence)."""
    sid, day = int(payload["station_id"]), date.fromisoformat(payload["day"])
    await recurring.schedule_day(tx, station_id=sid, day=day + timedelta(days=1))
    await emit(tx, recurring.DUE_TOPIC, {"station_id": sid, "days": recurring.AHEAD_DAYS})


async def on_materialise_due(plat: Platform, payload: dict[str, Any]) -> None:
    """Book the station's recurring rules for the next days (the timer's outbox event)."""
    await recurring.materialise_station(
        plat, station_id=int(payload["station_id"]), days=int(payload["days"]), actor=None
    )


def register(plat: Platform) -> None:
    """Timer handlers and outbox consumers of the services domain."""
    plat.on_timer(meals.CUTOFF_TIMER, on_meal_cutoff)
    plat.on_timer(recurring.TIMER, on_materialise_timer)
    plat.on_event(recurring.DUE_TOPIC, on_materialise_due)
