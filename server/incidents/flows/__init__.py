"""The help call's commands, one module per concept; each command owns its transaction.

- ``intake``: the one intake path (button, phone, operator): open a call or join the open one
- ``dispatch``: rank the station's caregivers (outside the transaction) and offer the best
- ``offers``: an offer and what becomes of it (accepted, declined, expired, withdrawn)
- ``steps``: en route, location updates, arrival, resolution, closing
- ``alarms``: raising and acknowledging operator alarms
- ``presses``: test and accidental presses, and the call-back that settles them
- ``snapshot``: what dispatch/ is told (caregivers as it sees them, travel times)
"""

from __future__ import annotations

from server.incidents.flows.alarms import ack_alarm
from server.incidents.flows.offers import accept, assign, decline, offer_lapsed
from server.incidents.flows.steps import (
    TravelAfterMove,
    arrive,
    close,
    confirm_arrival,
    contact_for_caregiver,
    en_route,
    moved,
    resolve,
    travel_after_move,
)

__all__ = [
    "TravelAfterMove",
    "accept",
    "ack_alarm",
    "arrive",
    "assign",
    "close",
    "confirm_arrival",
    "contact_for_caregiver",
    "decline",
    "en_route",
    "moved",
    "offer_lapsed",
    "resolve",
    "travel_after_move",
]
