"""The travel-time model the server hands to dispatch/: great-circle by default, or an
OSRM-compatible road service (``ANXIN_OSRM_URL``) with great-circle fallback on any error."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from dispatch.osrm import OsrmTravel
from dispatch.travel import GreatCircleTravel, TravelTimeModel


def blocking_fetch(timeout_s: float) -> Any:
    """A GET for dispatch/osrm.py; called from a worker thread, never on the event loop."""

    def fetch(url: str) -> Any:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:  # noqa: S310 - configured URL
            return json.loads(resp.read())

    return fetch


def make_travel_model(osrm_url: str | None, timeout_s: float = 2.0) -> TravelTimeModel:
    if not osrm_url:
        return GreatCircleTravel()
    return OsrmTravel(osrm_url, blocking_fetch(timeout_s))


def does_io(model: TravelTimeModel) -> bool:
    return isinstance(model, OsrmTravel)
