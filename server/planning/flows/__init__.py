"""The planner's commands around dispatch/'s models: build a snapshot from the store
(``snapshot``), solve off the event loop under a watchdog (``solve``), write the assignments
back and push what changed (``store``); a station's day plan (``day``: an operator's re-plan,
a help call's insertion) and its lunch routes (``meals``).

The names other domains use are here too (the console reads shifts, the demo plans a day).
"""

from __future__ import annotations

from server.planning.flows.day import on_accepted, replan
from server.planning.flows.meals import on_meals_closed, route_meals
from server.planning.flows.snapshot import build_snapshot, shifts_on
from server.planning.flows.solve import station_lock
from server.planning.flows.store import store_plan

__all__ = [
    "build_snapshot",
    "on_accepted",
    "on_meals_closed",
    "replan",
    "route_meals",
    "shifts_on",
    "station_lock",
    "store_plan",
]
