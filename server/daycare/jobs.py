"""The day-care domain's timers: the morning that opens a day's list (and orders its lunches)
and re-arms for the next day, and the roll call that turns a silent absence into a welfare
check."""

from __future__ import annotations

from datetime import date
from typing import Any

from server.daycare import flows
from server.platform import Platform, Tx


async def on_open_day(plat: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """07:00: open the day's list (a closed day opens nothing) and arm tomorrow's."""
    sid = int(payload["station_id"])
    await flows.open_day(tx, station_id=sid, day=date.fromisoformat(payload["day"]))
    await flows.schedule_open(tx, station_id=sid, after=tx.now)


async def on_roll_call(plat: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """The roll call, some time after opening: no word and no check-in is a welfare check."""
    await flows.roll_call(
        tx, station_id=int(payload["station_id"]), day=date.fromisoformat(payload["day"])
    )


def register(plat: Platform) -> None:
    """Timer handlers of the day-care domain."""
    plat.on_timer(flows.OPEN_TIMER, on_open_day)
    plat.on_timer(flows.ROLL_CALL_TIMER, on_roll_call)
